"""A small schematic map of an incident's cell for the desk, drawn as SVG.

No map tiles: a tile server would be a third-party origin that learns which
areas the desk is looking at (R13), and the cell is all the desk knows anyway.
The map shows the incident's H3 cell, the cells around it, and other open
incidents nearby, so a verifier can see duplicates and the scale at a glance.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import h3

# Two rings of resolution-8 cells: about 2.5 km across, enough to show the
# incidents that could be the same event (clustering joins neighbours).
RINGS = 2
SIZE = 240  # viewBox units, square
SCALE_METRES = 500
_EARTH_METRES_PER_DEGREE = 111_320.0


@dataclass(frozen=True)
class Shape:
    cell: str
    points: str  # SVG polygon points
    incident_id: int | None
    label_x: float
    label_y: float


@dataclass(frozen=True)
class CellMap:
    size: int
    own: Shape
    around: list[Shape]
    others: list[Shape]
    scale_length: float  # viewBox units for SCALE_METRES
    scale_metres: int


type Projection = Callable[[float, float], tuple[float, float]]


def _projector(lat0: float, lon0: float, half_width_m: float) -> tuple[Projection, float]:
    """Equirectangular projection around the centre: exact enough over 3 km."""
    scale = (SIZE / 2) / half_width_m
    cos_lat = math.cos(math.radians(lat0))

    def project(lat: float, lon: float) -> tuple[float, float]:
        x = (lon - lon0) * _EARTH_METRES_PER_DEGREE * cos_lat
        y = (lat - lat0) * _EARTH_METRES_PER_DEGREE
        # SVG y grows downwards; north stays up.
        return SIZE / 2 + x * scale, SIZE / 2 - y * scale

    return project, scale


def build(cell: str, nearby: Iterable[tuple[int, str]]) -> CellMap:
    """The map around ``cell``; ``nearby`` is (incident id, cell) of other open
    incidents, and those within the drawn rings are shown and labelled."""
    lat0, lon0 = h3.cell_to_latlng(cell)
    disk = h3.grid_disk(cell, RINGS)
    edge_m = h3.average_hexagon_edge_length(h3.get_resolution(cell), unit="m")
    project, scale = _projector(lat0, lon0, edge_m * (2 * RINGS + 1.2))

    def shape(c: str, incident_id: int | None = None) -> Shape:
        corners = [project(lat, lon) for lat, lon in h3.cell_to_boundary(c)]
        x, y = project(*h3.cell_to_latlng(c))
        points = " ".join(f"{px:.1f},{py:.1f}" for px, py in corners)
        return Shape(c, points, incident_id, round(x, 1), round(y, 1))

    others = [
        shape(other_cell, incident_id)
        for incident_id, other_cell in nearby
        if other_cell in disk and h3.get_resolution(other_cell) == h3.get_resolution(cell)
    ]
    return CellMap(
        size=SIZE,
        own=shape(cell),
        around=[shape(c) for c in sorted(disk) if c != cell],
        others=others,
        scale_length=round(SCALE_METRES * scale, 1),
        scale_metres=SCALE_METRES,
    )


def ring_cells(cell: str) -> set[str]:
    """Cells the map draws: other open incidents in them are worth showing."""
    return set(h3.grid_disk(cell, RINGS))
