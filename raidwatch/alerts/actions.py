"""Turning incident changes into alerts, and alerts into outbox rows."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from raidwatch.alerts.matching import match_subscriptions
from raidwatch.alerts.models import (
    Alert,
    CapStatus,
    Certainty,
    Delivery,
    DeliveryStatus,
    Event,
    MsgType,
    Scope,
)
from raidwatch.coordination import tuning
from raidwatch.incidents.models import Incident
from raidwatch.lib import geo
from raidwatch.subscriptions.models import Level, Subscription, SubscriptionStatus

# What each incident change sends, and to whom it refers back.
_PLAN: dict[str, tuple[str, str, str]] = {
    # event: (msg_type, scope, certainty)
    Event.UNVERIFIED: (MsgType.ALERT, Scope.RESTRICTED, Certainty.POSSIBLE),
    Event.CONFIRMED: (MsgType.ALERT, Scope.PUBLIC, Certainty.OBSERVED),
    Event.UPDATED: (MsgType.UPDATE, Scope.PUBLIC, Certainty.OBSERVED),
    Event.ENDED: (MsgType.CANCEL, Scope.PUBLIC, Certainty.OBSERVED),
    Event.RETRACTED: (MsgType.CANCEL, Scope.PUBLIC, Certainty.OBSERVED),
    Event.FALSE_ALARM: (MsgType.CANCEL, Scope.RESTRICTED, Certainty.OBSERVED),
}
_NOTES: dict[str, str] = {
    Event.ENDED: "all clear",
    Event.RETRACTED: "confirmed in error",
    Event.FALSE_ALARM: "false alarm",
}


def alert_cells(incident: Incident) -> list[str]:
    """The incident's cell and its ring at the match resolution: reports place an
    incident to within a cell or so, and a subscriber next door must hear."""
    return sorted(geo.neighbouring_cells(incident.cell))


def alert_for_incident(incident: Incident, event: str) -> Alert:
    """Create the alert for an incident change; call inside the change's transaction.

    The fan-out is enqueued in the same transaction, so a change that rolls back
    alerts nobody and a committed change is never left without its fan-out.
    """
    msg_type, scope, certainty = _PLAN[event]
    if incident.is_exercise:
        # A drill is practice for the volunteers: never a public alert, page or post.
        scope = Scope.RESTRICTED
    previous = incident.alerts.order_by("-id")
    if scope == Scope.RESTRICTED:
        previous = previous.filter(scope=Scope.RESTRICTED)
    else:
        previous = previous.filter(scope=Scope.PUBLIC)
    alert = Alert.objects.create(
        incident=incident,
        event=event,
        msg_type=msg_type,
        status=CapStatus.EXERCISE if incident.is_exercise else CapStatus.ACTUAL,
        scope=scope,
        certainty=certainty,
        references=previous.first() if msg_type != MsgType.ALERT else None,
        cells=sorted({geo.coarsen_cell(c) for c in alert_cells(incident)}),
        place=incident.place,
        kind=incident.kind,
        note=_NOTES.get(event, ""),
        sent_at=timezone.now(),
    )
    from raidwatch.alerts.tasks import fan_out_task

    # The queue is a table in the same database, so enqueuing here is part of
    # the change's transaction: the fan-out exists exactly when the change does.
    fan_out_task.enqueue(alert.pk)
    return alert


def _referenced_chain(alert: Alert) -> list[int]:
    chain: list[int] = []
    current = alert.references
    while current is not None and len(chain) < 50:
        chain.append(current.pk)
        current = current.references
    return chain


def recipients(alert: Alert) -> set[str]:
    """Subscription ids this alert goes to.

    An Alert goes to active subscriptions whose cells meet the alert's (the `all`
    level only, when restricted). Update and Cancel go to everyone who got the
    alerts they refer to; an Update also reaches new matches.
    """
    chain = _referenced_chain(alert)
    earlier = set(
        Delivery.objects.filter(alert_id__in=chain)
        .exclude(status=DeliveryStatus.SUPPRESSED)
        .values_list("subscription_id", flat=True)
    )
    if alert.msg_type == MsgType.CANCEL:
        return {str(s) for s in earlier}
    assert alert.incident is not None  # noqa: S101 - only test alerts have no incident
    levels: list[str] = [Level.ALL] if alert.scope == Scope.RESTRICTED else [Level.ALL, Level.VERIFIED]
    matched = match_subscriptions(
        alert_cells(alert.incident), levels, volunteers_only=alert.status == CapStatus.EXERCISE
    )
    return {str(s) for s in earlier} | matched


def _over_cap(subscription_ids: list[str], since: datetime) -> set[str]:
    """Subscriptions that already got their hourly share of new alerts."""
    cap = tuning.alerts_per_hour()
    counts: dict[str, int] = {}
    for sub_id in (
        Delivery.objects.filter(
            subscription_id__in=subscription_ids,
            created_at__gte=since,
            alert__msg_type=MsgType.ALERT,
        )
        .exclude(status=DeliveryStatus.SUPPRESSED)
        # A drill must not use up the share a real raid alert needs.
        .exclude(alert__status=CapStatus.EXERCISE)
        .values_list("subscription_id", flat=True)
    ):
        counts[str(sub_id)] = counts.get(str(sub_id), 0) + 1
    return {sub_id for sub_id, n in counts.items() if n >= cap}


def fan_out(alert_id: int, batch: int = 1000) -> int:
    """Write one Delivery per recipient, idempotently; returns how many are new."""
    alert = Alert.objects.select_related("incident", "references").get(pk=alert_id)
    now = timezone.now()
    subscription_ids = sorted(recipients(alert))
    capped = (
        _over_cap(subscription_ids, now - timedelta(hours=1)) if alert.msg_type == MsgType.ALERT else set()
    )
    created = 0
    for start in range(0, len(subscription_ids), batch):
        chunk = subscription_ids[start : start + batch]
        subscriptions = Subscription.objects.filter(
            pk__in=chunk, status=SubscriptionStatus.ACTIVE
        ).values_list("pk", "channel", "contact_lookup")
        rows = [
            Delivery(
                alert=alert,
                subscription_id=pk,
                channel=channel,
                contact_lookup=lookup,
                status=DeliveryStatus.SUPPRESSED if str(pk) in capped else DeliveryStatus.PENDING,
                # A little jitter spreads a big fan-out over the providers' windows.
                next_attempt_at=now,
                created_at=now,
            )
            for pk, channel, lookup in subscriptions
        ]
        with transaction.atomic():
            before = Delivery.objects.filter(alert=alert).count()
            # The unique (alert, channel, contact) key makes a rerun after a crash
            # harmless and stops one person getting an alert twice on a channel.
            Delivery.objects.bulk_create(rows, ignore_conflicts=True)
            created += Delivery.objects.filter(alert=alert).count() - before
    if alert.msg_type == MsgType.UPDATE and alert.incident_id is not None:
        _coalesce_updates(alert, alert.incident_id)
    from raidwatch.alerts.public_posts import plan_public_posts

    plan_public_posts(alert)
    Alert.objects.filter(pk=alert.pk).update(fanned_out_at=now)
    return created


def unfinished_fan_outs(grace: timedelta = timedelta(seconds=30)) -> list[int]:
    """Alerts whose fan-out has not finished a while after they were created."""
    cutoff = timezone.now() - grace
    return list(
        Alert.objects.filter(fanned_out_at__isnull=True, sent_at__lt=cutoff)
        .order_by("id")
        .values_list("id", flat=True)
    )


def _coalesce_updates(alert: Alert, incident_id: int) -> None:
    """Rapid updates: an older update not yet sent is replaced by this one."""
    Delivery.objects.filter(
        Q(status=DeliveryStatus.PENDING),
        alert__incident_id=incident_id,
        alert__msg_type=MsgType.UPDATE,
        alert_id__lt=alert.pk,
        subscription_id__in=Delivery.objects.filter(alert=alert).values("subscription_id"),
    ).update(status=DeliveryStatus.SUPPRESSED, last_error="replaced by a newer update")


class TestAlertRefused(ValueError):
    pass


TEST_ALERT_INTERVAL = timedelta(minutes=5)


def send_test_alert(subscription: Subscription) -> Alert:
    """A Test alert to one subscription, from its manage page.

    Only to a confirmed subscription, and not more often than every few minutes:
    otherwise whoever subscribed someone else's number could make it ring on demand.
    """
    now = timezone.now()
    if subscription.status != SubscriptionStatus.ACTIVE:
        raise TestAlertRefused("the subscription is not active")
    if Delivery.objects.filter(
        subscription=subscription, alert__event=Event.TEST, created_at__gt=now - TEST_ALERT_INTERVAL
    ).exists():
        raise TestAlertRefused("a test alert was sent a moment ago")
    with transaction.atomic():
        alert = Alert.objects.create(
            incident=None,
            event=Event.TEST,
            msg_type=MsgType.ALERT,
            status=CapStatus.TEST,
            scope=Scope.RESTRICTED,
            certainty=Certainty.OBSERVED,
            kind="",
            sent_at=now,
            fanned_out_at=now,
        )
        Delivery.objects.create(
            alert=alert,
            subscription=subscription,
            channel=subscription.channel,
            contact_lookup=subscription.contact_lookup,
            next_attempt_at=now,
            created_at=now,
        )
        from raidwatch.alerts.tasks import send_deliveries_task

        send_deliveries_task.enqueue()
    return alert


def backoff(attempts: int) -> timedelta:
    """Exponential backoff with full jitter: 30 s, 1 min, 2 min … capped at 30 min."""
    ceiling = min(30 * 2 ** max(attempts - 1, 0), 1800)
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))  # noqa: S311 - jitter, not a secret
