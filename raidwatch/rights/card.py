"""The printable rights card: two A6 sides per language and jurisdiction.

One template (templates/rights/card.html) and one stylesheet
(static/css/print-card.css) make both the page a browser prints and the PDF that
WeasyPrint renders, so the two never drift apart. WeasyPrint lays text out with
Pango and HarfBuzz, so a right-to-left language (``dir="rtl"`` from Django's
language info) and any script that a Debian Noto font covers come out shaped
and in the right order; the stylesheet picks the Noto family by ``lang``.

Rendering takes a second or two, so a rendered card is kept on disk under
``DATA_DIR/rights-cards``, named by a hash of everything that went into it (the
card's HTML, the stylesheet, the WeasyPrint version): an edited content file, a
new translation or a new stylesheet gives a new file, and nothing is rendered
twice.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.safestring import SafeString

from raidwatch.rights import content
from raidwatch.rights.jurisdiction import NAMES
from raidwatch.rights.markup import render_markdown

CARD_TEMPLATE = "rights/card.html"
CARD_STYLESHEET = "css/print-card.css"
_SIDE_HEADING = re.compile(r"^##[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


class CardUnavailable(Exception):
    """The PDF cannot be made on this machine (WeasyPrint or Pango is missing)."""


@dataclass(frozen=True)
class CardSide:
    title: str
    html: SafeString


def card_sides(body: str, language: str) -> list[CardSide]:
    """Split a card file's body at its ``## `` headings: one heading per side."""
    starts = list(_SIDE_HEADING.finditer(body))
    sides = []
    for index, match in enumerate(starts):
        end = starts[index + 1].start() if index + 1 < len(starts) else len(body)
        sides.append(CardSide(match.group(1).strip(), render_markdown(body[match.end() : end], language)))
    return sides


def card_context(language: str, jurisdiction: str, *, for_pdf: bool) -> dict[str, Any] | None:
    shown = content.card(language, jurisdiction)
    if shown is None:
        return None
    with translation.override(language):
        index_path = reverse("rights:index")
    # Printed without the scheme: shorter to type from paper, and the site redirects to HTTPS.
    site = str(settings.RAIDWATCH_BASE_URL).split("://", 1)[-1]
    return {
        "card": shown,
        "sides": card_sides(shown.text.body, language),
        "card_language": shown.text.language,
        "card_bidi": shown.text.direction == "rtl",
        "jurisdiction": jurisdiction,
        "jurisdiction_name": NAMES[jurisdiction],
        "for_pdf": for_pdf,
        "more_url": f"{site}{index_path}",
    }


def card_html(language: str, jurisdiction: str, *, for_pdf: bool) -> str | None:
    context = card_context(language, jurisdiction, for_pdf=for_pdf)
    if context is None:
        return None
    # The whole card in one language: the card text's own (English when it falls back).
    with translation.override(context["card_language"]):
        return render_to_string(CARD_TEMPLATE, context)


def _stylesheet_path() -> Path:
    found = finders.find(CARD_STYLESHEET)
    if not found:
        raise FileNotFoundError(CARD_STYLESHEET)
    return Path(found)


def _weasyprint() -> Any:
    try:
        import weasyprint  # type: ignore[import-untyped]
    except (ImportError, OSError) as exc:
        # OSError: the package is there but Debian's libpango is not.
        raise CardUnavailable(f"WeasyPrint cannot start here: {exc}") from exc
    return weasyprint


def render_pdf(html: str) -> bytes:
    """The PDF for a card's HTML. Fetches nothing: the stylesheet is read from
    disk, fonts come from fontconfig, and any URL in the HTML is refused."""
    weasyprint = _weasyprint()

    fetcher_base: Any = weasyprint.urls.URLFetcher

    class RefuseEveryURL(fetcher_base):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            raise ValueError(f"the rights card loads nothing from outside: {url}")

    fetcher = RefuseEveryURL()
    stylesheet = weasyprint.CSS(filename=str(_stylesheet_path()), url_fetcher=fetcher)
    document = weasyprint.HTML(string=html, base_url=None, url_fetcher=fetcher)
    # Tagged PDF: screen readers read the card in order, right-to-left included.
    pdf: bytes = document.write_pdf(stylesheets=[stylesheet], pdf_tags=True)
    return pdf


def cache_dir() -> Path:
    return Path(settings.DATA_DIR) / "rights-cards"


_render_lock = threading.Lock()


def card_pdf(language: str, jurisdiction: str) -> Path | None:
    """The path of the rendered card, rendering it first if this version is new.

    None when the jurisdiction has no card. Raises CardUnavailable when the card
    must be rendered and WeasyPrint cannot run here.
    """
    html = card_html(language, jurisdiction, for_pdf=True)
    if html is None:
        return None
    digest = hashlib.sha256()
    digest.update(html.encode())
    digest.update(_stylesheet_path().read_bytes())
    digest.update(_weasyprint_version().encode())
    prefix = f"{jurisdiction}-{language}-"
    target = cache_dir() / f"{prefix}{digest.hexdigest()[:24]}.pdf"
    if target.is_file():
        return target
    # One render at a time per process: a burst of first requests renders once.
    with _render_lock:
        if target.is_file():
            return target
        pdf = render_pdf(html)
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, temporary = tempfile.mkstemp(dir=target.parent, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(pdf)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        for old in target.parent.glob(f"{prefix}*.pdf"):
            if old != target:
                old.unlink(missing_ok=True)
    return target


def _weasyprint_version() -> str:
    try:
        return metadata.version("weasyprint")
    except metadata.PackageNotFoundError:
        return "unknown"
