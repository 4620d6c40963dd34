"""Building checked reports for tests the way the channels do."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from raidwatch.intake.actions import Submitted, submit_report
from raidwatch.intake.validation import clean_report


def report(
    kind: str = "van_sighting",
    *,
    lat: float | None = 51.5155,
    lon: float | None = -0.0723,
    place: str | None = None,
    observed_at: datetime | None = None,
    reporter: str = "reporter-a",
    **extra: Any,
) -> Submitted:
    data: dict[str, object] = {"kind": kind, "observed_at": observed_at or timezone.now(), **extra}
    if place is not None:
        data["place"] = place
    else:
        data["lat"], data["lon"] = lat, lon
    return submit_report(clean_report(data, default_language="en"), source="api", reporter_key=reporter)
