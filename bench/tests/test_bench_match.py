"""The match bench runs end to end on a small population and reports correctly.
Speed is not checked here: the bench measures it, the test checks the measuring."""

from __future__ import annotations

import json
from array import array
from io import StringIO

import h3
import pytest
from django.core.management import call_command

from bench import BENCH_KEYS
from bench.match import GB_BOXES, Area, Population, area_cells, scan
from raidwatch.alerts.match_index import MatchIndex
from raidwatch.lib import geo

BOUND_METRICS = {"p99_ms_uniform": 1.0, "p99_ms_clustered": 2.0, "p99_ms_clustered_london_alerts": 2.0}


def test_match_bench_reports_the_contract_lines_and_agrees_with_the_scan() -> None:
    out, err = StringIO(), StringIO()
    call_command(
        "bench",
        "match",
        "--subscribers",
        "2000",
        "--areas",
        "150",
        "--alerts",
        "300",
        "--scan-alerts",
        "6",
        "--jobs",
        "1",
        stdout=out,
        stderr=err,
    )
    lines = [json.loads(text) for text in out.getvalue().splitlines()]
    assert all(tuple(line) == BENCH_KEYS for line in lines)
    assert {line["bench"] for line in lines} == {"match"}
    assert {line["goal"] for line in lines} == {"G4"}
    by_metric = {line["metric"]: line for line in lines}
    assert set(by_metric) == {
        *BOUND_METRICS,
        "speedup_vs_scan",
        "speedup_vs_scan_clustered",
        "mismatches_vs_scan",
        "index_mib",
        "rebuild_s",
    }
    assert all(isinstance(line["pass"], bool) for line in lines)
    for metric, bound in BOUND_METRICS.items():
        line = by_metric[metric]
        assert line["baseline"] == bound
        assert line["value"] > 0
        assert line["ratio"] == pytest.approx(line["value"] / bound, abs=1e-3)
        assert line["pass"] == (line["value"] <= bound)
    for metric in ("speedup_vs_scan", "speedup_vs_scan_clustered"):
        assert by_metric[metric]["baseline"] == 50.0
        assert by_metric[metric]["value"] > 0
    # The correctness line: the index gave exactly the scan's set for every alert scanned.
    assert by_metric["mismatches_vs_scan"]["value"] == 0
    assert by_metric["mismatches_vs_scan"]["pass"] is True
    for metric in ("index_mib", "rebuild_s"):
        assert by_metric[metric]["baseline"] is None
        assert by_metric[metric]["ratio"] is None
        assert by_metric[metric]["value"] > 0
    progress = err.getvalue()
    assert "2,000 subscribers" in progress
    assert "differs from the scan on 0" in progress


def test_the_scan_and_the_index_agree_on_subscribers_that_share_an_area() -> None:
    """Two subscribers with one area, a third elsewhere, levels told apart."""
    london, leeds = area_cells((51.51, -0.12, 2.0)), area_cells((53.80, -1.55, 2.0))
    areas = [Area(tuple(london[0]), frozenset(london[1])), Area(tuple(leeds[0]), frozenset(leeds[1]))]
    population = Population("tiny", ["a", "b", "c"], bytearray([0, 1, 0]), array("I", [0, 0, 1]), areas)
    index = MatchIndex()
    stats = index.load(population.groups())
    assert stats.rows == 2 * len(london[0]) + len(leeds[0])
    alert = frozenset(geo.neighbouring_cells(geo.point_to_cell(51.51, -0.12)))
    assert scan(alert, population, ("verified", "all")) == index.match(alert) == {"a", "b"}
    assert scan(alert, population, ("all",)) == index.match(alert, ["all"]) == {"b"}
    # The compacted cells the index holds are exactly the resolution-8 covering the scan uses.
    assert set(h3.uncompact_cells(london[0], 8)) == set(london[1])
    assert len(london[0]) < len(london[1])


def test_the_outline_of_great_britain_is_on_land_ish_latitudes() -> None:
    for lat_from, lat_to, lon_from, lon_to in GB_BOXES:
        assert 49.9 < lat_from < lat_to < 58.7
        assert -6.0 < lon_from < lon_to < 1.8
