"""The web app manifest: raidwatch installed on a phone's home screen, like an app.

Served by a view, not as a static file: the manifest must sit at the site root
(its scope is "/", and the pages live under /<lang>/), and its description and
shortcuts are worded in the reader's language. Installing from the browser, not
an app store, is the point: no store can remove it (SECURITY.md, adversary 1).
"""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse
from django.templatetags.static import static
from django.utils.translation import get_language, get_language_bidi
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

MANIFEST_CONTENT_TYPE = "application/manifest+json"
# The colours of static/css/site.css: --accent for the browser's bars, --paper behind the splash icon.
THEME_COLOUR = "#0b5cad"
BACKGROUND_COLOUR = "#ffffff"


def web_manifest_data() -> dict[str, object]:
    """The manifest's fields, in the active language."""
    icons: list[dict[str, str]] = [
        {"src": static("icons/raidwatch.svg"), "sizes": "any", "type": "image/svg+xml", "purpose": "any"},
    ]
    for size in (192, 512):
        # The picture keeps clear of the edges, so one file serves as a maskable icon too.
        icons.append(
            {
                "src": static(f"icons/raidwatch-{size}.png"),
                "sizes": f"{size}x{size}",
                "type": "image/png",
                "purpose": "any maskable",
            }
        )
    return {
        "id": "/",
        "name": "raidwatch",
        "short_name": "raidwatch",
        "description": _("Report immigration raids, get alerts for your area, and know your rights."),
        "lang": get_language() or "en",
        "dir": "rtl" if get_language_bidi() else "ltr",
        # "/" redirects to the reader's language; offline, the service worker opens a kept page.
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND_COLOUR,
        "icons": icons,
        "shortcuts": [
            {"name": _("Report"), "url": "/report"},
            {"name": _("Know your rights"), "url": "/rights/"},
        ],
    }


@require_GET
@vary_on_headers("Accept-Language", "Cookie")
def web_manifest(request: HttpRequest) -> HttpResponse:
    body = json.dumps(web_manifest_data(), ensure_ascii=False, separators=(",", ":"))
    return HttpResponse(body, content_type=f"{MANIFEST_CONTENT_TYPE}; charset=utf-8")
