"""Request guards that must run before anything reads the body."""

from __future__ import annotations

import re
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _
from whitenoise.middleware import WhiteNoiseMiddleware

from raidwatch.lib.api import error_response

# Set in the ASGI scope when ASGIBodyLimit cut a body short.
BODY_TOO_LARGE = "raidwatch.body_too_large"
# The photo uploads (R7), the only routes that take more than 64 KB: the API's,
# and the web form's, which answers an oversized photo with its own page.
_PHOTO_API = re.compile(r"/api/v1/reports/[0-9]+/media")
_PHOTO_FORM = re.compile(r"/[a-z]{2,3}(?:-[a-z]+)?/report/photo")
# Set in request.META for the web form when its body is over the limit; the
# view then answers without reading the body.
PHOTO_TOO_LARGE = "raidwatch.photo_too_large"


def body_limit_for(path: str) -> int:
    """The most bytes a request body to ``path`` may have."""
    if _PHOTO_API.fullmatch(path) or _PHOTO_FORM.fullmatch(path):
        return int(settings.RAIDWATCH_MAX_PHOTO_BODY_BYTES)
    return int(settings.RAIDWATCH_MAX_BODY_BYTES)


def declared_length(value: str | bytes | None) -> int | None:
    """The Content-Length as a number (0 when absent), or None when it is not a number."""
    text = value.decode("latin-1") if isinstance(value, bytes) else (value or "0")
    text = text.strip() or "0"
    if not text.isascii() or not text.isdigit():
        return None
    return int(text)


class RequestGuard:
    """A middleware that may answer a request before the rest of the stack does.

    Sync and async capable: under ASGI, one sync-only middleware makes Django hop
    threads around it on every request, which costs more than the guard itself.
    Subclasses implement ``check``.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def check(self, request: HttpRequest) -> HttpResponseBase | None:
        raise NotImplementedError

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self._acall(request)
        return self.check(request) or self.get_response(request)

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        return self.check(request) or await self.get_response(request)


class BodySizeLimitMiddleware(RequestGuard):
    """Refuse a body over 64 KB (a photo: 10 MB and 64 KB) with the contract's 413 before it is read.

    Django would raise RequestDataTooBig only once a view touches the body, which
    surfaces as a 400 page; the contract promises a 413 with a JSON error.
    """

    def check(self, request: HttpRequest) -> HttpResponseBase | None:
        length = declared_length(request.META.get("CONTENT_LENGTH"))
        if length is None:
            return error_response(400, "malformed", _("The Content-Length header is not a number."))
        cut_short = bool(getattr(request, "scope", {}).get(BODY_TOO_LARGE))
        limit = body_limit_for(request.path_info)
        if not cut_short and length <= limit:
            return None
        if _PHOTO_FORM.fullmatch(request.path_info):
            # A person at the web form gets a page that says so, not JSON; the
            # view answers without reading the body.
            request.META[PHOTO_TOO_LARGE] = True
            return None
        if limit != settings.RAIDWATCH_MAX_BODY_BYTES:
            return error_response(
                413,
                "body_too_large",
                _("The photo is larger than %(mb)d MB.")
                % {"mb": settings.RAIDWATCH_MAX_PHOTO_BYTES // (1024 * 1024)},
            )
        return error_response(
            413,
            "body_too_large",
            _("The body is larger than %(kb)d KB.") % {"kb": settings.RAIDWATCH_MAX_BODY_BYTES // 1024},
        )


class StaticFilesMiddleware(RequestGuard, WhiteNoiseMiddleware):  # type: ignore[misc]
    """WhiteNoise, made async capable (its own middleware is sync only)."""

    def __init__(self, get_response: Any) -> None:
        WhiteNoiseMiddleware.__init__(self, get_response)
        RequestGuard.__init__(self, get_response)

    def check(self, request: HttpRequest) -> HttpResponseBase | None:
        path = request.path_info
        static_file = self.find_file(path) if self.autorefresh else self.files.get(path)
        if static_file is None:
            return None
        response: HttpResponseBase = self.serve(static_file, request)
        return response
