"""The in-memory match index answers exactly what the (cell, subscription) table does."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator

import h3
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from raidwatch.alerts import match_index
from raidwatch.alerts.match_index import MatchIndex, invalidate, shared_index
from raidwatch.alerts.matching import match_subscriptions
from raidwatch.lib import geo
from raidwatch.subscriptions.areas import MATCH_RESOLUTION, resolve_area
from raidwatch.subscriptions.models import Level, Subscription, SubscriptionCell, SubscriptionStatus

# A small region (about 8 x 8 km) so random areas and alerts overlap often.
lats = st.floats(min_value=51.48, max_value=51.55)
lons = st.floats(min_value=-0.15, max_value=-0.03)
radii = st.sampled_from([0.3, 0.8, 1.5, 3.0])
statuses = st.sampled_from(list(SubscriptionStatus.values))
levels = st.sampled_from(list(Level.values))
level_queries = st.sampled_from([[Level.ALL], [Level.VERIFIED], [Level.ALL, Level.VERIFIED]])

_lookups = itertools.count()


def _store(lat: float, lon: float, radius: float, status: str, level: str) -> tuple[str, frozenset[str]]:
    area = resolve_area({"lat": lat, "lon": lon, "radius_km": radius})
    subscription = Subscription.objects.create(
        channel="email",
        language="en",
        level=level,
        status=status,
        area_kind=area.kind,
        area_label=area.label,
        contact_sealed=b"x",
        contact_lookup=f"lookup-{next(_lookups)}",
        created_at="2026-11-26T07:00:00Z",
    )
    SubscriptionCell.objects.bulk_create(
        SubscriptionCell(cell=c, subscription=subscription) for c in area.cells
    )
    return str(subscription.pk), area.cells


def _scan(alert_cells: list[str], areas: dict[str, frozenset[str]]) -> set[str]:
    """The rule with no index and no ancestor keys: expand each area to the match
    resolution and intersect it with the alert's cells."""
    wanted = set(alert_cells)
    return {
        sub_id
        for sub_id, cells in areas.items()
        if wanted & set(h3.uncompact_cells(list(cells), MATCH_RESOLUTION))
    }


def _alert(lat: float, lon: float) -> list[str]:
    return sorted(geo.neighbouring_cells(geo.point_to_cell(lat, lon)))


@pytest.mark.django_db
@hsettings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    subscriptions=st.lists(st.tuples(lats, lons, radii, statuses, levels), min_size=1, max_size=8),
    alerts=st.lists(st.tuples(lats, lons), min_size=1, max_size=4),
    wanted=level_queries,
)
def test_the_index_gives_the_same_set_as_the_table(subscriptions, alerts, wanted) -> None:
    Subscription.objects.all().delete()
    active: dict[str, frozenset[str]] = {}
    for lat, lon, radius, status, level in subscriptions:
        sub_id, cells = _store(lat, lon, radius, status, level)
        if status == SubscriptionStatus.ACTIVE and level in wanted:
            active[sub_id] = cells
    index = MatchIndex()
    stats = index.build(chunk_size=7)  # a small chunk, so rows span several fetches
    assert (
        stats.rows == SubscriptionCell.objects.filter(subscription__status=SubscriptionStatus.ACTIVE).count()
    )
    for lat, lon in alerts:
        alert_cells = _alert(lat, lon)
        from_table = match_subscriptions(alert_cells, wanted)
        assert index.match(alert_cells, wanted) == from_table
        assert from_table == _scan(alert_cells, active)


@pytest.mark.django_db
def test_build_indexes_only_active_subscriptions_and_reports_its_size() -> None:
    active, cells = _store(51.515, -0.072, 2.0, SubscriptionStatus.ACTIVE, Level.VERIFIED)
    pending, _ = _store(51.515, -0.072, 2.0, SubscriptionStatus.PENDING, Level.VERIFIED)
    disabled, _ = _store(51.515, -0.072, 2.0, SubscriptionStatus.DISABLED, Level.ALL)
    index = MatchIndex()
    stats = index.build()
    assert stats.subscriptions == len(index) == 1
    assert stats.rows == stats.cells == len(cells)
    assert stats.memory_bytes > 0
    assert stats.seconds >= 0
    assert active in index
    assert pending not in index
    assert disabled not in index
    assert index.match(_alert(51.515, -0.072)) == {active}


def test_add_and_remove_update_matches_at_once() -> None:
    index = MatchIndex()
    here = _alert(51.515, -0.072)
    elsewhere = _alert(53.48, -2.24)  # Manchester
    near = resolve_area({"lat": 51.515, "lon": -0.072, "radius_km": 2}).cells
    far = resolve_area({"lat": 53.48, "lon": -2.24, "radius_km": 2}).cells
    first, second = uuid.uuid4(), uuid.uuid4()

    index.add(first, near, Level.VERIFIED)
    index.add(str(second), near, Level.ALL)
    assert index.match(here) == {str(first), str(second)}
    assert index.match(here, [Level.ALL]) == {str(second)}
    assert index.match(here, [Level.VERIFIED]) == {str(first)}
    assert index.match(elsewhere) == set()

    # Adding again replaces the area (the subscriber moved), never adds to it.
    index.add(first, far, Level.VERIFIED)
    assert index.match(here) == {str(second)}
    assert index.match(elsewhere) == {str(first)}
    assert len(index) == 2

    assert index.remove(second) is True
    assert index.remove(second) is False
    assert index.match(here) == set()
    assert str(second) not in index
    assert len(index) == 1


def test_a_cell_finer_than_the_match_resolution_is_refused() -> None:
    index = MatchIndex()
    fine = h3.latlng_to_cell(51.5, -0.1, MATCH_RESOLUTION + 1)
    with pytest.raises(ValueError, match="resolution"):
        index.add(uuid.uuid4(), [fine], Level.VERIFIED)
    with pytest.raises(ValueError, match="resolution"):
        index.add(uuid.uuid4(), ["not-a-cell"], Level.VERIFIED)
    assert len(index) == 0


def test_an_area_given_as_coarse_cells_matches_alerts_inside_them() -> None:
    index = MatchIndex()
    alert = _alert(51.515, -0.072)
    region = h3.cell_to_parent(alert[0], 5)
    index.add("s", [region], Level.VERIFIED)
    assert index.match(alert) == {"s"}


def test_dead_handles_are_purged_once_they_pile_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(match_index, "COMPACT_MIN_DEAD", 3)
    monkeypatch.setattr(match_index, "COMPACT_DEAD_SHARE", 0.25)
    index = MatchIndex()
    cells = resolve_area({"lat": 51.515, "lon": -0.072, "radius_km": 1}).cells
    ids = [f"sub-{n}" for n in range(8)]
    for sub_id in ids:
        index.add(sub_id, cells, Level.VERIFIED)
    for sub_id in ids[:3]:
        index.remove(sub_id)
    tables = index._tables
    assert tables.dead == 0  # the third removal compacted
    remaining = {handle for bucket in tables.postings.values() for arr in bucket.values() for handle in arr}
    assert {tables.ids[handle] for handle in remaining} == set(ids[3:])
    assert index.match(_alert(51.515, -0.072)) == set(ids[3:])


def test_changes_made_while_a_build_runs_are_not_lost() -> None:
    index = MatchIndex()
    near = resolve_area({"lat": 51.515, "lon": -0.072, "radius_km": 1}).cells
    index.add("removed-during-build", near, Level.VERIFIED)

    def groups() -> Iterator[tuple[object, str, list[str]]]:
        yield "from-table", Level.VERIFIED, sorted(near)
        # Another thread's live updates, arriving while the rows stream in.
        index.add("added-during-build", near, Level.ALL)
        index.remove("removed-during-build")
        yield "removed-during-build", Level.VERIFIED, sorted(near)

    stats = index.load(groups())
    assert stats.subscriptions == 2
    assert index.match(_alert(51.515, -0.072)) == {"from-table", "added-during-build"}


@pytest.mark.django_db
def test_the_shared_index_is_rebuilt_when_invalidated_or_stale() -> None:
    invalidate()
    first = shared_index()
    assert shared_index() is first
    sub_id, _ = _store(51.515, -0.072, 1.0, SubscriptionStatus.ACTIVE, Level.VERIFIED)
    # The table changed behind the index's back: it does not know yet …
    assert shared_index().match(_alert(51.515, -0.072)) == set()
    invalidate()
    # … until told, or until it is older than the caller allows.
    second = shared_index()
    assert second is not first
    assert second.match(_alert(51.515, -0.072)) == {sub_id}
    assert shared_index(max_age_s=0.0) is not second
    invalidate()


def test_loading_numbers_handles_in_map_order_without_changing_answers() -> None:
    london = resolve_area({"lat": 51.515, "lon": -0.072, "radius_km": 1}).cells
    manchester = resolve_area({"lat": 53.48, "lon": -2.24, "radius_km": 1}).cells
    # Interleaved, as rows arrive from the table: the renumbering groups them by place.
    groups = [
        (f"{city}-{n}", Level.VERIFIED, cells)
        for n in range(3)
        for city, cells in (("london", london), ("manchester", manchester))
    ]
    index = MatchIndex()
    index.load([*groups, ("no-cells", Level.VERIFIED, [])])
    assert index.match(_alert(51.515, -0.072)) == {"london-0", "london-1", "london-2"}
    assert index.match(_alert(53.48, -2.24)) == {"manchester-0", "manchester-1", "manchester-2"}
    handles = {index._tables.ids[h]: h for h in range(6)}
    by_city = (
        sorted(handles[f"london-{n}"] for n in range(3)),
        sorted(handles[f"manchester-{n}"] for n in range(3)),
    )
    assert {tuple(by_city[0]), tuple(by_city[1])} == {(0, 1, 2), (3, 4, 5)}
    # A subscription with no cells matches nothing but is still known to the index.
    assert "no-cells" in index
    assert len(index) == 7
