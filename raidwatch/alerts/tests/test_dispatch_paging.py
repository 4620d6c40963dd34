"""Dispatch: on-duty volunteers whose areas cover a new incident are paged on
their own channel, once per incident, and paging stops once it is verified."""

from __future__ import annotations

import pytest

from raidwatch.alerts import actions as alert_actions
from raidwatch.alerts import outbox
from raidwatch.alerts.models import Alert, Delivery, DeliveryStatus
from raidwatch.alerts.tests.helpers import subscriber
from raidwatch.incidents import actions
from raidwatch.incidents.tests.factories import report
from raidwatch.subscriptions.actions import subscribe
from raidwatch.subscriptions.areas import resolve_area

pytestmark = [pytest.mark.django_db, pytest.mark.dbsensitive]

EAST_LONDON: dict[str, object] = {"lat": 51.5155, "lon": -0.0723, "radius_km": 3}


def pager(volunteer, address: str, area: dict[str, object] | None = None) -> None:
    subscribe(
        channel="email",
        area=resolve_area(area or EAST_LONDON),
        language="en",
        level="all",
        contact={"address": address},
        volunteer=volunteer,
    )


def fan_out_all() -> None:
    for alert in Alert.objects.filter(fanned_out_at__isnull=True).order_by("id"):
        alert_actions.fan_out(alert.pk)


def test_on_duty_volunteers_in_the_area_are_paged_once(
    recording_channel, responder, verifier, coordinator
) -> None:
    responder.on_duty = True
    responder.save(update_fields=["on_duty"])
    verifier.on_duty = False  # off duty: not paged
    verifier.save(update_fields=["on_duty"])
    coordinator.on_duty = True
    coordinator.save(update_fields=["on_duty"])
    pager(responder, "responder@example.org")
    pager(verifier, "verifier@example.org")
    pager(coordinator, "coordinator@example.org", area={"lat": 53.48, "lon": -2.24, "radius_km": 3})
    subscriber("public@example.org")  # a verified-level subscriber hears nothing yet
    report(reporter="a")
    report(reporter="b")  # joins the incident: no second page
    fan_out_all()
    outbox.send_due()
    assert [address for address, _ in recording_channel.sent] == ["responder@example.org"]
    assert recording_channel.sent[0][1].text.startswith("UNVERIFIED")


def test_paging_stops_once_the_incident_is_verified(recording_channel, responder, verifier) -> None:
    responder.on_duty = True
    responder.save(update_fields=["on_duty"])
    pager(responder, "responder@example.org")
    incident = report().incident
    fan_out_all()  # the page is in the outbox, not yet sent
    actions.confirm(incident.pk, verifier)
    fan_out_all()
    outbox.send_due()
    texts = [m.text for _, m in recording_channel.sent]
    assert texts == [t for t in texts if t.startswith("CONFIRMED")]
    assert len(texts) == 1
    page = Delivery.objects.get(alert__event="unverified")
    assert page.status == DeliveryStatus.SUPPRESSED
