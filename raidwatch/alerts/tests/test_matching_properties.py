"""Matching by the (cell, subscription) table equals a straightforward scan."""

from __future__ import annotations

import h3
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from raidwatch.alerts.matching import match_subscriptions
from raidwatch.lib import geo
from raidwatch.subscriptions.areas import MATCH_RESOLUTION, resolve_area
from raidwatch.subscriptions.models import Subscription, SubscriptionCell, SubscriptionStatus

pytestmark = pytest.mark.django_db

# A small region so random areas and alerts actually overlap.
lats = st.floats(min_value=51.40, max_value=51.60)
lons = st.floats(min_value=-0.30, max_value=0.10)
radii = st.sampled_from([0.5, 1.0, 2.0, 5.0])


def _scan(alert_cells: list[str], areas: dict[str, frozenset[str]]) -> set[str]:
    """The rule, applied directly: a subscription matches when its area's cells
    (expanded to the match resolution) meet the alert's cells."""
    wanted = set(alert_cells)
    matched = set()
    for sub_id, cells in areas.items():
        fine = set(h3.uncompact_cells(list(cells), MATCH_RESOLUTION))
        if fine & wanted:
            matched.add(sub_id)
    return matched


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    areas=st.lists(st.tuples(lats, lons, radii), min_size=1, max_size=6),
    alert=st.tuples(lats, lons),
)
def test_indexed_matching_equals_a_scan(areas, alert) -> None:
    Subscription.objects.all().delete()
    stored: dict[str, frozenset[str]] = {}
    for index, (lat, lon, radius) in enumerate(areas):
        area = resolve_area({"lat": lat, "lon": lon, "radius_km": radius})
        subscription = Subscription.objects.create(
            channel="email",
            language="en",
            status=SubscriptionStatus.ACTIVE,
            area_kind=area.kind,
            area_label=area.label,
            contact_sealed=b"x",
            contact_lookup=f"lookup-{index}",
            created_at="2026-11-26T07:00:00Z",
        )
        SubscriptionCell.objects.bulk_create(
            SubscriptionCell(cell=c, subscription=subscription) for c in area.cells
        )
        stored[str(subscription.pk)] = area.cells
    alert_cells = sorted(geo.neighbouring_cells(geo.point_to_cell(*alert)))
    assert match_subscriptions(alert_cells, ["verified", "all"]) == _scan(alert_cells, stored)
