"""Properties of public coarsening (SECURITY.md R4) and of the gazetteer, for any input."""

from __future__ import annotations

import h3
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from raidwatch.lib import geo
from raidwatch.lib.tests.test_geo_cells import point_at_distance

latitudes = st.floats(min_value=-90, max_value=90, allow_nan=False, allow_infinity=False)
longitudes = st.floats(min_value=-180, max_value=180, allow_nan=False, allow_infinity=False)
public_resolutions = st.integers(min_value=0, max_value=8)

# pytest-django's `settings` fixture lives for the whole test, not per example.
# That is safe here because every example assigns the setting it depends on
# before calling anything that reads it.
per_example_settings = hsettings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@per_example_settings
@given(lat=latitudes, lon=longitudes, configured=public_resolutions)
def test_coarsen_location_publishes_the_ancestor_of_the_clustered_cell_at_the_public_resolution(
    settings, lat: float, lon: float, configured: int
) -> None:
    settings.RAIDWATCH_PUBLIC_RESOLUTION = configured

    public = geo.coarsen_location(lat, lon)

    assert h3.is_valid_cell(public)
    assert h3.get_resolution(public) == min(configured, geo.MAX_PUBLIC_RESOLUTION)
    assert geo.is_public_cell(public)
    clustered = geo.point_to_cell(lat, lon, geo.CLUSTER_RESOLUTION)
    assert h3.cell_to_parent(clustered, h3.get_resolution(public)) == public


@per_example_settings
@given(lat=latitudes, lon=longitudes, configured=public_resolutions)
def test_coarsen_location_and_cell_centre_give_the_same_answer_every_time(
    settings, lat: float, lon: float, configured: int
) -> None:
    settings.RAIDWATCH_PUBLIC_RESOLUTION = configured

    public = geo.coarsen_location(lat, lon)
    centre = geo.cell_centre(public)

    assert geo.coarsen_location(lat, lon) == public
    assert geo.coarsen_cell(public) == public
    assert geo.cell_centre(public) == centre
    assert all(coordinate == round(coordinate, 5) for coordinate in centre)
    # Publishing the published centre again lands in the same public cell.
    assert geo.coarsen_location(*centre) == public


@per_example_settings
@given(lat=latitudes, lon=longitudes, configured=st.integers(min_value=9, max_value=15))
def test_a_configured_resolution_finer_than_8_still_publishes_resolution_8(
    settings, lat: float, lon: float, configured: int
) -> None:
    settings.RAIDWATCH_PUBLIC_RESOLUTION = configured

    assert h3.get_resolution(geo.coarsen_location(lat, lon)) == geo.MAX_PUBLIC_RESOLUTION


@hsettings(max_examples=100, deadline=None)
@given(
    lat=latitudes,
    lon=longitudes,
    radius_km=st.floats(min_value=0.01, max_value=10),
    resolution=st.integers(min_value=0, max_value=7),
    fraction=st.floats(min_value=0, max_value=1),
    bearing=st.floats(min_value=0, max_value=360),
)
def test_cells_within_radius_holds_the_cell_of_any_point_in_the_disc(
    lat: float, lon: float, radius_km: float, resolution: int, fraction: float, bearing: float
) -> None:
    covering = geo.cells_within_radius(lat, lon, radius_km, resolution)
    point = point_at_distance(lat, lon, radius_km * fraction * (1 - 1e-9), bearing)

    assert h3.latlng_to_cell(*point, resolution) in covering


def resolve_or_refusal(text: str) -> geo.Place | geo.UnknownPlace:
    try:
        return geo.resolve_place(text)
    except geo.UnknownPlace as refused:
        return refused


@hsettings(max_examples=200, deadline=None)
@given(text=st.text(max_size=120))
def test_resolve_place_answers_any_text_with_a_place_or_an_explanation(text: str) -> None:
    answer = resolve_or_refusal(text)

    if isinstance(answer, geo.UnknownPlace):
        assert answer.message
    else:
        geo.validate_point(answer.lat, answer.lon)
        assert answer.kind in {"postcode_district", "zip", "place_name"}
        assert geo.resolve_place(answer.label) == answer


def named_part(text: str) -> str:
    """What the answer should name: a ZIP code's five digits, or a postcode's outward code."""
    compact = text.upper().replace(" ", "")
    if compact[0].isdigit():
        return compact[:5]
    # The inward code ("1AA") is always the last three characters.
    return compact[:-3] if len(compact) >= 5 else compact


@hsettings(max_examples=200, deadline=None)
@given(
    text=st.from_regex(
        r"[A-Za-z]{1,2}[0-9][A-Za-z0-9]?( ?[0-9][A-Za-z]{2})?|[0-9]{5}(-[0-9]{4})?", fullmatch=True
    )
)
def test_postcode_and_zip_shaped_text_resolves_to_its_label_or_is_refused_by_name(text: str) -> None:
    answer = resolve_or_refusal(text)

    if isinstance(answer, geo.UnknownPlace):
        assert named_part(text) in answer.message
    else:
        assert answer.label == named_part(text)
        assert geo.resolve_place(answer.label) == answer
