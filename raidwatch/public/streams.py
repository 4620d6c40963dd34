"""The live event streams (Server-Sent Events): ``GET /events`` for everyone,
``GET /volunteer/events`` for volunteers.

Each stream subscribes to this process's hub (raidwatch.lib.events) and sends
what the hub pushes; it never reads the event log itself, except for one query
at connect when a reconnecting client missed more than the hub keeps in memory.
Public streams carry public events only; every payload is the coarse public
shape of an incident (SECURITY.md R4), unverified ones included.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator

from asgiref.sync import sync_to_async
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from raidwatch.accounts.models import Volunteer
from raidwatch.accounts.roles import may
from raidwatch.lib.api import error_response
from raidwatch.lib.events import REPLAY_LIMIT, DatabaseEventLog, HubUnavailable, get_hub

# The largest id PostgreSQL's bigint holds has 19 digits; 18 keeps every
# accepted value in range for both databases.
MAX_ID_DIGITS = 18
# Browsers reconnect after this long; spread over a range so that after a
# restart the clients of a process do not all come back in the same instant.
RETRY_MIN_MS = 2_000
RETRY_SPREAD_MS = 5_000
# Under WSGI, where streams cannot stay open, browsers poll this often.
WSGI_RETRY_MS = 2_000
# Above any id either database hands out (a signed 64-bit integer).
MAX_EVENT_ID = 2**63 - 1
# A volunteer stream ends after this long and its browser reconnects (losing
# nothing, thanks to Last-Event-ID), so that signing out or losing a role
# stops the unverified events within minutes rather than never.
VOLUNTEER_STREAM_MAX_S = 300.0


class _BadLastEventId(ValueError):
    pass


def last_event_id(request: HttpRequest) -> int | None:
    """The id the client saw last: the ``Last-Event-ID`` header an EventSource
    sends when it reconnects, or ``?last_event_id=`` for polyfills that cannot
    set headers."""
    raw = request.headers.get("Last-Event-ID")
    if raw is None or not raw.strip():
        raw = request.GET.get("last_event_id")
    if raw is None or not raw.strip():
        return None
    raw = raw.strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > MAX_ID_DIGITS:
        raise _BadLastEventId(raw)
    return int(raw)


async def may_follow_all_events(request: HttpRequest) -> bool:
    """Whether this request may see unverified incidents.

    The one place that decides, so that the two-factor sign-in check
    (raidwatch.accounts.volunteer) can replace it in one line.
    """
    user = await request.auser()
    return isinstance(user, Volunteer) and user.is_authenticated and may(user, "incident.view_unverified")


async def _frames(*, public_only: bool, after: int | None, max_age_s: float | None) -> AsyncIterator[bytes]:
    """The stream's body. It subscribes only once Django starts sending it: a
    client that leaves before then (Django cancels at any await on the way)
    leaves no subscriber behind, since a generator that never started has no
    ``finally`` to run."""
    hub = get_hub()
    retry = f"retry: {RETRY_MIN_MS + secrets.randbelow(RETRY_SPREAD_MS)}\n\n".encode()
    try:
        subscriber, missed = await hub.subscribe(
            public_only=public_only, last_event_id=after, max_age_s=max_age_s
        )
    except HubUnavailable:
        # The headers are out already; ending the stream makes the browser
        # come back after the retry delay.
        yield retry
        return
    try:
        yield b"".join([retry, *missed])
        while (chunk := await hub.next_chunk(subscriber)) is not None:
            yield chunk
    except TypeError as exc:
        # StreamingHttpResponse takes a TypeError from an async iterator for a
        # sign that it is a sync one, and would bury this one under its own.
        raise RuntimeError("the event stream failed") from exc
    finally:
        # Also when the client goes away: Django cancels the response on
        # http.disconnect and closes this generator.
        hub.unsubscribe(subscriber)


def _leave_session_alone(request: HttpRequest) -> None:
    """A stream is not activity. With SESSION_SAVE_EVERY_REQUEST, SessionMiddleware
    would save the session on every connect and reconnect: a database write
    per stream, and an idle volunteer's session pushed on for as long as a tab
    stays open, defeating the idle timeout (R9). Without ``request.session`` it
    leaves the session and its cookie as they are (its documented case of a
    request that has no session)."""
    with contextlib.suppress(AttributeError):
        del request.session


async def _without_streaming(*, public_only: bool, after: int | None) -> HttpResponse:
    """Under WSGI (``runserver``, the tests' live server) a response that stays
    open would hold a thread for ever. So the answer comes at once, with what is
    new since ``after`` (or, for a first visit, only the id to go on from), and
    the browser asks again after the retry delay: polling, slower but correct,
    for development only. uvicorn serves the real streams."""
    log = DatabaseEventLog()
    if after is None:
        newest = await sync_to_async(log.between)(0, MAX_EVENT_ID, public_only=public_only, limit=1)
        # An id line alone moves the browser's Last-Event-ID and fires no event.
        frames = [f"id: {newest[0].id}\n\n".encode()] if newest else []
    else:
        missed = await sync_to_async(log.between)(
            after, MAX_EVENT_ID, public_only=public_only, limit=REPLAY_LIMIT
        )
        frames = [event.frame for event in missed]
    response = HttpResponse(
        b"".join([f"retry: {WSGI_RETRY_MS}\n\n".encode(), *frames]), content_type="text/event-stream"
    )
    response["Cache-Control"] = "no-cache" if public_only else "no-cache, no-store, private"
    return response


async def _stream(
    request: HttpRequest, *, public_only: bool, max_age_s: float | None = None
) -> HttpResponseBase:
    try:
        after = last_event_id(request)
    except _BadLastEventId:
        return error_response(
            400,
            "invalid_last_event_id",
            _("Last-Event-ID must be the id of an event this stream sent."),
            field="last_event_id",
        )
    _leave_session_alone(request)
    if isinstance(request, WSGIRequest):
        return await _without_streaming(public_only=public_only, after=after)
    response = StreamingHttpResponse(
        _frames(public_only=public_only, after=after, max_age_s=max_age_s), content_type="text/event-stream"
    )
    response["Cache-Control"] = "no-cache" if public_only else "no-cache, no-store, private"
    # nginx would otherwise hold frames back in its buffer.
    response["X-Accel-Buffering"] = "no"
    return response


@require_GET
async def public_events(request: HttpRequest) -> HttpResponseBase:
    """Confirmed incidents, all-clears and debunks as they happen."""
    return await _stream(request, public_only=True)


@require_GET
async def volunteer_events(request: HttpRequest) -> HttpResponseBase:
    """Every event, unverified incidents included; signed-in volunteers only."""
    if not await may_follow_all_events(request):
        return error_response(
            403, "forbidden", _("Only volunteers who are signed in may follow this stream.")
        )
    return await _stream(request, public_only=False, max_age_s=VOLUNTEER_STREAM_MAX_S)
