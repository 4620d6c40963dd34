"""Property tests of the clustering rules, on the pure rule functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import h3
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from raidwatch.incidents import clustering
from raidwatch.incidents.models import Kind
from raidwatch.lib import geo

kinds = st.sampled_from(Kind.values)
lats = st.floats(min_value=-85, max_value=85, allow_nan=False)
lons = st.floats(min_value=-180, max_value=180, allow_nan=False)
offsets = st.integers(min_value=-240, max_value=240)
BASE = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)


@hsettings(max_examples=300, deadline=None)
@given(kinds, kinds, lats, lons, st.integers(min_value=0, max_value=3), offsets)
def test_join_rule(
    incident_kind: str, report_kind: str, lat: float, lon: float, ring: int, minutes: int
) -> None:
    incident_cell = geo.point_to_cell(lat, lon)
    report_cell = sorted(h3.grid_ring(incident_cell, ring))[0]
    joins = clustering.can_join(
        incident_kind=incident_kind,
        incident_cell=incident_cell,
        incident_last_report_at=BASE,
        report_kind=report_kind,
        report_cell=report_cell,
        report_observed_at=BASE + timedelta(minutes=minutes),
    )
    expected = (
        Kind.OTHER not in (incident_kind, report_kind)
        and h3.grid_distance(incident_cell, report_cell) <= 1
        and abs(minutes) <= 60
    )
    assert joins == expected


@given(kinds, kinds)
def test_merged_kind_is_one_of_the_two_and_symmetric(a: str, b: str) -> None:
    assert clustering.merged_kind(a, b) in (a, b)
    assert clustering.merged_kind(a, b) == clustering.merged_kind(b, a)


@given(st.integers(min_value=0, max_value=12))
def test_confidence_grows_with_independent_reports_and_stays_below_one(n: int) -> None:
    assert 0 <= clustering.confidence(n) < clustering.confidence(n + 1) <= 1
