"""Making Django's CSRF origin check work under `Referrer-Policy: no-referrer`.

With that policy (SECURITY.md R13), Chromium sends `Origin: null` on a
same-origin form POST, and Django's CsrfViewMiddleware refuses the request
because "null" is no trusted origin. `Sec-Fetch-Site` is set by the browser
itself and cannot be forged by a page, so when it says the request came from
this same origin, the origin is restored to ours. The CSRF token is still
checked as usual; nothing else is relaxed.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.http.response import HttpResponseBase

from raidwatch.lib.middleware import RequestGuard


class SameOriginNullOriginMiddleware(RequestGuard):
    def check(self, request: HttpRequest) -> HttpResponseBase | None:
        meta = request.META
        if meta.get("HTTP_ORIGIN") == "null" and meta.get("HTTP_SEC_FETCH_SITE") == "same-origin":
            request.META["HTTP_ORIGIN"] = f"{request.scheme}://{request.get_host()}"
        return None
