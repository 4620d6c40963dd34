"""Every language: its catalogues, the switcher, text direction and review notices."""

from __future__ import annotations

import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from raidwatch.lib import languages

needs_gettext = pytest.mark.skipif(
    shutil.which("xgettext") is None, reason="GNU gettext (xgettext, msgmerge) is not installed"
)
RTL = {"ar", "fa", "ur", "ckb", "ps"}


def test_the_seventeen_languages_and_their_directions() -> None:
    codes = [code for code, _name in settings.LANGUAGES]
    assert " ".join(codes) == "en es pt sq ro pl vi zh-hans bn pa ti ht ar fa ur ckb ps"
    assert set(settings.LANGUAGES_BIDI) == RTL
    # Languages Django lacks get Babel's facts, in their own script.
    assert languages.language("ps").native_name == "پښتو"
    assert languages.language("ti").native_name == "ትግርኛ"
    assert languages.language("pa").native_name.startswith("ਪੰਜਾਬੀ")
    assert languages.language("ar").plural_forms.startswith("nplurals=6;")


@needs_gettext
def test_the_catalogues_hold_every_string_and_no_broken_placeholder() -> None:
    out = StringIO()
    call_command("catalogues", "check", stdout=out)
    assert "complete and consistent" in out.getvalue()


@needs_gettext
def test_a_broken_placeholder_or_a_missing_string_fails_the_check(tmp_path: Path) -> None:
    copy = tmp_path / "locale"
    shutil.copytree(Path(settings.BASE_DIR) / "locale", copy)
    catalogue = copy / "es" / "LC_MESSAGES" / "django.po"
    text = catalogue.read_text(encoding="utf-8")
    needle = 'msgid "The radius must be between 0.2 and %(max)d km."\nmsgstr "'
    assert needle in text
    start = text.index(needle) + len(needle)
    end = text.index('"', start)
    catalogue.write_text(text[:start] + "El radio: %(maximo)d km." + text[end:], encoding="utf-8")
    with pytest.raises(CommandError, match=r"maximo"):
        call_command("catalogues", "check", locale_dir=copy, stdout=StringIO())
    catalogue.write_text(text.replace(needle, 'msgid "A string nobody wrote"\nmsgstr "'), encoding="utf-8")
    with pytest.raises(CommandError, match="missing string 'The radius must be between"):
        call_command("catalogues", "check", locale_dir=copy, stdout=StringIO())


@pytest.mark.django_db
@pytest.mark.parametrize("code", [code for code, _name in settings.LANGUAGES])
def test_every_page_header_offers_every_language_in_its_own_name(code: str) -> None:
    page = Client().get(f"/{code}/")
    assert page.status_code == 200
    body = page.content.decode()
    direction = "rtl" if code in RTL else "ltr"
    assert f'<html lang="{code}" dir="{direction}">' in body
    for other in languages.CODES:
        assert f'hreflang="{other}"' in body
        assert languages.language(other).native_name in body
    drafted = "This translation was drafted by machine" in body or not languages.is_reviewed(code)
    assert drafted is not languages.is_reviewed(code)


@pytest.mark.django_db
def test_switching_language_keeps_the_page_and_is_remembered() -> None:
    client = Client()
    switched = client.get("/language/ar", {"next": "/en/report"})
    assert switched.status_code == 302
    assert switched["Location"] == "/ar/report"
    assert switched.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ar"
    # Later, an address without a language prefix goes to the remembered one.
    assert client.get("/report")["Location"] == "/ar/report"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "query", "expected"),
    [
        ("/language/xx", {"next": "/en/"}, None),  # no such language: 404
        ("/language/es", {"next": "https://example.org/"}, "/es/"),  # never leaves the site
        ("/language/es", {"next": "//example.org/"}, "/es/"),
        ("/language/es", {"next": "/en/no-such-page"}, "/es/"),
        ("/language/es", {}, "/es/"),
    ],
)
def test_the_switcher_refuses_bad_input(path: str, query: dict[str, str], expected: str | None) -> None:
    response = Client().get(path, query)
    if expected is None:
        assert response.status_code == 404
    else:
        assert response.status_code == 302
        assert response["Location"] == expected
