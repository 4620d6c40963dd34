"""The printable card as a PDF: two A6 pages, real text, the right fonts, rendered once."""

from __future__ import annotations

import io
import re
import shutil
import unicodedata
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.test import Client
from pypdf import PdfReader

from raidwatch.rights import card, content

A6_POINTS = (297.6, 419.5)


@pytest.fixture(autouse=True)
def _weasyprint_or_skip(settings, tmp_path: Path) -> None:
    try:
        card._weasyprint()
    except card.CardUnavailable as exc:
        pytest.skip(f"the PDF card needs WeasyPrint and Debian's libpango; missing: {exc}")
    settings.DATA_DIR = tmp_path / "data"


def font_names(reader: PdfReader) -> set[str]:
    names = set()
    for page in reader.pages:
        resources: Any = page["/Resources"].get_object()
        fonts = resources.get("/Font", {})
        for font in fonts.values():
            # Subset prefix off, hyphens out: "ABCDEF+Noto-Naskh-Arabic" -> "NotoNaskhArabic".
            names.add(str(font.get_object()["/BaseFont"]).split("+", 1)[-1].replace("-", ""))
    return names


def flowing(text: str) -> str:
    """Extracted text as one line: a line broken after a hyphen ("A-\nnumber") joins up again."""
    return " ".join(re.sub(r"-[ \t]*\n\s*", "-", text).split())


def card_languages() -> list[tuple[str, str]]:
    found = []
    for path in content.all_files():
        text = content.read_text(path)
        if text.key == content.CARD_KEY:
            found.append((text.language, text.jurisdiction))
    return found


# The script each card must be written in, as the first word of the Unicode
# names of its letters; Latin-script languages are told apart by a letter of
# their own alphabet that English lacks.
SCRIPTS = {
    "ar": "ARABIC",
    "fa": "ARABIC",
    "ur": "ARABIC",
    "ckb": "ARABIC",
    "ps": "ARABIC",
    "bn": "BENGALI",
    "pa": "GURMUKHI",
    "ti": "ETHIOPIC",
    "zh-hans": "CJK",
}
LATIN_MARKS = {"es": "ñóé", "pt": "ãçõ", "ro": "ăâîțș", "pl": "ąęłśżźó", "vi": "ơưđ", "sq": "ëç", "ht": "èò"}


@pytest.mark.parametrize(("language", "jurisdiction"), card_languages())
def test_every_card_fits_on_two_a6_pages_in_its_own_script(language: str, jurisdiction: str) -> None:
    path = card.card_pdf(language, jurisdiction)
    assert path is not None
    reader = PdfReader(path)
    assert len(reader.pages) == 2, "the card text is too long for two A6 sides"
    for page in reader.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert (round(width, 1), round(height, 1)) == A6_POINTS
    # The text can be extracted, and it is in the language's script (a missing
    # font would come out as boxes or nothing at all).
    text = "".join(page.extract_text() for page in reader.pages)
    letters = [ch for ch in text if ch.isalpha()]
    if language in SCRIPTS:
        script = SCRIPTS[language]
        share = sum(unicodedata.name(ch, "").startswith(script) for ch in letters) / max(len(letters), 1)
        assert share > 0.5, f"{language}: only {share:.0%} of the letters are {script}"
    elif language in LATIN_MARKS:
        assert any(mark in text for mark in LATIN_MARKS[language]), (
            f"{language}: none of {LATIN_MARKS[language]}"
        )
    else:
        assert "Am I free to" in flowing(text)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("jurisdiction", "side_one", "side_two"),
    [
        ("uk", ["warrant card", "Am I free to go?", "Notice to Occupier"], ["biduk.org", "lapel numbers"]),
        (
            "us",
            ["Do not open the door.", "judicial warrant", "Am I free to leave?"],
            ["A-number", "live-stream"],
        ),
    ],
)
def test_the_card_served_at_card_pdf_has_extractable_english_text(
    client: Client, jurisdiction: str, side_one: list[str], side_two: list[str]
) -> None:
    response = client.get(f"/en/rights/card.pdf?jurisdiction={jurisdiction}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f"raidwatch-rights-card-{jurisdiction}-en.pdf" in response["Content-Disposition"]
    reader = PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) == 2
    first, second = (flowing(page.extract_text()) for page in reader.pages)
    for words in side_one:
        assert words in first
    for words in side_two:
        assert words in second
    assert "not legal advice" in second


def test_a_card_is_rendered_once_and_then_served_from_disk(monkeypatch) -> None:
    first = card.card_pdf("en", "uk")
    assert first is not None
    assert first.parent == card.cache_dir()

    def refuse(html: str) -> bytes:
        raise AssertionError("rendered again")

    monkeypatch.setattr(card, "render_pdf", refuse)
    assert card.card_pdf("en", "uk") == first


def test_an_edited_card_is_rendered_anew_and_the_old_file_removed(settings, tmp_path: Path) -> None:
    root = tmp_path / "rights"
    shutil.copytree(content.content_dir() / "en", root / "en")
    settings.RAIDWATCH_RIGHTS_CONTENT_DIR = root
    first = card.card_pdf("en", "us")
    assert first is not None
    path = root / "en" / "us" / "card.md"
    path.write_text(path.read_text(encoding="utf-8").replace("Lawyer:", "My lawyer:"), encoding="utf-8")
    second = card.card_pdf("en", "us")
    assert second is not None
    assert second != first
    assert not first.exists()
    assert "My lawyer:" in " ".join(p.extract_text() for p in PdfReader(second).pages)


def test_the_renderer_fetches_no_url() -> None:
    html = '<html><body><img src="https://evil.example/x.png"><link rel="stylesheet" href="file:///etc/passwd">ok</body></html>'
    pdf = card.render_pdf(html)
    assert "ok" in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()


NOTO_NASKH = Path("/usr/share/fonts/truetype/noto/NotoNaskhArabic-Regular.ttf")


def test_the_english_card_is_set_in_noto_sans() -> None:
    if not NOTO_NASKH.parent.is_dir():
        pytest.skip("the card's fonts need Debian's fonts-noto-core; missing: /usr/share/fonts/truetype/noto")
    path = card.card_pdf("en", "uk")
    assert path is not None
    assert "NotoSans" in font_names(PdfReader(path))


def test_an_arabic_card_renders_right_to_left_in_noto_naskh_arabic(settings, tmp_path: Path) -> None:
    if not NOTO_NASKH.exists():
        pytest.skip(f"the Arabic card needs Debian's fonts-noto-core; missing: {NOTO_NASKH}")
    root = tmp_path / "rights"
    shutil.copytree(content.content_dir() / "en", root / "en")
    (root / "ar" / "uk").mkdir(parents=True)
    # Test text only ("side one", "side two"), not rights content.
    (root / "ar" / "uk" / "card.md").write_text(
        "---\nkey: card\nlanguage: ar\njurisdiction: uk\ntitle: بطاقة\nstatus: machine-drafted\n"
        "updated: 2026-11-26\nbased_on: 2026-11-26\nsource: test\n---\n"
        "## الوجه الأول\n\nنص قصير.\n\n## الوجه الثاني\n\nنص قصير آخر.\n",
        encoding="utf-8",
    )
    settings.RAIDWATCH_RIGHTS_CONTENT_DIR = root
    html = card.card_html("ar", "uk", for_pdf=True)
    assert html is not None
    assert 'dir="rtl"' in html
    assert 'lang="ar"' in html
    path = card.card_pdf("ar", "uk")
    assert path is not None
    reader = PdfReader(path)
    assert len(reader.pages) == 2
    assert any("NaskhArabic" in name for name in font_names(reader))
    # Right-to-left: the heading's text starts at the right-hand margin, not the left.
    starts: list[float] = []

    def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
        if text.strip():
            starts.append(tm[4] * cm[0] + cm[4])

    reader.pages[0].extract_text(visitor_text=visit)
    assert starts
    assert max(starts) > A6_POINTS[0] / 2


def test_the_render_command_prepares_every_language_and_jurisdiction() -> None:
    out = StringIO()
    call_command("render_rights_cards", stdout=out)
    expected = len(django_settings.LANGUAGES) * len(content.JURISDICTIONS)
    assert f"{expected} rights cards ready" in out.getvalue()
    # Languages without a card file share the English rendering's text, each under its own name.
    assert len(list(card.cache_dir().glob("*.pdf"))) == expected


@pytest.mark.django_db
def test_without_weasyprint_the_pdf_address_says_so_and_points_to_the_page(
    client: Client, monkeypatch
) -> None:
    def missing() -> None:
        raise card.CardUnavailable("no libpango here")

    monkeypatch.setattr(card, "_weasyprint", missing)
    response = client.get("/en/rights/card.pdf?jurisdiction=uk")
    assert response.status_code == 503
    assert "printable card page" in response.content.decode()
