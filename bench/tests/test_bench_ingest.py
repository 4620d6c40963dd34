"""The ingest bench runs end to end and reports correctly. Speed is not checked
here: benches measure it, tests only make sure the measurement is sound."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from bench import BENCH_KEYS
from bench.loadgen import CITY_CENTRE, CITY_HALF_SPAN_DEG, KIND_WEIGHTS, read_response, report_bodies

REQUESTS = 200
WARMUP = 20


def _count(database: Path, table: str) -> int:
    with sqlite3.connect(database) as connection:
        (count,) = connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()  # noqa: S608 - fixed names
    return int(count)


def test_ingest_bench_reports_the_contract_lines_and_really_stores_the_reports(tmp_path: Path) -> None:
    out, err = StringIO(), StringIO()
    call_command(
        "bench",
        "ingest",
        "--requests",
        str(REQUESTS),
        "--concurrency",
        "8",
        "--warmup",
        str(WARMUP),
        "--baseline-rounds",
        "1",
        "--duration-limit",
        "30",
        "--work-dir",
        str(tmp_path),
        stdout=out,
        stderr=err,
    )

    lines = [json.loads(text) for text in out.getvalue().splitlines()]
    assert all(tuple(line) == BENCH_KEYS for line in lines)
    assert {line["bench"] for line in lines} == {"ingest"}
    assert {line["goal"] for line in lines} == {"G5"}
    by_metric = {line["metric"]: line for line in lines}
    assert set(by_metric) == {"reports_per_s", "p99_ms", "errors", "db_locked"}
    assert all(isinstance(line["pass"], bool) for line in lines)
    assert by_metric["errors"]["value"] == 0
    assert by_metric["db_locked"]["value"] == 0
    main = by_metric["reports_per_s"]
    assert main["value"] > 0
    assert main["baseline"] > 0
    assert main["ratio"] == pytest.approx(main["value"] / main["baseline"], abs=1e-4)
    assert by_metric["p99_ms"]["baseline"] == 100.0
    assert "baseline" in err.getvalue()
    assert "raidwatch" in err.getvalue()

    # The load generator's own accounting adds up, on both servers.
    for name in ("raidwatch", "baseline"):
        summary = json.loads((tmp_path / f"{name}-load.json").read_text())
        assert summary["requests"] == REQUESTS
        assert summary["ok"] + summary["errors"] == REQUESTS
        assert summary["status_counts"] == {"201": REQUESTS}
        assert summary["warmup_requests"] == summary["warmup_ok"] == WARMUP
        assert summary["stopped_by"] == "count"
        assert 0 < summary["p50_ms"] <= summary["p99_ms"] <= summary["max_ms"]

    # Every 201 was a report really stored, each under its own client_id.
    raidwatch_db = tmp_path / "raidwatch" / "raidwatch.sqlite3"
    assert _count(raidwatch_db, "intake_report") == REQUESTS + WARMUP
    with sqlite3.connect(raidwatch_db) as connection:
        (distinct,) = connection.execute("SELECT COUNT(DISTINCT client_id) FROM intake_report").fetchone()
    assert distinct == REQUESTS + WARMUP
    assert _count(tmp_path / "baseline.sqlite3", "report") == REQUESTS + WARMUP


def test_an_unknown_bench_is_refused_with_the_known_ones_listed() -> None:
    with pytest.raises(CommandError, match="ingest"):
        call_command("bench", "no-such-bench")


def test_report_bodies_scatter_over_one_city_with_fixed_places_and_fresh_client_ids() -> None:
    first = [json.loads(body) for body in report_bodies(500, seed=7)]
    again = [json.loads(body) for body in report_bodies(500, seed=7)]
    assert [(r["lat"], r["lon"], r["kind"]) for r in first] == [
        (r["lat"], r["lon"], r["kind"]) for r in again
    ]
    assert len({r["client_id"] for r in first + again}) == 1000
    assert {r["kind"] for r in first} <= set(KIND_WEIGHTS)
    (lat0, lon0), (span_lat, span_lon) = CITY_CENTRE, CITY_HALF_SPAN_DEG
    # Hotspot spread may reach a little past the city's box, never far.
    assert all(
        abs(r["lat"] - lat0) < span_lat + 0.05 and abs(r["lon"] - lon0) < span_lon + 0.05 for r in first
    )


def _parse(raw: bytes) -> tuple[int, bytes, bool]:
    async def parse() -> tuple[int, bytes, bool]:
        reader = asyncio.StreamReader()
        reader.feed_data(raw)
        reader.feed_eof()
        return await read_response(reader)

    return asyncio.run(parse())


def test_responses_are_read_by_length_chunks_or_to_the_end() -> None:
    assert _parse(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}") == (201, b"{}", False)
    chunked = (
        b"HTTP/1.1 500 Internal\r\nTransfer-Encoding: chunked\r\n\r\n4\r\ndata\r\n9\r\nbase is l\r\n0\r\n\r\n"
    )
    assert _parse(chunked) == (500, b"database is l", False)
    assert _parse(b"HTTP/1.1 429 Too Many\r\nConnection: close\r\n\r\nslow down") == (429, b"slow down", True)
