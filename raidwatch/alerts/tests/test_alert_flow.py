"""From a verification action to messages in the outbox and out of it."""

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


def deliver_all() -> None:
    for alert in Alert.objects.filter(fanned_out_at__isnull=True).order_by("id"):
        alert_actions.fan_out(alert.pk)
    outbox.send_due()


def test_confirm_alerts_subscribers_nearby_once_and_nobody_far(recording_channel, verifier) -> None:
    subscriber("near@example.org")
    subscriber("far@example.org", area={"lat": 53.48, "lon": -2.24, "radius_km": 5})  # Manchester
    incident = report().incident
    actions.confirm(incident.pk, verifier, place="East St market")
    deliver_all()
    deliver_all()  # a rerun changes nothing
    assert [address for address, _ in recording_channel.sent] == ["near@example.org"]
    message = recording_channel.sent[0][1]
    assert message.text.startswith("CONFIRMED")
    assert "East St market" in message.text
    assert message.unsubscribe_url.startswith("http")
    alert = Alert.objects.get(event="confirmed")
    assert (alert.msg_type, alert.scope, alert.certainty, alert.status) == (
        "Alert",
        "Public",
        "Observed",
        "Actual",
    )


def test_unverified_reports_reach_only_the_all_level_labelled_unverified(recording_channel, verifier) -> None:
    subscriber("public@example.org")
    subscriber("responder@example.org", level="all")
    incident = report().incident
    deliver_all()
    assert [a for a, _ in recording_channel.sent] == ["responder@example.org"]
    assert recording_channel.sent[0][1].text.startswith("UNVERIFIED")
    alert = Alert.objects.get(event="unverified")
    assert (alert.scope, alert.certainty) == ("Restricted", "Possible")
    # The debunk follows to the same people, and only them.
    actions.false_alarm(incident.pk, verifier, reason="police, not immigration")
    deliver_all()
    assert [a for a, _ in recording_channel.sent] == ["responder@example.org", "responder@example.org"]
    cancel = Alert.objects.get(event="false_alarm")
    assert cancel.msg_type == "Cancel"
    assert cancel.references == alert


def test_the_all_clear_goes_to_everyone_who_got_the_alert(recording_channel, verifier) -> None:
    subscriber("a@example.org")
    subscriber("b@example.org", level="all")
    incident = report().incident
    actions.confirm(incident.pk, verifier)
    deliver_all()
    late = subscriber("late@example.org")  # subscribed after the alert went out
    actions.end(incident.pk, verifier)
    deliver_all()
    ended = Alert.objects.get(event="ended")
    assert ended.msg_type == "Cancel"
    assert ended.references == Alert.objects.get(event="confirmed")
    recipients = sorted(a for a, m in recording_channel.sent if m.text.startswith("ALL CLEAR"))
    assert recipients == ["a@example.org", "b@example.org"]
    assert not Delivery.objects.filter(subscription=late).exists()


def test_a_retraction_says_confirmed_in_error(recording_channel, verifier) -> None:
    subscriber("a@example.org")
    incident = report().incident
    actions.confirm(incident.pk, verifier)
    actions.retract(incident.pk, verifier, reason="wrong street")
    deliver_all()
    texts = [m.text for _, m in recording_channel.sent]
    assert texts[0].startswith("CONFIRMED")
    assert texts[1].startswith("CORRECTION")
    assert Alert.objects.get(event="retracted").note == "confirmed in error"


def test_one_person_with_two_subscriptions_on_a_channel_gets_an_alert_once(
    recording_channel, verifier
) -> None:
    subscriber("twice@example.org")
    subscriber("TWICE@example.org", area={"postcode": "E1"})
    actions.confirm(report().incident.pk, verifier)
    deliver_all()
    assert [a for a, _ in recording_channel.sent] == ["twice@example.org"]


def test_a_storm_is_capped_per_subscriber_per_hour(recording_channel, verifier, settings) -> None:
    settings.RAIDWATCH_ALERTS_PER_HOUR = 2
    subscriber("storm@example.org", area={"lat": 51.5155, "lon": -0.0723, "radius_km": 10})
    for i in range(4):
        incident = report(lat=51.45 + i * 0.03, lon=-0.07).incident
        actions.confirm(incident.pk, verifier)
        deliver_all()
    assert len(recording_channel.sent) == 2
    assert Delivery.objects.filter(status=DeliveryStatus.SUPPRESSED).count() == 2


def test_an_exercise_says_so(recording_channel, verifier, responder) -> None:
    # Drills go to volunteers on duty only (their paging subscriptions).
    responder.on_duty = True
    responder.save(update_fields=["on_duty"])
    subscribe(
        channel="email",
        area=resolve_area({"lat": 51.5155, "lon": -0.0723, "radius_km": 2}),
        language="en",
        level="all",
        contact={"address": "drill@example.org"},
        volunteer=responder,
    )
    subscriber("public@example.org")
    incident = report().incident
    incident.is_exercise = True
    incident.save(update_fields=["is_exercise"])
    actions.confirm(incident.pk, verifier)
    deliver_all()
    assert [address for address, _message in recording_channel.sent] == ["drill@example.org"]
    assert recording_channel.sent[0][1].text.startswith("EXERCISE, NOT REAL")
    assert Alert.objects.get(event="confirmed").status == "Exercise"


def test_rapid_updates_are_coalesced_into_the_latest(recording_channel, verifier) -> None:
    subscriber("a@example.org")
    incident = report().incident
    actions.confirm(incident.pk, verifier, place="East St")
    deliver_all()
    actions.update(incident.pk, verifier, place="East St, north end")
    actions.update(incident.pk, verifier, place="Market car park")
    for alert in Alert.objects.filter(fanned_out_at__isnull=True).order_by("id"):
        alert_actions.fan_out(alert.pk)  # both fanned out before either is sent
    outbox.send_due()
    texts = [m.text for _, m in recording_channel.sent]
    assert len(texts) == 2
    assert texts[1].startswith("UPDATE")
    assert "Market car park" in texts[1]
    updates = Alert.objects.filter(event="updated").order_by("id")
    assert [u.msg_type for u in updates] == ["Update", "Update"]
    assert updates[0].references == Alert.objects.get(event="confirmed")
