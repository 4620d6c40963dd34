"""Public channels get one post per area, and never an unverified report."""

from __future__ import annotations

import h3
import pytest

from raidwatch.alerts import actions as alert_actions
from raidwatch.alerts import outbox
from raidwatch.alerts.models import Alert, PublicPost
from raidwatch.incidents import actions
from raidwatch.incidents.tests.factories import report

pytestmark = [pytest.mark.django_db, pytest.mark.dbsensitive]


def run_worker_once() -> None:
    for alert in Alert.objects.filter(fanned_out_at__isnull=True).order_by("id"):
        alert_actions.fan_out(alert.pk)
    outbox.send_due()


def test_a_confirmed_alert_and_its_all_clear_are_posted_once_per_area(
    fake_ntfy,
    fake_telegram,
    monkeypatch,
    verifier,
) -> None:
    incident = report().incident
    area = h3.cell_to_parent(incident.cell, 5)
    monkeypatch.setenv("RAIDWATCH_NTFY_PUBLIC_RESOLUTION", "5")
    monkeypatch.setenv(
        "RAIDWATCH_TELEGRAM_PUBLIC_CHANNELS",
        f"{area}=@east_london_alerts,{h3.cell_to_parent(h3.latlng_to_cell(53.48, -2.24, 8), 5)}=@manchester",
    )
    run_worker_once()  # the unverified alert: nothing public
    assert fake_ntfy.received == []
    actions.confirm(incident.pk, verifier, place="East St market")
    run_worker_once()
    run_worker_once()
    actions.end(incident.pk, verifier)
    run_worker_once()
    topics = [r.recipient for r in fake_ntfy.received]
    assert topics == [f"raidwatch-{area}", f"raidwatch-{area}"]
    chats = [r.recipient for r in fake_telegram.received]
    assert chats == ["@east_london_alerts", "@east_london_alerts"]
    assert PublicPost.objects.filter(status="sent").count() == 4
