"""H3 cells: resolution, coarsening for public output, neighbours, radius coverings."""

from __future__ import annotations

import math

import h3
import pytest

from raidwatch.lib import geo

# H3's own Earth radius, so that sampled distances agree with great_circle_distance.
EARTH_RADIUS_KM = 6371.007180918475
GOLDEN_ANGLE_DEGREES = 180 * (3 - math.sqrt(5))

LONDON = (51.50735, -0.12776)
LOS_ANGELES = (34.05223, -118.24368)


def point_at_distance(
    lat: float, lon: float, distance_km: float, bearing_degrees: float
) -> tuple[float, float]:
    """The point ``distance_km`` from (lat, lon) along the great circle at ``bearing_degrees``."""
    phi1, lambda1 = math.radians(lat), math.radians(lon)
    theta, delta = math.radians(bearing_degrees), distance_km / EARTH_RADIUS_KM
    sin_phi2 = math.sin(phi1) * math.cos(delta) + math.cos(phi1) * math.sin(delta) * math.cos(theta)
    phi2 = math.asin(max(-1.0, min(1.0, sin_phi2)))
    lambda2 = lambda1 + math.atan2(
        math.sin(theta) * math.sin(delta) * math.cos(phi1), math.cos(delta) - math.sin(phi1) * sin_phi2
    )
    return math.degrees(phi2), (math.degrees(lambda2) + 540) % 360 - 180


def points_in_disc(lat: float, lon: float, radius_km: float, count: int = 1500) -> list[tuple[float, float]]:
    """Evenly spread points filling the disc (a sunflower spiral), plus points just inside its rim.

    Deterministic, so a failure reproduces exactly.
    """
    inside = [
        point_at_distance(lat, lon, radius_km * math.sqrt((i + 0.5) / count), i * GOLDEN_ANGLE_DEGREES)
        for i in range(count)
    ]
    rim = [point_at_distance(lat, lon, radius_km * (1 - 1e-9), bearing / 2) for bearing in range(720)]
    return inside + rim


def a_pentagon_centre(resolution: int) -> tuple[float, float]:
    lat, lon = h3.cell_to_latlng(h3.get_pentagons(resolution)[3])
    return lat, lon


def test_point_to_cell_uses_the_cluster_resolution_by_default() -> None:
    cell = geo.point_to_cell(*LONDON)

    assert h3.get_resolution(cell) == geo.CLUSTER_RESOLUTION == 8
    assert cell == h3.latlng_to_cell(*LONDON, 8)


@pytest.mark.parametrize("resolution", [0, 5, 8, 15])
def test_point_to_cell_uses_the_resolution_it_is_given(resolution: int) -> None:
    assert h3.get_resolution(geo.point_to_cell(*LONDON, resolution)) == resolution


@pytest.mark.parametrize("resolution", [-1, 16, True])
def test_point_to_cell_refuses_a_resolution_h3_does_not_have(resolution: int) -> None:
    with pytest.raises(ValueError, match="resolution"):
        geo.point_to_cell(*LONDON, resolution)


def test_coarsen_cell_is_never_finer_than_resolution_8() -> None:
    fine = geo.point_to_cell(*LONDON, 12)

    assert geo.coarsen_cell(fine) == h3.cell_to_parent(fine, 8)
    assert h3.get_resolution(geo.coarsen_cell(fine, resolution=12)) == 8
    assert h3.get_resolution(geo.coarsen_location(*LONDON, resolution=15)) == 8


def test_coarsen_cell_follows_a_lower_configured_public_resolution(settings) -> None:
    settings.RAIDWATCH_PUBLIC_RESOLUTION = 5
    cell = geo.point_to_cell(*LONDON)

    assert geo.public_resolution() == 5
    assert geo.coarsen_cell(cell) == h3.cell_to_parent(cell, 5)
    assert geo.coarsen_location(*LONDON) == h3.cell_to_parent(cell, 5)


def test_coarsen_cell_prefers_an_explicit_resolution_to_the_configured_one(settings) -> None:
    settings.RAIDWATCH_PUBLIC_RESOLUTION = 5
    cell = geo.point_to_cell(*LONDON)

    assert h3.get_resolution(geo.coarsen_cell(cell, resolution=7)) == 7
    assert h3.get_resolution(geo.coarsen_cell(cell, resolution=0)) == 0


def test_a_configured_resolution_finer_than_8_is_clamped_to_8(settings) -> None:
    settings.RAIDWATCH_PUBLIC_RESOLUTION = 11

    assert geo.public_resolution() == 8
    assert h3.get_resolution(geo.coarsen_location(*LONDON)) == 8


def test_coarsen_cell_leaves_a_cell_that_is_already_coarse_unchanged(settings) -> None:
    settings.RAIDWATCH_PUBLIC_RESOLUTION = 8
    coarse = geo.point_to_cell(*LONDON, 4)

    assert geo.coarsen_cell(coarse) == coarse


@pytest.mark.parametrize(
    "cell",
    ["", "not a cell", "0x88194ad14dfffff", " 88194ad14dfffff", "88194AD14DFFFFF", "88194ad14dffff"],
)
def test_coarsen_cell_refuses_anything_but_a_canonical_cell(cell: str) -> None:
    with pytest.raises(ValueError, match="H3 cell"):
        geo.coarsen_cell(cell)
    assert not geo.is_public_cell(cell)


def test_is_public_cell_accepts_only_cells_no_finer_than_the_public_resolution(settings) -> None:
    settings.RAIDWATCH_PUBLIC_RESOLUTION = 6

    assert geo.is_public_cell(geo.point_to_cell(*LONDON, 6))
    assert geo.is_public_cell(geo.point_to_cell(*LONDON, 2))
    assert not geo.is_public_cell(geo.point_to_cell(*LONDON, 7))
    assert not geo.is_public_cell(geo.point_to_cell(*LONDON, 8))


def test_cell_centre_is_rounded_to_five_decimals_and_lies_in_the_cell() -> None:
    cell = geo.point_to_cell(*LOS_ANGELES)
    lat, lon = geo.cell_centre(cell)

    assert (lat, lon) == (round(lat, 5), round(lon, 5))
    assert geo.cell_centre(cell) == (lat, lon)
    assert h3.latlng_to_cell(lat, lon, 8) == cell


def test_cell_centre_never_shows_a_negative_zero() -> None:
    # Tiny cells just south-west of (0, 0) have centres that round to -0.0.
    near_null_island = h3.grid_disk(h3.latlng_to_cell(-1e-7, -1e-7, 15), 3)
    south_west = [
        cell
        for cell in near_null_island
        if all(-5e-6 < coordinate < 0 for coordinate in h3.cell_to_latlng(cell))
    ]
    assert south_west

    for cell in south_west:
        assert [math.copysign(1.0, coordinate) for coordinate in geo.cell_centre(cell)] == [1.0, 1.0]


def test_neighbouring_cells_are_the_cell_and_its_six_neighbours() -> None:
    cell = geo.point_to_cell(*LONDON)
    neighbours = geo.neighbouring_cells(cell)

    assert len(neighbours) == 7
    assert cell in neighbours
    assert all(h3.grid_distance(cell, other) <= 1 for other in neighbours)


def test_neighbouring_cells_of_a_pentagon_are_the_cell_and_its_five_neighbours() -> None:
    pentagon = h3.get_pentagons(8)[0]

    assert len(geo.neighbouring_cells(pentagon)) == 6


COVERING_CASES = [
    pytest.param(*LONDON, 0.05, 8, id="London-50m-res8"),
    pytest.param(*LONDON, 5.0, 8, id="London-5km-res8"),
    pytest.param(*LONDON, 50.0, 7, id="London-50km-res7"),
    pytest.param(*LOS_ANGELES, 12.5, 8, id="Los-Angeles-12.5km-res8"),
    pytest.param(*LOS_ANGELES, 50.0, 5, id="Los-Angeles-50km-res5"),
    pytest.param(0.0, 179.99, 20.0, 7, id="equator-across-the-antimeridian"),
    pytest.param(89.99, 30.0, 25.0, 6, id="across-the-north-pole"),
    pytest.param(-77.85, 166.67, 10.0, 9, id="McMurdo-res9"),
    pytest.param(*a_pentagon_centre(8), 5.0, 8, id="around-a-pentagon-res8"),
    pytest.param(*a_pentagon_centre(7), 10.0, 7, id="around-a-pentagon-res7-class-III"),
    pytest.param(*LONDON, 3.0, 3, id="radius-smaller-than-a-cell"),
]


@pytest.mark.parametrize(("lat", "lon", "radius_km", "resolution"), COVERING_CASES)
def test_cells_within_radius_covers_every_point_in_the_disc(
    lat: float, lon: float, radius_km: float, resolution: int
) -> None:
    covering = geo.cells_within_radius(lat, lon, radius_km, resolution)

    for point in points_in_disc(lat, lon, radius_km):
        assert h3.great_circle_distance((lat, lon), point, unit="km") <= radius_km * (1 + 1e-9)
        assert h3.latlng_to_cell(*point, resolution) in covering, point


@pytest.mark.parametrize(("lat", "lon", "radius_km", "resolution"), COVERING_CASES)
def test_cells_within_radius_is_not_much_larger_than_the_disc(
    lat: float, lon: float, radius_km: float, resolution: int
) -> None:
    covering = geo.cells_within_radius(lat, lon, radius_km, resolution)
    centre_cell = h3.latlng_to_cell(lat, lon, resolution)
    # A disc grown by two cell widths, in cells of the local size, with room for
    # the cells' size varying across the disc.
    cell_width = 2 * math.sqrt(h3.cell_area(centre_cell, unit="km^2") / math.pi)
    generous = math.pi * (radius_km + 2 * cell_width) ** 2 / h3.cell_area(centre_cell, unit="km^2")

    assert all(h3.get_resolution(cell) == resolution for cell in covering)
    assert len(covering) <= 1.5 * generous + 7


def test_cells_within_radius_at_the_cluster_resolution_is_in_proportion_to_the_area() -> None:
    covering = geo.cells_within_radius(*LONDON, 10.0, 8)
    disc_in_cells = math.pi * 10.0**2 / h3.cell_area(h3.latlng_to_cell(*LONDON, 8), unit="km^2")

    assert disc_in_cells < len(covering) < 1.3 * disc_in_cells


@pytest.mark.parametrize("radius_km", [0, -1, 50.001, math.nan, math.inf, True])
def test_cells_within_radius_refuses_a_radius_outside_0_to_50_km(radius_km: float) -> None:
    with pytest.raises(ValueError, match="radius"):
        geo.cells_within_radius(*LONDON, radius_km, 8)


def test_cells_within_radius_refuses_a_resolution_too_fine_for_the_radius() -> None:
    with pytest.raises(ValueError, match="coarser"):
        geo.cells_within_radius(*LONDON, 50.0, 11)


@pytest.mark.parametrize(
    ("lat", "lon"),
    [
        (math.nan, 0.0),
        (0.0, math.nan),
        (math.inf, 0.0),
        (0.0, -math.inf),
        (90.000001, 0.0),
        (-90.5, 0.0),
        (0.0, 180.000001),
        (0.0, -181.0),
        (10**400, 0.0),
        (True, 0.0),
        ("51.5", "-0.1"),
        (None, 0.0),
    ],
)
def test_validate_point_rejects_what_is_not_a_position_on_earth(lat: float, lon: float) -> None:
    with pytest.raises(geo.InvalidPoint) as raised:
        geo.validate_point(lat, lon)
    assert raised.value.message
    with pytest.raises(geo.InvalidPoint):
        geo.point_to_cell(lat, lon)


@pytest.mark.parametrize(("lat", "lon"), [(90.0, 180.0), (-90.0, -180.0), (0, 0), (51.5, -0.1)])
def test_validate_point_accepts_the_edges_of_the_map(lat: float, lon: float) -> None:
    geo.validate_point(lat, lon)
    assert h3.is_valid_cell(geo.point_to_cell(lat, lon))
