"""Sending the outbox: claim due deliveries, send each, record the outcome.

The database is the queue. A worker claims a batch with a conditional UPDATE
(plus SKIP LOCKED on PostgreSQL) and a lease; a worker that dies leaves its
claim to expire, and another takes the rows up again. So nothing is lost, and
only a batch in flight at a crash can be sent twice.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from raidwatch.alerts.actions import backoff
from raidwatch.alerts.models import Alert, Delivery, DeliveryStatus, Event
from raidwatch.alerts.text import render
from raidwatch.channels.base import OutboundMessage, Transport, TransportError
from raidwatch.channels.registry import transport
from raidwatch.coordination import tuning
from raidwatch.incidents.models import Incident, Status
from raidwatch.lib import crypto
from raidwatch.subscriptions.actions import disable, manage_token
from raidwatch.subscriptions.models import Subscription, SubscriptionStatus

logger = logging.getLogger(__name__)

BATCH = 200
SEND_THREADS = 16


def lease() -> timedelta:
    return timedelta(seconds=settings.RAIDWATCH_DELIVERY_LEASE_SECONDS)


def worker_id() -> str:
    return f"{socket.gethostname()[:40]}-{threading.get_native_id()}"


def claim(batch: int = BATCH, who: str | None = None, now: datetime | None = None) -> list[int]:
    """Claim up to ``batch`` due deliveries for this worker; returns their ids."""
    now = now or timezone.now()
    who = who or worker_id()
    due = Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now) | Q(
        status=DeliveryStatus.SENDING, claimed_until__lt=now
    )
    with transaction.atomic():
        ids = list(
            Delivery.objects.filter(due)
            .order_by("next_attempt_at", "id")
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:batch]
        )
        if ids:
            # The same condition again: on SQLite (no row locks) another worker
            # may have claimed some in between; those rows simply do not match.
            Delivery.objects.filter(due, id__in=ids).update(
                status=DeliveryStatus.SENDING, claimed_by=who, claimed_until=now + lease()
            )
    return list(
        Delivery.objects.filter(id__in=ids, claimed_by=who, status=DeliveryStatus.SENDING).values_list(
            "id", flat=True
        )
    )


@dataclass
class _RateGate:
    """Per-transport pacing in this process: the provider's rate, and its pauses (429)."""

    next_slot: dict[str, float] = field(default_factory=dict)
    paused_until: dict[str, float] = field(default_factory=dict)

    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait(self, channel: str, rate: float | None) -> None:
        # Book the slot under the lock, sleep outside it: senders on other
        # threads each get their own slot at the provider's pace.
        with self.lock:
            now = time.monotonic()
            slot = max(self.next_slot.get(channel, 0.0), self.paused_until.get(channel, 0.0), now)
            if rate:
                self.next_slot[channel] = slot + 1.0 / rate
        if slot > now:
            time.sleep(slot - now)

    def pause(self, channel: str, seconds: float) -> None:
        with self.lock:
            self.paused_until[channel] = time.monotonic() + seconds


_gate = _RateGate()
# A 429 asks us to wait; waiting longer than this in the sending loop would hold
# up other channels, so such deliveries are rescheduled instead.
MAX_INLINE_WAIT = 5.0


def _unsubscribe_url(subscription_id: object) -> str:
    return f"{settings.RAIDWATCH_BASE_URL}/u/{manage_token(subscription_id)}"


def _attempt(
    sender: Transport, channel: str, contact: dict[str, object], message: OutboundMessage
) -> Exception | None:
    """Send one message; the outcome is returned, so the caller records it in order."""
    _gate.wait(channel, sender.rate_per_second)
    try:
        sender.send(contact, message)
    except Exception as exc:  # recorded by the caller; one bad delivery must not stop the batch
        return exc
    return None


def send_claimed(ids: list[int], who: str | None = None) -> dict[str, int]:
    """Send claimed deliveries; returns counts by outcome.

    Transports that allow it (Web Push: one request per subscriber, no provider
    rate) send from a small thread pool, since each send is mostly waiting on
    the network; the others send one at a time at their provider's pace.
    Outcomes are written from this thread only.
    """
    who = who or worker_id()
    outcome = {"sent": 0, "retry": 0, "failed": 0}
    rendered: dict[tuple[int, str], tuple[str, str, OutboundMessage]] = {}
    deliveries = list(
        Delivery.objects.filter(id__in=ids, claimed_by=who).select_related("alert").order_by("id")
    )
    subscriptions = {
        str(s.pk): s for s in Subscription.objects.filter(pk__in=[d.subscription_id for d in deliveries])
    }
    attempts: list[tuple[Delivery, Subscription | None, Future[Exception | None] | None]] = []
    pool = _send_pool()
    stale: dict[int, bool] = {}
    for delivery in deliveries:
        subscription = subscriptions.get(str(delivery.subscription_id))
        # Only confirmed subscriptions hear anything (a pending one could be
        # someone else's address); a disabled one has no contact left.
        if subscription is None or subscription.status != SubscriptionStatus.ACTIVE:
            attempts.append((delivery, None, None))
            continue
        if delivery.alert_id not in stale:
            stale[delivery.alert_id] = _stale(delivery.alert)  # once per alert, not per delivery
        if stale[delivery.alert_id]:
            _finish(delivery, DeliveryStatus.SUPPRESSED, "the incident was verified or closed meanwhile")
            continue
        sender = transport(delivery.channel)
        args = (
            sender,
            delivery.channel,
            crypto.open_contact(bytes(subscription.contact_sealed)),
            _message(delivery.alert, subscription, rendered),
        )
        if sender.concurrency > 1:
            attempts.append((delivery, subscription, pool.submit(_attempt, *args)))
        else:
            done: Future[Exception | None] = Future()
            done.set_result(_attempt(*args))
            attempts.append((delivery, subscription, done))
    sent: list[int] = []
    for delivery, subscription, future in attempts:
        error = future.result() if future else None
        if subscription is not None and error is None:
            sent.append(delivery.pk)  # recorded below in one statement
            continue
        _record(delivery, subscription, error, outcome)
    if sent:
        Delivery.objects.filter(pk__in=sent, claimed_by=who).update(
            status=DeliveryStatus.SENT,
            sent_at=timezone.now(),
            claimed_by="",
            claimed_until=None,
            attempts=F("attempts") + 1,
            last_error="",
        )
        outcome["sent"] += len(sent)
    return outcome


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _send_pool() -> ThreadPoolExecutor:
    """One pool per process for its lifetime: its threads keep their HTTP sessions
    (and so their connections to push services) from batch to batch."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=SEND_THREADS, thread_name_prefix="raidwatch-send")
        return _pool


def _stale(alert: Alert) -> bool:
    """An unverified report not yet sent once its incident is verified or closed:
    paging stops there, and the confirmation or debunk says what is true."""
    if alert.event != Event.UNVERIFIED or alert.incident_id is None:
        return False
    return Incident.objects.filter(pk=alert.incident_id).exclude(status=Status.UNVERIFIED).exists()


def _record(
    delivery: Delivery, subscription: Subscription | None, error: Exception | None, outcome: dict[str, int]
) -> None:
    if subscription is None:
        _finish(delivery, DeliveryStatus.FAILED, "subscription gone or not active")
        outcome["failed"] += 1
    elif error is None:
        _finish(delivery, DeliveryStatus.SENT, "")
        outcome["sent"] += 1
    elif isinstance(error, TransportError) and error.permanent:
        disable(str(subscription.pk), error.message)
        _finish(delivery, DeliveryStatus.FAILED, error.message)
        outcome["failed"] += 1
    elif isinstance(error, TransportError):
        if error.retry_after:
            _gate.pause(delivery.channel, min(error.retry_after, MAX_INLINE_WAIT))
        _retry(delivery, error.message, error.retry_after)
        outcome["retry"] += 1
    else:
        logger.error("delivery %s failed unexpectedly: %s", delivery.pk, type(error).__name__)
        _retry(delivery, type(error).__name__, None)
        outcome["retry"] += 1


def _message(
    alert: Alert, subscription: Subscription, cache: dict[tuple[int, str], tuple[str, str, OutboundMessage]]
) -> OutboundMessage:
    key = (alert.pk, subscription.language)
    if key not in cache:
        message = render(alert, subscription.language, unsubscribe_url="")
        cache[key] = (message.title, message.text, message)
    base = cache[key][2]
    return OutboundMessage(
        text=base.text,
        title=base.title,
        url=base.url,
        unsubscribe_url=_unsubscribe_url(subscription.pk),
        topic=base.topic,
        urgency=base.urgency,
        ttl_seconds=base.ttl_seconds,
        language=base.language,
    )


def _finish(delivery: Delivery, status: str, error: str) -> None:
    Delivery.objects.filter(pk=delivery.pk, claimed_by=delivery.claimed_by).update(
        status=status,
        sent_at=timezone.now() if status == DeliveryStatus.SENT else None,
        claimed_by="",
        claimed_until=None,
        attempts=F("attempts") + 1,
        last_error=error[:200],
    )


def _retry(delivery: Delivery, error: str, retry_after: float | None) -> None:
    attempts = delivery.attempts + 1
    if attempts >= settings.RAIDWATCH_DELIVERY_MAX_ATTEMPTS:
        _finish(delivery, DeliveryStatus.FAILED, f"gave up: {error}")
        return
    wait = backoff(attempts)
    if retry_after is not None:
        wait = max(wait, timedelta(seconds=retry_after))
    Delivery.objects.filter(pk=delivery.pk, claimed_by=delivery.claimed_by).update(
        status=DeliveryStatus.PENDING,
        claimed_by="",
        claimed_until=None,
        attempts=attempts,
        next_attempt_at=timezone.now() + wait,
        last_error=error[:200],
    )


def send_due(max_batches: int = 50) -> dict[str, int]:
    """Claim and send until nothing is due (or ``max_batches`` batches, to yield the worker)."""
    from raidwatch.alerts.public_posts import send_public_posts

    totals = {"sent": 0, "retry": 0, "failed": 0, "public": send_public_posts()}
    who = worker_id()
    for _ in range(max_batches):
        ids = claim(who=who)
        if not ids:
            break
        for key, value in send_claimed(ids, who).items():
            totals[key] += value
    return totals


def purge_old_deliveries(now: datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - timedelta(days=tuning.delivery_retention_days())
    deleted, _ = (
        Delivery.objects.filter(created_at__lt=cutoff).exclude(status=DeliveryStatus.SENDING).delete()
    )
    return deleted
