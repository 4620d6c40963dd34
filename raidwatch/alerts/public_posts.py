"""Public alerts posted once per area to public channels (ntfy topics, Telegram channels).

Only public alerts go here (confirmed, updates, all clears, corrections): never
an unverified report. Which areas have public channels is the operator's
configuration:

- RAIDWATCH_NTFY_PUBLIC_RESOLUTION: post to the ntfy topic of the incident's
  H3 cell at this resolution (0 to 8; unset = no public ntfy topics);
- RAIDWATCH_TELEGRAM_PUBLIC_CHANNELS: "CELL=@channel,CELL=-100123": post to
  each channel whose cell contains the incident.
"""

from __future__ import annotations

import logging

import h3
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from raidwatch.alerts.actions import backoff
from raidwatch.alerts.models import Alert, CapStatus, DeliveryStatus, PublicPost, Scope
from raidwatch.alerts.text import alert_url, render_text
from raidwatch.channels.base import OutboundMessage, TransportError
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
    return found


def plan_public_posts(alert: Alert) -> int:
    """Create the public posts of a public alert; idempotent."""
    if alert.scope != Scope.PUBLIC or alert.status == CapStatus.TEST or alert.incident is None:
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
    due = PublicPost.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=timezone.now())
    for post in due.select_related("alert").order_by("id")[:limit]:
        # Claim by moving it to SENDING: another worker's claim loses the UPDATE.
        if not PublicPost.objects.filter(pk=post.pk, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.SENDING
        ):
            continue
        title, text = render_text(post.alert, settings.LANGUAGE_CODE)
        url = alert_url(post.alert)
        try:
            if post.channel == "ntfy":
                message = OutboundMessage(text=text, title=title, url=url, unsubscribe_url="", topic="")
                NtfyTransport().send({"address": post.target}, message)
            else:
                TelegramTransport().post_to_channel(post.target, f"{text}\n{url}")
        except TransportError as exc:
            attempts = post.attempts + 1
            gave_up = exc.permanent or attempts >= settings.RAIDWATCH_DELIVERY_MAX_ATTEMPTS
            PublicPost.objects.filter(pk=post.pk).update(
                status=DeliveryStatus.FAILED if gave_up else DeliveryStatus.PENDING,
                attempts=attempts,
                next_attempt_at=timezone.now() + backoff(attempts),
                last_error=exc.message[:200],
            )
            continue
        PublicPost.objects.filter(pk=post.pk).update(
            status=DeliveryStatus.SENT, sent_at=timezone.now(), attempts=post.attempts + 1
        )
        sent += 1
    return sent
