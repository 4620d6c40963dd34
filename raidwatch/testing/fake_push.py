"""A real Web Push service on loopback, for tests.

It speaks the protocol a browser vendor's push service does: it takes
``POST /push/<id>``, checks the VAPID authorisation (RFC 8292: an ES256 JWT
whose signature verifies with the key in the header, for this service's origin,
unexpired and at most 24 h ahead, with a subject), insists on a TTL, checks
Urgency and Topic, and decrypts the aes128gcm body (RFC 8291) with the
subscriber's private key, the way the browser would. Decryption is done here
with ``cryptography`` directly rather than with the library that encrypts, so a
mistake on the sending side cannot be mirrored on this side and go unnoticed.

Usage::

    def test_something(fake_push):              # the fixture below
        subscription = fake_push.new_subscription()
        ... send to subscription ...
        [message] = fake_push.received
        assert message.json()["title"] == "..."

``fake_push`` sets ``RAIDWATCH_ALLOW_PRIVATE_ENDPOINTS`` for the test, since
the service listens on 127.0.0.1. Tests in other folders make the fixture
visible by listing this module in ``pytest_plugins``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import struct
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

MAX_BODY_BYTES = 4096  # RFC 8030 §7.2: the least a push service must accept
MAX_VAPID_AHEAD_SECONDS = 24 * 3600  # RFC 8292 §2
URGENCIES = ("very-low", "low", "normal", "high")
_TOPIC = re.compile(r"[A-Za-z0-9_-]{1,32}")
_AUTH_PARAM = re.compile(r"\s*([A-Za-z]+)\s*=\s*([^,\s]+)\s*")


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    text = text.strip().rstrip("=")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PushRejected(Exception):
    """Why the fake refused a request; becomes the HTTP status of the answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Subscriber:
    """The browser side of one subscription: what it keeps and never sends."""

    id: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes
    application_server_key: str | None

    @property
    def public_key(self) -> bytes:
        return self.private_key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)

    def subscription_info(self) -> dict[str, Any]:
        """What ``PushSubscription.toJSON()`` gives a page."""
        return {
            "endpoint": self.endpoint,
            "keys": {"p256dh": b64url_encode(self.public_key), "auth": b64url_encode(self.auth_secret)},
        }


@dataclass(frozen=True)
class PushedMessage:
    """One message the fake accepted, decrypted, with what it checked."""

    subscription_id: str
    endpoint: str
    payload: bytes
    ttl: int
    urgency: str | None
    topic: str | None
    headers: dict[str, str]
    vapid_claims: dict[str, Any]
    vapid_public_key: str

    def text(self) -> str:
        return self.payload.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.payload)


@dataclass(frozen=True)
class Rejection:
    """A request the fake refused, and why (a test can assert on the reason)."""

    path: str
    status: int
    reason: str


@dataclass
class _Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)


def decrypt_aes128gcm(body: bytes, private_key: ec.EllipticCurvePrivateKey, auth_secret: bytes) -> bytes:
    """Decrypt a Web Push message as a user agent does (RFC 8291 §3.4, RFC 8188 §2)."""
    if len(body) < 21:
        raise PushRejected(400, "body shorter than the aes128gcm header")
    salt = body[:16]
    (record_size,) = struct.unpack(">I", body[16:20])
    id_length = body[20]
    sender_public = body[21 : 21 + id_length]
    ciphertext = body[21 + id_length :]
    if id_length != 65:
        raise PushRejected(400, "the key id must be the sender's 65-byte P-256 public key")
    if record_size < 18:
        raise PushRejected(400, "record size too small")
    # RFC 8291 §4: one record only, so a receiver never has to buffer several.
    if len(ciphertext) > record_size:
        raise PushRejected(400, "more than one record")
    try:
        sender_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), sender_public)
    except ValueError:
        raise PushRejected(400, "the sender's public key is not a P-256 point") from None
    receiver_public = private_key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    shared_secret = private_key.exchange(ec.ECDH(), sender_key)
    key_info = b"WebPush: info\x00" + receiver_public + sender_public
    input_key = HKDF(hashes.SHA256(), 32, salt=auth_secret, info=key_info).derive(shared_secret)
    content_key = HKDF(hashes.SHA256(), 16, salt=salt, info=b"Content-Encoding: aes128gcm\x00").derive(
        input_key
    )
    nonce = HKDF(hashes.SHA256(), 12, salt=salt, info=b"Content-Encoding: nonce\x00").derive(input_key)
    try:
        # Record sequence number 0: the nonce is used as derived.
        padded = AESGCM(content_key).decrypt(nonce, ciphertext, None)
    except InvalidTag:
        raise PushRejected(400, "the payload does not decrypt with the subscriber's keys") from None
    content = padded.rstrip(b"\x00")
    if not content.endswith(b"\x02"):
        raise PushRejected(400, "the only record lacks the last-record delimiter")
    return content[:-1]


def verify_vapid(
    authorization: str | None, audience: str, now: float | None = None
) -> tuple[dict[str, Any], str]:
    """Check an ``Authorization: vapid t=…, k=…`` header; the claims and key, or PushRejected."""
    if not authorization:
        raise PushRejected(401, "no Authorization header")
    scheme, _, rest = authorization.strip().partition(" ")
    if scheme.lower() != "vapid":
        raise PushRejected(401, f"authorization scheme {scheme!r} is not vapid")
    params: dict[str, str] = {}
    for part in rest.split(","):
        match = _AUTH_PARAM.fullmatch(part)
        if match is None:
            raise PushRejected(401, "malformed vapid parameters")
        params[match.group(1).lower()] = match.group(2)
    token, key = params.get("t"), params.get("k")
    if not token or not key:
        raise PushRejected(401, "vapid needs both t= and k=")
    try:
        public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(key))
        header_part, claims_part, signature_part = token.split(".")
        header = json.loads(b64url_decode(header_part))
        claims = json.loads(b64url_decode(claims_part))
        signature = b64url_decode(signature_part)
    except (ValueError, binascii.Error):
        raise PushRejected(403, "the vapid token or key is malformed") from None
    if not isinstance(header, dict) or header.get("alg") != "ES256":
        raise PushRejected(403, "the vapid token must be signed with ES256")
    if len(signature) != 64:
        raise PushRejected(403, "an ES256 signature is 64 bytes")
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    try:
        public_key.verify(der, f"{header_part}.{claims_part}".encode("ascii"), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise PushRejected(403, "the vapid signature does not verify") from None
    if not isinstance(claims, dict):
        raise PushRejected(403, "the vapid claims are not an object")
    current = time.time() if now is None else now
    if claims.get("aud") != audience:
        raise PushRejected(403, f"aud is {claims.get('aud')!r}, not {audience!r}")
    expires = claims.get("exp")
    if not isinstance(expires, int) or expires <= current:
        raise PushRejected(403, "the vapid token has expired or has no exp")
    if expires > current + MAX_VAPID_AHEAD_SECONDS:
        raise PushRejected(403, "the vapid token expires more than 24 hours ahead")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.startswith(("mailto:", "https:")):
        raise PushRejected(403, "the vapid sub must be a mailto: or https: URI")
    return claims, key


class FakePushService:
    """A push service listening on 127.0.0.1; use as a context manager or start()/stop()."""

    def __init__(self) -> None:
        self.received: list[PushedMessage] = []
        self.rejected: list[Rejection] = []
        self._subscribers: dict[str, Subscriber] = {}
        self._answers: dict[str, _Answer] = {}
        self._condition = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None

    # --- lifecycle ---------------------------------------------------------

    def start(self) -> FakePushService:
        service = self

        class Handler(_PushHandler):
            fake = service

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        host, port = self._server.server_address[:2]
        self._url = f"http://{host!s}:{port}"
        # A short poll interval: stop() waits for the serving loop to notice.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-push", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakePushService:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The service's origin, which is also the audience VAPID tokens must name."""
        if self._url is None:
            raise RuntimeError("the fake push service has not been started")
        return self._url

    # --- subscriptions and scripted answers --------------------------------

    def new_subscription(self, application_server_key: str | None = None) -> dict[str, Any]:
        """A fresh subscription (new key pair and auth secret), as a browser would create.

        With ``application_server_key`` (our VAPID public key, base64url) the
        service refuses pushes signed by any other key, as real ones do.
        """
        subscriber_id = secrets.token_urlsafe(16)
        subscriber = Subscriber(
            id=subscriber_id,
            endpoint=f"{self.url}/push/{subscriber_id}",
            private_key=ec.generate_private_key(ec.SECP256R1()),
            auth_secret=secrets.token_bytes(16),
            application_server_key=application_server_key,
        )
        with self._condition:
            self._subscribers[subscriber_id] = subscriber
        return subscriber.subscription_info()

    def subscriber(self, subscription: dict[str, Any] | str) -> Subscriber:
        """The browser side of a subscription (given its info or its endpoint)."""
        endpoint = subscription if isinstance(subscription, str) else str(subscription["endpoint"])
        return self._subscribers[endpoint.rsplit("/", 1)[-1]]

    def answer(
        self, subscription: dict[str, Any] | str, status: int, headers: dict[str, str] | None = None
    ) -> None:
        """Make every push to this subscription get ``status`` (after all checks pass)."""
        with self._condition:
            self._answers[self.subscriber(subscription).id] = _Answer(status, dict(headers or {}))

    def make_gone(self, subscription: dict[str, Any] | str) -> None:
        """The browser unsubscribed: the service answers 410 Gone."""
        self.answer(subscription, 410)

    def make_rate_limited(
        self, subscription: dict[str, Any] | str, retry_after: int | str | None = 30
    ) -> None:
        """The service is throttling us: 429, with Retry-After unless None."""
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        self.answer(subscription, 429, headers)

    def reset(self, subscription: dict[str, Any] | str) -> None:
        """Back to accepting pushes normally."""
        with self._condition:
            self._answers.pop(self.subscriber(subscription).id, None)

    # --- what arrived -------------------------------------------------------

    @property
    def request_count(self) -> int:
        with self._condition:
            return len(self.received) + len(self.rejected)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[PushedMessage]:
        """Block until ``count`` messages have been accepted (for sends from another thread)."""
        with self._condition:
            if not self._condition.wait_for(lambda: len(self.received) >= count, timeout=timeout):
                raise AssertionError(
                    f"expected {count} push messages within {timeout} s, got {len(self.received)}; "
                    f"rejected: {self.rejected}"
                )
            return list(self.received)

    # --- request handling (called from the server's threads) ----------------

    def _handle(self, path: str, headers: dict[str, str], body: bytes) -> _Answer:
        try:
            message = self._accept(path, headers, body)
        except PushRejected as rejection:
            with self._condition:
                self.rejected.append(Rejection(path, rejection.status, rejection.reason))
                self._condition.notify_all()
            return _Answer(rejection.status)
        with self._condition:
            scripted = self._answers.get(message.subscription_id)
            if scripted is not None:
                self.rejected.append(Rejection(path, scripted.status, "scripted answer"))
            else:
                self.received.append(message)
            self._condition.notify_all()
        if scripted is not None:
            return scripted
        return _Answer(201, {"Location": f"/message/{uuid.uuid4().hex}"})

    def _accept(self, path: str, headers: dict[str, str], body: bytes) -> PushedMessage:
        match = re.fullmatch(r"/push/([A-Za-z0-9_-]+)", path)
        subscriber = self._subscribers.get(match.group(1)) if match else None
        if subscriber is None:
            raise PushRejected(404, "no such subscription")
        claims, vapid_key = verify_vapid(headers.get("authorization"), self.url)
        if subscriber.application_server_key is not None and vapid_key != subscriber.application_server_key:
            raise PushRejected(403, "signed by a key other than the subscription's applicationServerKey")
        ttl_text = headers.get("ttl", "")
        if not ttl_text.isdigit():
            raise PushRejected(400, "TTL header missing or not a number")
        ttl = int(ttl_text)
        if ttl <= 0:
            raise PushRejected(400, "TTL 0 would drop the message for an offline device")
        urgency = headers.get("urgency")
        if urgency is not None and urgency not in URGENCIES:
            raise PushRejected(400, f"Urgency {urgency!r} is not one of {', '.join(URGENCIES)}")
        topic = headers.get("topic")
        if topic is not None and not _TOPIC.fullmatch(topic):
            raise PushRejected(400, "Topic must be 1-32 base64url characters")
        if len(body) > MAX_BODY_BYTES:
            raise PushRejected(413, f"body of {len(body)} bytes is over {MAX_BODY_BYTES}")
        if headers.get("content-encoding", "").lower() != "aes128gcm":
            raise PushRejected(415, "Content-Encoding must be aes128gcm")
        payload = decrypt_aes128gcm(body, subscriber.private_key, subscriber.auth_secret)
        return PushedMessage(
            subscription_id=subscriber.id,
            endpoint=subscriber.endpoint,
            payload=payload,
            ttl=ttl,
            urgency=urgency,
            topic=topic,
            headers=headers,
            vapid_claims=claims,
            vapid_public_key=vapid_key,
        )


class _PushHandler(BaseHTTPRequestHandler):
    fake: FakePushService
    # Keep-alive, as real push services allow, so senders' connection reuse is exercised.
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        length_text = self.headers.get("Content-Length")
        if length_text is None or not length_text.isdigit():
            self._reply(_Answer(411))
            return
        length = int(length_text)
        # Read at most a little past the limit; a larger body is refused anyway.
        body = self.rfile.read(length) if length <= MAX_BODY_BYTES * 4 else b""
        if length > MAX_BODY_BYTES * 4:
            self.close_connection = True
            self._reply(_Answer(413))
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        self._reply(self.fake._handle(self.path, headers, body))

    def _reply(self, answer: _Answer) -> None:
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        # Quiet: test output is for failures, not for every request.
        return


@pytest.fixture
def fake_push(settings: Any) -> Iterator[FakePushService]:
    """A running FakePushService; loopback endpoints are allowed for the test."""
    settings.RAIDWATCH_ALLOW_PRIVATE_ENDPOINTS = True
    with FakePushService() as service:
        yield service
