"""Public pages and service endpoints."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from raidwatch.incidents.models import PUBLIC_STATUSES, Incident


def healthz(request: HttpRequest) -> JsonResponse:
    # Touch the database: a web process that cannot reach it is not healthy.
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def home(request: HttpRequest) -> HttpResponse:
    recent = Incident.objects.filter(status__in=PUBLIC_STATUSES, is_exercise=False).order_by("-updated_at")[
        :10
    ]
    return render(request, "public/home.html", {"incidents": [i.public_dict() | {"obj": i} for i in recent]})


def about(request: HttpRequest) -> HttpResponse:
    return render(request, "public/about.html")
