"""The live event hub: one reader per web process follows the durable event log
and fans each event out in memory to that process's open streams
(ARCHITECTURE.md, "Live events").

A stream never reads the log itself. It subscribes here, gets what it missed
(from a ring of recent events kept in memory, or, when the ring does not reach
back far enough, from one database query at connect) and then whatever the
hub pushes to it. The hub polls the event table; a change made by any process
(the CLI, a worker, another web process) therefore reaches every stream within
one poll interval.

Fan-out. The hub keeps no queue per stream (an asyncio.Queue each would cost
G6's memory budget and a Python call per stream per event). It appends each
event once to the ring, with its SSE frame encoded once, and wakes every
waiting stream by resolving one future each; each stream then takes from the
ring what it has not sent. So publishing costs almost nothing per stream and
never waits for one: a stream whose client stopped reading simply falls
behind, and once it is more than ``QUEUE_LIMIT`` events behind (or behind the
ring) it is ended, and its client replays the rest from Last-Event-ID.

Threads, and why the poll does not use the request thread. Under SQLite,
``raidwatch.lib.asgi.OneSyncThread`` runs every request's synchronous work on
one thread, because SQLite has one writer and threads would only queue on its
lock. The hub does not join that queue:

* the poll only reads, and in WAL mode a reader neither takes nor waits for
  the write lock, so it can run beside the request thread; queued behind a
  burst of report inserts it would hold back every stream at once (G1);
* the hub is one task for the life of the process. A task created inside a
  request inherits that request's ThreadSensitiveContext, and asgiref refuses
  thread-sensitive calls from a task that outlives its context. So the task
  starts in an empty context, and its queries run through
  ``sync_to_async(thread_sensitive=False)`` on an executor of its own with a
  single thread: one persistent connection (CONN_MAX_AGE=None keeps it), not
  one per thread of the loop's default pool, each running the connection
  PRAGMAs again.

The one-off replay at connect, on the other hand, is request work: it runs
thread-sensitive, so under OneSyncThread it takes its turn on the request
thread like any view's query, and a crowd of clients reconnecting with old ids
after a restart cannot delay the poll.

Waking up sooner. ``EventHub.wake()`` cuts the idle wait short, and
``wake_hub_threadsafe()`` does the same from any thread (for example from
``transaction.on_commit`` where an event is appended in this process). A Redis
pub/sub or PostgreSQL LISTEN/NOTIFY listener for changes made in other
processes would call ``wake()`` and nothing else; none is built yet (no Redis
client is installed here), so other processes' changes arrive on the next poll.

Ordering. On SQLite one writer commits at a time, so ids become visible in
order and "everything after the last id seen" misses nothing. On PostgreSQL a
transaction that took a lower id can commit after a higher one has been seen;
the hub remembers such gaps for a while and asks for those ids again, so a
late event still goes out to every open stream. (A client that was away just
then and comes back with a higher Last-Event-ID does not get it; one that
comes back with a lower one may get a few events twice.)
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import contextvars
import itertools
import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from asgiref.sync import sync_to_async
from django.db import close_old_connections, connections

logger = logging.getLogger(__name__)

# G1 allows 250 ms from a verification to the first frame, and the poll
# interval is the largest term of it (a change waits up to one interval); an
# idle poll is one indexed query, so ten a second cost little.
POLL_INTERVAL_S = 0.1
# Events read per query; a full batch is followed at once by the next.
BATCH_SIZE = 500
# Recent events kept in memory, so reconnecting clients replay without a query.
RING_SIZE = 10_000
# Events a stream may fall behind. A whole batch arrives before any stream
# runs, so this must exceed BATCH_SIZE; a stream further behind has a client
# that stopped reading, and is ended (it replays on reconnecting).
QUEUE_LIMIT = 1_000
# Proxies (nginx: 60 s by default) close connections that stay silent.
HEARTBEAT_S = 15.0
# How long an id missing below the highest one seen may still turn up (an
# open PostgreSQL transaction); after this it is taken to be rolled back.
GAP_GRACE_S = 10.0
MAX_GAPS = 1_000
# At most this many events are replayed to one reconnecting client.
REPLAY_LIMIT = 1_000
# How long a subscriber waits for the hub's first read of the log.
START_TIMEOUT_S = 10.0
ERROR_BACKOFF_S = 1.0

# A comment line: EventSource ignores it, proxies see traffic.
HEARTBEAT_FRAME = b": keep-alive\n\n"


@dataclass(frozen=True, slots=True)
class LogEvent:
    """One event as streams send it: the frame is encoded once, for every stream."""

    id: int
    public: bool
    frame: bytes


def sse_frame(event_id: int, event_type: str, payload: Any) -> bytes:
    """An SSE frame. JSON keeps line breaks inside strings escaped, so ``data`` is
    one line; sorted keys make a replayed frame identical to the live one (R4)."""
    data = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    name = "".join(event_type.split())  # a line break would end the field early
    return f"id: {event_id}\nevent: {name}\ndata: {data}\n\n".encode()


class EventLog(Protocol):
    """Where the hub reads events from. Synchronous: called in a worker thread."""

    def latest(self, count: int) -> list[LogEvent]:
        """The newest ``count`` events, oldest first."""
        ...

    def after(self, after_id: int, limit: int) -> list[LogEvent]:
        """Up to ``limit`` events with ids above ``after_id``, oldest first."""
        ...

    def with_ids(self, ids: Sequence[int]) -> list[LogEvent]:
        """Those of ``ids`` that exist now, oldest first."""
        ...

    def between(self, after_id: int, up_to: int, *, public_only: bool, limit: int) -> list[LogEvent]:
        """The newest ``limit`` events with ``after_id < id <= up_to``, oldest first."""
        ...


class DatabaseEventLog:
    """The event table (raidwatch.incidents.models.Event)."""

    @staticmethod
    def _events(rows: Iterable[tuple[int, str, bool, Any]]) -> list[LogEvent]:
        return [LogEvent(pk, public, sse_frame(pk, kind, payload)) for pk, kind, public, payload in rows]

    @staticmethod
    def _table() -> Any:
        # Imported here: lib/ holds no models and is imported before apps are ready.
        from raidwatch.incidents.models import Event

        return Event.objects.values_list("id", "type", "public", "payload")

    def latest(self, count: int) -> list[LogEvent]:
        return self._events(reversed(self._table().order_by("-id")[:count]))

    def after(self, after_id: int, limit: int) -> list[LogEvent]:
        return self._events(self._table().filter(id__gt=after_id).order_by("id")[:limit])

    def with_ids(self, ids: Sequence[int]) -> list[LogEvent]:
        return self._events(self._table().filter(id__in=list(ids)).order_by("id"))

    def between(self, after_id: int, up_to: int, *, public_only: bool, limit: int) -> list[LogEvent]:
        rows = self._table().filter(id__gt=after_id, id__lte=up_to)
        if public_only:
            rows = rows.filter(public=True)
        return self._events(reversed(rows.order_by("-id")[:limit]))


# eq=False: subscribers are told apart by identity (and so can live in a set).
@dataclass(slots=True, eq=False)
class Subscriber:
    """One stream's place in the hub's ring.

    There is no queue per stream: the hub appends each event once to its ring
    and wakes every waiting stream, and each stream takes what it has not sent
    yet. Publishing therefore costs the same with 20,000 streams as with one
    (G1), and an idle stream holds a few pointers rather than a buffer (G6).
    """

    public_only: bool
    # Sequence number (arrival order in the ring) of the next event to send.
    cursor: int
    # The hub's heartbeat count when this stream last sent one.
    beats: int
    expires_at: float | None = None
    closed: bool = False


@dataclass(frozen=True, slots=True)
class _Batch:
    """The frames of the last publish, joined once for every stream that is up to date."""

    start: int
    end: int
    everything: bytes
    public: bytes


class HubUnavailable(Exception):
    """The hub could not read the event log in time."""


class EventHub:
    """This process's reader of the event log and fan-out to its streams."""

    def __init__(
        self,
        log: EventLog | None = None,
        *,
        poll_interval_s: float = POLL_INTERVAL_S,
        batch_size: int = BATCH_SIZE,
        ring_size: int = RING_SIZE,
        queue_limit: int = QUEUE_LIMIT,
        heartbeat_s: float = HEARTBEAT_S,
        gap_grace_s: float = GAP_GRACE_S,
        replay_limit: int = REPLAY_LIMIT,
    ) -> None:
        self._log: EventLog = log if log is not None else DatabaseEventLog()
        self.poll_interval_s = poll_interval_s
        self.batch_size = batch_size
        self.ring_size = ring_size
        self.queue_limit = queue_limit
        self.heartbeat_s = heartbeat_s
        self.gap_grace_s = gap_grace_s
        self.replay_limit = replay_limit
        self._subscribers: set[Subscriber] = set()
        # Recent events in the order they were read (ids ascend, except an
        # event that committed late). ``_maxima[i]`` is the highest id in
        # ``_ring[: i + 1]``, which ascends even where ids do not, so a replay
        # can bisect it. ``_seq_base`` is the sequence number of ``_ring[0]``.
        self._ring: list[LogEvent] = []
        self._maxima: list[int] = []
        self._seq_base = 0
        # Every event with an id above this that the hub has read is in the
        # ring, so a replay from an id at or above it needs no query.
        self._floor = 0
        self._batch: _Batch | None = None
        self.last_seen = 0
        # Ids below ``last_seen`` not seen yet, with the time to give up on each.
        self._gaps: dict[int, float] = {}
        # Streams waiting for something to send: woken all at once.
        self._waiters: list[asyncio.Future[None]] = []
        self._beats = 0
        self._next_heartbeat = 0.0
        self._ready = asyncio.Event()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="raidwatch-events")
        # Counters for tests, benches and curious operators.
        self.polls = 0
        self.dropped = 0
        self.replays_from_database = 0

    # Streams

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    @property
    def _end(self) -> int:
        return self._seq_base + len(self._ring)

    async def subscribe(
        self, *, public_only: bool, last_event_id: int | None = None, max_age_s: float | None = None
    ) -> tuple[Subscriber, list[bytes]]:
        """A new stream's subscriber and the frames it missed since ``last_event_id``.

        Nothing is lost or sent twice between the two: the subscriber's place
        is taken and the ring read in one step of the event loop, so every
        event after that reaches the subscriber and none before it does.
        """
        self.start()
        try:
            await asyncio.wait_for(self._ready.wait(), START_TIMEOUT_S)
        except TimeoutError:
            raise HubUnavailable from None
        expires_at = None if max_age_s is None else time.monotonic() + max_age_s
        subscriber = Subscriber(public_only, self._end, self._beats, expires_at)
        self._subscribers.add(subscriber)
        if last_event_id is None:
            return subscriber, []
        recent = self._ring_after(last_event_id, public_only=public_only)
        floor = self._floor
        if last_event_id >= floor:
            return subscriber, recent[-self.replay_limit :]
        try:
            older = await self.events_between(last_event_id, floor, public_only=public_only)
        except BaseException:
            self.unsubscribe(subscriber)
            raise
        return subscriber, (older + recent)[-self.replay_limit :]

    def unsubscribe(self, subscriber: Subscriber) -> None:
        subscriber.closed = True
        self._subscribers.discard(subscriber)

    async def next_chunk(self, subscriber: Subscriber) -> bytes | None:
        """What the stream has not sent yet, as one chunk (one write for a
        burst), waiting until there is some; None once the stream should end."""
        while not subscriber.closed:
            chunk = self._take(subscriber)
            if chunk is None or chunk:
                return chunk
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            await waiter
        return None

    def _take(self, subscriber: Subscriber) -> bytes | None:
        """What the stream has not sent yet (perhaps nothing), or None when it
        fell too far behind and is dropped."""
        parts = []
        if subscriber.beats != self._beats:
            subscriber.beats = self._beats
            parts.append(HEARTBEAT_FRAME)
        end = self._end
        if subscriber.cursor < end:
            batch = self._batch
            if batch is not None and subscriber.cursor == batch.start and batch.end == end:
                parts.append(batch.public if subscriber.public_only else batch.everything)
            else:
                start = subscriber.cursor - self._seq_base
                if start < 0 or end - subscriber.cursor > self.queue_limit:
                    self._drop(subscriber)
                    return None
                parts.extend(
                    event.frame for event in self._ring[start:] if event.public or not subscriber.public_only
                )
            subscriber.cursor = end
        return b"".join(parts)

    def _drop(self, subscriber: Subscriber) -> None:
        """End a stream that fell too far behind: its client stopped reading.
        On reconnecting it replays what it missed from its Last-Event-ID."""
        self.unsubscribe(subscriber)
        self.dropped += 1

    def events_since(self, after_id: int, *, public_only: bool) -> list[bytes] | None:
        """Frames after ``after_id`` from memory, or None when the ring does not
        reach back that far (the caller then asks ``events_between``)."""
        if after_id < self._floor:
            return None
        return self._ring_after(after_id, public_only=public_only)[-self.replay_limit :]

    async def events_between(self, after_id: int, up_to: int, *, public_only: bool) -> list[bytes]:
        """Frames in ``(after_id, up_to]`` from the database: the one query a
        stream may cause, once, at connect. Thread-sensitive on purpose (see
        the module docstring)."""
        self.replays_from_database += 1
        rows = await sync_to_async(self._log.between)(
            after_id, up_to, public_only=public_only, limit=self.replay_limit
        )
        return [event.frame for event in rows]

    def _ring_after(self, after_id: int, *, public_only: bool) -> list[bytes]:
        start = bisect.bisect_right(self._maxima, after_id)
        return [
            event.frame
            for event in self._ring[start:]
            if event.id > after_id and (event.public or not public_only)
        ]

    # Fan-out

    def publish(self, events: Sequence[LogEvent]) -> None:
        """Add events to the ring and wake every waiting stream.

        Never waits, and costs the same however many streams there are: each
        stream takes its share when it runs. A stream too far behind (its
        client stopped reading) is ended when it next asks, or at the next
        heartbeat, so it cannot hold up the others or the hub.
        """
        if not events:
            return
        start = self._end
        for event in events:
            self.last_seen = max(self.last_seen, event.id)
            self._ring.append(event)
            self._maxima.append(max(event.id, self._maxima[-1] if self._maxima else 0))
        self._batch = _Batch(
            start,
            self._end,
            b"".join(event.frame for event in events),
            b"".join(event.frame for event in events if event.public),
        )
        self._trim()
        self._wake_streams()

    def _trim(self) -> None:
        # In steps of a quarter, so the lists are not shifted on every event.
        if len(self._ring) <= self.ring_size + self.ring_size // 4:
            return
        cut = len(self._ring) - self.ring_size
        self._floor = max(self._floor, self._maxima[cut - 1])
        del self._ring[:cut]
        del self._maxima[:cut]
        self._seq_base += cut

    def _wake_streams(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():  # a stream whose client left was cancelled
                waiter.set_result(None)

    def _tick(self, now: float) -> None:
        """Heartbeats for every stream, and the end of streams whose time is
        up or whose client stopped reading."""
        if now < self._next_heartbeat:
            return
        self._next_heartbeat = now + self.heartbeat_s
        self._beats += 1
        end = self._end
        for subscriber in list(self._subscribers):
            if subscriber.expires_at is not None and subscriber.expires_at <= now:
                self.unsubscribe(subscriber)
            elif end - subscriber.cursor > self.queue_limit or subscriber.cursor < self._seq_base:
                self._drop(subscriber)
        self._wake_streams()

    # Reading the log

    def start(self) -> None:
        """Start the reader on the running loop, unless it runs already."""
        if self._task is not None and not self._task.done():
            return
        self.loop = asyncio.get_running_loop()
        # An empty context: not the request's that happens to start the hub
        # (see the module docstring).
        self._task = self.loop.create_task(
            self._run(), name="raidwatch-event-hub", context=contextvars.Context()
        )

    def wake(self) -> None:
        """Read the log now rather than at the next interval (event loop thread only)."""
        self._wakeup.set()

    async def stop(self) -> None:
        """Stop reading, end every stream and close the reader's connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for subscriber in list(self._subscribers):
            self.unsubscribe(subscriber)
        self._wake_streams()
        self.retire(wait=False)

    def retire(self, *, wait: bool) -> None:
        """Close the reader thread's connection, then let the thread end. The
        close runs on that thread because a connection belongs to its thread."""
        with contextlib.suppress(RuntimeError):  # already shut down
            self._executor.submit(connections.close_all)
        self._executor.shutdown(wait=wait)

    async def _in_reader_thread[T](self, function: Callable[..., T], *args: Any) -> T:
        return await sync_to_async(function, thread_sensitive=False, executor=self._executor)(*args)

    async def _run(self) -> None:
        while not self._ready.is_set():
            try:
                self._fill_ring(await self._in_reader_thread(self._read_latest))
            except Exception:
                logger.exception("The event hub could not read the event log; trying again.")
                await self._idle(ERROR_BACKOFF_S)
        while True:
            try:
                fresh, late = await self._in_reader_thread(self._read, self.last_seen, sorted(self._gaps))
                self.polls += 1
                self._absorb(fresh, late, time.monotonic())
                self._tick(time.monotonic())
            except Exception:
                logger.exception("The event hub could not read the event log; trying again.")
                await self._idle(ERROR_BACKOFF_S)
                continue
            if len(fresh) >= self.batch_size:
                await asyncio.sleep(0)  # let the streams write, then read on at once
            else:
                await self._idle(self.poll_interval_s)

    async def _idle(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wakeup.wait()
        self._wakeup.clear()

    def _read_latest(self) -> list[LogEvent]:
        """The first read (reader thread): the newest events, to fill the ring."""
        close_old_connections()
        return self._log.latest(self.ring_size)

    def _fill_ring(self, events: list[LogEvent]) -> None:
        """Streams get only what comes after the newest event now in the log;
        the ring lets them replay the ones before without a query."""
        self._ring = list(events)
        self._maxima = list(itertools.accumulate((event.id for event in events), max))
        self._seq_base = 0
        self._floor = events[0].id - 1 if len(events) >= self.ring_size else 0
        self.last_seen = events[-1].id if events else 0
        self._next_heartbeat = time.monotonic() + self.heartbeat_s
        self._ready.set()

    def _read(self, after_id: int, gaps: list[int]) -> tuple[list[LogEvent], list[LogEvent]]:
        """One poll (reader thread): events after ``after_id``, and any of the gaps
        that have turned up. Uses only its arguments, not the hub's state."""
        # Honours CONN_MAX_AGE and replaces a connection that broke, as a
        # request would at its start.
        close_old_connections()
        fresh = self._log.after(after_id, self.batch_size)
        late = self._log.with_ids(gaps) if gaps else []
        return fresh, late

    def _absorb(self, fresh: list[LogEvent], late: list[LogEvent], now: float) -> None:
        for event in late:
            self._gaps.pop(event.id, None)
        self._gaps = {pk: until for pk, until in self._gaps.items() if until > now}
        expected = self.last_seen + 1
        for event in fresh:
            # Ids skipped over may still commit (PostgreSQL); a huge jump is
            # not a thousand open transactions, so only the nearest are kept.
            for missing in range(max(expected, event.id - MAX_GAPS), event.id):
                if len(self._gaps) < MAX_GAPS:
                    self._gaps[missing] = now + self.gap_grace_s
            expected = event.id + 1
        self.publish([*late, *fresh])


_hub: EventHub | None = None


def get_hub() -> EventHub:
    """This process's hub, bound to the running event loop.

    uvicorn runs one loop for the life of the process, so in production this is
    one hub. A different loop (each test's ``asyncio.run``) gets a new hub: the
    old one's task and futures belong to a loop that is gone.
    """
    global _hub
    loop = asyncio.get_running_loop()
    if _hub is None or (_hub.loop is not None and _hub.loop is not loop):
        if _hub is not None:
            _hub.retire(wait=False)
        _hub = EventHub()
    return _hub


def retire_hub() -> None:
    """Close this process's hub's database connection and stop its reader thread
    (at process or test-session end: PostgreSQL counts an idle connection as a
    user of the database until it is closed)."""
    global _hub
    if _hub is not None:
        _hub.retire(wait=True)
        _hub = None


def wake_hub_threadsafe() -> None:
    """Ask this process's hub to read the log now; callable from any thread,
    for example ``transaction.on_commit(wake_hub_threadsafe)`` after appending
    an event, and harmless when no stream has started a hub."""
    hub = _hub
    if hub is not None and hub.loop is not None and not hub.loop.is_closed():
        hub.loop.call_soon_threadsafe(hub.wake)
