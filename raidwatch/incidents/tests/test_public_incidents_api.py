from __future__ import annotations

from datetime import UTC, datetime

import h3
import pytest
import time_machine
from django.test import Client

from raidwatch.incidents import actions
from raidwatch.incidents.models import Incident, Status
from raidwatch.incidents.tests.factories import report

pytestmark = [pytest.mark.django_db, pytest.mark.dbsensitive]


def test_only_public_statuses_are_listed(client: Client, verifier) -> None:
    unverified = report(lat=51.50, lon=-0.10).incident
    confirmed = report(lat=51.60, lon=-0.20).incident
    debunked = report(lat=51.70, lon=-0.30).incident
    expired = report(lat=51.80, lon=-0.40).incident
    actions.confirm(confirmed.pk, verifier, place="East St market")
    actions.false_alarm(debunked.pk, verifier, reason="Police, not immigration")
    Incident.objects.filter(pk=expired.pk).update(status=Status.EXPIRED)
    items = client.get("/api/v1/incidents").json()["items"]
    assert {item["id"] for item in items} == {confirmed.pk, debunked.pk}
    assert client.get(f"/api/v1/incidents/{unverified.pk}").status_code == 404
    assert client.get(f"/api/v1/incidents/{unverified.pk}").json()["error"]["code"] == "not_found"


@time_machine.travel(datetime(2026, 11, 26, 7, 47, 31, tzinfo=UTC), tick=False)
def test_an_incident_is_coarse_and_rounded(client: Client, verifier) -> None:
    incident = report().incident
    actions.confirm(incident.pk, verifier, place="East St market")
    item = client.get(f"/api/v1/incidents/{incident.pk}").json()
    assert set(item) == {
        "id",
        "status",
        "kind",
        "cell",
        "centre",
        "place",
        "report_count",
        "opened_at",
        "updated_at",
    }
    assert h3.get_resolution(item["cell"]) <= 8
    assert item["opened_at"].startswith("2026-11-26T07:40:00")
    assert item["updated_at"].startswith("2026-11-26T07:40:00")
    lat, lon = h3.cell_to_latlng(item["cell"])
    assert (item["centre"]["lat"], item["centre"]["lon"]) == pytest.approx((lat, lon), abs=1e-5)
    assert client.get(f"/api/v1/incidents/{incident.pk}").json() == item


def test_a_lower_configured_resolution_is_honoured(client: Client, verifier, settings) -> None:
    settings.RAIDWATCH_PUBLIC_RESOLUTION = 6
    incident = report().incident
    actions.confirm(incident.pk, verifier)
    assert h3.get_resolution(client.get("/api/v1/incidents").json()["items"][0]["cell"]) == 6


def test_the_list_pages_with_a_next_link(client: Client, verifier) -> None:
    for i in range(3):
        actions.confirm(report(lat=51.5 + i / 10, lon=-0.1).incident.pk, verifier)
    first = client.get("/api/v1/incidents?limit=2").json()
    assert len(first["items"]) == 2
    assert first["next"]
    second = client.get(first["next"]).json()
    assert len(second["items"]) == 1
    assert second["next"] is None
    assert {i["id"] for i in first["items"]}.isdisjoint({i["id"] for i in second["items"]})


def test_a_bad_query_parameter_gets_a_contract_error(client: Client) -> None:
    response = client.get("/api/v1/incidents?limit=lots")
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "limit"


def test_an_unknown_api_address_gets_the_contract_error_not_a_page(client: Client) -> None:
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert client.get("/en/no-such-page").status_code == 404
