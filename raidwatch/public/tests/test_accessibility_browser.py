"""Every public page, in English and in Arabic, passes axe-core's WCAG 2.0/2.1/2.2
A and AA rules; so do the volunteer desk's queue and incident page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from raidwatch.accounts.tests.test_volunteer_sign_in_browser import demo_verifier, sign_in
from raidwatch.alerts.models import Alert, Event, Scope
from raidwatch.incidents import actions as incident_actions
from raidwatch.incidents.tests.factories import report
from raidwatch.public.tests.accessibility import axe_violations, describe_violations
from raidwatch.rights.content import topic_keys
from raidwatch.subscriptions import actions as subscription_actions
from raidwatch.subscriptions.areas import resolve_area
from raidwatch.testing.browser import PhoneContextFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

JURISDICTIONS = ("uk", "us")


def subscription_token(channel: str, address: str, language: str) -> str:
    return subscription_actions.subscribe(
        channel=channel,
        area=resolve_area({"postcode": "E1"}),
        language=language,
        level="verified",
        contact={"address": address},
    ).manage_token


def public_alert_id(verifier: Any) -> int:
    submitted = report("raid", place="E1")
    incident_actions.confirm(submitted.incident.pk, by=verifier, place="Whitechapel Road")
    return Alert.objects.get(incident=submitted.incident, scope=Scope.PUBLIC, event=Event.CONFIRMED).pk


def public_urls(language: str, verifier: Any) -> list[str]:
    """Every public page reachable by a plain GET, in ``language``."""
    prefix = f"/{language}"
    urls = [f"{prefix}/", f"{prefix}/about", f"{prefix}/report", f"{prefix}/subscribe"]
    active = subscription_token("ntfy", f"raidwatch-a11y-{language}", language)
    pending = subscription_token("email", f"a11y-{language}@example.org", language)
    urls += [
        f"{prefix}/subscribe/confirm/{pending}",
        f"{prefix}/subscriptions/manage/{active}",
        f"{prefix}/subscriptions/manage/not-a-token",
        f"{prefix}/subscriptions/left",
        f"/u/{active}",
        "/u/not-a-token",
    ]
    for jurisdiction in JURISDICTIONS:
        query = f"?jurisdiction={jurisdiction}"
        urls.append(f"{prefix}/rights/{query}")
        urls += [f"{prefix}/rights/{key}{query}" for key in topic_keys(jurisdiction)]
        urls.append(f"{prefix}/rights/card{query}")
    urls += [
        f"/a/{public_alert_id(verifier)}",
        "/a/999999",
        f"{prefix}/volunteer/account/login/",
        f"{prefix}/no-such-page",
    ]
    return urls


def check(page: Page, found: list[str]) -> None:
    if violations := axe_violations(page):
        found.append(describe_violations(page.url, violations))


@pytest.mark.parametrize("language", ["en", "ar"])
def test_every_public_page_passes_axe_wcag_aa(
    live_server, phone_context: PhoneContextFactory, verifier: Any, language: str
) -> None:
    # The locale sets Accept-Language, which chooses the language of /a/ and /u/ pages.
    page = phone_context(locale=language).new_page()
    found: list[str] = []
    for url in public_urls(language, verifier):
        page.goto(url)
        if "/rights/card" not in url:  # the card is printed in the language its text is in
            expect(page.locator("html")).to_have_attribute("lang", re.compile(f"^{language}"))
        check(page, found)

    # The report form with every error shown, then the thanks page after a good report.
    page.goto(f"/{language}/report")
    with page.expect_response(lambda response: response.request.method == "POST"):
        page.locator("button[type=submit]").click()
    expect(page.locator(".error").first).to_be_visible()
    check(page, found)
    page.locator("input[name=kind][value=raid]").check()
    page.locator("input[name=place]").fill("E1")
    page.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"/{language}/report/thanks"))
    check(page, found)

    assert not found, "\n\n".join(found)


def test_axe_finds_what_it_is_meant_to_find(live_server, phone_page: Page) -> None:
    """The check itself can fail: an unlabelled field and low contrast are reported."""
    phone_page.goto("/en/about")
    # Styled through the CSSOM: the page's CSP refuses style attributes in markup.
    phone_page.locator("main").evaluate(
        """main => {
            main.insertAdjacentHTML('beforeend', '<input type="text" id="unlabelled">');
            main.insertAdjacentHTML('beforeend', '<p id="faint">Faint</p>');
            document.getElementById('faint').style.color = '#ccc';
        }"""
    )
    found = {violation["id"]: violation for violation in axe_violations(phone_page)}
    assert {"label", "color-contrast"} <= found.keys()
    assert describe_violations(phone_page.url, [found["label"]]).count("#unlabelled") == 1


def test_the_volunteer_desk_passes_axe_wcag_aa(live_server, phone_page: Page) -> None:
    password, secret = demo_verifier()
    incident = report("raid", description="Three vans outside the station").incident
    sign_in(phone_page, live_server.url, password, secret)
    found: list[str] = []
    for url in ("/en/volunteer/", "/en/volunteer/desk/", f"/en/volunteer/desk/{incident.pk}"):
        phone_page.goto(url)
        check(phone_page, found)
    assert not found, "\n\n".join(found)
