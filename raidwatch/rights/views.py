"""Know-your-rights pages: the topic list, one page per topic, the printable card."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import get_language, gettext

from raidwatch.rights import card as cards
from raidwatch.rights import content
from raidwatch.rights.jurisdiction import NAMES, PARAM, chosen_jurisdiction, remember_jurisdiction
from raidwatch.rights.markup import render_markdown


def _language() -> str:
    return get_language() or content.SOURCE_LANGUAGE


def _switch_links(request: HttpRequest, jurisdiction: str) -> list[dict[str, object]]:
    # Plain links, not a form: they work with JavaScript off and can be shared.
    return [
        {
            "code": code,
            "name": NAMES[code],
            "href": f"{request.path}?{PARAM}={code}",
            "current": code == jurisdiction,
        }
        for code in content.JURISDICTIONS
    ]


def _common(request: HttpRequest, jurisdiction: str) -> dict[str, object]:
    return {
        "jurisdiction": jurisdiction,
        "jurisdiction_name": NAMES[jurisdiction],
        "switch_links": _switch_links(request, jurisdiction),
        "query": f"?{PARAM}={jurisdiction}",
    }


def rights_index(request: HttpRequest) -> HttpResponse:
    jurisdiction, asked = chosen_jurisdiction(request)
    language = _language()
    context = _common(request, jurisdiction) | {
        "topics": content.topics(language, jurisdiction),
        "has_card": content.card(language, jurisdiction) is not None,
    }
    response = render(request, "rights/index.html", context)
    remember_jurisdiction(request, response, jurisdiction, asked)
    return response


def rights_topic(request: HttpRequest, key: str) -> HttpResponse:
    jurisdiction, asked = chosen_jurisdiction(request)
    language = _language()
    shown = content.shown_text(key, language, jurisdiction)
    if shown is None:
        raise Http404(gettext("There is no such rights page."))
    keys = content.topic_keys(jurisdiction)
    position = keys.index(key)
    neighbours = {
        "previous": content.shown_text(keys[position - 1], language, jurisdiction) if position > 0 else None,
        "next": content.shown_text(keys[position + 1], language, jurisdiction)
        if position + 1 < len(keys)
        else None,
    }
    context = _common(request, jurisdiction) | {
        "shown": shown,
        "body": render_markdown(shown.text.body, language),
        "has_card": content.card(language, jurisdiction) is not None,
        **neighbours,
    }
    response = render(request, "rights/topic.html", context)
    remember_jurisdiction(request, response, jurisdiction, asked)
    return response


def rights_card(request: HttpRequest) -> HttpResponse:
    """The card as a page: two A6 sides on paper (print-card.css), two boxes on screen."""
    jurisdiction, asked = chosen_jurisdiction(request)
    context = cards.card_context(_language(), jurisdiction, for_pdf=False)
    if context is None:
        raise Http404(gettext("There is no rights card for this country yet."))
    context |= _common(request, jurisdiction) | {
        "index_url": reverse("rights:index") + f"?{PARAM}={jurisdiction}",
        "pdf_url": reverse("rights:card_pdf") + f"?{PARAM}={jurisdiction}",
        # Said in the reader's language, before the page switches to the card's.
        "fallback_notice": gettext("This card is not in your language yet, so it is shown in English.")
        if context["card"].fallback
        else "",
        "reader_language": _language(),
    }
    # The whole card in one language: the card text's own (English when it falls back).
    with translation.override(context["card_language"]):
        response = render(request, cards.CARD_TEMPLATE, context)
    remember_jurisdiction(request, response, jurisdiction, asked)
    return response


def _card_pdf_bytes(language: str, jurisdiction: str) -> bytes | None:
    path = cards.card_pdf(language, jurisdiction)
    return path.read_bytes() if path is not None else None


async def rights_card_pdf(request: HttpRequest) -> HttpResponse:
    """The card as a PDF, rendered once per version and then served from disk.

    Async so that a first render (a second or two) runs in a worker thread of its
    own instead of holding the thread that every synchronous view shares.
    """
    jurisdiction, asked = chosen_jurisdiction(request)
    language = _language()
    try:
        pdf = await sync_to_async(_card_pdf_bytes, thread_sensitive=False)(language, jurisdiction)
    except cards.CardUnavailable:
        return HttpResponse(
            gettext("The PDF card cannot be made on this server. Open the printable card page and print it."),
            status=503,
            content_type="text/plain; charset=utf-8",
        )
    if pdf is None:
        raise Http404(gettext("There is no rights card for this country yet."))
    # A card is tens of kilobytes: one plain response, no file stream to hand to the event loop.
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'inline; filename="raidwatch-rights-card-{jurisdiction}-{language}.pdf"'
    )
    remember_jurisdiction(request, response, jurisdiction, asked)
    return response
