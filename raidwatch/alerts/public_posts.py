"""Public alerts posted once per area to public channels (ntfy topics, Telegram
channels, the operator's Mastodon and Bluesky accounts).

Only public alerts go here (confirmed, updates, all clears, corrections): never
an unverified report. Which areas have public channels is the operator's
configuration:

- RAIDWATCH_NTFY_PUBLIC_RESOLUTION: post to the ntfy topic of the incident's
  H3 cell at this resolution (0 to 8; unset = no public ntfy topics);
- RAIDWATCH_TELEGRAM_PUBLIC_CHANNELS: "CELL=@channel,CELL=-100123": post to
  each channel whose cell contains the incident;
- RAIDWATCH_MASTODON_AREAS, RAIDWATCH_BLUESKY_AREAS: "CELL,CELL" (or "*" for
  everywhere): post once to the operator's Mastodon or Bluesky account when the
  incident's resolution-8 cell lies in one of the cells. However many cells
  contain it, an alert is posted once per account.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import h3
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from raidwatch.alerts.actions import backoff
from raidwatch.alerts.models import Alert, CapStatus, DeliveryStatus, PublicPost, Scope
from raidwatch.alerts.outbox import lease
from raidwatch.alerts.text import alert_url, render_text
from raidwatch.channels.base import OutboundMessage, TransportError
from raidwatch.channels.bluesky.transport import BlueskyTransport, record_key
from raidwatch.channels.bluesky.transport import account_label as bluesky_account
from raidwatch.channels.mastodon.transport import MastodonTransport
from raidwatch.channels.mastodon.transport import account_label as mastodon_account
from raidwatch.channels.ntfy.transport import NtfyTransport, topic_for_area
from raidwatch.channels.telegram.transport import TelegramTransport
from raidwatch.lib.env import env_int, env_str

logger = logging.getLogger(__name__)


def targets(incident_cell: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    resolution = env_int("RAIDWATCH_NTFY_PUBLIC_RESOLUTION", -1, minimum=-1, maximum=8)
    if resolution >= 0:
        found.append(("ntfy", topic_for_area(h3.cell_to_parent(incident_cell, resolution))))
    for pair in (env_str("RAIDWATCH_TELEGRAM_PUBLIC_CHANNELS") or "").split(","):
        cell, _, chat = pair.strip().partition("=")
        if not chat or not h3.is_valid_cell(cell):
            continue
        own = h3.get_resolution(cell)
        if own <= h3.get_resolution(incident_cell) and h3.cell_to_parent(incident_cell, own) == cell:
            found.append(("telegram", chat.strip()))
    # One account each: the target names the account, not the area, so that
    # overlapping areas still make one post.
    if _in_areas(incident_cell, "RAIDWATCH_MASTODON_AREAS"):
        found.append(("mastodon", mastodon_account()))
    if _in_areas(incident_cell, "RAIDWATCH_BLUESKY_AREAS"):
        found.append(("bluesky", bluesky_account()))
    return found


def _in_areas(incident_cell: str, variable: str) -> bool:
    """Whether the incident's resolution-8 cell lies in one of the cells listed in ``variable``."""
    cell = incident_cell
    if h3.get_resolution(cell) > 8:
        cell = h3.cell_to_parent(cell, 8)
    for entry in (env_str(variable) or "").split(","):
        area = entry.strip().lower()
        if area == "*":
            return True
        if not area:
            continue
        if not h3.is_valid_cell(area):
            # Not fatal: this runs inside the fan-out, and one typo must not stop
            # the alert reaching its subscribers. The other cells still count.
            logger.warning("%s: %r is not an H3 cell and is ignored", variable, area)
            continue
        own = h3.get_resolution(area)
        if own <= h3.get_resolution(cell) and h3.cell_to_parent(cell, own) == area:
            return True
    return False


def plan_public_posts(alert: Alert) -> int:
    """Create the public posts of a public alert; idempotent."""
    if alert.scope != Scope.PUBLIC or alert.status != CapStatus.ACTUAL or alert.incident is None:
        return 0
    now = timezone.now()
    rows = [
        PublicPost(alert=alert, channel=channel, target=target, next_attempt_at=now)
        for channel, target in targets(alert.incident.cell)
    ]
    with transaction.atomic():
        PublicPost.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def send_public_posts(limit: int = 100) -> int:
    """Send due public posts; returns how many went out."""
    sent = 0
    # Channels that asked us to wait (429, Retry-After) in this run: their other
    # posts wait too, rather than run into the same limit one after another.
    paused: set[str] = set()
    now = timezone.now()
    # A post in SENDING whose lease ran out belongs to a worker that died mid-send.
    due_now = Q(status=DeliveryStatus.PENDING) | Q(status=DeliveryStatus.SENDING)
    due = PublicPost.objects.filter(due_now, next_attempt_at__lte=now)
    for post in due.select_related("alert").order_by("id")[:limit]:
        if post.channel in paused:
            continue
        # Claim by moving it to SENDING with a lease (next_attempt_at in the
        # future): another worker's claim loses the conditional UPDATE.
        if not PublicPost.objects.filter(
            pk=post.pk, status=post.status, next_attempt_at=post.next_attempt_at
        ).update(status=DeliveryStatus.SENDING, next_attempt_at=now + lease()):
            continue
        try:
            _send(post)
        except TransportError as exc:
            _retry(post, exc.message, permanent=exc.permanent, retry_after=exc.retry_after)
            if exc.retry_after is not None:
                paused.add(post.channel)
                _hold_back(post.channel, exc.retry_after)
            continue
        except Exception as exc:
            # Anything else (a bad setting, a bug) must not leave the post stuck in
            # SENDING, where nothing would ever pick it up again.
            logger.error("public post %s failed unexpectedly: %s", post.pk, type(exc).__name__)
            _retry(post, type(exc).__name__, permanent=False, retry_after=None)
            continue
        PublicPost.objects.filter(pk=post.pk).update(
            status=DeliveryStatus.SENT, sent_at=timezone.now(), attempts=post.attempts + 1
        )
        sent += 1
    return sent


def _send(post: PublicPost) -> None:
    title, text = render_text(post.alert, settings.LANGUAGE_CODE)
    url = alert_url(post.alert)
    if post.channel == "ntfy":
        message = OutboundMessage(text=text, title=title, url=url, unsubscribe_url="", topic="")
        NtfyTransport().send({"address": post.target}, message)
    elif post.channel == "telegram":
        TelegramTransport().post_to_channel(post.target, f"{text}\n{url}")
    elif post.channel == "mastodon":
        MastodonTransport().post(
            text, url, language=settings.LANGUAGE_CODE, idempotency_key=idempotency_key(post)
        )
    elif post.channel == "bluesky":
        rkey = record_key(post.pk, post.alert.sent_at)
        BlueskyTransport().post(text, url, language=settings.LANGUAGE_CODE, rkey=rkey)
    else:
        raise TransportError(f"no public channel is called {post.channel!r}", permanent=True)


def idempotency_key(post: PublicPost) -> str:
    """The same for every attempt of one public post, so the service posts it once.

    The alert's time is part of it so that a recreated database, whose ids start
    again from 1, does not reuse the key of an earlier post by the same account.
    """
    return f"raidwatch-public-post-{post.pk}-{post.alert.sent_at.timestamp():.6f}"


def _retry(post: PublicPost, error: str, *, permanent: bool, retry_after: float | None) -> None:
    attempts = post.attempts + 1
    gave_up = permanent or attempts >= settings.RAIDWATCH_DELIVERY_MAX_ATTEMPTS
    wait = backoff(attempts)
    if retry_after is not None:
        wait = max(wait, timedelta(seconds=retry_after))
    PublicPost.objects.filter(pk=post.pk).update(
        status=DeliveryStatus.FAILED if gave_up else DeliveryStatus.PENDING,
        attempts=attempts,
        next_attempt_at=timezone.now() + wait,
        last_error=error[:200],
    )


def _hold_back(channel: str, seconds: float) -> None:
    """The service asked us to wait: its other pending posts wait too (without
    using up an attempt), in every worker, since the wait is kept in the database."""
    until = timezone.now() + timedelta(seconds=seconds)
    PublicPost.objects.filter(
        channel=channel, status=DeliveryStatus.PENDING, next_attempt_at__lt=until
    ).update(next_attempt_at=until)
