"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives.

Fixture (load with ``pytest_plugins = ["raidwatch.testing.fake_smtp"]``):

- ``fake_smtp``: a running ``FakeSmtpServer`` with the email transport's
  environment pointed at it (RAIDWATCH_EMAIL_HOST/PORT; no login, no STARTTLS).
- ``fake_smtp_with_login``: the same, but the server refuses mail until the
  client logs in as ``server.user`` / ``server.password``, and the environment
  carries those credentials (RAIDWATCH_EMAIL_USER/PASSWORD).

Outside pytest fixtures: ``running_fake_smtp(user=..., password=...)`` and
``point_email_env_at(monkeypatch, server)``.

The transport talks real SMTP to it, so the tests see the bytes a relay would:
the envelope (MAIL FROM, every RCPT TO) and the parsed message.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

HOST = "127.0.0.1"
RELAY_USER = "relay-user"
RELAY_PASSWORD = "relay-password"  # noqa: S105 - a test credential for a loopback fake
# The environment the email transport reads; the fixture sets or clears each one.
EMAIL_ENV = (
    "RAIDWATCH_EMAIL_HOST",
    "RAIDWATCH_EMAIL_PORT",
    "RAIDWATCH_EMAIL_USER",
    "RAIDWATCH_EMAIL_PASSWORD",
    "RAIDWATCH_EMAIL_STARTTLS",
    "RAIDWATCH_EMAIL_FROM",
    "RAIDWATCH_EMAIL_TIMEOUT",
)


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    raw: bytes
    authenticated_as: str | None


class _Handler:
    """aiosmtpd hooks: they run on the server's event-loop thread, hence the lock."""

    def __init__(self, server: FakeSmtpServer) -> None:
        self.server = server

    async def handle_MAIL(
        self, smtp: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        if self.server.user is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, smtp: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        with self.server.lock:
            refusal = self.server.refusals.get(address.lower())
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:
        with self.server.lock:
            if self.server.data_replies:
                return self.server.data_replies.popleft()
        raw = envelope.original_content or b""
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        login = session.auth_data.login if isinstance(session.auth_data, LoginPassword) else None
        mail = ReceivedMail(
            mail_from=envelope.mail_from or "",
            rcpt_tos=tuple(envelope.rcpt_tos),
            message=parsed,
            raw=raw,
            authenticated_as=login.decode() if login is not None else None,
        )
        with self.server.lock:
            self.server.received.append(mail)
        return "250 Message accepted"


class FakeSmtpServer:
    """An SMTP server on 127.0.0.1 and a free port; ``received`` fills as mail arrives."""

    def __init__(self, *, user: str | None = None, password: str | None = None) -> None:
        self.user = user
        self.password = password
        self.lock = threading.Lock()
        self.received: list[ReceivedMail] = []
        self.refusals: dict[str, str] = {}
        self.data_replies: deque[str] = deque()
        self.host = HOST
        self.port = _free_port()
        self._running = False
        self._controller = Controller(
            _Handler(self),
            hostname=self.host,
            port=self.port,
            authenticator=self._authenticate if user is not None else None,
            # Loopback only, and the test is the point: no TLS to set up.
            auth_require_tls=False,
        )

    def start(self) -> None:
        self._controller.start()
        self._running = True

    def stop(self) -> None:
        """Stop listening (a test may stop it early to see a relay that is down)."""
        if self._running:
            self._running = False
            self._controller.stop()

    def refuse(self, address: str, reply: str = "550 5.1.1 No such mailbox") -> None:
        """Answer RCPT TO for ``address`` with ``reply`` (a full SMTP reply line)."""
        with self.lock:
            self.refusals[address.lower()] = reply

    def fail_next_data(self, reply: str = "451 4.3.0 Try again later", count: int = 1) -> None:
        """Answer the next ``count`` DATA commands with ``reply`` instead of accepting."""
        with self.lock:
            self.data_replies.extend([reply] * count)

    def _authenticate(
        self, smtp: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if (
            isinstance(auth_data, LoginPassword)
            and self.user is not None
            and self.password is not None
            and auth_data.login == self.user.encode()
            and auth_data.password == self.password.encode()
        ):
            return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)


def _free_port() -> int:
    # aiosmtpd connects to its own port to start up, so it needs the number
    # before it listens; the tiny window before it binds is acceptable in tests.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def running_fake_smtp(*, user: str | None = None, password: str | None = None) -> Iterator[FakeSmtpServer]:
    server = FakeSmtpServer(user=user, password=password)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def point_email_env_at(
    monkeypatch: pytest.MonkeyPatch,
    server: FakeSmtpServer,
    *,
    user: str | None = None,
    password: str | None = None,
    sender: str = "Raidwatch <alerts@raidwatch.test>",
) -> None:
    """Point the email transport at ``server``, clearing anything the shell had set."""
    for name in EMAIL_ENV:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)
    monkeypatch.setenv("RAIDWATCH_EMAIL_HOST", server.host)
    monkeypatch.setenv("RAIDWATCH_EMAIL_PORT", str(server.port))
    monkeypatch.setenv("RAIDWATCH_EMAIL_FROM", sender)
    monkeypatch.setenv("RAIDWATCH_EMAIL_TIMEOUT", "5")
    if user is not None:
        monkeypatch.setenv("RAIDWATCH_EMAIL_USER", user)
    if password is not None:
        monkeypatch.setenv("RAIDWATCH_EMAIL_PASSWORD", password)


@pytest.fixture
def fake_smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSmtpServer]:
    """A running fake SMTP server, with RAIDWATCH_EMAIL_* pointing at it."""
    with running_fake_smtp() as server:
        point_email_env_at(monkeypatch, server)
        yield server


@pytest.fixture
def fake_smtp_with_login(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSmtpServer]:
    """A running fake SMTP server that requires a login, with the environment logging in."""
    with running_fake_smtp(user=RELAY_USER, password=RELAY_PASSWORD) as server:
        point_email_env_at(monkeypatch, server, user=RELAY_USER, password=RELAY_PASSWORD)
        yield server
