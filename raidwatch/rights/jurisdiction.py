"""Whose law the rights pages describe for this reader.

The deployment's default is ``settings.RAIDWATCH_JURISDICTION``. A reader switches
with ``?jurisdiction=uk|us``; the choice is then kept two ways, so it survives
with cookies off as well as on: every rights link carries it, and a cookie holds
just the two letters (no identifier, nothing that tells one reader from another
who chose the same).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from raidwatch.rights.content import JURISDICTIONS

COOKIE = "rights_jurisdiction"
COOKIE_MAX_AGE = 365 * 24 * 60 * 60
PARAM = "jurisdiction"

NAMES: dict[str, Promise] = {
    "uk": _("United Kingdom"),
    "us": _("United States"),
}


def chosen_jurisdiction(request: HttpRequest) -> tuple[str, bool]:
    """The jurisdiction for this request, and whether the reader asked for it in the URL."""
    asked = request.GET.get(PARAM, "").strip().lower()
    if asked in JURISDICTIONS:
        return asked, True
    remembered = request.COOKIES.get(COOKIE, "")
    if remembered in JURISDICTIONS:
        return remembered, False
    return str(settings.RAIDWATCH_JURISDICTION), False


def remember_jurisdiction(
    request: HttpRequest, response: HttpResponse, jurisdiction: str, asked: bool
) -> None:
    """Keep a choice made in the URL in the cookie; the page depends on the cookie either way."""
    patch_vary_headers(response, ["Cookie"])
    if asked and request.COOKIES.get(COOKIE) != jurisdiction:
        response.set_cookie(
            COOKIE,
            jurisdiction,
            max_age=COOKIE_MAX_AGE,
            secure=request.is_secure(),
            httponly=True,
            samesite="Lax",
        )
