"""Turning a subscriber's area into the H3 cells that are stored and matched."""

from __future__ import annotations

from dataclasses import dataclass

import h3

from raidwatch.lib import geo

MATCH_RESOLUTION = 8
MAX_RADIUS_KM = 50.0
# The gazetteers give a centre only, so a district or ZIP is taken as a disc
# around it; these radii cover a typical urban district or ZIP area.
POSTCODE_RADIUS_KM = 2.0
ZIP_RADIUS_KM = 3.0


class InvalidArea(ValueError):
    def __init__(self, field: str, code: str, message: str) -> None:
        super().__init__(message)
        self.field, self.code, self.message = field, code, message


@dataclass(frozen=True)
class Area:
    kind: str
    label: str
    cells: frozenset[str]  # compacted, none finer than MATCH_RESOLUTION


def _disc(lat: float, lon: float, radius_km: float) -> frozenset[str]:
    cells = geo.cells_within_radius(lat, lon, radius_km, MATCH_RESOLUTION)
    return frozenset(h3.compact_cells(list(cells)))


def resolve_area(area: object) -> Area:
    """``{lat, lon, radius_km}``, ``{postcode}``, ``{zip}`` or ``{named}`` → cells.
    Never stores the centre."""
    from django.utils.translation import gettext as _

    if not isinstance(area, dict):
        raise InvalidArea(
            "area", "invalid_area", _("Give the area as {lat, lon, radius_km}, {postcode} or {zip}.")
        )
    if "named" in area:
        return _named(area["named"])
    if "postcode" in area or "zip" in area:
        key = "postcode" if "postcode" in area else "zip"
        text = area[key]
        if not isinstance(text, str):
            raise InvalidArea(f"area.{key}", "unknown_place", _("The %(key)s must be text.") % {"key": key})
        try:
            place = geo.resolve_place(text)
        except geo.UnknownPlace as exc:
            raise InvalidArea(f"area.{key}", "unknown_place", exc.message) from None
        expected = geo.KIND_POSTCODE_DISTRICT if key == "postcode" else geo.KIND_ZIP
        if place.kind != expected:
            raise InvalidArea(f"area.{key}", "unknown_place", _("That is not a %(key)s.") % {"key": key})
        radius = POSTCODE_RADIUS_KM if key == "postcode" else ZIP_RADIUS_KM
        return Area(key, place.label, _disc(place.lat, place.lon, radius))
    try:
        lat, lon, radius = float(area["lat"]), float(area["lon"]), float(area["radius_km"])
    except (KeyError, TypeError, ValueError):
        raise InvalidArea(
            "area", "invalid_area", _("Give the area as {lat, lon, radius_km}, {postcode} or {zip}.")
        ) from None
    try:
        geo.validate_point(lat, lon)
    except geo.InvalidPoint as exc:
        raise InvalidArea("area", "out_of_range", exc.message) from None
    if not 0.2 <= radius <= MAX_RADIUS_KM:
        raise InvalidArea(
            "area.radius_km",
            "out_of_range",
            _("The radius must be between 0.2 and %(max)d km.") % {"max": int(MAX_RADIUS_KM)},
        )
    return Area("radius", _("%(km)s km") % {"km": f"{radius:g}"}, _disc(lat, lon, radius))


def _named(name: object) -> Area:
    from django.utils.translation import gettext as _

    from raidwatch.subscriptions.models import AreaKind, NamedArea

    named = NamedArea.objects.filter(name=name).first() if isinstance(name, str) else None
    if named is None or not named.cells:
        raise InvalidArea("area.named", "unknown_place", _("There is no area of that name."))
    return Area(AreaKind.NAMED, named.name, frozenset(named.cells))


def match_keys(alert_cells: list[str] | frozenset[str]) -> set[str]:
    """Every cell a subscription could hold that meets one of ``alert_cells``.

    Subscription cells are compacted and never finer than the match resolution,
    and alert cells are at the match resolution, so a subscription cell meets an
    alert cell exactly when it is the cell or one of its ancestors.
    """
    keys: set[str] = set()
    for cell in alert_cells:
        resolution = h3.get_resolution(cell)
        keys.add(cell)
        keys.update(h3.cell_to_parent(cell, r) for r in range(resolution))
    return keys
