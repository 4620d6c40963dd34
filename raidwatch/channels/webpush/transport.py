"""Web Push (RFC 8030): an encrypted message to a browser's push subscription.

The push service (Google, Mozilla, Apple, Microsoft) relays the message but
cannot read it: the payload is encrypted to the browser's key (RFC 8291,
aes128gcm). It does see the request's headers and the endpoint, so what goes
there is kept opaque and minimal (SECURITY.md R15).
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
import threading
from typing import ClassVar, cast
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.utils.translation import gettext as _
from pywebpush import WebPusher  # type: ignore[import-untyped]

from raidwatch.channels.base import InvalidAddress, OutboundMessage, Transport, TransportError
from raidwatch.channels.http_errors import parse_retry_after
from raidwatch.channels.webpush import vapid
from raidwatch.lib import http

MAX_ENDPOINT_LENGTH = 2000
# RFC 8291 §4: push services need only accept 4096 octets of encrypted body;
# the aes128gcm header (86 with a P-256 key id), the tag (16) and the record
# delimiter (1) leave this much for our JSON.
MAX_PAYLOAD_BYTES = 4096 - 86 - 16 - 1
# Beyond four weeks some push services refuse the message outright.
MAX_TTL_SECONDS = 28 * 86400
URGENCIES = frozenset({"very-low", "low", "normal", "high"})
# RFC 8030 §5.4: at most 32 characters of the URL- and filename-safe base64 alphabet.
_TOPIC_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_B64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")


def _decode_b64url(value: object) -> bytes | None:
    if not isinstance(value, str) or not _B64URL.fullmatch(value):
        return None
    unpadded = value.rstrip("=")
    try:
        return base64.urlsafe_b64decode(unpadded + "=" * (-len(unpadded) % 4))
    except ValueError:
        return None


def _valid_p256_point(raw: bytes | None) -> bool:
    if raw is None or len(raw) != 65 or raw[0] != 0x04:
        return False
    try:
        # Also proves the point is on the curve, which a length check cannot.
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError:
        return False
    return True


def _is_private_literal(host: str) -> bool:
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not address.is_global or address.is_multicast


def opaque_topic(topic: str) -> str:
    """The Topic header value: only base64url characters, at most 32 of them.

    Callers pass an opaque token already; this only makes sure a malformed one
    cannot get the whole request refused by the push service.
    """
    return _TOPIC_UNSAFE.sub("", topic)[:32]


def _payload(message: OutboundMessage) -> bytes:
    # Only what the notification shows and links to (R15); never coordinates.
    # ensure_ascii=False keeps non-Latin text at 2-3 bytes a character, not 6.
    fields = {
        "title": message.title,
        "body": message.text,
        "url": message.url,
        "unsubscribe": message.unsubscribe_url,
        "topic": message.topic,
    }
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class WebPushTransport(Transport):
    name: ClassVar[str] = "webpush"
    # The browser handed us the subscription itself; nobody can subscribe a
    # device they do not hold, so there is nothing to confirm.
    needs_confirmation: ClassVar[bool] = False
    # One request per subscriber, to many push services: mostly network waiting.
    concurrency: ClassVar[int] = 16

    def __init__(self) -> None:
        # One guarded session per thread: connections to the push service are
        # kept alive across a fan-out, and requests sessions are not shared
        # between threads safely.
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = http.session()
            self._local.session = session
        return cast(requests.Session, session)

    def _subscription(self, contact: dict[str, object]) -> tuple[str, dict[str, str]]:
        endpoint = contact.get("endpoint")
        keys = contact.get("keys")
        if not isinstance(endpoint, str) or not endpoint:
            raise InvalidAddress(_("The push subscription has no endpoint."))
        if len(endpoint) > MAX_ENDPOINT_LENGTH:
            raise InvalidAddress(_("The push subscription's endpoint is too long."))
        parts = urlsplit(endpoint)
        allowed_schemes = ("https", "http") if settings.RAIDWATCH_ALLOW_PRIVATE_ENDPOINTS else ("https",)
        if (
            parts.scheme not in allowed_schemes
            or not parts.hostname
            or parts.username is not None
            or parts.password is not None
            or any(character.isspace() or ord(character) < 0x20 for character in endpoint)
        ):
            raise InvalidAddress(_("The push subscription's endpoint must be an https:// address."))
        if not isinstance(keys, dict):
            raise InvalidAddress(_("The push subscription has no keys."))
        p256dh, auth = keys.get("p256dh"), keys.get("auth")
        if not _valid_p256_point(_decode_b64url(p256dh)):
            raise InvalidAddress(_("The push subscription's p256dh key is not a valid P-256 public key."))
        auth_secret = _decode_b64url(auth)
        if auth_secret is None or len(auth_secret) != 16:
            raise InvalidAddress(_("The push subscription's auth secret must be 16 bytes."))
        return endpoint, {"p256dh": cast(str, p256dh), "auth": cast(str, auth)}

    def normalise_address(self, contact: dict[str, object]) -> str:
        """The endpoint, once the whole subscription is known to be usable."""
        endpoint, _keys = self._subscription(contact)
        host = urlsplit(endpoint).hostname or ""
        # Catch the obvious SSRF attempt when subscribing; the outbound guard
        # still resolves and checks every destination when sending.
        if not settings.RAIDWATCH_ALLOW_PRIVATE_ENDPOINTS and _is_private_literal(host):
            raise InvalidAddress(_("The push subscription's endpoint is not a public address."))
        return endpoint

    def send(self, contact: dict[str, object], message: OutboundMessage) -> None:
        try:
            endpoint, keys = self._subscription(contact)
        except InvalidAddress as exc:
            # A stored subscription that cannot be parsed will never work.
            raise TransportError(f"unusable push subscription: {exc.message}", permanent=True) from None

        payload = _payload(message)
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise TransportError(f"push payload is {len(payload)} bytes, over the {MAX_PAYLOAD_BYTES} limit")

        # The message's extra headers are for mail-like channels; the push
        # service is not the recipient and learns nothing it does not need.
        headers = {
            "Authorization": vapid.authorization_header(endpoint),
            # An unknown value would make the push service refuse the message;
            # alerts are time-critical, so fall back to the highest.
            "Urgency": message.urgency if message.urgency in URGENCIES else "high",
        }
        topic = opaque_topic(message.topic)
        if topic:
            headers["Topic"] = topic
        # pywebpush defaults to TTL 0, which drops the message for any phone
        # that is offline at that moment; never send 0.
        ttl = min(max(int(message.ttl_seconds), 1), MAX_TTL_SECONDS)

        pusher = WebPusher({"endpoint": endpoint, "keys": keys}, requests_session=self._session())
        try:
            # pywebpush's own default timeout is 10,000 s; use the project's.
            response = pusher.send(
                payload,
                headers,
                ttl=ttl,
                content_encoding="aes128gcm",
                timeout=http.DEFAULT_TIMEOUT,
            )
        except http.DestinationRefused as exc:
            # The endpoint points somewhere we must never send: it cannot
            # become deliverable, so the subscription is disabled.
            raise TransportError(f"push endpoint refused: {exc}", permanent=True) from None
        except requests.RequestException as exc:
            raise TransportError(f"push service unreachable: {type(exc).__name__}") from None
        self._check_response(cast(requests.Response, response))

    @staticmethod
    def _check_response(response: requests.Response) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        # Never the body or the URL in an error: both can carry the endpoint,
        # which is a sealed contact detail (R5), and errors end up stored.
        reason = f"push service answered {status} {response.reason or ''}".rstrip()
        if status in (404, 410):
            raise TransportError(f"{reason}: the subscription has expired", permanent=True)
        if status in (429, 503):
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            raise TransportError(reason, retry_after=retry_after)
        if status in (400, 413):
            raise TransportError(f"{reason}: the push service rejected our request as malformed or too large")
        if status in (401, 403):
            # Usually our VAPID key or token; never the subscriber's doing, and
            # disabling every subscription over a configuration slip would be
            # far worse than retrying.
            raise TransportError(f"{reason}: the push service did not accept our VAPID authorisation")
        raise TransportError(reason)
