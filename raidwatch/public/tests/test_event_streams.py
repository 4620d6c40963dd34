"""The live event streams: /events and /volunteer/events, and the hub behind them.

The stream tests drive the project's ASGI application (raidwatch.asgi, with
OneSyncThread under SQLite) the way uvicorn does, on one event loop per test:
the hub's reader thread and the request thread read what the test commits, so
those tests need real commits (transaction=True) and depend on the engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import h3
import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connections
from django.db.backends.utils import CursorWrapper
from django.test import Client

from raidwatch.incidents import actions
from raidwatch.incidents.models import Event
from raidwatch.incidents.tests.factories import report
from raidwatch.lib import events as events_module
from raidwatch.lib.events import HEARTBEAT_FRAME, EventHub, LogEvent, sse_frame

# Far enough apart (about 11 km) that reports never join one incident.
WHITECHAPEL = (51.5155, -0.0723)
CROYDON = (51.3762, -0.0982)
ENFIELD = (51.6523, -0.0807)
ARRIVAL_TIMEOUT_S = 3.0

# The test's own database work (making reports, confirming) runs on a thread
# of its own, so that it can be told apart from the streams' and the hub's.
SETUP = ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-setup")


@pytest.fixture(scope="module", autouse=True)
def _close_setup_connection() -> Iterator[None]:
    """The setup thread's database connection outlives each test; closed here,
    or PostgreSQL refuses to drop the test database at the end of the run."""
    yield
    SETUP.submit(connections.close_all).result()


def in_setup[T](function: Callable[..., T]) -> Callable[..., Awaitable[T]]:
    return sync_to_async(function, thread_sensitive=False, executor=SETUP)


# --- Driving the ASGI application


class Stream:
    """One GET to the ASGI application, read as uvicorn would hand it over."""

    def __init__(self, path: str, headers: dict[str, str] | None = None) -> None:
        self.path, _, self.query = path.partition("?")
        self.headers = {"host": "127.0.0.1", "accept": "text/event-stream", **(headers or {})}
        self.status: int | None = None
        self.response_headers: dict[str, str] = {}
        self.body = b""
        self.ended = False
        self._started = asyncio.Event()
        self._more = asyncio.Event()
        self._gone = asyncio.Event()
        self._request_sent = False
        self._task: asyncio.Task[None] | None = None
        self._parsed = 0

    async def open(self) -> Stream:
        from raidwatch.asgi import application

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": self.path,
            "raw_path": self.path.encode(),
            "query_string": self.query.encode(),
            "root_path": "",
            "headers": [(k.lower().encode(), v.encode("latin-1")) for k, v in self.headers.items()],
            "client": ("203.0.113.9", 50000),
            "server": ("127.0.0.1", 8000),
        }
        self._task = asyncio.create_task(application(scope, self._receive, self._send))
        await asyncio.wait_for(self._started.wait(), ARRIVAL_TIMEOUT_S)
        return self

    async def _receive(self) -> dict[str, Any]:
        if not self._request_sent:
            self._request_sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self._gone.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.response_headers = {k.decode().lower(): v.decode() for k, v in message["headers"]}
            self._started.set()
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")
            self.ended = not message.get("more_body", False)
            self._more.set()

    @property
    def is_stream(self) -> bool:
        return self.status == 200 and self.response_headers.get("content-type") == "text/event-stream"

    async def first_chunk(self) -> bytes:
        """The stream's first chunk (sent once it is subscribed to the hub)."""
        await self._wait_for(lambda: bool(self.body) or self.ended)
        return self.body

    def frames(self) -> list[dict[str, Any]]:
        """Every complete event frame so far (comments and retry hints left out)."""
        found = []
        for block in self.body.decode().split("\n\n")[:-1]:
            fields = dict(
                line.split(": ", 1) for line in block.split("\n") if ": " in line and line[0] != ":"
            )
            if "id" in fields:
                found.append({**fields, "id": int(fields["id"]), "payload": json.loads(fields["data"])})
        return found

    async def frame_with_id(self, event_id: int) -> dict[str, Any]:
        await self._wait_for(lambda: any(frame["id"] == event_id for frame in self.frames()))
        return next(frame for frame in self.frames() if frame["id"] == event_id)

    async def _wait_for(self, condition: Callable[[], bool]) -> None:
        deadline = time.monotonic() + ARRIVAL_TIMEOUT_S
        while not condition():
            if self.ended and not condition():
                raise AssertionError(f"the stream ended: {self.body!r}")
            self._more.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"nothing arrived in {ARRIVAL_TIMEOUT_S} s: {self.body!r}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._more.wait(), remaining)

    async def close(self) -> None:
        self._gone.set()
        if self._task is not None:
            await asyncio.wait_for(self._task, ARRIVAL_TIMEOUT_S)


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    """Run a scenario on a fresh event loop, then stop its hub and close the
    connections its threads opened (PostgreSQL will not drop a test database
    that still has connections)."""

    async def wrapped() -> None:
        try:
            await asyncio.wait_for(scenario(), 15)
        finally:
            hub = events_module._hub
            if hub is not None and hub.loop is asyncio.get_running_loop():
                await hub.stop()

    asyncio.run(wrapped())
    SETUP.submit(connections.close_all).result()
    from raidwatch.asgi import application

    executor = getattr(application, "executor", None)
    if executor is not None:
        executor.submit(connections.close_all).result()


@pytest.fixture(autouse=True)
def _fresh_hub(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    monkeypatch.setattr(events_module, "_hub", None)
    # The volunteer fixtures hash a password; a cheap hasher keeps these tests quick.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def use_hub(monkeypatch: pytest.MonkeyPatch, **options: Any) -> EventHub:
    """The hub the streams will use, configured for the test."""
    hub = EventHub(**options)
    monkeypatch.setattr(events_module, "_hub", hub)
    return hub


# --- Making events, in the thread asgiref gives synchronous work


async def unverified_incident(at: tuple[float, float], reporter: str) -> int:
    submitted = await in_setup(report)("raid", lat=at[0], lon=at[1], reporter=reporter)
    return int(submitted.incident.pk)


async def confirmed_incident(at: tuple[float, float], reporter: str, verifier: Any) -> tuple[int, int]:
    """(incident id, id of its confirm event)."""
    incident_id = await unverified_incident(at, reporter)
    await in_setup(actions.confirm)(incident_id, verifier, place="Market square")
    return incident_id, await last_event_id("incident.confirm")


async def last_event_id(event_type: str | None = None) -> int:
    def latest() -> int:
        rows = Event.objects.order_by("-id")
        if event_type is not None:
            rows = rows.filter(type=event_type)
        return int(rows.values_list("id", flat=True)[0])

    return await in_setup(latest)()


def volunteer_cookie(volunteer: Any) -> str:
    """A signed-in volunteer's session cookie. The session also records a
    second factor as allauth's sign-in does (the two session keys its
    get_authentication_records reads), so that the two-factor guard on
    /volunteer/ URLs lets it through too; without that guard they are ignored."""
    client = Client()
    client.force_login(volunteer)
    session = client.session
    now = time.time()
    session["account_authentication_methods_user"] = str(volunteer.pk)
    session["account_authentication_methods"] = [
        {"method": "password", "at": now, "username": volunteer.username},
        {"method": "mfa", "at": now, "type": "totp", "id": 1},
    ]
    session.save()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


# --- The public stream


@pytest.mark.django_db(transaction=True)
@pytest.mark.dbsensitive
def test_public_stream_sends_confirmed_incidents_and_never_unverified_ones(verifier: Any) -> None:
    async def scenario() -> None:
        stream = await Stream("/events").open()
        assert stream.is_stream
        assert stream.response_headers["cache-control"] == "no-cache"
        assert stream.response_headers["x-accel-buffering"] == "no"
        assert (await stream.first_chunk()).startswith(b"retry: ")

        await unverified_incident(CROYDON, "reporter-b")
        opened = await last_event_id("incident.opened")
        started = time.monotonic()
        incident_id, confirmed = await confirmed_incident(WHITECHAPEL, "reporter-a", verifier)
        frame = await stream.frame_with_id(confirmed)
        assert time.monotonic() - started < 2.0

        assert frame["event"] == "incident.confirm"
        assert frame["payload"]["id"] == incident_id
        assert frame["payload"]["status"] == "confirmed"
        row = await in_setup(Event.objects.get)(pk=confirmed)
        assert frame["payload"] == row.payload
        # Nothing unverified, before or after: both opened events are private.
        assert opened < confirmed
        sent = stream.frames()
        assert all(frame["event"] != "incident.opened" for frame in sent)
        assert [frame["id"] for frame in sent] == [confirmed]

        hub = events_module._hub
        assert hub is not None
        assert hub.subscriber_count == 1
        await stream.close()
        assert hub.subscriber_count == 0  # a client that left is unsubscribed

    run(scenario)


@pytest.mark.parametrize("ring_size", [10_000, 1], ids=["from-memory", "from-the-database"])
@pytest.mark.parametrize("how", ["header", "query"])
@pytest.mark.django_db(transaction=True)
@pytest.mark.dbsensitive
def test_last_event_id_replays_what_was_missed(
    ring_size: int, how: str, verifier: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = use_hub(monkeypatch, ring_size=ring_size)

    async def scenario() -> None:
        # A first client follows along while events happen.
        watcher = await Stream("/events").open()
        await watcher.first_chunk()
        _, seen = await confirmed_incident(WHITECHAPEL, "reporter-a", verifier)
        await watcher.frame_with_id(seen)
        await unverified_incident(ENFIELD, "reporter-c")
        _, missed = await confirmed_incident(CROYDON, "reporter-b", verifier)
        live = await watcher.frame_with_id(missed)

        # A client that saw only the first comes back and gets the rest at once.
        if how == "header":
            again = Stream("/events", {"last-event-id": str(seen)})
        else:
            again = Stream(f"/events?last_event_id={seen}")
        await again.open()
        replay = await again.frame_with_id(missed)
        assert [frame["id"] for frame in again.frames()] == [missed]  # not the unverified one
        assert replay == live  # byte for byte the same frame
        assert hub.replays_from_database == (1 if ring_size == 1 else 0)
        await watcher.close()
        await again.close()

    run(scenario)


@pytest.mark.parametrize(
    ("header", "query"),
    [("abc", ""), ("-1", ""), ("1.5", ""), ("9" * 19, ""), ("", "%EF%BC%91%EF%BC%92"), ("", "0x10")],
)
@pytest.mark.django_db
def test_a_malformed_last_event_id_gets_the_contracts_400(header: str, query: str) -> None:
    async def scenario() -> None:
        stream = await Stream(f"/events?last_event_id={query}", {"last-event-id": header}).open()
        await stream.first_chunk()
        assert stream.status == 400
        assert json.loads(stream.body)["error"]["field"] == "last_event_id"
        await stream.close()

    run(scenario)


@pytest.mark.django_db(transaction=True)
@pytest.mark.dbsensitive
def test_streams_leave_reading_the_log_to_the_hub(verifier: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ten streams, one reader: every query of the event table comes from the
    hub's thread. (A replay the ring cannot serve is the exception, tested above.)"""
    readers: list[str] = []
    original = CursorWrapper._execute  # type: ignore[attr-defined]

    def counting(self: CursorWrapper, sql: str, *args: Any, **kwargs: Any) -> Any:
        if sql.lstrip().upper().startswith("SELECT") and "incidents_event" in sql:
            readers.append(threading.current_thread().name)
        return original(self, sql, *args, **kwargs)

    monkeypatch.setattr(CursorWrapper, "_execute", counting)

    async def scenario() -> None:
        streams = [await Stream("/events").open() for _ in range(10)]
        for stream in streams:
            await stream.first_chunk()
        _, confirmed = await confirmed_incident(WHITECHAPEL, "reporter-a", verifier)
        for stream in streams:
            await stream.frame_with_id(confirmed)
        for stream in streams:
            await stream.close()

    run(scenario)
    assert {name.rsplit("_", 1)[0] for name in readers} == {"raidwatch-events", "test-setup"}


@pytest.mark.django_db
def test_without_asgi_the_stream_answers_at_once_and_the_browser_polls(client: Client, verifier: Any) -> None:
    """Under WSGI (runserver, the browser tests' live server) a stream cannot
    stay open without holding a thread for ever: each request answers with
    what is new, and the retry hint brings the browser back."""
    first = report("raid", lat=WHITECHAPEL[0], lon=WHITECHAPEL[1], reporter="reporter-a").incident
    actions.confirm(first.pk, verifier)
    seen = Event.objects.filter(type="incident.confirm").latest("id").pk
    report("raid", lat=CROYDON[0], lon=CROYDON[1], reporter="reporter-b")  # unverified, newest

    response = client.get("/events")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    assert not response.streaming
    # A first visit gets only the place to go on from: the newest public event's id.
    assert response.content.decode() == f"retry: 2000\n\nid: {seen}\n\n"

    other = report("raid", lat=ENFIELD[0], lon=ENFIELD[1], reporter="reporter-c").incident
    actions.confirm(other.pk, verifier)
    missed = Event.objects.filter(type="incident.confirm").latest("id")
    response = client.get("/events", HTTP_LAST_EVENT_ID=str(seen))
    assert response.content == b"retry: 2000\n\n" + sse_frame(missed.pk, missed.type, missed.payload)


# --- The volunteer stream


@pytest.mark.django_db(transaction=True)
def test_the_volunteer_stream_refuses_anyone_not_signed_in_as_a_volunteer(verifier: Any) -> None:
    verifier.role = ""
    verifier.save(update_fields=["role"])
    without_role = volunteer_cookie(verifier)

    async def scenario() -> None:
        for headers in ({}, {"cookie": without_role}):
            stream = await Stream("/volunteer/events", headers).open()
            await stream.first_chunk()
            # 403 from the view; the two-factor guard on /volunteer/ URLs, where
            # present, turns an anonymous visitor to the sign-in page first.
            assert stream.status in {302, 403}, stream.status
            assert not stream.is_stream
            assert b"incident" not in stream.body
            await stream.close()
        assert events_module._hub is None  # nobody got as far as subscribing

    run(scenario)


@pytest.mark.django_db(transaction=True)
@pytest.mark.dbsensitive
def test_a_signed_in_volunteer_gets_unverified_events_too(
    responder: Any, verifier: Any, settings: Any
) -> None:
    # Streams never push a session's idle expiry on, even where every request would.
    settings.SESSION_SAVE_EVERY_REQUEST = True
    cookie = volunteer_cookie(responder)
    session_key = cookie.split("=", 1)[1]
    expiry_before = Session.objects.get(session_key=session_key).expire_date

    async def scenario() -> None:
        volunteer = await Stream("/volunteer/events", {"cookie": cookie}).open()
        public = await Stream("/events", {"cookie": cookie}).open()
        assert volunteer.is_stream, (volunteer.status, volunteer.response_headers)
        assert "no-store" in volunteer.response_headers["cache-control"]
        assert "set-cookie" not in volunteer.response_headers
        await volunteer.first_chunk()
        await public.first_chunk()

        incident_id = await unverified_incident(WHITECHAPEL, "reporter-a")
        opened = await volunteer.frame_with_id(await last_event_id("incident.opened"))
        assert opened["event"] == "incident.opened"
        assert opened["payload"]["id"] == incident_id
        assert opened["payload"]["status"] == "unverified"

        await in_setup(actions.confirm)(incident_id, verifier)
        confirmed = await last_event_id("incident.confirm")
        await volunteer.frame_with_id(confirmed)
        await public.frame_with_id(confirmed)
        assert [frame["event"] for frame in public.frames()] == ["incident.confirm"]
        await volunteer.close()
        await public.close()

    run(scenario)
    assert Session.objects.get(session_key=session_key).expire_date == expiry_before


# --- R4: coarse and deterministic


def _assert_coarse(payload: dict[str, Any]) -> None:
    assert set(payload) == {
        "id",
        "status",
        "kind",
        "cell",
        "centre",
        "place",
        "report_count",
        "opened_at",
        "updated_at",
    }
    resolution = h3.get_resolution(payload["cell"])
    assert resolution <= 8
    assert resolution <= settings.RAIDWATCH_PUBLIC_RESOLUTION
    lat, lon = h3.cell_to_latlng(payload["cell"])
    assert payload["centre"] == {"lat": round(lat, 5) + 0.0, "lon": round(lon, 5) + 0.0}
    for field in ("opened_at", "updated_at"):
        moment = datetime.fromisoformat(payload[field])
        assert moment.utcoffset() is not None
        assert (moment.minute % 10, moment.second, moment.microsecond) == (0, 0, 0)


@pytest.mark.parametrize("resolution", [8, 6])
@pytest.mark.django_db(transaction=True)
@pytest.mark.dbsensitive
def test_stream_payloads_are_coarse_cells_and_ten_minute_times(
    resolution: int, responder: Any, verifier: Any, settings: Any
) -> None:
    settings.RAIDWATCH_PUBLIC_RESOLUTION = resolution
    cookie = volunteer_cookie(responder)

    async def scenario() -> None:
        streams = [
            await Stream("/volunteer/events", {"cookie": cookie}).open(),
            await Stream("/events").open(),
        ]
        for stream in streams:
            await stream.first_chunk()
        # A precise point, off any cell centre, and a confirmation at once.
        incident_id = await unverified_incident((51.51553, -0.07227), "reporter-a")
        await in_setup(actions.confirm)(incident_id, verifier, place="East St market")
        confirmed = await last_event_id("incident.confirm")
        for stream in streams:
            await stream.frame_with_id(confirmed)
        volunteer_frames = streams[0].frames()
        assert {frame["event"] for frame in volunteer_frames} == {"incident.opened", "incident.confirm"}
        for frame in volunteer_frames + streams[1].frames():
            _assert_coarse(frame["payload"])
            assert h3.get_resolution(frame["payload"]["cell"]) == resolution
        # The same event reads the same on every stream.
        assert streams[1].frames()[-1] == volunteer_frames[-1]
        for stream in streams:
            await stream.close()

    run(scenario)


# --- The hub alone, on an in-memory log


def made(event_id: int, *, public: bool = True) -> LogEvent:
    return LogEvent(event_id, public, sse_frame(event_id, "incident.confirm", {"id": event_id}))


class MemoryLog:
    """An event log in a list; ``hidden`` ids exist but are not visible yet
    (a PostgreSQL transaction that took its id and has not committed)."""

    def __init__(self) -> None:
        self.events: list[LogEvent] = []
        self.hidden: set[int] = set()

    def add(self, event_id: int, *, public: bool = True, hidden: bool = False) -> LogEvent:
        event = made(event_id, public=public)
        # Replaced, not changed in place: the hub reads from its own thread.
        self.events = sorted([*self.events, event], key=lambda known: known.id)
        if hidden:
            self.hidden = self.hidden | {event_id}
        return event

    def _visible(self) -> list[LogEvent]:
        return [event for event in self.events if event.id not in self.hidden]

    def latest(self, count: int) -> list[LogEvent]:
        return self._visible()[-count:]

    def after(self, after_id: int, limit: int) -> list[LogEvent]:
        return [event for event in self._visible() if event.id > after_id][:limit]

    def with_ids(self, ids: Any) -> list[LogEvent]:
        return [event for event in self._visible() if event.id in set(ids)]

    def between(self, after_id: int, up_to: int, *, public_only: bool, limit: int) -> list[LogEvent]:
        found = [e for e in self._visible() if after_id < e.id <= up_to and (e.public or not public_only)]
        return found[-limit:]


async def _until(condition: Callable[[], bool], timeout: float = ARRIVAL_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


def test_a_slow_consumer_is_dropped_and_holds_up_nobody() -> None:
    hub = EventHub(MemoryLog(), queue_limit=3, heartbeat_s=3600)

    async def scenario() -> None:
        slow, _ = await hub.subscribe(public_only=True)
        fast, _ = await hub.subscribe(public_only=True)
        received: list[bytes] = []

        async def read_fast() -> None:
            while (chunk := await hub.next_chunk(fast)) is not None:
                received.append(chunk)

        reader = asyncio.create_task(read_fast())
        # Published by hand, not added to the log, so the hub's own reading adds nothing.
        events = [made(number) for number in range(1, 11)]
        for event in events:
            hub.publish([event])  # synchronous: it cannot wait for anyone
            await asyncio.sleep(0)  # the fast reader keeps up; the slow one never reads
        await _until(lambda: b"".join(received).count(b"id: ") == 10)
        assert b"".join(received) == b"".join(event.frame for event in events)
        # Ten events behind with room for three: ended at the next heartbeat…
        hub._tick(time.monotonic() + 3600)
        assert slow.closed
        assert hub.dropped == 1
        assert hub.subscriber_count == 1
        assert await hub.next_chunk(slow) is None
        # …and a stream that asks first is ended when it asks.
        lagging, _ = await hub.subscribe(public_only=True)
        for number in range(11, 16):
            hub.publish([made(number)])
        assert await hub.next_chunk(lagging) is None
        assert hub.dropped == 2
        await hub.stop()
        await reader

    asyncio.run(scenario())


def test_the_hub_follows_the_log_keeps_streams_alive_and_waits_for_late_ids() -> None:
    log = MemoryLog()
    log.add(1)
    hub = EventHub(log, poll_interval_s=0.01, heartbeat_s=0.05, gap_grace_s=0.3)

    async def scenario() -> None:
        everything, _ = await hub.subscribe(public_only=False, max_age_s=0.2)
        public, _ = await hub.subscribe(public_only=True)
        private = log.add(2, public=False)
        late = log.add(3, hidden=True)  # took its id first, commits last
        after = log.add(4)
        chunks: list[bytes] = []

        async def read(subscriber: Any) -> None:
            while (chunk := await hub.next_chunk(subscriber)) is not None:
                chunks.append(chunk)

        reader = asyncio.create_task(read(public))
        await _until(lambda: after.frame in b"".join(chunks))
        log.hidden = set()
        hub.wake()
        await _until(lambda: late.frame in b"".join(chunks))
        text = b"".join(chunks)
        assert private.frame not in text
        assert text.index(after.frame) < text.index(late.frame)
        await _until(lambda: HEARTBEAT_FRAME in b"".join(chunks))
        # A volunteer stream ends when its time is up (its browser then reconnects).
        await _until(lambda: everything.closed)
        # An id that never commits is given up on.
        log.add(6)
        await _until(lambda: 5 in hub._gaps)
        await _until(lambda: 5 not in hub._gaps, timeout=2)
        await hub.stop()
        await reader

    asyncio.run(scenario())


def test_replay_comes_from_memory_when_it_can_and_the_log_otherwise() -> None:
    log = MemoryLog()
    for number in range(1, 21):
        log.add(number, public=number % 2 == 0)
    hub = EventHub(log, ring_size=8, poll_interval_s=0.01)

    async def scenario() -> None:
        _, recent = await hub.subscribe(public_only=True, last_event_id=16)
        assert recent == [log.events[17].frame, log.events[19].frame]
        assert hub.replays_from_database == 0
        _, older = await hub.subscribe(public_only=True, last_event_id=4)
        assert older == [event.frame for event in log.events[4:] if event.public]
        assert hub.replays_from_database == 1
        _, everything = await hub.subscribe(public_only=False, last_event_id=17)
        assert everything == [event.frame for event in log.events[17:]]
        assert hub.events_since(2, public_only=True) is None  # before the ring
        await hub.stop()

    asyncio.run(scenario())
