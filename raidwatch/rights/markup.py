"""Render the restricted Markdown of the rights content to inert HTML.

The content files are written by translators, not trusted developers, so the
subset is small and everything outside it shows as the characters typed:
paragraphs, ``##``/``###`` headings, bulleted and numbered lists, **bold** and
*italic*, and links to ``https:`` or ``tel:`` addresses or to a page of this site
(``/report``, given the reader's language prefix). Raw HTML, images (which would
load from another origin), code, tables, quotes and character references
(``&#x202E;`` would smuggle in a bidirectional override) are all off.
"""

from __future__ import annotations

from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from markdown_it.token import Token

ALLOWED_SCHEMES = ("https:", "tel:")


def is_allowed_link(url: str) -> bool:
    lowered = url.strip().lower()
    if lowered.startswith("/"):
        # A path on this site; "//host" would be another origin.
        return not lowered.startswith("//") and "\\" not in lowered
    return lowered.startswith(ALLOWED_SCHEMES)


def _parser() -> MarkdownIt:
    md = MarkdownIt("zero", {"html": False, "linkify": False, "typographer": False})
    md.enable(["heading", "list", "emphasis", "link", "escape"])
    md.validateLink = is_allowed_link  # type: ignore[method-assign]
    return md


_MD = _parser()


def _adjust(tokens: list[Token], language: str) -> None:
    for token in tokens:
        if token.type in ("heading_open", "heading_close") and token.tag == "h1":
            # The page's title is the only h1; a "#" heading in a file becomes h2.
            token.tag = "h2"
        if token.type == "link_open":
            href = str(token.attrGet("href") or "")
            if href.startswith("/"):
                token.attrSet("href", f"/{language}{href}")
            elif href.lower().startswith("https:"):
                token.attrSet("rel", "noopener noreferrer")
        if token.children:
            _adjust(token.children, language)


def render_markdown(text: str, language: str) -> SafeString:
    """HTML for ``text``; site links get ``language``'s prefix. Output is escaped
    by markdown-it (raw HTML is off), so it is safe to mark as such."""
    env: dict[str, object] = {}
    tokens = _MD.parse(text, env)
    _adjust(tokens, language)
    html: str = _MD.renderer.render(tokens, _MD.options, env)
    return mark_safe(html)  # noqa: S308 - escaped by markdown-it, raw HTML is off
