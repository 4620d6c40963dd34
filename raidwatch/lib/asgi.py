"""ASGI wrappers around Django's application: what must happen before Django runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import ThreadSensitiveContext

from raidwatch.lib.middleware import BODY_TOO_LARGE, body_limit_for, declared_length

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
# Loose on purpose: Django's handler types its arguments more narrowly than ASGI does.
ASGIApp = Callable[..., Awaitable[None]]


class ASGIBodyLimit:
    """The body limit at the ASGI layer, before Django's ASGI handler reads the body.

    Django's handler reads the whole body before any middleware runs, spooling
    it to a temporary file past 2.5 MB (R7), and a chunked body has no
    Content-Length for BodySizeLimitMiddleware to check. This wrapper passes on
    at most one byte more than the limit, then ends the body and marks the
    scope, so that the middleware answers with the contract's 413 and the
    usual headers. A body whose Content-Length already says too much, or is
    not a number, is not read at all.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit_for(scope.get("path", ""))
        declared = declared_length(dict(scope.get("headers") or ()).get(b"content-length"))
        skip = declared is None or declared > limit
        ended = False
        received = 0

        async def limited_receive() -> Message:
            nonlocal ended, received
            if ended:
                # Whatever an over-long body still sends is dropped unread.
                while True:
                    message = await receive()
                    if message["type"] != "http.request":
                        return message
            if skip:
                ended = True
                return {"type": "http.request", "body": b"", "more_body": False}
            message = await receive()
            if message["type"] != "http.request":
                return message
            body = message.get("body", b"")
            received += len(body)
            if received > limit:
                scope[BODY_TOO_LARGE] = True
                ended = True
                keep = len(body) - (received - limit - 1)
                return {"type": "http.request", "body": body[:keep], "more_body": False}
            if not message.get("more_body", False):
                ended = True
            return message

        await self.app(scope, limited_receive, send)


class OneSyncThread:
    """Run every request's synchronous work (views, ORM, sync middleware) on one thread.

    Django's ASGI handler otherwise gives each request a thread of its own, each
    with its own database connection, and with SQLite they all queue on the one
    write lock; its busy handler is unfair and sleeps in steps of up to 100 ms,
    so latency piles up to seconds and can end in "database is locked". An outer
    ThreadSensitiveContext with a one-thread executor takes precedence over the
    one Django opens per request.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="raidwatch-sync")

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        async with ThreadSensitiveContext(executor=self.executor):
            await self.app(scope, receive, send)
