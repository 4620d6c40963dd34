"""Claiming, sending, retrying and giving up: the Delivery outbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from raidwatch.alerts import actions as alert_actions
from raidwatch.alerts import outbox
from raidwatch.alerts.models import Alert, Delivery, DeliveryStatus
from raidwatch.alerts.tests.helpers import subscriber
from raidwatch.channels.base import TransportError
from raidwatch.incidents import actions
from raidwatch.incidents.tests.factories import report
from raidwatch.subscriptions.models import Subscription, SubscriptionStatus

pytestmark = [pytest.mark.django_db, pytest.mark.dbsensitive]


@pytest.fixture
def confirmed_alert(verifier) -> Alert:
    incident = report().incident
    actions.confirm(incident.pk, verifier)
    return Alert.objects.get(event="confirmed")


def test_two_workers_never_claim_the_same_delivery(recording_channel, confirmed_alert) -> None:
    for i in range(30):
        subscriber(f"s{i}@example.org")
    alert_actions.fan_out(confirmed_alert.pk)
    first = outbox.claim(batch=20, who="worker-a")
    second = outbox.claim(batch=20, who="worker-b")
    assert len(first) == 20
    assert len(second) == 10
    assert not set(first) & set(second)
    assert outbox.claim(batch=20, who="worker-c") == []


def test_a_dead_workers_claim_expires_and_is_taken_up(recording_channel, confirmed_alert) -> None:
    subscriber("a@example.org")
    alert_actions.fan_out(confirmed_alert.pk)
    claimed = outbox.claim(who="crashed")
    assert claimed
    assert outbox.claim(who="other") == []
    with time_machine.travel(timezone.now() + outbox.lease() + timedelta(seconds=1)):
        retaken = outbox.claim(who="other")
        assert retaken == claimed
        outbox.send_claimed(retaken, who="other")
    assert Delivery.objects.get().status == DeliveryStatus.SENT
    assert len(recording_channel.sent) == 1


def test_a_temporary_error_retries_later_with_backoff(recording_channel, confirmed_alert) -> None:
    subscriber("flaky@example.org")
    recording_channel.failures["flaky@example.org"] = TransportError("try later")
    alert_actions.fan_out(confirmed_alert.pk)
    outbox.send_due()
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("pending", 1, "try later")
    assert delivery.next_attempt_at > timezone.now() + timedelta(seconds=10)
    recording_channel.failures.clear()
    assert outbox.send_due()["sent"] == 0  # not due yet
    with time_machine.travel(delivery.next_attempt_at + timedelta(seconds=1)):
        assert outbox.send_due()["sent"] == 1
    assert Delivery.objects.get().status == DeliveryStatus.SENT


def test_retry_after_from_the_provider_is_honoured(recording_channel, confirmed_alert) -> None:
    subscriber("busy@example.org")
    recording_channel.failures["busy@example.org"] = TransportError("429", retry_after=600)
    alert_actions.fan_out(confirmed_alert.pk)
    outbox.send_due()
    delivery = Delivery.objects.get()
    assert delivery.next_attempt_at >= timezone.now() + timedelta(seconds=599)


def test_a_permanent_error_disables_the_subscription_and_forgets_the_address(
    recording_channel, confirmed_alert
) -> None:
    gone = subscriber("gone@example.org")
    recording_channel.failures["gone@example.org"] = TransportError("410 gone", permanent=True)
    alert_actions.fan_out(confirmed_alert.pk)
    assert outbox.send_due()["failed"] == 1
    gone.refresh_from_db()
    assert gone.status == SubscriptionStatus.DISABLED
    assert bytes(gone.contact_sealed) == b""
    assert Delivery.objects.get().status == DeliveryStatus.FAILED


def test_after_the_last_attempt_a_delivery_fails_without_disabling(
    recording_channel, confirmed_alert, settings
) -> None:
    settings.RAIDWATCH_DELIVERY_MAX_ATTEMPTS = 1
    flaky = subscriber("flaky@example.org")
    recording_channel.failures["flaky@example.org"] = TransportError("down")
    alert_actions.fan_out(confirmed_alert.pk)
    outbox.send_due()
    assert Delivery.objects.get().status == DeliveryStatus.FAILED
    assert Subscription.objects.get(pk=flaky.pk).status == SubscriptionStatus.ACTIVE


def test_old_deliveries_are_purged(recording_channel, confirmed_alert, settings) -> None:
    settings.RAIDWATCH_DELIVERY_RETENTION_DAYS = 7
    subscriber("a@example.org")
    alert_actions.fan_out(confirmed_alert.pk)
    outbox.send_due()
    assert outbox.purge_old_deliveries(now=timezone.now() + timedelta(days=6)) == 0
    assert outbox.purge_old_deliveries(now=timezone.now() + timedelta(days=8)) == 1


def test_a_test_alert_reaches_one_subscription(recording_channel) -> None:
    subscription = subscriber("me@example.org")
    subscriber("someone-else@example.org")
    alert_actions.send_test_alert(subscription)
    outbox.send_due()
    assert [(a, m.text.startswith("Test message")) for a, m in recording_channel.sent] == [
        ("me@example.org", True)
    ]


def test_test_alerts_go_only_to_confirmed_subscriptions_and_not_on_repeat(recording_channel) -> None:
    from raidwatch.alerts.actions import TestAlertRefused

    subscription = subscriber("me@example.org")
    alert_actions.send_test_alert(subscription)
    with pytest.raises(TestAlertRefused):
        alert_actions.send_test_alert(subscription)
    Subscription.objects.filter(pk=subscription.pk).update(status=SubscriptionStatus.PENDING)
    subscription.refresh_from_db()
    with time_machine.travel(timezone.now() + timedelta(minutes=10)), pytest.raises(TestAlertRefused):
        alert_actions.send_test_alert(subscription)


def test_a_pending_subscription_is_never_sent_an_alert(recording_channel, confirmed_alert) -> None:
    pending = subscriber("pending@example.org")
    alert_actions.fan_out(confirmed_alert.pk)
    Subscription.objects.filter(pk=pending.pk).update(status=SubscriptionStatus.PENDING)
    outbox.send_due()
    assert recording_channel.sent == []
    assert Delivery.objects.get().status == DeliveryStatus.FAILED
