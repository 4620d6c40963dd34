"""Appending to the durable event log."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from raidwatch.incidents.models import Event, Incident


def incident_event_payload(incident: Incident) -> dict[str, Any]:
    """The public shape with times as strings, so the payload stores as JSON."""
    payload = incident.public_dict()
    for field in ("opened_at", "updated_at"):
        payload[field] = payload[field].isoformat()  # type: ignore[attr-defined]
    return payload


def append_incident_event(incident: Incident, event_type: str, *, desk_only: bool = False) -> Event:
    """Log a change of ``incident``. The payload is always the coarse public shape;
    the event is public only when the incident is (never an unverified one), and
    never for desk work (claims, responders' progress) that only volunteers see."""
    return Event.objects.create(
        at=timezone.now(),
        type=event_type,
        public=incident.is_public and not desk_only,
        incident=incident,
        payload=incident_event_payload(incident),
    )
