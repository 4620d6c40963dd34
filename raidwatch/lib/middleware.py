"""Request guards that must run before anything reads the body."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from raidwatch.lib.api import error_response

# Set in the ASGI scope when ASGIBodyLimit cut a body short.
BODY_TOO_LARGE = "raidwatch.body_too_large"


def declared_length(value: str | bytes | None) -> int | None:
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
        length = declared_length(request.META.get("CONTENT_LENGTH"))
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
