"""A witness reports from a phone, with and without JavaScript."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from raidwatch.incidents.models import Status
from raidwatch.intake.models import Report

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Whitechapel, inside the E1 district.
WHITECHAPEL = (51.5155, -0.0723)


def send(page: Page) -> None:
    page.get_by_role("button", name="Send report").tap()


def assert_thanked(page: Page) -> None:
    expect(page).to_have_url(re.compile(r"/en/report/thanks"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Thank you")


def test_report_by_postcode_district_with_javascript(live_server, phone_page: Page) -> None:
    phone_page.goto(f"{live_server.url}/en/report")
    phone_page.get_by_label("Raid", exact=True).tap()
    phone_page.get_by_label("Where?").fill("E1")
    send(phone_page)

    assert_thanked(phone_page)
    report = Report.objects.select_related("incident").get()
    assert report.place_label == "E1"
    assert report.kind == "raid"
    assert report.incident.status == Status.UNVERIFIED


def test_report_by_postcode_district_without_javascript(live_server, phone_page_nojs: Page) -> None:
    page = phone_page_nojs
    page.goto(f"{live_server.url}/en/report")
    # The button needs the script; a page without it must not offer it.
    expect(page.get_by_role("button", name="Use my location")).to_be_hidden()
    page.get_by_label("Enforcement vans seen", exact=True).tap()
    page.get_by_label("Where?").fill("E1")
    send(page)

    assert_thanked(page)
    report = Report.objects.select_related("incident").get()
    assert report.place_label == "E1"
    assert report.kind == "van_sighting"
    assert report.incident.status == Status.UNVERIFIED


def test_use_my_location_sends_a_sealed_point(live_server, phone_context) -> None:
    page = phone_context(geolocation=WHITECHAPEL).new_page()
    page.goto(f"{live_server.url}/en/report")
    page.get_by_label("Raid", exact=True).tap()
    page.get_by_role("button", name="Use my location").tap()
    expect(page.locator("#location-status")).to_contain_text("Location found")
    send(page)

    assert_thanked(page)
    report = Report.objects.get()
    assert report.location_sealed is not None
    assert report.place_label == ""


def test_bad_input_without_javascript_is_explained_beside_each_field(
    live_server, phone_page_nojs: Page
) -> None:
    page = phone_page_nojs
    page.goto(f"{live_server.url}/en/report")
    page.get_by_label("Where?").fill("ZZ9")
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        send(page)

    assert posted.value.status == 422
    # A 422 is still a page a browser shows: the form, ready to correct.
    expect(page.get_by_role("heading", level=1)).to_have_text("Report a sighting")
    kind_field = page.locator("fieldset.field.has-error")
    expect(kind_field.locator("#kind-error")).to_be_visible()
    expect(page.get_by_label("Where?")).to_have_value("ZZ9")

    page.get_by_label("Raid", exact=True).tap()
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        send(page)

    assert posted.value.status == 422
    place_field = page.locator("div.field.has-error", has=page.get_by_label("Where?"))
    expect(place_field.locator("#place-error")).to_contain_text("ZZ9")
    expect(page.get_by_label("Where?")).to_have_value("ZZ9")
    expect(page.get_by_label("Where?")).to_have_attribute("aria-invalid", "true")
    assert not Report.objects.exists()


def test_every_bad_field_is_explained_at_once(live_server, phone_page_nojs: Page) -> None:
    page = phone_page_nojs
    page.goto(f"{live_server.url}/en/report")
    page.get_by_label("Where?").fill("ZZ9")
    send(page)

    expect(page.locator("#kind-error")).to_be_visible()
    # The page has loaded by now: waiting longer for the place error would only slow the failure.
    assert page.locator("#place-error").count() == 1


def test_unprefixed_report_url_redirects_to_the_language_prefix(live_server, phone_page_nojs: Page) -> None:
    response = phone_page_nojs.goto(f"{live_server.url}/report")

    assert response is not None
    assert response.ok
    assert response.url == f"{live_server.url}/en/report"
    first = response.request.redirected_from
    assert first is not None
    assert first.url == f"{live_server.url}/report"
