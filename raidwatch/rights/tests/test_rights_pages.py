"""The rights pages: topic list, topic pages, jurisdiction switch and its memory."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import translation

from raidwatch.rights.jurisdiction import COOKIE

pytestmark = pytest.mark.django_db


@pytest.fixture
def english_only(settings, tmp_path: Path) -> Path:
    """The rights content with its English files only: every other language
    falls back, whatever translations the repository holds."""
    source = Path(django_settings.BASE_DIR) / "content" / "rights" / "en"
    shutil.copytree(source, tmp_path / "en")
    settings.RAIDWATCH_RIGHTS_CONTENT_DIR = tmp_path
    return tmp_path


def test_the_index_lists_the_deployments_jurisdiction_by_default(client: Client, settings) -> None:
    settings.RAIDWATCH_JURISDICTION = "uk"
    response = client.get("/en/rights/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "In the street" in page
    assert 'href="/en/rights/home?jurisdiction=uk"' in page
    assert "not legal advice" in page
    assert COOKIE not in response.cookies


def test_a_us_deployment_defaults_to_us_law(client: Client, settings) -> None:
    settings.RAIDWATCH_JURISDICTION = "us"
    page = client.get("/en/rights/").content.decode()
    assert "In public" in page
    assert 'href="/en/rights/street?jurisdiction=us"' in page


def test_switching_jurisdiction_is_remembered_in_a_cookie_with_no_identifier(client: Client) -> None:
    response = client.get("/en/rights/?jurisdiction=us")
    assert response.status_code == 200
    cookie = response.cookies[COOKIE]
    assert cookie.value == "us"
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert "Cookie" in response["Vary"]
    # Next visit without the parameter: still US.
    page = client.get("/en/rights/").content.decode()
    assert 'href="/en/rights/street?jurisdiction=us"' in page
    # And switching back works the same way.
    assert client.get("/en/rights/?jurisdiction=uk").cookies[COOKIE].value == "uk"


def test_the_switch_marks_the_current_jurisdiction_and_links_to_the_other(client: Client) -> None:
    page = client.get("/en/rights/street?jurisdiction=us").content.decode()
    assert re.search(r'href="/en/rights/street\?jurisdiction=us"\s+aria-current="page"', page)
    assert 'href="/en/rights/street?jurisdiction=uk"' in page


def test_an_unknown_jurisdiction_is_ignored(client: Client, settings) -> None:
    settings.RAIDWATCH_JURISDICTION = "uk"
    response = client.get("/en/rights/?jurisdiction=<script>")
    assert response.status_code == 200
    assert COOKIE not in response.cookies
    assert "<script>" not in response.content.decode()


def test_a_topic_page_shows_the_text_sources_review_state_and_disclaimer(client: Client) -> None:
    response = client.get("/en/rights/witness?jurisdiction=uk")
    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>If you see a raid</h1>" in page
    assert "Film the officers, not the person they stop." in page
    assert "Anti-Raids Network" in page  # a source organisation
    assert "Last reviewed: not yet." in page
    assert "This is information, not legal advice." in page
    assert 'href="/en/report"' in page  # a site link in the content got its language prefix
    assert 'href="/en/rights/card.pdf?jurisdiction=uk"' in page


def test_every_topic_page_of_both_jurisdictions_renders(client: Client) -> None:
    for jurisdiction in ("uk", "us"):
        index = client.get(f"/en/rights/?jurisdiction={jurisdiction}").content.decode()
        links = re.findall(rf'href="(/en/rights/(?!card)[a-z-]+\?jurisdiction={jurisdiction})"', index)
        assert len(links) == 6
        for link in links:
            assert client.get(link).status_code == 200, link


def test_an_unknown_topic_is_not_found(client: Client) -> None:
    assert client.get("/en/rights/no-such-topic").status_code == 404


def test_the_card_page_has_two_sides_and_the_print_stylesheet(client: Client) -> None:
    response = client.get("/en/rights/card?jurisdiction=us")
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('<section class="card-side">') == 2
    assert "/static/css/print-card.css" in page
    assert 'href="/en/rights/card.pdf?jurisdiction=us"' in page
    assert "Do not open the door." in page


def test_rights_pages_carry_the_strict_headers(client: Client) -> None:
    response = client.get("/en/rights/street")
    assert response["Referrer-Policy"] == "no-referrer"
    assert "Content-Security-Policy" in response


def test_a_language_without_its_own_file_shows_english_marked_as_english(
    client: Client, english_only: Path
) -> None:
    page = client.get("/ar/rights/home?jurisdiction=us").content.decode()
    assert re.search(r'<html lang="ar" dir="rtl">', page)
    # The English text is marked as English and keeps its direction inside the right-to-left page.
    assert re.search(r'<article class="rights-text"\s+lang="en"\s+dir="ltr">', page)
    with translation.override("ar"):
        notice = translation.gettext("This page is not in your language yet, so it is shown in English.")
    assert notice in page
    assert 'href="/ar/rights/detained?jurisdiction=us"' in page


def test_the_card_page_in_a_language_without_a_card_is_all_english_and_says_why(
    client: Client, english_only: Path
) -> None:
    page = client.get("/es/rights/card?jurisdiction=uk").content.decode()
    assert '<html lang="en" dir="ltr">' in page
    assert 'href="/es/rights/card.pdf?jurisdiction=uk"' in page
    assert '<p lang="es">' in page
