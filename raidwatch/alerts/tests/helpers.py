"""Subscribing in tests the way the API does."""

from __future__ import annotations

from raidwatch.subscriptions.actions import create_invite, subscribe
from raidwatch.subscriptions.areas import resolve_area
from raidwatch.subscriptions.models import Subscription


def subscriber(
    address: str,
    *,
    area: dict[str, object] | None = None,
    level: str = "verified",
    channel: str = "email",
    language: str = "en",
) -> Subscription:
    return subscribe(
        channel=channel,
        area=resolve_area(area or {"lat": 51.5155, "lon": -0.0723, "radius_km": 2}),
        language=language,
        level=level,
        contact={"address": address},
        invite=create_invite() if level == "all" else None,
    ).subscription
