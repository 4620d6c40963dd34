"""A local SMS provider: the Twilio Messages API and the SMS Gateway for Android API.

Fixture (load with ``pytest_plugins = ["raidwatch.testing.fake_sms"]``):

- ``fake_sms``: a running ``FakeSmsServer`` on 127.0.0.1, with the SMS
  transport's environment pointed at it (provider ``twilio``; the Android
  settings are filled in too, so a test switches with
  ``monkeypatch.setenv("RAIDWATCH_SMS_PROVIDER", "android")``) and
  ``settings.RAIDWATCH_ALLOW_PRIVATE_ENDPOINTS = True``, since lib/http refuses
  loopback otherwise.

It checks what the real services check (Basic auth, the form or JSON fields, an
E.164 "To"), records every accepted message in ``messages`` and every request's
time and answer in ``requests`` (for rate tests), and can be told to misbehave:
``throttle`` (429 + Retry-After), ``limit_rate`` (429 beyond a rate),
``fail_number`` (a provider error for one number) and ``fail_next`` (5xx).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

HOST = "127.0.0.1"
TWILIO_MESSAGES = re.compile(r"/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json")
# The cloud server's paths (current and legacy) and a phone's local server's.
ANDROID_MESSAGES = frozenset({"/3rdparty/v1/messages", "/3rdparty/v1/message", "/messages", "/message"})
E164 = re.compile(r"\+[1-9][0-9]{7,14}")

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "fake-twilio-token"  # noqa: S105 - a test credential for a loopback fake
TWILIO_FROM = "+15005550006"
ANDROID_USER = "sms"
ANDROID_PASSWORD = "fake-android-password"  # noqa: S105 - a test credential for a loopback fake

SMS_ENV = (
    "RAIDWATCH_SMS_PROVIDER",
    "RAIDWATCH_TWILIO_API_BASE",
    "RAIDWATCH_TWILIO_ACCOUNT_SID",
    "RAIDWATCH_TWILIO_AUTH_TOKEN",
    "RAIDWATCH_TWILIO_FROM",
    "RAIDWATCH_TWILIO_MESSAGING_SERVICE_SID",
    "RAIDWATCH_ANDROID_SMS_API_BASE",
    "RAIDWATCH_ANDROID_SMS_PATH",
    "RAIDWATCH_ANDROID_SMS_USER",
    "RAIDWATCH_ANDROID_SMS_PASSWORD",
)


@dataclass(frozen=True)
class SentSms:
    provider: str  # "twilio" | "android"
    to: str
    body: str
    sender: str | None  # Twilio: From or MessagingServiceSid; Android: none
    ttl: int | None  # Android only
    sid: str


@dataclass(frozen=True)
class ProviderRequest:
    at: float  # time.monotonic() when it arrived
    provider: str
    status: int


@dataclass
class _Failure:
    status: int
    code: int | None


@dataclass
class _RateLimit:
    per_second: float
    next_free: float = 0.0


@dataclass
class _Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class FakeSmsServer:
    def __init__(
        self,
        *,
        account_sid: str = ACCOUNT_SID,
        auth_token: str = AUTH_TOKEN,
        android_user: str = ANDROID_USER,
        android_password: str = ANDROID_PASSWORD,
    ) -> None:
        self.twilio_from = TWILIO_FROM  # what the fixture configures as the sender
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.android_user = android_user
        self.android_password = android_password
        self.lock = threading.Lock()
        self.messages: list[SentSms] = []
        self.requests: list[ProviderRequest] = []
        self._throttled = 0
        self._throttle_retry_after: str | None = None
        self._fail_next: list[int] = []
        self._failing_numbers: dict[str, _Failure] = {}
        self._rate: _RateLimit | None = None
        self._http = ThreadingHTTPServer((HOST, 0), _handler_for(self))
        self._http.daemon_threads = True
        # serve_forever notices shutdown() only between polls; the default half
        # second would be added to every test's teardown.
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-sms", daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self._http.server_address[1]}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=5)

    # --- Misbehaviour on request ---------------------------------------------------

    def throttle(self, count: int = 1, retry_after: float | str | None = 1) -> None:
        """Answer the next ``count`` authenticated requests 429, with ``Retry-After:
        retry_after`` (a number of seconds or an HTTP date; None sends no header)."""
        with self.lock:
            self._throttled = count
            self._throttle_retry_after = None if retry_after is None else str(retry_after)

    def limit_rate(self, per_second: float | None) -> None:
        """Answer 429 (Retry-After in whole seconds, as HTTP allows) to requests that
        come sooner than 1/per_second after the last accepted one; None lifts it."""
        with self.lock:
            self._rate = None if per_second is None else _RateLimit(per_second)

    def fail_number(self, number: str, code: int | None = 21610, status: int = 400) -> None:
        """Refuse every message to ``number`` with ``status`` (and, for Twilio, error ``code``)."""
        with self.lock:
            self._failing_numbers[number] = _Failure(status, code)

    def fail_next(self, count: int = 1, status: int = 503) -> None:
        """Answer the next ``count`` authenticated requests with a server error."""
        with self.lock:
            self._fail_next.extend([status] * count)

    # --- Answering -------------------------------------------------------------------

    def answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[str, _Answer]:
        twilio = TWILIO_MESSAGES.fullmatch(path)
        if method != "POST":
            return "unknown", _Answer(405, {"message": "method not allowed"})
        if twilio is not None:
            return "twilio", self._twilio(twilio.group("sid"), headers, body)
        if path in ANDROID_MESSAGES:
            return "android", self._android(headers, body)
        return "unknown", _Answer(404, {"message": "not found"})

    def _misbehaviour(self, provider: str) -> _Answer | None:
        with self.lock:
            if self._throttled > 0:
                self._throttled -= 1
                extra = (
                    {} if self._throttle_retry_after is None else {"Retry-After": self._throttle_retry_after}
                )
                return _Answer(429, _error_body(provider, 429, 20429, "Too Many Requests"), extra)
            if self._fail_next:
                status = self._fail_next.pop(0)
                return _Answer(status, _error_body(provider, status, None, "Service unavailable"))
            if self._rate is not None:
                now = time.monotonic()
                if now < self._rate.next_free:
                    wait = math.ceil(self._rate.next_free - now)
                    return _Answer(
                        429,
                        _error_body(provider, 429, 20429, "Too Many Requests"),
                        {"Retry-After": str(wait)},
                    )
                self._rate.next_free = now + 1.0 / self._rate.per_second
        return None

    def _twilio(self, path_sid: str, headers: dict[str, str], body: bytes) -> _Answer:
        credentials = _basic_auth(headers)
        if credentials != (self.account_sid, self.auth_token):
            return _Answer(401, _error_body("twilio", 401, 20003, "Authenticate"))
        if path_sid != self.account_sid:
            return _Answer(404, _error_body("twilio", 404, 20404, "The requested resource was not found"))
        trouble = self._misbehaviour("twilio")
        if trouble is not None:
            return trouble
        form = {
            key: values[0] for key, values in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()
        }
        to = form.get("To", "")
        text = form.get("Body", "")
        sender = form.get("MessagingServiceSid") or form.get("From")
        if not to:
            return _Answer(400, _error_body("twilio", 400, 21604, "A 'To' phone number is required."))
        if not E164.fullmatch(to):
            return _Answer(400, _error_body("twilio", 400, 21211, f"The 'To' number {to} is not valid."))
        if not text:
            return _Answer(400, _error_body("twilio", 400, 21602, "Message body is required."))
        if not sender:
            return _Answer(400, _error_body("twilio", 400, 21603, "A 'From' phone number is required."))
        failure = self._failing_numbers.get(to)
        if failure is not None:
            # Like Twilio, the text quotes the number: transports must not keep it.
            return _Answer(
                failure.status, _error_body("twilio", failure.status, failure.code, f"{to} refused")
            )
        sid = "SM" + uuid.uuid4().hex
        with self.lock:
            self.messages.append(SentSms("twilio", to, text, sender, None, sid))
        return _Answer(
            201,
            {"sid": sid, "account_sid": self.account_sid, "to": to, "body": text, "status": "queued"},
        )

    def _android(self, headers: dict[str, str], body: bytes) -> _Answer:
        if _basic_auth(headers) != (self.android_user, self.android_password):
            return _Answer(401, {"message": "Unauthorized"})
        trouble = self._misbehaviour("android")
        if trouble is not None:
            return trouble
        try:
            payload = json.loads(body)
        except ValueError:
            return _Answer(400, {"message": "invalid JSON"})
        if not isinstance(payload, dict):
            return _Answer(400, {"message": "invalid request"})
        text_message = payload.get("textMessage")
        text = text_message.get("text") if isinstance(text_message, dict) else payload.get("message")
        numbers = payload.get("phoneNumbers")
        ttl = payload.get("ttl")
        if not isinstance(text, str) or not text:
            return _Answer(400, {"message": "text is required"})
        if (
            not isinstance(numbers, list)
            or not numbers
            or not all(isinstance(n, str) and E164.fullmatch(n) for n in numbers)
        ):
            return _Answer(400, {"message": "phoneNumbers must be E.164 numbers"})
        if ttl is not None and not isinstance(ttl, int):
            return _Answer(400, {"message": "ttl must be a number of seconds"})
        for number in numbers:
            failure = self._failing_numbers.get(number)
            if failure is not None:
                return _Answer(failure.status, {"message": f"{number} refused"})
        sid = uuid.uuid4().hex
        with self.lock:
            self.messages.extend(SentSms("android", n, text, None, ttl, sid) for n in numbers)
        return _Answer(
            202,
            {
                "id": sid,
                "state": "Pending",
                "recipients": [{"phoneNumber": n, "state": "Pending"} for n in numbers],
            },
        )

    def record(self, provider: str, status: int) -> None:
        with self.lock:
            self.requests.append(ProviderRequest(time.monotonic(), provider, status))


def _error_body(provider: str, status: int, code: int | None, message: str) -> dict[str, Any]:
    if provider == "twilio":
        return {"code": code, "message": message, "more_info": "", "status": status}
    return {"message": message}


def _basic_auth(headers: dict[str, str]) -> tuple[str, str] | None:
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


def _handler_for(fake: FakeSmsServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self._serve()

        def do_GET(self) -> None:
            self._serve()

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {key.lower(): value for key, value in self.headers.items()}
            provider, answer = fake.answer(self.command, self.path.split("?", 1)[0], headers, body)
            fake.record(provider, answer.status)
            data = json.dumps(answer.body).encode()
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Silent: test output should show failures, not request lines."""

    return Handler


@pytest.fixture
def fake_sms(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[FakeSmsServer]:
    """A running fake SMS provider, with RAIDWATCH_TWILIO_* and RAIDWATCH_ANDROID_SMS_*
    pointing at it and loopback destinations allowed."""
    server = FakeSmsServer()
    server.start()
    try:
        for name in SMS_ENV:
            monkeypatch.delenv(name, raising=False)
            monkeypatch.delenv(f"{name}_FILE", raising=False)
        monkeypatch.setenv("RAIDWATCH_SMS_PROVIDER", "twilio")
        monkeypatch.setenv("RAIDWATCH_TWILIO_API_BASE", server.base_url)
        monkeypatch.setenv("RAIDWATCH_TWILIO_ACCOUNT_SID", server.account_sid)
        monkeypatch.setenv("RAIDWATCH_TWILIO_AUTH_TOKEN", server.auth_token)
        monkeypatch.setenv("RAIDWATCH_TWILIO_FROM", server.twilio_from)
        monkeypatch.setenv("RAIDWATCH_ANDROID_SMS_API_BASE", f"{server.base_url}/3rdparty/v1")
        monkeypatch.setenv("RAIDWATCH_ANDROID_SMS_USER", server.android_user)
        monkeypatch.setenv("RAIDWATCH_ANDROID_SMS_PASSWORD", server.android_password)
        settings.RAIDWATCH_ALLOW_PRIVATE_ENDPOINTS = True
        yield server
    finally:
        server.stop()
