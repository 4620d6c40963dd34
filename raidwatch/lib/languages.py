"""The languages raidwatch speaks: codes, native names, text direction and plural
rules, taken from Babel's CLDR data rather than typed in by hand.

Django knows most of these languages but not all (Pashto and Tigrinya are
missing, and it names Punjabi in English); for the ones it lacks, settings.py
adds Babel's facts to Django's LANG_INFO, which is how Django expects extra
languages to be declared.

Each language also has a review status: a machine-drafted translation is
useful on a raid day but may be wrong, so its pages say so, in that language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache

from babel import Locale
from babel.messages.plurals import get_plural

# PRODUCT.md's list; Punjabi is written in Gurmukhi. The last five are right-to-left.
CODES = (
    "en",
    "es",
    "pt",
    "sq",
    "ro",
    "pl",
    "vi",
    "zh-hans",
    "bn",
    "pa",
    "ti",
    "ht",
    "ar",
    "fa",
    "ur",
    "ckb",
    "ps",
)
# Django's language code → Babel's locale identifier, where they differ.
_BABEL_IDS = {"zh-hans": "zh_Hans", "pa": "pa_Guru"}

DRAFTED = "machine-drafted"
REVIEWED = "reviewed"


@dataclass(frozen=True)
class Review:
    status: str  # DRAFTED or REVIEWED
    reviewed_on: date | None = None


# Update a language's entry when a speaker has reviewed its catalogue and its
# rights pages (name no reviewer: volunteers' identities are not published).
REVIEWS: dict[str, Review] = {code: Review(DRAFTED) for code in CODES if code != "en"} | {
    "en": Review(REVIEWED, date(2026, 11, 26))
}


@dataclass(frozen=True)
class Language:
    code: str
    english_name: str
    native_name: str
    bidi: bool
    plural_forms: str  # the gettext header value, e.g. "nplurals=2; plural=(n != 1);"


@cache
def language(code: str) -> Language:
    locale = Locale.parse(_BABEL_IDS.get(code, code))
    plural = get_plural(locale)
    return Language(
        code=code,
        english_name=str(locale.get_display_name("en")),
        native_name=str(locale.get_display_name(locale)),
        bidi=locale.character_order == "right-to-left",
        plural_forms=f"nplurals={plural.num_plurals}; plural={plural.plural_expr};",
    )


def django_lang_info() -> dict[str, dict[str, object]]:
    """Entries for django.conf.locale.LANG_INFO, for every language (Babel's names
    replace Django's where both exist, so the switcher is consistent)."""
    return {
        code: {
            "bidi": info.bidi,
            "code": code,
            "name": info.english_name,
            "name_local": info.native_name,
        }
        for code in CODES
        for info in (language(code),)
    }


def is_reviewed(code: str) -> bool:
    return REVIEWS.get(code, Review(DRAFTED)).status == REVIEWED
