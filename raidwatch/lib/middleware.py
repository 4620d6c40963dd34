"""Request guards that must run before anything reads the body."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from raidwatch.lib.api import error_response

# Set in the ASGI scope when ASGIBodyLimit cut a body short.
BODY_TOO_LARGE = "raidwatch.body_too_large"

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[..., Awaitable[None]]


def _declared_length(value: str | bytes | None) -> int | None:
    """The Content-Length as a number (0 when absent), or None when it is not a number."""
    text = value.decode("latin-1") if isinstance(value, bytes) else (value or "0")
    text = text.strip() or "0"
    if not text.isascii() or not text.isdigit():
        return None
    return int(text)


class BodySizeLimitMiddleware:
    """Refuse a body over 64 KB with the contract's 413 before it is read.

    Django would raise RequestDataTooBig only once a view touches the body, which
    surfaces as a 400 page; the contract promises a 413 with a JSON error.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        length = _declared_length(request.META.get("CONTENT_LENGTH"))
        if length is None:
            return error_response(400, "malformed", _("The Content-Length header is not a number."))
        cut_short = bool(getattr(request, "scope", {}).get(BODY_TOO_LARGE))
        if cut_short or length > settings.RAIDWATCH_MAX_BODY_BYTES:
            return error_response(
                413,
                "body_too_large",
                _("The body is larger than %(kb)d KB.") % {"kb": settings.RAIDWATCH_MAX_BODY_BYTES // 1024},
            )
        return self.get_response(request)


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
        limit = settings.RAIDWATCH_MAX_BODY_BYTES
        declared = _declared_length(dict(scope.get("headers") or ()).get(b"content-length"))
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
