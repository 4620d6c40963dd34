"""The language switcher: every page offers every language by its own name, and
the choice is remembered in a cookie that holds nothing but the language code."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.urls import translate_url
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import get_language

from raidwatch.lib import languages


def switch_language(request: HttpRequest, code: str) -> HttpResponseRedirect:
    """GET /language/<code>?next=/en/report → the same page in that language.

    A plain link rather than Django's set_language form, so the switcher works
    without JavaScript and without a CSRF cookie on every public page.
    """
    if code not in dict(settings.LANGUAGES):
        raise Http404
    target = request.GET.get("next", "")
    if not target.startswith("/") or not url_has_allowed_host_and_scheme(target, allowed_hosts=None):
        target = f"/{code}/"
    translated = translate_url(target, code)
    if translated == target and not target.startswith(f"/{code}/"):
        # Not a page this site knows in every language: start at the home page.
        translated = f"/{code}/"
    response = HttpResponseRedirect(translated)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        code,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite="Lax",  # followed from links elsewhere, never sent on cross-site posts
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=True,
    )
    return response


def language_menu(request: HttpRequest) -> dict[str, Any]:
    """Template context: the switcher's entries and the current language's review status."""
    here = request.get_full_path()
    current = get_language() or settings.LANGUAGE_CODE
    entries = [
        {
            "code": code,
            "name": languages.language(code).native_name,
            "dir": "rtl" if languages.language(code).bidi else "ltr",
            "url": f"/language/{code}?{urlencode({'next': here})}",
            "current": code == current,
        }
        for code, _name in settings.LANGUAGES
    ]
    return {
        "language_menu": entries,
        "language_current_name": languages.language(current).native_name
        if current in languages.CODES
        else current,
        "language_reviewed": languages.is_reviewed(current),
    }
