"""ntfy (https://ntfy.sh or a self-hosted server), by JSON publishing.

JSON publishing (POST to the server root with the topic in the body) carries a
UTF-8 title as it is; the header form would need RFC 2047 encoding for every
language that is not ASCII.

Configuration (read at send time): RAIDWATCH_NTFY_BASE (default https://ntfy.sh),
RAIDWATCH_NTFY_TOKEN (optional access token, sent as a Bearer token),
RAIDWATCH_NTFY_TOPIC_PREFIX (default "raidwatch", for the per-area topics).
"""

from __future__ import annotations

import re

import requests
from django.utils.translation import gettext as _

from raidwatch.channels import http_errors
from raidwatch.channels.base import InvalidAddress, OutboundMessage, Transport, TransportError
from raidwatch.lib.env import env_str

NAME = "ntfy"
DEFAULT_BASE = "https://ntfy.sh"
TOPIC = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Web Push urgency → ntfy priority (5 = max: sound, vibration, pops over other apps).
PRIORITY = {"very-low": 1, "low": 2, "normal": 3, "high": 5}


class NtfyTransport(Transport):
    name = NAME
    # A topic is public: anyone who knows the name can read it, so a code sent
    # there proves nothing about who asked, and there is no one to confirm.
    # Alerts are public information anyway; what a subscriber must understand
    # (and the subscribe page should say) is that a topic name is not private.
    needs_confirmation = False

    def normalise_address(self, contact: dict[str, object]) -> str:
        address = contact.get("address")
        if isinstance(address, str):
            topic = address.strip()
            if TOPIC.fullmatch(topic):
                return topic  # ntfy topics are case-sensitive, so the case is kept
        raise InvalidAddress(_("Enter an ntfy topic: up to 64 letters, digits, - or _."))

    def send(self, contact: dict[str, object], message: OutboundMessage) -> None:
        topic = http_errors.stored_address(self, contact)
        base = (env_str("RAIDWATCH_NTFY_BASE") or DEFAULT_BASE).rstrip("/")
        token = env_str("RAIDWATCH_NTFY_TOKEN")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        payload = {
            "topic": topic,
            "message": message.text,
            "title": message.title,
            "click": message.url,
            "priority": PRIORITY.get(message.urgency, 3),
        }
        response = http_errors.request(NAME, "POST", f"{base}/", json=payload, headers=headers)
        if response.status_code == 200:
            return
        raise _error(response)


def topic_for_area(cell: str) -> str:
    """The public topic for one area: one post there reaches everyone following it (G7).

    Readable on purpose (people find their area's topic by its cell), so it says
    no more than the public map does.
    """
    prefix = env_str("RAIDWATCH_NTFY_TOPIC_PREFIX") or "raidwatch"
    topic = f"{prefix}-{cell}"
    if not TOPIC.fullmatch(topic):
        raise ValueError(f"{topic!r} is not a valid ntfy topic; check RAIDWATCH_NTFY_TOPIC_PREFIX")
    return topic


def _error(response: requests.Response) -> TransportError:
    # A topic cannot stop existing, so nothing here is permanent. 401/403 are
    # our token or the server's access rules (a topic reserved by someone else
    # looks the same as our own token lacking a grant), 400/413 a request we
    # built wrong: all for the operator, none a reason to drop the subscriber.
    # 429: ntfy sends no Retry-After; when there is none the outbox's backoff applies.
    return http_errors.generic_error(NAME, response)
