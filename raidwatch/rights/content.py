"""Know-your-rights content: one file per topic, language and jurisdiction.

Files live in ``content/rights/<language>/<jurisdiction>/<key>.md`` at the top of
the repository (see content/rights/README.md for the format and the review
scheme). The English files are the source: they decide which topics exist and in
what order, and a language that lacks a file falls back to English for it.
Adding a language is adding files; no code changes.
"""

from __future__ import annotations

import datetime
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from django.conf import settings
from django.utils import translation

SOURCE_LANGUAGE = "en"
JURISDICTIONS = ("uk", "us")
# Review states of a file (content/rights/README.md says what each one means).
STATUSES = ("machine-drafted", "drafted", "reviewed")
# The card is not a topic: it is the short text of the printable card.
CARD_KEY = "card"

Jurisdiction = Literal["uk", "us"]

_KEY = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$")
_FIELD = re.compile(r"^([a-z_]+):[ \t]*(.*)$")
# Characters that reorder text when displayed (a trick for disguising text, R15).
# Isolates (U+2066-U+2069) and marks (U+200E, U+200F) are allowed: right-to-left
# translations need them around numbers and Latin names.
_BIDI_OVERRIDES = re.compile("[\u202a-\u202e]")
_REQUIRED = ("key", "language", "jurisdiction", "title", "status", "updated")
_REPEATABLE = ("source",)
_KNOWN = frozenset((*_REQUIRED, *_REPEATABLE, "summary", "order", "reviewed_on", "based_on"))


class ContentError(ValueError):
    """A content file that breaks the format; the message names the file."""


@dataclass(frozen=True)
class RightsText:
    """One parsed content file."""

    key: str
    language: str
    jurisdiction: str
    title: str
    summary: str
    order: int
    status: str
    updated: datetime.date
    body: str
    path: Path
    sources: tuple[str, ...] = ()
    reviewed_on: datetime.date | None = None
    # For a translation: the ``updated`` date of the English file it was made from.
    based_on: datetime.date | None = None

    @property
    def is_reviewed(self) -> bool:
        return self.status == "reviewed"

    @property
    def direction(self) -> str:
        """``rtl`` or ``ltr``, from Django's language facts (Babel's, for the languages Django lacks)."""
        try:
            bidi = bool(translation.get_language_info(self.language).get("bidi"))
        except KeyError:
            bidi = False
        return "rtl" if bidi else "ltr"


@dataclass(frozen=True)
class ShownText:
    """What a page shows for one topic: the text in the reader's language or in
    English, and the English source it answers to (for the legal review date)."""

    text: RightsText
    source: RightsText
    requested_language: str
    fallback: bool = field(default=False)

    @property
    def is_translation(self) -> bool:
        return self.text.language != SOURCE_LANGUAGE

    @property
    def translation_is_stale(self) -> bool:
        """True when the English text changed after this translation was made."""
        if not self.is_translation:
            return False
        return self.text.based_on is None or self.text.based_on < self.source.updated


def content_dir() -> Path:
    configured = getattr(settings, "RAIDWATCH_RIGHTS_CONTENT_DIR", None)
    return Path(configured) if configured else Path(settings.BASE_DIR) / "content" / "rights"


def _date(value: str, name: str, path: Path) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise ContentError(f"{path}: {name} must be a date like 2026-11-26, not {value!r}") from None


def parse_text(raw: str, path: Path) -> RightsText:
    """Parse one content file: front matter between two ``---`` lines, then Markdown."""
    if _BIDI_OVERRIDES.search(raw):
        raise ContentError(f"{path}: contains a bidirectional override character (U+202A-U+202E)")
    lines = raw.replace("\r\n", "\n").split("\n")
    if not lines or lines[0].strip() != "---":
        raise ContentError(f"{path}: must start with a front matter block opened by ---")
    try:
        end = next(i for i, line in enumerate(lines[1:], start=1) if line.strip() == "---")
    except StopIteration:
        raise ContentError(f"{path}: the front matter block is not closed by ---") from None
    fields: dict[str, str] = {}
    repeated: dict[str, list[str]] = {name: [] for name in _REPEATABLE}
    for line in lines[1:end]:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _FIELD.match(line)
        if match is None:
            raise ContentError(f"{path}: front matter line is not 'name: value': {line!r}")
        name, value = match.group(1), match.group(2).strip()
        if name not in _KNOWN:
            raise ContentError(f"{path}: unknown front matter field {name!r}")
        if name in repeated:
            repeated[name].append(value)
        elif name in fields:
            raise ContentError(f"{path}: front matter field {name!r} appears twice")
        else:
            fields[name] = value
    for name in _REQUIRED:
        if not fields.get(name):
            raise ContentError(f"{path}: front matter field {name!r} is missing")
    status = fields["status"]
    if status not in STATUSES:
        raise ContentError(f"{path}: status must be one of {', '.join(STATUSES)}, not {status!r}")
    reviewed_on = _date(fields["reviewed_on"], "reviewed_on", path) if fields.get("reviewed_on") else None
    # Reviewers are not named, as for the catalogues (locale/README.md): volunteers'
    # identities are not published. The date is what a reader needs.
    if status == "reviewed" and reviewed_on is None:
        raise ContentError(f"{path}: a reviewed file needs reviewed_on, the date of the review")
    if not _KEY.match(fields["key"]):
        raise ContentError(f"{path}: key must be lowercase letters, digits and hyphens")
    if not _LANGUAGE.match(fields["language"]):
        raise ContentError(
            f"{path}: language {fields['language']!r} is not a language code like en or zh-hans"
        )
    if fields["jurisdiction"] not in JURISDICTIONS:
        raise ContentError(f"{path}: jurisdiction must be one of {', '.join(JURISDICTIONS)}")
    try:
        order = int(fields.get("order", "0"))
    except ValueError:
        raise ContentError(f"{path}: order must be a whole number") from None
    return RightsText(
        key=fields["key"],
        language=fields["language"],
        jurisdiction=fields["jurisdiction"],
        title=fields["title"],
        summary=fields.get("summary", ""),
        order=order,
        status=status,
        updated=_date(fields["updated"], "updated", path),
        body="\n".join(lines[end + 1 :]).strip() + "\n",
        path=path,
        sources=tuple(s for s in repeated["source"] if s),
        reviewed_on=reviewed_on,
        based_on=_date(fields["based_on"], "based_on", path) if fields.get("based_on") else None,
    )


_cache: dict[Path, tuple[int, RightsText]] = {}
_cache_lock = threading.Lock()


def read_text(path: Path) -> RightsText:
    """Parse ``path``, checking that its front matter matches where it lies.

    Parsed files are kept in memory and parsed again only when the file changes,
    so an edited file shows up without a restart.
    """
    mtime = path.stat().st_mtime_ns
    with _cache_lock:
        cached = _cache.get(path)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    text = parse_text(path.read_text(encoding="utf-8"), path)
    expected = (path.parent.parent.name, path.parent.name, path.stem)
    if (text.language, text.jurisdiction, text.key) != expected:
        raise ContentError(
            f"{path}: front matter says {text.language}/{text.jurisdiction}/{text.key}, "
            f"but the file lies at {'/'.join(expected)}"
        )
    with _cache_lock:
        _cache[path] = (mtime, text)
    return text


def _path(language: str, jurisdiction: str, key: str) -> Path:
    return content_dir() / language / jurisdiction / f"{key}.md"


def _candidates(language: str) -> list[str]:
    # The exact language, then its base language (pt-br -> pt), then English.
    chain = [language.lower()]
    if "-" in language:
        chain.append(language.split("-", 1)[0].lower())
    chain.append(SOURCE_LANGUAGE)
    return list(dict.fromkeys(chain))


def topic_keys(jurisdiction: str) -> list[str]:
    """The topics of a jurisdiction, in reading order, as the English files define them."""
    folder = content_dir() / SOURCE_LANGUAGE / jurisdiction
    if jurisdiction not in JURISDICTIONS or not folder.is_dir():
        return []
    texts = [read_text(p) for p in folder.glob("*.md") if p.stem != CARD_KEY]
    return [t.key for t in sorted(texts, key=lambda t: (t.order, t.key))]


def shown_text(key: str, language: str, jurisdiction: str) -> ShownText | None:
    """The text to show for ``key``: in ``language`` if there is a file, else in English.

    None when English has no such topic (so a stray translation never adds a page).
    """
    if jurisdiction not in JURISDICTIONS or not _KEY.match(key):
        return None
    source_path = _path(SOURCE_LANGUAGE, jurisdiction, key)
    if not source_path.is_file():
        return None
    source = read_text(source_path)
    for candidate in _candidates(language):
        path = _path(candidate, jurisdiction, key)
        if path.is_file():
            text = source if candidate == SOURCE_LANGUAGE else read_text(path)
            return ShownText(
                text=text,
                source=source,
                requested_language=language,
                fallback=candidate != language.lower(),
            )
    return None  # unreachable: English is always a candidate and exists


def topics(language: str, jurisdiction: str) -> list[ShownText]:
    shown = (shown_text(key, language, jurisdiction) for key in topic_keys(jurisdiction))
    return [s for s in shown if s is not None]


def card(language: str, jurisdiction: str) -> ShownText | None:
    return shown_text(CARD_KEY, language, jurisdiction)


def all_files() -> list[Path]:
    """Every content file, for the checks in the tests and the card pre-render."""
    root = content_dir()
    return sorted(root.glob("*/*/*.md")) if root.is_dir() else []
