"""Content files render to inert HTML: no raw HTML, no script links, no images (R15)."""

from __future__ import annotations

from raidwatch.rights.markup import render_markdown


def test_raw_html_is_shown_as_text() -> None:
    html = render_markdown('<script>alert(1)</script>\n\n<img src=x onerror="alert(1)">', "en")
    assert "<script" not in html
    assert "<img" not in html
    assert "&lt;script&gt;" in html


def test_script_and_data_links_are_not_links() -> None:
    html = render_markdown("[a](javascript:alert(1)) [b](data:text/html,x) [c](//evil.example/x)", "en")
    assert "<a" not in html


def test_images_never_load_anything() -> None:
    html = render_markdown("![tracker](https://evil.example/pixel.png)", "en")
    assert "<img" not in html


def test_a_character_reference_cannot_smuggle_in_a_bidi_override() -> None:
    html = render_markdown("file&#x202E;txt.exe", "en")
    assert "\u202e" not in html


def test_allowed_links_render_and_site_links_get_the_language_prefix() -> None:
    html = render_markdown("[BID](https://biduk.org) [call](tel:+15555550100) [report](/report)", "ar")
    assert '<a href="https://biduk.org" rel="noopener noreferrer">BID</a>' in html
    assert '<a href="tel:+15555550100">call</a>' in html
    assert '<a href="/ar/report">report</a>' in html


def test_a_first_level_heading_becomes_second_level() -> None:
    html = render_markdown("# Title\n\n## Part", "en")
    assert "<h1>" not in html
    assert html.count("<h2>") == 2


def test_lists_and_emphasis_render() -> None:
    html = render_markdown("- **bold** and *soft*\n- two", "en")
    assert "<ul>" in html
    assert "<strong>bold</strong>" in html
    assert "<em>soft</em>" in html
