"""One file per topic, language and jurisdiction; English fills any gap."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from raidwatch.rights import content

HERE = Path(__file__).resolve()


def front(**fields: str) -> str:
    lines = [f"{name}: {value}" for name, value in fields.items()]
    return "---\n" + "\n".join(lines) + "\n---\nBody.\n"


@pytest.fixture
def library(settings, tmp_path: Path) -> Path:
    """A copy of the shipped content in a folder of the test's own."""
    root = tmp_path / "rights"
    shutil.copytree(content.content_dir() / "en", root / "en")
    settings.RAIDWATCH_RIGHTS_CONTENT_DIR = root
    return root


def write(root: Path, lang: str, juris: str, key: str, **extra: str) -> Path:
    fields = {
        "key": key,
        "language": lang,
        "jurisdiction": juris,
        "title": f"{lang} {key}",
        "status": "machine-drafted",
        "updated": "2026-11-26",
        "based_on": "2026-11-26",
    } | extra
    path = root / lang / juris / f"{key}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(front(**fields), encoding="utf-8")
    return path


def test_a_translated_topic_is_shown_in_the_readers_language(library: Path) -> None:
    write(library, "es", "uk", "street")
    shown = content.shown_text("street", "es", "uk")
    assert shown is not None
    assert shown.text.language == "es"
    assert not shown.fallback
    assert shown.is_translation
    assert shown.source.language == "en"


def test_a_topic_without_a_translation_falls_back_to_english(library: Path) -> None:
    write(library, "es", "uk", "street")
    shown = content.shown_text("work", "es", "uk")
    assert shown is not None
    assert shown.text.language == "en"
    assert shown.fallback


def test_a_regional_language_falls_back_to_its_base_language_first(library: Path) -> None:
    write(library, "pt", "us", "home")
    shown = content.shown_text("home", "pt-br", "us")
    assert shown is not None
    assert shown.text.language == "pt"


def test_the_topic_list_follows_english_and_mixes_in_translations(library: Path) -> None:
    write(library, "es", "us", "work")
    listed = content.topics("es", "us")
    assert [s.text.key for s in listed] == content.topic_keys("us")
    assert [s.text.language for s in listed].count("es") == 1


def test_a_translation_without_an_english_topic_adds_no_page(library: Path) -> None:
    write(library, "es", "uk", "invented")
    assert content.shown_text("invented", "es", "uk") is None
    assert "invented" not in content.topic_keys("uk")


def test_a_translation_older_than_the_english_text_is_stale(library: Path) -> None:
    write(library, "es", "uk", "street", based_on="2020-01-01")
    shown = content.shown_text("street", "es", "uk")
    assert shown is not None
    assert shown.translation_is_stale


def test_an_unknown_jurisdiction_or_odd_key_finds_nothing(library: Path) -> None:
    assert content.shown_text("street", "en", "fr") is None
    assert content.shown_text("../en/uk/street", "en", "uk") is None
    assert content.topic_keys("fr") == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"status": "approved"}, "status must be one of"),
        ({"status": "reviewed"}, "needs reviewed_on"),
        ({"updated": "26/11/2026"}, "must be a date"),
        ({"language": "fr"}, "but the file lies at"),
        ({"colour": "red"}, "unknown front matter field"),
        ({"title": ""}, "'title' is missing"),
    ],
)
def test_a_malformed_file_is_refused_with_its_name(
    library: Path, change: dict[str, str], message: str
) -> None:
    path = write(library, "es", "uk", "street", **change)
    with pytest.raises(content.ContentError, match=message) as caught:
        content.read_text(path)
    assert str(path) in str(caught.value)


def test_a_reviewed_file_carries_its_review_date(library: Path) -> None:
    path = write(library, "es", "uk", "street", status="reviewed", reviewed_on="2026-12-01")
    text = content.read_text(path)
    assert text.is_reviewed
    assert str(text.reviewed_on) == "2026-12-01"


def test_a_bidirectional_override_in_a_file_is_refused(library: Path) -> None:
    path = write(library, "es", "uk", "street", title="evil\u202etxt.exe")
    with pytest.raises(content.ContentError, match="bidirectional override"):
        content.read_text(path)


def test_an_edited_file_is_read_again(library: Path) -> None:
    path = write(library, "es", "uk", "street", title="first")
    assert content.read_text(path).title == "first"
    write(library, "es", "uk", "street", title="second")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert content.read_text(path).title == "second"
