"""The demo verifier signs in with a TOTP code, claims an incident, confirms it,
sees it leave the waiting list, and finds it public."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from playwright.sync_api import Page, expect

from raidwatch.accounts.tests.test_volunteer_sign_in_browser import demo_verifier, sign_in
from raidwatch.incidents.models import Incident, Status
from raidwatch.incidents.tests.factories import report

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_verifier_works_an_incident_from_the_desk(live_server, phone_page: Page) -> None:
    password, secret = demo_verifier()
    incident = report("raid", description="Three vans outside the station").incident
    page = phone_page
    sign_in(page, live_server.url, password, secret)

    page.get_by_role("link", name="Open the desk").tap()
    waiting = page.locator("ul[aria-labelledby=waiting]")
    expect(waiting).to_contain_text(f"#{incident.pk}")
    waiting.get_by_role("link", name=re.compile(f"#{incident.pk} ")).tap()
    expect(page.get_by_text("Three vans outside the station")).to_be_visible()

    page.get_by_role("button", name="Claim: I am working on this").tap()
    expect(page.get_by_text("Claimed by")).to_be_visible()
    page.get_by_label("Public place text").fill("Station Road bus stop")
    page.get_by_role("button", name="Confirm and alert").tap()

    expect(page).to_have_url(re.compile(r"/en/volunteer/desk/$"))
    expect(page.locator("ul[aria-labelledby=waiting]")).to_have_count(0)
    expect(page.locator("ul[aria-labelledby=active]")).to_contain_text(f"#{incident.pk}")
    assert Incident.objects.get(pk=incident.pk).status == Status.CONFIRMED
    public = Client().get(f"/api/v1/incidents/{incident.pk}").json()
    assert public["place"] == "Station Road bus stop"
