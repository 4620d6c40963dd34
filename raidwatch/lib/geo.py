"""Geography: H3 cells, coarsening for public output, and the place gazetteer.

Every location in raidwatch becomes an H3 cell. Reports are clustered at
``CLUSTER_RESOLUTION``; anything that leaves the volunteer desk (map, feeds,
CAP, API, statistics) is coarsened to the configured public resolution, never
finer than ``MAX_PUBLIC_RESOLUTION`` (SECURITY.md R4).

Typed places ("E1", "SW1A 1AA", "90210", "Beverly Hills, CA") are resolved
offline, from the Great Britain postcode district file in ``raidwatch/data/``
and the ``zipcodes`` package, so that no place anyone looks up is ever sent to
a third-party geocoder. The gazetteer never guesses: a place it does not know,
or one that could mean several areas, is refused with a message saying what to
give instead.

Nothing here touches the database, and the module imports without Django
settings; only ``public_resolution()`` (and the functions that fall back to it)
reads them.
"""

from __future__ import annotations

import csv
import functools
import io
import math
import numbers
import re
from collections import defaultdict, deque
from dataclasses import dataclass
from importlib import resources
from typing import NamedTuple

import h3
import zipcodes
from django.conf import settings
from django.core.exceptions import AppRegistryNotReady, ImproperlyConfigured
from django.utils.translation import gettext

#: Resolution reports are clustered at. A res-8 cell is about 0.74 km² (a few
#: blocks): fine enough to group reports of one event, too coarse to pin a doorway.
CLUSTER_RESOLUTION: int = 8

#: Nothing public is finer than this, whatever the settings say.
MAX_PUBLIC_RESOLUTION: int = 8

#: How precisely a place given by name is known. A postcode district or ZIP code
#: covers from a few to hundreds of km², so its centroid stands for an area about
#: the size of a res-6 cell (about 36 km²). ``Place.area_cell()`` uses it so that
#: callers can avoid presenting a typed place as more precise than it is.
GAZETTEER_RESOLUTION: int = 6

#: Largest radius ``cells_within_radius`` accepts: wider areas belong to
#: coarser resolutions, and the bound keeps the covering set small.
MAX_RADIUS_KM: float = 50.0

#: Longest text ``resolve_place`` will look at; the longest real US place name
#: with its state and ZIP code is well under this.
MAX_PLACE_TEXT_LENGTH: int = 100

KIND_POSTCODE_DISTRICT = "postcode_district"
KIND_ZIP = "zip"
KIND_PLACE_NAME = "place_name"

# Covering sets larger than this are refused rather than computed: at res 8 a
# 50 km disc is about 12,000 cells, so only an unsuitably fine resolution trips it.
_MAX_COVERING_CELLS = 100_000

# H3 accepts odd spellings of a cell ("0x…", leading spaces, capitals); public
# outputs and lookups use only the canonical form, 15 lower-case hex digits.
_CELL_RE = re.compile(r"8[0-9a-f]{14}")

# The outward code (district) of a GB postcode, optionally followed by the
# inward code ("1AA", space optional) or a sector digit ("E1 6", space
# required, so that "E16" stays the district E16). The inward code is always
# one digit and two letters, so backtracking splits "E11AA" as E1 + 1AA.
_POSTCODE_RE = re.compile(r"(?P<district>[A-Z]{1,2}[0-9][A-Z0-9]?)(?: ?[0-9][A-Z]{2}| [0-9])?")
# ZIP or ZIP+4; the +4 part is dropped, since only ZIP-level centroids exist.
_ZIP_RE = re.compile(r"(?P<zip>[0-9]{5})(?:-[0-9]{4})?")
# "City, ST", "City ST", and the labels this module produces ("City, ST 90210").
_PLACE_RE = re.compile(
    r"(?P<city>[A-Z][A-Z .'&-]*?)(?: ?, ?| )(?P<state>[A-Z]{2})(?: (?P<zip>[0-9]{5})(?:-[0-9]{4})?)?"
)

_DISTRICTS_FILE = "gb-postcode-districts.csv"

# Northern Ireland's districts all start with BT and are missing from the source data.
_NORTHERN_IRELAND_AREA = "BT"

# ZIP types that stand for a place. MILITARY codes are overseas mail routes with
# no position of their own.
_STANDARD = "STANDARD"
_PLACE_ZIP_TYPES = frozenset({_STANDARD, "UNIQUE", "PO BOX"})

# USPS spells these out in some names and abbreviates them in others ("Saint
# Louis", "St John"); both sides of a lookup are normalised the same way.
_CITY_WORD_ALIASES = {"ST": "SAINT", "STE": "SAINTE", "FT": "FORT", "MT": "MOUNT"}

_EXAMPLES_SHOWN = 5


def _(message: str) -> str:
    """Translate ``message``, or return it as is where Django is not set up.

    Without this, a caller that never configured Django (a script, a pure test)
    would get ImproperlyConfigured instead of the error that explains the input.
    Named ``_`` so that makemessages extracts the strings.
    """
    try:
        return gettext(message)
    except (ImproperlyConfigured, AppRegistryNotReady):
        return message


def _accepted_forms() -> str:
    return _(
        "Enter a postcode district like E1, a ZIP code like 10001, or a US town and state like “Marfa, TX”."
    )


class GeoInputError(ValueError):
    """A location that cannot be used; ``message`` explains it to whoever gave it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownPlace(GeoInputError):
    """Typed text that names no place we know, or more than one."""


class InvalidPoint(GeoInputError):
    """A latitude/longitude pair that is not a position on Earth."""


@dataclass(frozen=True, slots=True)
class Place:
    """A resolved place: a centroid and the normalised label to show for it."""

    lat: float
    lon: float
    label: str  # "SW1A", "90210", "Beverly Hills, CA 90210"
    kind: str  # KIND_POSTCODE_DISTRICT, KIND_ZIP or KIND_PLACE_NAME

    def cell(self, resolution: int = CLUSTER_RESOLUTION) -> str:
        """The cell holding the centroid (the centroid, not the whole area)."""
        return point_to_cell(self.lat, self.lon, resolution)

    def area_cell(self) -> str:
        """The cell that honestly stands for the place: its centroid at GAZETTEER_RESOLUTION.

        Derived through the res-8 cell, like every other coarsening here, so it
        is always an ancestor of ``cell()``.
        """
        return coarsen_cell(self.cell(), GAZETTEER_RESOLUTION)


# --- points and cells --------------------------------------------------------


def _real_number(value: object) -> float | None:
    """``value`` as a float, or None when it is not a real number at all.

    Takes ``object`` because the values often come straight from parsed input.
    bool is an int to Python, but True is not a coordinate or a radius.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    try:
        return float(value)
    except OverflowError:  # an int too large for a float
        return math.inf


def validate_point(lat: float, lon: float) -> None:
    """Raise InvalidPoint unless (lat, lon) is a finite position in degrees."""
    lat_value, lon_value = _real_number(lat), _real_number(lon)
    if lat_value is None or lon_value is None:
        raise InvalidPoint(_("A location needs its latitude and longitude as numbers."))
    if not (math.isfinite(lat_value) and math.isfinite(lon_value)):
        raise InvalidPoint(
            _("That location is not a position on Earth: a coordinate is not a finite number.")
        )
    if not -90.0 <= lat_value <= 90.0:
        raise InvalidPoint(
            _("Latitude must be between -90 and 90 degrees, not %(lat)s.") % {"lat": lat_value}
        )
    if not -180.0 <= lon_value <= 180.0:
        raise InvalidPoint(
            _("Longitude must be between -180 and 180 degrees, not %(lon)s.") % {"lon": lon_value}
        )


def _check_resolution(resolution: int) -> int:
    if isinstance(resolution, bool) or not isinstance(resolution, int) or not 0 <= resolution <= 15:
        raise ValueError(_("An H3 resolution is a whole number from 0 to 15."))
    return resolution


def _check_cell(cell: str) -> str:
    if not isinstance(cell, str) or not _CELL_RE.fullmatch(cell) or not h3.is_valid_cell(cell):
        raise ValueError(_("That is not an H3 cell (15 lower-case hexadecimal digits)."))
    return cell


def point_to_cell(lat: float, lon: float, resolution: int = CLUSTER_RESOLUTION) -> str:
    """The H3 cell at ``resolution`` holding the point."""
    validate_point(lat, lon)
    cell: str = h3.latlng_to_cell(float(lat), float(lon), _check_resolution(resolution))
    return cell


def public_resolution() -> int:
    """The configured public resolution (RAIDWATCH_PUBLIC_RESOLUTION), never finer than 8.

    Read on every call, not at import, so that a settings change (or a test's
    override) takes effect at once. Out-of-range values are clamped towards
    coarse, which is the safe direction.
    """
    configured = getattr(settings, "RAIDWATCH_PUBLIC_RESOLUTION", MAX_PUBLIC_RESOLUTION)
    if isinstance(configured, bool) or not isinstance(configured, int):
        raise ImproperlyConfigured("RAIDWATCH_PUBLIC_RESOLUTION must be a whole number from 0 to 8.")
    return max(0, min(configured, MAX_PUBLIC_RESOLUTION))


def coarsen_cell(cell: str, resolution: int | None = None) -> str:
    """The ancestor of ``cell`` fit to publish.

    Its resolution is the lowest of: ``resolution`` (default: the configured
    public resolution), MAX_PUBLIC_RESOLUTION, and the cell's own (a cell that
    is already coarser is returned unchanged).
    """
    own: int = h3.get_resolution(_check_cell(cell))
    wanted = public_resolution() if resolution is None else _check_resolution(resolution)
    target = min(wanted, MAX_PUBLIC_RESOLUTION, own)
    return cell if target == own else h3.cell_to_parent(cell, target)


def coarsen_location(lat: float, lon: float, resolution: int | None = None) -> str:
    """The public cell for a point.

    Always derived from the point's CLUSTER_RESOLUTION cell rather than straight
    from the point: H3 children do not nest exactly inside their parents, so
    going direct could publish a cell that is not the ancestor of the cell the
    incident is clustered in, and two views of one incident would disagree.
    """
    return coarsen_cell(point_to_cell(lat, lon, CLUSTER_RESOLUTION), resolution)


def cell_centre(cell: str) -> tuple[float, float]:
    """(lat, lon) of the cell's centre, rounded to 5 decimals (about a metre).

    Rounding keeps last-digit floating-point differences (between platforms or
    H3 builds) out of public feeds, which promise identical values on every
    call; ``+ 0.0`` turns -0.0 into 0.0 so that JSON never shows a signed zero.
    """
    lat, lon = h3.cell_to_latlng(_check_cell(cell))
    return (round(lat, 5) + 0.0, round(lon, 5) + 0.0)


def neighbouring_cells(cell: str) -> set[str]:
    """The cell and the cells touching it: 7, or 6 around one of H3's pentagons."""
    return set(h3.grid_disk(_check_cell(cell), 1))


def is_public_cell(cell: str) -> bool:
    """Whether ``cell`` is a canonical H3 cell no finer than the public resolution."""
    try:
        resolution: int = h3.get_resolution(_check_cell(cell))
    except ValueError:
        return False
    return resolution <= public_resolution()


def _check_radius(radius_km: float) -> float:
    radius = _real_number(radius_km)
    if radius is None:
        raise ValueError(_("The radius must be a number of kilometres."))
    if not (math.isfinite(radius) and 0.0 < radius <= MAX_RADIUS_KM):
        raise ValueError(
            _("The radius must be more than 0 and at most %(max)s km.") % {"max": f"{MAX_RADIUS_KM:g}"}
        )
    return radius


def _may_reach(origin: tuple[float, float], cell: str, radius_km: float) -> bool:
    """Whether ``cell`` could hold a point within ``radius_km`` of ``origin``.

    True when the cell's centre is within the radius plus the cell's
    circumradius (its farthest vertex), so it errs towards including a cell.
    """
    centre = h3.cell_to_latlng(cell)
    distance: float = h3.great_circle_distance(origin, centre, unit="km")
    if distance <= radius_km:
        return True
    # Only cells near the rim get this far, so the boundary walk is rare.
    reach: float = max(
        h3.great_circle_distance(centre, vertex, unit="km") for vertex in h3.cell_to_boundary(cell)
    )
    # Slack for floating point and for the few cells whose edges bend across an
    # icosahedron face: one extra per cent of the cell, and a metre.
    return distance <= radius_km + reach * 1.01 + 0.001


def cells_within_radius(lat: float, lon: float, radius_km: float, resolution: int) -> set[str]:
    """Every cell at ``resolution`` that may overlap the disc around (lat, lon).

    A covering, not an approximation: a subscription "within 5 km" must hear of
    anything within 5 km, so the set may hold a few cells just outside the disc
    but never misses one inside it. It is found by flooding outwards from the
    point's own cell through cells that pass ``_may_reach``. The cells that
    really meet the disc are connected (three cells meet at every H3 vertex, so
    touching cells share an edge) and all pass the test, so the flood reaches
    every one of them, at any latitude, across the antimeridian and around
    pentagons alike.

    Raises ValueError unless 0 < radius_km <= MAX_RADIUS_KM, or when the
    resolution is so fine that the set would be unreasonably large.
    """
    validate_point(lat, lon)
    res = _check_resolution(resolution)
    radius = _check_radius(radius_km)
    edge = h3.average_hexagon_edge_length(res, unit="km")
    estimate = math.pi * (radius + 2 * edge) ** 2 / h3.average_hexagon_area(res, unit="km^2")
    if estimate > _MAX_COVERING_CELLS:
        raise ValueError(
            _("A %(radius)s km radius spans too many cells at resolution %(resolution)d; use a coarser one.")
            % {"radius": f"{radius:g}", "resolution": res}
        )
    origin = (float(lat), float(lon))
    start = h3.latlng_to_cell(origin[0], origin[1], res)
    covering = {start}
    seen = {start}
    frontier = deque([start])
    while frontier:
        for neighbour in h3.grid_disk(frontier.popleft(), 1):
            if neighbour in seen:
                continue
            seen.add(neighbour)
            if _may_reach(origin, neighbour, radius):
                covering.add(neighbour)
                frontier.append(neighbour)
    return covering


# --- gazetteer ---------------------------------------------------------------


class _Zip(NamedTuple):
    code: str
    # None where the package has no position for the ZIP: it writes 0,0 (a
    # point in the Gulf of Guinea) for military and some special codes.
    position: tuple[float, float] | None
    city: str
    state: str
    zip_type: str
    active: bool
    other_cities: tuple[str, ...]  # USPS "acceptable" names for the same area


class _Served(NamedTuple):
    """One ZIP code serving a place name, with the spelling of the name that matched."""

    code: str
    name: str
    lat: float
    lon: float
    standard: bool


type _CityIndex = dict[tuple[str, str], list[_Served]]


@functools.cache
def _postcode_districts() -> dict[str, tuple[float, float]]:
    """District → centroid, read once from the packaged CSV."""
    text = (resources.files("raidwatch") / "data" / _DISTRICTS_FILE).read_text(encoding="utf-8")
    return {
        row["district"]: (float(row["lat"]), float(row["lon"]))
        for row in csv.DictReader(io.StringIO(text, newline=""))
    }


def _zip_position(record: dict[str, object]) -> tuple[float, float] | None:
    try:
        lat, lon = float(str(record["lat"])), float(str(record["long"]))
    except (KeyError, ValueError):
        return None
    if (lat, lon) == (0.0, 0.0) or not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    return (lat, lon)


@functools.cache
def _zip_index() -> dict[str, _Zip]:
    """ZIP code → entry, built once.

    ``zipcodes.matching`` scans the whole list on every call (about a
    millisecond); a dict makes a lookup a few microseconds. The full list comes
    from ``filter_by()`` rather than ``list_all()`` because the latter keeps its
    ~80 MB of dicts cached in the package for the life of the process, while
    this copy is dropped once the compact index is built.
    """
    index: dict[str, _Zip] = {}
    # The package's Python wrapper has no annotations (its compiled core does).
    for record in zipcodes.filter_by():  # type: ignore[no-untyped-call]
        index[str(record["zip_code"])] = _Zip(
            code=str(record["zip_code"]),
            position=_zip_position(record),
            city=str(record["city"]),
            state=str(record["state"]),
            zip_type=str(record["zip_code_type"]),
            active=bool(record["active"]),
            other_cities=tuple(str(name) for name in record.get("acceptable_cities") or ()),
        )
    return index


def _city_key(name: str) -> str:
    """Normalise a city name for lookup: capitals, no punctuation, common abbreviations spelled out."""
    words = re.sub(r"[.'\-]", " ", name.upper()).split()
    return " ".join(_CITY_WORD_ALIASES.get(word, word) for word in words)


@functools.cache
def _city_index() -> tuple[_CityIndex, _CityIndex]:
    """(city key, state) → ZIPs serving that place: by USPS's main name, and by its other accepted names."""
    by_name: defaultdict[tuple[str, str], list[_Served]] = defaultdict(list)
    by_other_name: defaultdict[tuple[str, str], list[_Served]] = defaultdict(list)
    for entry in _zip_index().values():
        # Retired and position-less ZIPs cannot be the answer for a place name.
        if not entry.active or entry.position is None or entry.zip_type not in _PLACE_ZIP_TYPES:
            continue
        lat, lon = entry.position
        standard = entry.zip_type == _STANDARD
        by_name[(_city_key(entry.city), entry.state)].append(
            _Served(entry.code, entry.city, lat, lon, standard)
        )
        for other in entry.other_cities:
            by_other_name[(_city_key(other), entry.state)].append(
                _Served(entry.code, other, lat, lon, standard)
            )
    return dict(by_name), dict(by_other_name)


@functools.cache
def _states() -> frozenset[str]:
    return frozenset(entry.state for entry in _zip_index().values())


def load_gazetteers() -> None:
    """Build the lookup tables now (about half a second) rather than on the first lookup.

    For servers to call at start-up, so that no request pays for it.
    """
    _postcode_districts()
    _city_index()
    _states()


def _resolve_district(district: str) -> Place:
    centroid = _postcode_districts().get(district)
    if centroid is None:
        if district.startswith(_NORTHERN_IRELAND_AREA):
            raise UnknownPlace(
                _(
                    "We can't place “%(district)s”: Northern Ireland postcodes are not in our "
                    "postcode data yet. Mark the place on the map instead."
                )
                % {"district": district}
            )
        raise UnknownPlace(
            _(
                "We don't know the postcode district “%(district)s”. Check it: a district is the "
                "first part of a postcode, like E1 or SW1A."
            )
            % {"district": district}
        )
    return Place(lat=centroid[0], lon=centroid[1], label=district, kind=KIND_POSTCODE_DISTRICT)


def _located_zip(code: str) -> tuple[_Zip, tuple[float, float]]:
    entry = _zip_index().get(code)
    if entry is None:
        raise UnknownPlace(
            _("We don't know the ZIP code %(zip)s. Check it, or give a town and state like “Marfa, TX”.")
            % {"zip": code}
        )
    if entry.position is None:
        raise UnknownPlace(
            _(
                "The ZIP code %(zip)s has no fixed location (military and some special ZIP codes "
                "don't). Give the ZIP code, or the city and state, of the place you mean."
            )
            % {"zip": code}
        )
    return entry, entry.position


def _resolve_zip(code: str) -> Place:
    # The label is the bare ZIP: callers keep no more detail than the centroid carries.
    _entry, (lat, lon) = _located_zip(code)
    return Place(lat=lat, lon=lon, label=code, kind=KIND_ZIP)


def _place_label(city: str, state: str, code: str) -> str:
    return f"{city}, {state} {code}"


def _resolve_city_with_zip(city: str, state: str, code: str) -> Place:
    """Text shaped like our own labels ("City, ST 90210"): the ZIP decides, the name must agree."""
    entry, (lat, lon) = _located_zip(code)
    key = _city_key(city)
    names = [entry.city, *entry.other_cities]
    matched = next((name for name in names if _city_key(name) == key), None)
    if entry.state != state or matched is None:
        raise UnknownPlace(
            _(
                "The ZIP code %(zip)s is in %(actual)s, not %(given)s. "
                "Give just the ZIP code, or just the place."
            )
            % {"zip": code, "actual": f"{entry.city}, {entry.state}", "given": f"{city.title()}, {state}"}
        )
    return Place(lat=lat, lon=lon, label=_place_label(matched, state, code), kind=KIND_PLACE_NAME)


def _resolve_city(city: str, state: str) -> Place:
    by_name, by_other_name = _city_index()
    key = (_city_key(city), state)
    # USPS's main name wins; its other accepted names ("Hollywood" for parts of
    # Los Angeles) are only a fallback, so they cannot make a town ambiguous.
    matches = by_name.get(key) or by_other_name.get(key) or []
    if not matches:
        raise UnknownPlace(
            _("We don't know a place called “%(place)s”. Check the spelling, or give its ZIP code.")
            % {"place": f"{city.title()}, {state}"}
        )
    # A town's standard ZIPs are its delivery areas. Its PO box and
    # single-organisation (UNIQUE) ZIPs count only when it has no standard one.
    standard = [served for served in matches if served.standard]
    by_code = {served.code: served for served in standard or matches}
    codes = sorted(by_code)
    if len(codes) > 1:
        examples = ", ".join(codes[:_EXAMPLES_SHOWN])
        raise UnknownPlace(
            _(
                "Several ZIP codes cover %(place)s, so we can't tell which part you mean. "
                "Give the ZIP code, for example %(examples)s."
            )
            % {"place": f"{by_code[codes[0]].name}, {state}", "examples": examples}
        )
    served = by_code[codes[0]]
    return Place(
        lat=served.lat,
        lon=served.lon,
        label=_place_label(served.name, state, served.code),
        kind=KIND_PLACE_NAME,
    )


def resolve_place(text: str) -> Place:
    """Resolve typed text to a Place, or raise UnknownPlace saying what to give instead.

    Accepts a GB postcode district ("E1", "SW1A") or full postcode (resolved to
    its district), a US ZIP or ZIP+4, and a US "City, ST" (also "City ST"). A
    place name resolves only when one ZIP code covers it; otherwise the message
    lists some of its ZIP codes. Case and extra spaces do not matter.
    """
    # Refuse over-long text before any work is done on it.
    if len(text) > MAX_PLACE_TEXT_LENGTH:
        raise UnknownPlace(
            _("That is too long to be a place (at most %(max)d characters).") % {"max": MAX_PLACE_TEXT_LENGTH}
            + " "
            + _accepted_forms()
        )
    query = " ".join(text.split()).upper()
    if not query:
        raise UnknownPlace(
            _(
                "Enter a place: a postcode district like E1, a ZIP code like 10001, "
                "or a US town and state like “Marfa, TX”."
            )
        )
    if match := _POSTCODE_RE.fullmatch(query):
        return _resolve_district(match["district"])
    if match := _ZIP_RE.fullmatch(query):
        return _resolve_zip(match["zip"])
    if match := _PLACE_RE.fullmatch(query):
        city, state, code = match["city"], match["state"], match["zip"]
        if state not in _states():
            raise UnknownPlace(
                _(
                    "We don't know the US state “%(state)s”. Use its two-letter code, like CA or NY, "
                    "or, in Great Britain, give a postcode district like E1."
                )
                % {"state": state}
            )
        if code is not None:
            return _resolve_city_with_zip(city, state, code)
        return _resolve_city(city, state)
    raise UnknownPlace(_("We can't tell which place that is.") + " " + _accepted_forms())
