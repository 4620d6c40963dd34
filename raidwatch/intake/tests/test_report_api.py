from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from raidwatch.incidents.models import Event, Incident
from raidwatch.intake.models import Report
from raidwatch.lib import crypto

pytestmark = [pytest.mark.django_db, pytest.mark.dbsensitive]

URL = "/api/v1/reports"


def post(client: Client, body: object):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(URL, data=data, content_type="application/json")


def test_report_with_a_point_opens_an_unverified_incident(client: Client) -> None:
    response = post(client, {"kind": "van_sighting", "lat": 51.5155, "lon": -0.0723})
    assert response.status_code == 201
    body = response.json()
    assert body["incident"]["status"] == "unverified"
    assert body["media_token"]
    report = Report.objects.get(pk=body["id"])
    assert report.incident_id == body["incident"]["id"]
    assert report.source == "api"
    assert report.location_sealed is not None
    assert crypto.open_location(bytes(report.location_sealed)) == pytest.approx((51.5155, -0.0723))


def test_report_with_a_place_resolves_it_and_keeps_no_point(client: Client) -> None:
    response = post(client, {"kind": "checkpoint", "place": "SW1A 1AA"})
    assert response.status_code == 201
    report = Report.objects.get(pk=response.json()["id"])
    assert report.place_label == "SW1A"
    assert report.location_sealed is None


def test_a_resend_with_the_same_client_id_returns_the_first_result(client: Client) -> None:
    client_id = str(uuid.uuid4())
    first = post(client, {"kind": "raid", "place": "E1", "client_id": client_id})
    again = post(client, {"kind": "raid", "place": "E1", "client_id": client_id})
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["incident"] == again.json()["incident"]
    assert Report.objects.count() == 1


def test_description_is_normalised_and_stripped_of_bidi_overrides(client: Client) -> None:
    response = post(
        client, {"kind": "arrest", "place": "E1", "description": "Cafe\u0301 \u202eetis\u202c\n\tnear"}
    )
    assert response.status_code == 201
    assert Report.objects.get().description == "Café etis near"


def test_observed_at_with_offset_is_kept(client: Client) -> None:
    seen = (datetime.now(UTC) - timedelta(minutes=20)).replace(microsecond=0)
    response = post(client, {"kind": "raid", "place": "E1", "observed_at": seen.isoformat()})
    assert response.status_code == 201
    assert Report.objects.get().observed_at == seen


def _future() -> str:
    return (datetime.now(UTC) + timedelta(minutes=30)).isoformat()


def _too_old() -> str:
    return (datetime.now(UTC) - timedelta(hours=25)).isoformat()


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        (b"{not json", 400, "malformed_json", None),
        (b'{"kind": "raid", "place": "\xff\xfe"}', 400, "invalid_encoding", None),
        (b"[1, 2]", 400, "malformed_json", None),
        ({"kind": "parade", "place": "E1"}, 422, "unknown_kind", "kind"),
        ({"lat": 51.5, "lon": 0.1}, 422, "unknown_kind", "kind"),
        ({"kind": "raid", "lat": 91, "lon": 0}, 422, "out_of_range", "lat"),
        ({"kind": "raid", "lat": 10, "lon": -181}, 422, "out_of_range", "lon"),
        ({"kind": "raid", "lat": 10}, 422, "missing_coordinate", "lon"),
        ({"kind": "raid", "lat": "north", "lon": 1}, 422, "invalid_coordinate", "lat"),
        ({"kind": "raid", "place": "ZZ9"}, 422, "unknown_place", "place"),
        ({"kind": "raid"}, 422, "missing_place", "place"),
        (
            {"kind": "raid", "place": "E1", "observed_at": "2026-11-26T07:00:00"},
            422,
            "time_without_offset",
            "observed_at",
        ),
        ({"kind": "raid", "place": "E1", "observed_at": "yesterday"}, 422, "invalid_time", "observed_at"),
        ({"kind": "raid", "place": "E1", "observed_at": _future()}, 422, "time_in_future", "observed_at"),
        ({"kind": "raid", "place": "E1", "observed_at": _too_old()}, 422, "time_too_old", "observed_at"),
        (
            {"kind": "raid", "place": "E1", "description": "\u202e\u200f\x00\x07 \n"},
            422,
            "empty_description",
            "description",
        ),
        (
            {"kind": "raid", "place": "E1", "description": "x" * 501},
            422,
            "description_too_long",
            "description",
        ),
        ({"kind": "raid", "place": "E1", "client_id": "not-a-uuid"}, 422, "invalid_client_id", "client_id"),
        ({"kind": "raid", "place": "E1", "language": "xx"}, 422, "unknown_language", "language"),
    ],
)
def test_bad_input_gets_a_contract_error_and_stores_nothing(
    client: Client, body: object, status: int, code: str, field: str | None
) -> None:
    response = post(client, body)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code
    assert error["field"] == field
    assert error["message"]
    assert Report.objects.count() == Incident.objects.count() == Event.objects.count() == 0


def test_a_body_over_64_kb_gets_413_and_stores_nothing(client: Client) -> None:
    body = json.dumps({"kind": "raid", "place": "E1", "description": "x" * 70_000}).encode()
    response = post(client, body)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"
    assert Report.objects.count() == 0


def test_unknown_place_message_helps_and_does_not_guess(client: Client) -> None:
    response = post(client, {"kind": "raid", "place": "Springfield"})
    assert response.status_code == 422
    assert "ZIP" in response.json()["error"]["message"]


def test_openapi_document_describes_the_report_endpoint(client: Client) -> None:
    document = client.get("/api/v1/openapi.json").json()
    operation = document["paths"]["/api/v1/reports"]["post"]
    assert "kind" in operation["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert {"201", "400", "413", "422"} <= set(operation["responses"])
