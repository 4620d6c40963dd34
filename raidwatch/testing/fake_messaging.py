"""Local stand-ins for the Telegram Bot API, signal-cli's REST wrapper, ntfy and a Matrix homeserver.

Each fake is a real HTTP server on 127.0.0.1 (a free port, its own thread), so the
transports are tested through lib/http exactly as they run. Each checks what the
real service checks (the token, the JSON shape), records what it accepted in
``received``, keeps every request line in ``requests``, and can be told to answer
one recipient with a rate limit or a permanent error:

    fake.rate_limit(recipient, retry_after=7, times=1)   # 429 in the service's own format
    fake.reject(recipient)                                # the service's "this recipient is gone"
    fake.outage(502, retry_after=None, times=1)           # a failing proxy in front of it

Fixtures ``fake_telegram``, ``fake_signal``, ``fake_ntfy`` and ``fake_matrix`` start
one, point the RAIDWATCH_<CHANNEL>_* variables at it, set
RAIDWATCH_ALLOW_PRIVATE_ENDPOINTS (lib/http refuses loopback otherwise) and stop
it afterwards. Use them by importing this module as a plugin
(``pytest_plugins = ["raidwatch.testing.fake_messaging"]``).
"""

from __future__ import annotations

import itertools
import json
import math
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import unquote

import pytest

# status, JSON body, extra headers
Reply = tuple[int, dict[str, Any], dict[str, str]]

E164 = re.compile(r"\+[1-9][0-9]{7,14}")
NTFY_TOPIC = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class Received:
    """One message a fake accepted."""

    recipient: str
    payload: dict[str, Any]
    headers: dict[str, str]  # names in lower case
    path: str


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeService) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        status, body, extra = self.server.fake.dispatch(self.command, self.path, headers, raw)
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean


class FakeService:
    """The shared machinery; each subclass answers like its service."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request, answered or not
        self._lock = threading.Lock()
        self._limits: dict[str, list[float]] = {}
        self._rejected: dict[str, str] = {}
        self._outages: list[tuple[int, float | None]] = []
        self._server = _Server(self)
        # A short poll keeps shutdown (and so each test's teardown) quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=type(self).__name__,
            daemon=True,
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def rate_limit(self, recipient: str, retry_after: float = 1.0, *, times: int = 1) -> None:
        """Answer the next ``times`` messages to ``recipient`` with the service's 429."""
        with self._lock:
            self._limits.setdefault(recipient, []).extend([retry_after] * times)

    def reject(self, recipient: str, how: str = "") -> None:
        """Answer every message to ``recipient`` with the service's permanent error."""
        with self._lock:
            self._rejected[recipient] = how

    def outage(self, status: int = 503, *, retry_after: float | None = None, times: int = 1) -> None:
        """Answer the next ``times`` requests, whatever they are, as a failing proxy in front would:
        ``status`` with no JSON of the service's own."""
        with self._lock:
            self._outages.extend([(status, retry_after)] * times)

    def payloads_to(self, recipient: str) -> list[dict[str, Any]]:
        return [r.payload for r in self.received if r.recipient == recipient]

    # For subclasses.

    def handle(self, method: str, path: str, headers: dict[str, str], payload: dict[str, Any]) -> Reply:
        raise NotImplementedError

    def dispatch(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        with self._lock:
            self.requests.append((method, path))
            outage = self._outages.pop(0) if self._outages else None
        if outage is not None:
            status, retry_after = outage
            return status, {}, {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
        payload: dict[str, Any] = {}
        if raw:
            if not headers.get("content-type", "").startswith("application/json"):
                return self.bad_request("expected a JSON body")
            try:
                loaded = json.loads(raw)
            except ValueError:
                return self.bad_request("body is not JSON")
            if not isinstance(loaded, dict):
                return self.bad_request("body is not a JSON object")
            payload = loaded
        return self.handle(method, path, headers, payload)

    def bad_request(self, reason: str) -> Reply:
        raise NotImplementedError

    def hint_for(self, recipient: str) -> float | None:
        """The retry hint of a pending rate limit for ``recipient``, used up by asking."""
        with self._lock:
            pending = self._limits.get(recipient)
            return pending.pop(0) if pending else None

    def rejection_for(self, recipient: str) -> str | None:
        with self._lock:
            return self._rejected.get(recipient)

    def record(self, recipient: str, payload: dict[str, Any], headers: dict[str, str], path: str) -> None:
        with self._lock:
            self.received.append(Received(recipient, payload, headers, path))

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class FakeTelegram(FakeService):
    """The Bot API's sendMessage. ``reject(chat, "not_found")`` answers 400 chat not found;
    the default is 403, a user who blocked the bot."""

    token = "123456:fake-bot-token"  # noqa: S105 - a fake service's token, not a secret
    _path = re.compile(r"/bot(?P<token>[^/]+)/sendMessage")

    def bad_request(self, reason: str) -> Reply:
        return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {reason}"}, {}

    def handle(self, method: str, path: str, headers: dict[str, str], payload: dict[str, Any]) -> Reply:
        match = self._path.fullmatch(path)
        if method != "POST" or not match:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}, {}
        if match["token"] != self.token:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}, {}
        chat, text = payload.get("chat_id"), payload.get("text")
        if not isinstance(chat, int | str) or isinstance(chat, bool) or chat == "":
            return self.bad_request("chat_id is empty")
        if not isinstance(text, str) or not text.strip() or len(text) > 4096:
            return self.bad_request("message text is empty or too long")
        recipient = str(chat)
        hint = self.hint_for(recipient)
        if hint is not None:
            seconds = math.ceil(hint)  # the Bot API counts whole seconds
            body = {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {seconds}",
                "parameters": {"retry_after": seconds},
            }
            return 429, body, {}
        how = self.rejection_for(recipient)
        if how == "not_found":
            return self.bad_request("chat not found")
        if how is not None:
            return (
                403,
                {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
                {},
            )
        self.record(recipient, payload, headers, path)
        return 200, {"ok": True, "result": {"message_id": len(self.received), "chat": {"id": chat}}}, {}


class FakeSignal(FakeService):
    """signal-cli-rest-api's POST /v2/send for one registered account."""

    number = "+15550100001"

    def bad_request(self, reason: str) -> Reply:
        return 400, {"error": reason}, {}

    def handle(self, method: str, path: str, headers: dict[str, str], payload: dict[str, Any]) -> Reply:
        if method != "POST" or path != "/v2/send":
            return 404, {"error": "not found"}, {}
        recipients, message = payload.get("recipients"), payload.get("message")
        if not isinstance(recipients, list) or not recipients:
            return self.bad_request("please provide at least one recipient")
        if payload.get("number") != self.number:
            return self.bad_request(f"User {payload.get('number')} is not registered.\n")
        if not all(isinstance(r, str) and E164.fullmatch(r) for r in recipients):
            return self.bad_request("invalid recipient")
        if not isinstance(message, str) or not message:
            return self.bad_request("message is empty")
        for recipient in recipients:
            hint = self.hint_for(recipient)
            if hint is not None:
                return (
                    429,
                    {"error": "Failed to send message: rate limit exceeded"},
                    {"Retry-After": f"{hint:g}"},
                )
            if self.rejection_for(recipient) is not None:
                return self.bad_request(f'Failed to send message: Unregistered user "{recipient}"\n')
        for recipient in recipients:
            self.record(recipient, payload, headers, path)
        return 201, {"timestamp": str(1_700_000_000_000 + len(self.received))}, {}


class FakeNtfy(FakeService):
    """ntfy's JSON publishing (POST / with the topic in the body), behind an access token."""

    token = "tk_fakentfytoken"  # noqa: S105 - a fake service's token, not a secret
    # ntfy.sh lets anyone publish to an unreserved topic; this fake demands the token unless told.
    anonymous_allowed = False

    def bad_request(self, reason: str) -> Reply:
        return 400, {"code": 40000, "http": 400, "error": reason}, {}

    def handle(self, method: str, path: str, headers: dict[str, str], payload: dict[str, Any]) -> Reply:
        if method != "POST" or path != "/":
            return 404, {"code": 40401, "http": 404, "error": "page not found"}, {}
        authorization = headers.get("authorization")
        if authorization != f"Bearer {self.token}" and not (authorization is None and self.anonymous_allowed):
            return 401, {"code": 40101, "http": 401, "error": "unauthorized"}, {}
        topic, message = payload.get("topic"), payload.get("message")
        if not isinstance(topic, str) or not NTFY_TOPIC.fullmatch(topic):
            return self.bad_request("invalid topic")
        if not isinstance(message, str) or not message:
            return self.bad_request("message is empty")
        priority = payload.get("priority", 3)
        if not isinstance(priority, int) or isinstance(priority, bool) or not 1 <= priority <= 5:
            return self.bad_request("invalid priority")
        if not all(isinstance(payload.get(key, ""), str) for key in ("title", "click")):
            return self.bad_request("title and click must be strings")
        if self.hint_for(topic) is not None:
            # ntfy says nothing about when to come back.
            return 429, {"code": 42901, "http": 429, "error": "limit reached: too many requests"}, {}
        if self.rejection_for(topic) is not None:
            return 403, {"code": 40301, "http": 403, "error": "forbidden"}, {}
        self.record(topic, payload, headers, path)
        return (
            200,
            {"id": f"m{len(self.received)}", "event": "message", "topic": topic, "message": message},
            {},
        )


class FakeMatrix(FakeService):
    """A homeserver's room send and alias directory, for one bot's access token.

    A repeated transaction id returns the first event id and sends nothing, as the
    spec requires. Map aliases to room ids in ``aliases``; ``reject(room)`` answers
    403 M_FORBIDDEN (the bot is not in the room); a room also in ``invited`` lets
    the bot join it (POST /join/{room}), after which sends succeed."""

    token = "syt_fake_matrix_token"  # noqa: S105 - a fake service's token, not a secret
    _send = re.compile(r"/_matrix/client/v3/rooms/(?P<room>[^/]+)/send/m\.room\.message/(?P<txn>[^/]+)")
    _directory = re.compile(r"/_matrix/client/v3/directory/room/(?P<alias>[^/]+)")
    _join = re.compile(r"/_matrix/client/v3/join/(?P<room>[^/]+)")

    def __init__(self) -> None:
        super().__init__()
        self.aliases: dict[str, str] = {}
        self.invited: set[str] = set()
        self.joins: list[str] = []
        self._transactions: dict[str, str] = {}
        self._event_ids = itertools.count(1)

    def bad_request(self, reason: str) -> Reply:
        return 400, {"errcode": "M_BAD_JSON", "error": reason}, {}

    def handle(self, method: str, path: str, headers: dict[str, str], payload: dict[str, Any]) -> Reply:
        if headers.get("authorization") != f"Bearer {self.token}":
            return 401, {"errcode": "M_UNKNOWN_TOKEN", "error": "Invalid access token passed."}, {}
        if method == "GET" and (found := self._directory.fullmatch(path)):
            room_id = self.aliases.get(unquote(found["alias"]))
            if room_id is None:
                return 404, {"errcode": "M_NOT_FOUND", "error": "Room alias not found"}, {}
            return 200, {"room_id": room_id, "servers": ["fake.test"]}, {}
        if method == "POST" and (joining := self._join.fullmatch(path)):
            room = unquote(joining["room"])
            with self._lock:
                self.joins.append(room)
                if room not in self.invited:
                    return 403, {"errcode": "M_FORBIDDEN", "error": "You are not invited to this room."}, {}
                self._rejected.pop(room, None)
            return 200, {"room_id": room}, {}
        send = self._send.fullmatch(path)
        if method != "PUT" or not send:
            return 404, {"errcode": "M_UNRECOGNIZED", "error": "Unrecognized request"}, {}
        room, txn = unquote(send["room"]), unquote(send["txn"])
        if payload.get("msgtype") != "m.text" or not isinstance(payload.get("body"), str):
            return self.bad_request("expected an m.text event with a body")
        with self._lock:
            seen = self._transactions.get(txn)
        if seen is not None:
            return 200, {"event_id": seen}, {}
        hint = self.hint_for(room)
        if hint is not None:
            body = {
                "errcode": "M_LIMIT_EXCEEDED",
                "error": "Too Many Requests",
                "retry_after_ms": int(hint * 1000),
            }
            return 429, body, {}
        if self.rejection_for(room) is not None:
            return 403, {"errcode": "M_FORBIDDEN", "error": "User is not in the room."}, {}
        event_id = f"$event{next(self._event_ids)}"
        with self._lock:
            self._transactions[txn] = event_id
        self.record(room, payload, headers, path)
        return 200, {"event_id": event_id}, {}


def _configure(monkeypatch: pytest.MonkeyPatch, settings: Any, variables: dict[str, str]) -> None:
    settings.RAIDWATCH_ALLOW_PRIVATE_ENDPOINTS = True
    for name, value in variables.items():
        monkeypatch.delenv(f"{name}_FILE", raising=False)  # NAME and NAME_FILE together is an error
        monkeypatch.setenv(name, value)


@pytest.fixture
def fake_telegram(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        _configure(
            monkeypatch,
            settings,
            {"RAIDWATCH_TELEGRAM_API_BASE": fake.base_url, "RAIDWATCH_TELEGRAM_BOT_TOKEN": fake.token},
        )
        yield fake


@pytest.fixture
def fake_signal(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[FakeSignal]:
    with FakeSignal() as fake:
        _configure(
            monkeypatch,
            settings,
            {"RAIDWATCH_SIGNAL_API_BASE": fake.base_url, "RAIDWATCH_SIGNAL_NUMBER": fake.number},
        )
        yield fake


@pytest.fixture
def fake_ntfy(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[FakeNtfy]:
    with FakeNtfy() as fake:
        _configure(
            monkeypatch, settings, {"RAIDWATCH_NTFY_BASE": fake.base_url, "RAIDWATCH_NTFY_TOKEN": fake.token}
        )
        yield fake


@pytest.fixture
def fake_matrix(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[FakeMatrix]:
    with FakeMatrix() as fake:
        _configure(
            monkeypatch,
            settings,
            {"RAIDWATCH_MATRIX_HOMESERVER": fake.base_url, "RAIDWATCH_MATRIX_ACCESS_TOKEN": fake.token},
        )
        yield fake
