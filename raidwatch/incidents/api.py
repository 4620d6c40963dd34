"""GET /api/v1/incidents[/{id}]: public statuses only, coarse."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import Http404, HttpRequest
from django.urls import reverse
from ninja import Query, Router, Schema

from raidwatch.incidents.models import PUBLIC_STATUSES, Incident

router = Router(tags=["incidents"])

PAGE_SIZE = 50


class Centre(Schema):
    lat: float
    lon: float


class IncidentOut(Schema):
    id: int
    status: str
    kind: str
    cell: str
    centre: Centre
    place: str
    report_count: int
    opened_at: datetime
    updated_at: datetime


class IncidentList(Schema):
    items: list[IncidentOut]
    next: str | None


class ListFilters(Schema):
    before: int | None = None
    limit: int = PAGE_SIZE


@router.get("/incidents", response=IncidentList, summary="Public incidents, newest first")
def list_incidents(request: HttpRequest, filters: Query[ListFilters]) -> dict[str, Any]:
    limit = max(1, min(filters.limit, 200))
    incidents = Incident.objects.filter(status__in=PUBLIC_STATUSES, is_exercise=False).order_by("-id")
    if filters.before is not None:
        incidents = incidents.filter(id__lt=filters.before)
    page = list(incidents[: limit + 1])
    next_url = None
    if len(page) > limit:
        page = page[:limit]
        next_url = request.build_absolute_uri(
            f"{reverse('api-v1:list_incidents')}?before={page[-1].pk}&limit={limit}"
        )
    return {"items": [incident.public_dict() for incident in page], "next": next_url}


@router.get("/incidents/{incident_id}", response=IncidentOut, summary="One public incident")
def get_incident(request: HttpRequest, incident_id: int) -> dict[str, Any]:
    incident = Incident.objects.filter(pk=incident_id, status__in=PUBLIC_STATUSES, is_exercise=False).first()
    if incident is None:
        raise Http404
    return incident.public_dict()
