"""R12: subscribing is gated like reporting, with its own counts (each sign-up sends
a confirmation code to an address, so a flood would bomb strangers)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from raidwatch.subscriptions.models import Subscription

pytestmark = [pytest.mark.django_db, pytest.mark.dbsensitive]


@pytest.fixture(autouse=True)
def small_allowance(settings: Any) -> None:
    settings.RAIDWATCH_REPORT_ALLOWANCE = 1


def subscribe(client: Client, number: int, **headers: Any):
    body = {"channel": "ntfy", "address": f"raidwatch-e1-{number}", "area": {"postcode": "E1"}}
    return client.post(
        "/api/v1/subscriptions", data=json.dumps(body), content_type="application/json", **headers
    )


def test_the_api_asks_for_proof_of_work_beyond_the_allowance(client: Client) -> None:
    from raidwatch.intake.tests.test_gate import solve

    assert subscribe(client, 1).status_code == 201
    refused = subscribe(client, 2)
    assert refused.status_code == 429
    assert refused["Retry-After"]
    assert refused.json()["error"]["code"] == "proof_of_work_required"
    assert Subscription.objects.count() == 1
    assert subscribe(client, 2, HTTP_X_ALTCHA=solve(refused.json()["challenge"])).status_code == 201


def test_reports_do_not_use_up_the_subscription_allowance(client: Client) -> None:
    report = {"kind": "van_sighting", "place": "E1"}
    client.post("/api/v1/reports", data=json.dumps(report), content_type="application/json")
    assert subscribe(client, 1).status_code == 201


def test_the_web_form_asks_to_wait_beyond_the_allowance(client: Client) -> None:
    data = {
        "channel": "email",
        "address": "a@example.org",
        "place": "E1",
        "radius_km": "2",
        "language": "en",
        "level": "verified",
        "invite": "",
    }
    assert client.post("/en/subscribe", data).status_code == 302
    response = client.post("/en/subscribe", {**data, "address": "b@example.org"})
    assert response.status_code == 429
    assert "Please try again in" in response.content.decode()
    assert response["Retry-After"]
