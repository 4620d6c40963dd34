"""R12 in the browser: beyond the allowance the report still gets through, by the
script's proof-of-work, by the saved-report sender, or by a person's answer."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client
from playwright.sync_api import BrowserContext, Page, expect

from raidwatch.intake.models import Report, SpentChallenge
from raidwatch.intake.tests.test_offline_report_browser import (
    QUEUED,
    SAVED,
    SENT,
    install_for_offline,
    report_raid_in_e1,
    wait_until,
)
from raidwatch.testing.browser import PhoneContextFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def allowance_of_one(settings: Any) -> None:
    settings.RAIDWATCH_REPORT_ALLOWANCE = 1


@pytest.fixture
def context(phone_context: PhoneContextFactory) -> BrowserContext:
    return phone_context()


def use_up_the_allowance() -> None:
    """Another phone on the same network (the browser's loopback /24) reports first."""
    body = json.dumps({"kind": "van_sighting", "place": "E2"})
    response = Client(REMOTE_ADDR="127.0.0.9").post(
        "/api/v1/reports", data=body, content_type="application/json"
    )
    assert response.status_code == 201


def test_a_saved_report_asked_for_proof_of_work_is_solved_and_sent_once(
    live_server: Any, context: BrowserContext
) -> None:
    page = context.new_page()
    install_for_offline(page)
    use_up_the_allowance()
    context.set_offline(True)
    page.goto("/en/report")
    report_raid_in_e1(page)
    expect(page.locator("#report-status")).to_contain_text(SAVED)
    [queued] = page.evaluate(QUEUED)

    context.set_offline(False)
    expect(page.locator("#report-status")).to_contain_text(SENT, timeout=30_000)
    wait_until(page, f"{QUEUED}.then(reports => reports.length === 0)")
    assert Report.objects.filter(client_id=queued["client_id"]).count() == 1
    assert SpentChallenge.objects.count() == 1  # it went through by a solved challenge


def test_the_form_over_the_allowance_is_checked_and_sent_by_the_script(
    live_server: Any, context: BrowserContext
) -> None:
    page = context.new_page()
    page.goto("/en/report")
    use_up_the_allowance()
    report_raid_in_e1(page)
    expect(page).to_have_url(re.compile(r"/en/report/thanks"), timeout=30_000)
    assert Report.objects.filter(place_label="E1", description="Two vans outside the market").exists()
    assert SpentChallenge.objects.count() == 1


def test_without_javascript_a_person_answers_the_question(live_server: Any, phone_page_nojs: Page) -> None:
    use_up_the_allowance()
    page = phone_page_nojs
    page.goto(f"{live_server.url}/en/report")
    report_raid_in_e1(page)
    expect(page.get_by_role("alert").first).to_contain_text("Many reports are coming from your network")
    question = page.locator("label[for=check-answer]").inner_text()
    first, second = (int(number) for number in re.findall(r"\d", question)[:2])
    page.get_by_label(question).fill(str(first + second))
    page.get_by_role("button", name="Send report").tap()
    expect(page).to_have_url(re.compile(r"/en/report/thanks"))
    assert Report.objects.filter(place_label="E1").exists()
