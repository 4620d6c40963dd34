"""`raidwatch catalogues update | check`: the message catalogues of every language.

``update`` extracts every translatable string into
``locale/<lang>/LC_MESSAGES/django.po`` and ``djangojs.po`` (the layout Weblate
and other translation platforms expect) and sets each catalogue's language and
plural rules from Babel. ``check`` fails when a catalogue is out of date
(a string missing, or one that no longer exists), when a translation breaks a
placeholder, or when plural rules are wrong; ``make test`` runs it.
Compiled catalogues (.mo) are built by ``make``, never committed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.test.utils import override_settings
from django.utils.translation import to_locale

from raidwatch.lib import languages

DOMAINS = ("django", "djangojs")
# Tests, fakes and benches talk to developers, not to people at risk.
IGNORE = [
    ".*",
    "venv",
    "var",
    "build",
    "node_modules",
    "bench",
    "*/tests",
    "raidwatch/testing",
    "test-results",
]
# What is scanned for strings, relative to the project root.
SOURCES = ("raidwatch", "templates", "static")
_HEADER: dict[str, Callable[[str], str]] = {
    "Project-Id-Version": lambda code: "raidwatch",
    "Language": to_locale,
    "Plural-Forms": lambda code: languages.language(code).plural_forms,
    "Content-Type": lambda code: "text/plain; charset=UTF-8",
}


def translated_codes() -> list[str]:
    """Every language but the source language, English."""
    return [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


def _fix_header(path: Path, code: str) -> None:
    """Set the header fields makemessages leaves as placeholders or copies from
    Django's own catalogues (Plural-Forms in particular: Django has no rules for
    Pashto or Tigrinya, and Babel's CLDR rules are the reference here)."""
    text = path.read_text(encoding="utf-8")
    match = re.search(r'^msgid ""\nmsgstr ""\n((?:".*"\n)+)', text, flags=re.M)
    if match is None:
        raise CommandError(f"{path}: no catalogue header")
    joined = "".join(line[1:-1] for line in match.group(1).splitlines())
    fields: dict[str, str] = {}
    for entry in joined.split("\\n"):
        name, sep, value = entry.partition(": ")
        if sep:
            fields[name] = value
    for name, make in _HEADER.items():
        fields[name] = make(code)
    header = "".join(f'"{name}: {value}\\n"\n' for name, value in fields.items())
    path.write_text(text[: match.start(1)] + header + text[match.end(1) :], encoding="utf-8")


def _empty_catalogue(code: str) -> str:
    """A header-only catalogue, for a domain that has no strings yet: the file
    exists for translation platforms, and gains strings when the code does."""
    header = "".join(f'"{field}: {value(code)}\\n"\n' for field, value in _HEADER.items())
    return f'msgid ""\nmsgstr ""\n"MIME-Version: 1.0\\n"\n"Content-Transfer-Encoding: 8bit\\n"\n{header}'


def extract(root: Path, codes: list[str]) -> None:
    """Run makemessages under ``root`` (which holds the sources and ``locale/``)."""
    # A new catalogue starts from our header, so msgmerge lays out plural
    # entries by Babel's rules rather than by those of Django's own catalogue.
    paths = {
        (code, domain): root / "locale" / to_locale(code) / "LC_MESSAGES" / f"{domain}.po"
        for code in codes
        for domain in DOMAINS
    }
    for (code, _domain), path in paths.items():
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(_empty_catalogue(code), encoding="utf-8")
    here = Path.cwd()
    os.chdir(root)
    try:
        # makemessages writes to the first of LOCALE_PATHS: point it at ``root``'s.
        with override_settings(LOCALE_PATHS=[root / "locale"]):
            for domain in DOMAINS:
                call_command(
                    "makemessages",
                    locale=[to_locale(code) for code in codes],
                    domain=domain,
                    ignore_patterns=IGNORE,
                    no_obsolete=True,
                    add_location="file",
                    verbosity=0,
                )
    finally:
        os.chdir(here)
    for (code, _domain), path in paths.items():
        # msgmerge guesses a translation for a new string from a similar old one
        # and marks it fuzzy; a guess is often wrong (other placeholders, other
        # meaning), so it is emptied for a translator to do properly.
        subprocess.run(  # noqa: S603 - fixed gettext tool, our own file
            ["msgattrib", "--clear-fuzzy", "--empty", "--no-obsolete", "-o", str(path), str(path)],  # noqa: S607
            check=True,
        )
        _fix_header(path, code)


def _read(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle)


def _keys(catalog: Catalog) -> set[tuple[str | None, str]]:
    return {
        (message.context, message.id if isinstance(message.id, str) else message.id[0])
        for message in catalog
        if message.id
    }


def problems(locale_dir: Path, fresh_dir: Path | None, codes: list[str]) -> list[str]:
    """What is wrong with the catalogues in ``locale_dir``; compared with freshly
    extracted ones in ``fresh_dir`` when given."""
    found: list[str] = []
    for code in codes:
        for domain in DOMAINS:
            relative = Path(to_locale(code)) / "LC_MESSAGES" / f"{domain}.po"
            path = locale_dir / relative
            if not path.exists():
                found.append(f"{relative}: missing")
                continue
            catalog = _read(path)
            expected_plural = languages.language(code).plural_forms
            if str(catalog.plural_forms).replace(" ", "") != expected_plural.replace(" ", ""):
                found.append(f"{relative}: Plural-Forms should be {expected_plural!r}")
            for message, errors in catalog.check():
                for error in errors:
                    found.append(f"{relative}: {message.id!r}: {error}")
            if fresh_dir is not None:
                fresh = _keys(_read(fresh_dir / relative))
                have = _keys(catalog)
                for _context, text in sorted(fresh - have, key=str):
                    found.append(f"{relative}: missing string {text!r}")
                for _context, text in sorted(have - fresh, key=str):
                    found.append(f"{relative}: string no longer used {text!r}")
    return found


class Command(BaseCommand):
    help = "Update or check the message catalogues of every language (locale/<lang>/LC_MESSAGES)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=("update", "check"))
        parser.add_argument(
            "--locale-dir", type=Path, help="Check the catalogues in this folder instead of locale/."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if any(shutil.which(tool) is None for tool in ("xgettext", "msgmerge", "msgattrib")):
            raise CommandError(
                "GNU gettext is missing (xgettext, msgmerge, msgattrib): apt-get install gettext"
            )
        root = Path(settings.BASE_DIR)
        codes = translated_codes()
        if options["action"] == "update":
            extract(root, codes)
            self.stdout.write(f"Updated the catalogues of {len(codes)} languages in {root / 'locale'}.")
            return
        locale_dir = options["locale_dir"] or root / "locale"
        with tempfile.TemporaryDirectory(prefix="raidwatch-catalogues-") as scratch:
            work = Path(scratch)
            # Copies, not links: makemessages writes scratch files beside each
            # template it reads, and those must never land in the real tree.
            for name in SOURCES:
                shutil.copytree(
                    root / name, work / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo")
                )
            # Extract against a copy, so the check never rewrites the real files.
            shutil.copytree(locale_dir, work / "locale", dirs_exist_ok=True)
            extract(work, codes)
            found = problems(locale_dir, work / "locale", codes)
        if found:
            shown = "\n  ".join(found[:40])
            more = f"\n  …and {len(found) - 40} more" if len(found) > 40 else ""
            raise CommandError(
                f"The message catalogues need attention ({len(found)} problems):\n  {shown}{more}\n"
                "Run `make catalogues` after changing strings, and fix the translations named above."
            )
        self.stdout.write(f"The catalogues of {len(codes)} languages are complete and consistent.")
