"""Checking a report, the same way for every channel.

Each problem is a ReportInvalid naming the field, a stable code and a message in
the reporter's language, so the API can answer 422 and the web form can show
the message beside the field.
"""

from __future__ import annotations

import math
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from raidwatch.incidents.models import Kind
from raidwatch.lib import geo

MAX_DESCRIPTION = 500
FUTURE_TOLERANCE = timedelta(minutes=5)
MAX_AGE = timedelta(hours=24)

# Bidi embedding/override/isolate controls and marks: they can make text display
# as something other than what it says (SECURITY.md R15).
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class ReportInvalid(ValueError):
    def __init__(self, field: str, code: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Location:
    cell: str
    lat: float
    lon: float
    # True when the point is the reporter's own (a tap or GPS): sealed, never shown.
    precise: bool
    place_label: str


@dataclass(frozen=True)
class ValidReport:
    kind: str
    location: Location
    observed_at: datetime
    description: str
    language: str
    client_id: uuid.UUID | None


def clean_kind(value: object) -> str:
    if not isinstance(value, str) or value not in Kind.values:
        raise ReportInvalid(
            "kind",
            "unknown_kind",
            _("Choose what you saw: %(kinds)s.") % {"kinds": ", ".join(str(label) for label in Kind.labels)},
        )
    return value


def _coordinate(field: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ReportInvalid(field, "invalid_coordinate", _("%(field)s must be a number.") % {"field": field})
    try:
        number = float(value)
    except ValueError:
        raise ReportInvalid(
            field, "invalid_coordinate", _("%(field)s must be a number.") % {"field": field}
        ) from None
    return number


def clean_location(lat: object, lon: object, place: object) -> Location:
    has_point = lat not in (None, "") or lon not in (None, "")
    if has_point:
        if lat in (None, "") or lon in (None, ""):
            missing = "lat" if lat in (None, "") else "lon"
            raise ReportInvalid(missing, "missing_coordinate", _("Give both latitude and longitude."))
        lat_f, lon_f = _coordinate("lat", lat), _coordinate("lon", lon)
        if not math.isfinite(lat_f) or not -90 <= lat_f <= 90:
            raise ReportInvalid("lat", "out_of_range", _("Latitude must be between -90 and 90."))
        if not math.isfinite(lon_f) or not -180 <= lon_f <= 180:
            raise ReportInvalid("lon", "out_of_range", _("Longitude must be between -180 and 180."))
        return Location(geo.point_to_cell(lat_f, lon_f), lat_f, lon_f, precise=True, place_label="")
    if not isinstance(place, str) or not place.strip():
        raise ReportInvalid(
            "place",
            "missing_place",
            _("Say where: a postcode district (like E1), a ZIP code (like 10001) or use your location."),
        )
    try:
        found = geo.resolve_place(place)
    except geo.UnknownPlace as exc:
        raise ReportInvalid("place", "unknown_place", exc.message) from None
    return Location(
        geo.point_to_cell(found.lat, found.lon), found.lat, found.lon, precise=False, place_label=found.label
    )


def clean_observed_at(value: object, now: datetime | None = None) -> datetime:
    now = now or timezone.now()
    if value in (None, ""):
        return now
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise ReportInvalid(
                "observed_at", "invalid_time", _("Give the time as ISO 8601, like 2026-11-26T07:45:00+00:00.")
            ) from None
    else:
        raise ReportInvalid("observed_at", "invalid_time", _("Give the time as ISO 8601 text."))
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ReportInvalid(
            "observed_at", "time_without_offset", _("Give the time with its UTC offset, like 07:45:00+00:00.")
        )
    if moment > now + FUTURE_TOLERANCE:
        raise ReportInvalid("observed_at", "time_in_future", _("That time is in the future."))
    if moment < now - MAX_AGE:
        raise ReportInvalid(
            "observed_at", "time_too_old", _("Only report what you saw in the last 24 hours.")
        )
    return moment


def inert_text(value: str) -> str:
    """NFC-normalised, one line, without control or bidi characters (R15).

    A bidi override (U+202E) can make text display as something else on every
    screen it reaches, so it is removed where text comes in, not where it is shown.
    """
    text = unicodedata.normalize("NFC", value)
    kept = []
    for char in text:
        if char in _BIDI_CONTROLS:
            continue
        category = unicodedata.category(char)
        if category == "Cc" or char in "\u2028\u2029":
            # Line breaks and tabs become spaces; other control characters go.
            if char in "\t\n\r\u2028\u2029\x0b\x0c":
                kept.append(" ")
            continue
        kept.append(char)
    return " ".join("".join(kept).split())


def clean_description(value: object) -> str:
    """NFC-normalised, without control or bidi characters, at most 500 characters."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ReportInvalid("description", "invalid_description", _("The description must be text."))
    if not value:
        return ""
    cleaned = inert_text(value)
    if not cleaned or not any(ch.isprintable() and not ch.isspace() for ch in cleaned):
        raise ReportInvalid(
            "description",
            "empty_description",
            _("The description has nothing readable left; write a few words."),
        )
    if len(cleaned) > MAX_DESCRIPTION:
        raise ReportInvalid(
            "description",
            "description_too_long",
            _("Keep the description to %(max)d characters (it has %(n)d).")
            % {"max": MAX_DESCRIPTION, "n": len(cleaned)},
        )
    return cleaned


def clean_client_id(value: object) -> uuid.UUID | None:
    if value in (None, ""):
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ReportInvalid("client_id", "invalid_client_id", _("client_id must be a UUID.")) from None


def clean_language(value: object, default: str) -> str:
    codes = {code for code, _name in settings.LANGUAGES}
    if value in (None, ""):
        return default
    if not isinstance(value, str) or value.lower() not in codes:
        raise ReportInvalid(
            "language",
            "unknown_language",
            _("Language must be one of: %(codes)s.") % {"codes": ", ".join(sorted(codes))},
        )
    return value.lower()


def clean_report(data: dict[str, object], default_language: str) -> ValidReport:
    """Check every field of a report, in the order a reporter fills them in."""
    return ValidReport(
        kind=clean_kind(data.get("kind")),
        location=clean_location(data.get("lat"), data.get("lon"), data.get("place")),
        observed_at=clean_observed_at(data.get("observed_at")),
        description=clean_description(data.get("description")),
        language=clean_language(data.get("language"), default_language),
        client_id=clean_client_id(data.get("client_id")),
    )
