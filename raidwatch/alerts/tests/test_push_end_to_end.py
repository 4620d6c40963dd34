"""Subscribe a browser, confirm an incident from the CLI, and the push service
decrypts the alert; end it, and the all clear follows to the same phone."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from raidwatch.alerts import actions as alert_actions
from raidwatch.alerts import outbox
from raidwatch.alerts.models import Alert
from raidwatch.channels.webpush import vapid
from raidwatch.incidents.tests.factories import report

pytestmark = [pytest.mark.django_db, pytest.mark.dbsensitive]


def run_worker_once() -> None:
    for alert in Alert.objects.filter(fanned_out_at__isnull=True).order_by("id"):
        alert_actions.fan_out(alert.pk)
    outbox.send_due()


def test_a_browser_hears_the_alert_and_the_all_clear(client: Client, fake_push, verifier) -> None:
    key = client.get("/api/v1/push/vapid-public-key").json()["key"]
    assert key == vapid.public_key_b64url()
    browser = fake_push.new_subscription(application_server_key=key)
    response = client.post(
        "/api/v1/subscriptions",
        data=json.dumps({"channel": "webpush", "area": {"postcode": "E1"}, "language": "en", **browser}),
        content_type="application/json",
    )
    assert response.status_code == 201
    assert response.json()["status"] == "active"

    incident = report(place="E1").incident
    call_command(
        "incident",
        "confirm",
        str(incident.pk),
        "--by",
        "verifier",
        "--place",
        "East St market",
        stdout=StringIO(),
    )
    run_worker_once()
    [alert] = fake_push.wait_for(1)
    payload = alert.json()
    assert payload["title"] == "Confirmed"
    assert "East St market" in payload["body"]
    assert payload["url"].endswith(f"/a/{Alert.objects.get(event='confirmed').pk}")
    assert alert.ttl > 0
    assert alert.urgency == "high"
    assert alert.topic
    assert len(alert.topic) == 32

    call_command("incident", "end", str(incident.pk), "--by", "verifier", stdout=StringIO())
    run_worker_once()
    first, second = fake_push.wait_for(2)
    assert second.json()["title"] == "All clear"
    assert second.topic == first.topic  # the phone replaces the alert with the all clear
    assert set(payload) == {"title", "body", "url", "unsubscribe", "topic"}


def test_the_push_topic_is_opaque_and_differs_between_incidents() -> None:
    from raidwatch.alerts.text import opaque_topic

    first, second = Alert(pk=1, incident_id=101), Alert(pk=2, incident_id=102)
    same_incident = Alert(pk=3, incident_id=101)
    assert opaque_topic(first) == opaque_topic(same_incident)
    assert opaque_topic(first) != opaque_topic(second)
    assert len(opaque_topic(first)) == 32
