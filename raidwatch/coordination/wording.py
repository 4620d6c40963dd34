"""Checking a coordinator's wording of an alert text before it is used.

A template that cannot be formatted would fail every delivery of its event in
its language, and one that does not fit one SMS would split or be cut: so both
are refused when saved, with the reason, rather than found out during a raid.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.utils import translation
from django.utils.translation import gettext as _

from raidwatch.alerts.models import CapStatus, Event
from raidwatch.alerts.sms_length import SmsFit, sample_alert, worst_case
from raidwatch.alerts.text import TEMPLATES, default_template, render_text
from raidwatch.channels.sms.transport import is_gsm7
from raidwatch.incidents.models import Kind

MAX_LENGTH = 320
# The preview's ordinary case, shown next to the worst one.
SAMPLE_PLACE = "East St market"
SAMPLE_TIME = datetime(2026, 11, 26, 9, 5, tzinfo=UTC)
# A % sign: either %% (a literal %), %(name)s (a placeholder) or a mistake.
_PERCENT = re.compile(r"%(?:%|\((?P<name>[^)]*)\)(?P<conversion>.?)|(?P<stray>.?))", re.DOTALL)
# Embedding, override and isolate controls: they reorder how the text reads (R15).
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


@dataclass
class Check:
    """The outcome of checking a draft: problems (each refuses the save) and,
    when the draft can be rendered, a sample and the worst case."""

    problems: list[str] = field(default_factory=list)
    sample: str = ""
    worst: SmsFit | None = None
    # Characters that switch a Latin-script text to UCS-2 (70 characters, not
    # 160), named, since a non-breaking space looks like any other.
    ucs2_characters: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def placeholders(text: str) -> tuple[set[str], list[str]]:
    """The %(names)s in ``text``, and the malformed % signs (as written)."""
    names: set[str] = set()
    malformed: list[str] = []
    for match in _PERCENT.finditer(text):
        if match.group(0) == "%%":
            continue
        name, conversion = match.group("name"), match.group("conversion")
        if name is not None and conversion == "s" and name.isidentifier():
            names.add(name)
        else:
            malformed.append(match.group(0))
    return names, malformed


def expected_placeholders(event: str) -> set[str]:
    """The placeholders of the shipped template (the source text, before translation)."""
    with translation.override(None):
        return placeholders(str(TEMPLATES[Event(event)]))[0]


def check_template(event: str, language: str, text: str) -> Check:
    check = Check()
    if not text.strip():
        check.problems.append(_("Write the message text."))
        return check
    if len(text) > MAX_LENGTH:
        check.problems.append(_("Keep the text under %(n)d characters.") % {"n": MAX_LENGTH})
        return check
    if any(unicodedata.category(char) == "Cc" or char in _BIDI_CONTROLS for char in text):
        check.problems.append(
            _("The text holds a line break, a control character or a direction override; remove it.")
        )
    names, malformed = placeholders(text)
    expected = expected_placeholders(event)
    if malformed:
        check.problems.append(
            _(
                "%(found)s is not a placeholder. Placeholders look like %(example)s; "
                "write %(percent)s for a percent sign."
            )
            % {"found": ", ".join(sorted(set(malformed))), "example": "%(place)s", "percent": "%%"}
        )
    unknown, missing = names - expected, expected - names
    if unknown:
        check.problems.append(
            _("Unknown placeholder: %(names)s. This message can use: %(allowed)s.")
            % {
                "names": ", ".join(f"%({n})s" for n in sorted(unknown)),
                "allowed": ", ".join(f"%({n})s" for n in sorted(expected)) or _("none"),
            }
        )
    if missing:
        check.problems.append(
            _("Missing placeholder: %(names)s. The shipped text has it, so subscribers rely on it.")
            % {"names": ", ".join(f"%({n})s" for n in sorted(missing))}
        )
    if malformed or unknown:
        return check  # it cannot be rendered
    sample = sample_alert(event, Kind.RAID, CapStatus.ACTUAL, SAMPLE_PLACE, SAMPLE_TIME)
    check.sample = render_text(sample, language, template=text)[1]
    check.worst = worst_case(event, language, template=text)
    if not check.worst.fits:
        check.problems.append(
            _(
                "At its longest (%(example)s) this is %(length)d characters in %(encoding)s, "
                "over the %(limit)d that fit one SMS. Shorten it."
            )
            % {
                "example": check.worst.text,
                "length": check.worst.length,
                "encoding": check.worst.encoding,
                "limit": check.worst.limit,
            }
        )
    if is_gsm7(default_template(event, language)) and not is_gsm7(text):
        check.ucs2_characters = [
            f"U+{ord(char):04X} {unicodedata.name(char, '')}".strip()
            for char in sorted({char for char in text if not is_gsm7(char)})
        ]
    return check
