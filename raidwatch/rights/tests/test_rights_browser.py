"""A reader on a phone: rights index, jurisdiction switch, a topic, the card; nothing from elsewhere."""

from __future__ import annotations

from io import BytesIO

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def read_rights_and_switch_to_us(page: Page) -> None:
    page.goto("/en/rights/?jurisdiction=uk")
    expect(page.get_by_role("heading", level=1)).to_have_text("Know your rights")
    expect(page.get_by_role("link", name="United Kingdom")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("link", name="In the street")).to_be_visible()

    page.get_by_role("link", name="United States").click()
    expect(page).to_have_url("/en/rights/?jurisdiction=us")
    expect(page.get_by_role("link", name="United States")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("link", name="In public")).to_be_visible()

    page.get_by_role("link", name="At home and at the door").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("At home and at the door")
    expect(page.get_by_text("Do not open the door", exact=True)).to_be_visible()
    expect(page.get_by_text("This is information, not legal advice.")).to_be_visible()
    expect(page.get_by_text("Last reviewed: not yet.")).to_be_visible()

    # The choice is remembered: a bare link to the rights pages stays on US law.
    page.goto("/en/rights/")
    expect(page.get_by_role("link", name="United States")).to_have_attribute("aria-current", "page")

    page.get_by_role("link", name="card page").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your rights")
    expect(page.locator("section.card-side")).to_have_count(2)


def test_a_reader_switches_to_us_law_and_opens_a_topic(phone_page: Page) -> None:
    read_rights_and_switch_to_us(phone_page)


def test_the_same_works_with_javascript_off(phone_page_nojs: Page) -> None:
    read_rights_and_switch_to_us(phone_page_nojs)


def test_the_card_page_prints_as_two_a6_pages(phone_page: Page) -> None:
    phone_page.goto("/en/rights/card?jurisdiction=uk")
    # What the browser's own Print makes of the page (Chromium's print-to-PDF).
    pdf = phone_page.pdf(prefer_css_page_size=True)
    reader = PdfReader(BytesIO(pdf))
    assert len(reader.pages) == 2
    width, height = float(reader.pages[0].mediabox.width), float(reader.pages[0].mediabox.height)
    assert (round(width), round(height)) == (298, 420)
