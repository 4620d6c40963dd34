"""An invitee opens the link on a phone, chooses a username and password, sets
up an authenticator app and lands in the volunteer area, signed in."""

from __future__ import annotations

import re
import time

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from playwright.sync_api import Page, expect

from raidwatch.accounts import actions
from raidwatch.accounts.models import Role, Volunteer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "lantern-orchard-basalt-91"


def join_and_enrol(page: Page, base_url: str) -> None:
    issued = actions.invite_volunteer(Role.RESPONDER, 24, by=None)
    page.goto(base_url + actions.join_path(issued.token))
    expect(page.get_by_role("heading", name="Join as a volunteer")).to_be_visible()
    expect(page.get_by_text("Do not use your real name")).to_be_visible()
    page.get_by_label("Username").fill("kestrel")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").tap()

    # Signed in with the password only: the one place to go is two-factor set-up.
    expect(page).to_have_url(re.compile(r"/en/volunteer/account/2fa/$"))
    page.goto(f"{base_url}/en/volunteer/desk/")
    expect(page).to_have_url(re.compile(r"/en/volunteer/account/2fa/$"))
    page.get_by_role("link", name="Activate").first.tap()
    expect(page).to_have_url(re.compile(r"/en/volunteer/account/2fa/totp/activate/$"))
    secret = page.locator("#authenticator_secret").input_value()
    assert re.fullmatch(r"[A-Z2-7]{16,}", secret)
    code = str(format_hotp_value(hotp_value(secret, int(time.time()) // 30)))
    page.get_by_label("Authenticator code").fill(code)
    page.get_by_role("button", name="Activate").tap()
    expect(page).not_to_have_url(re.compile(r"/totp/activate/$"))

    page.goto(f"{base_url}/en/volunteer/")
    expect(page).to_have_url(re.compile(r"/en/volunteer/$"))
    expect(page.get_by_text("Signed in as kestrel (Responder).")).to_be_visible()
    expect(page.get_by_role("link", name="My duty and areas")).to_be_visible()
    expect(page.get_by_role("link", name="Team")).to_have_count(0)
    assert Volunteer.objects.get(username="kestrel").role == Role.RESPONDER

    # The link was spent.
    page.goto(base_url + actions.join_path(issued.token))
    expect(page.get_by_role("heading", name="This link does not work")).to_be_visible()


def test_an_invitee_joins_and_sets_up_an_authenticator_app(live_server, phone_page: Page) -> None:
    join_and_enrol(phone_page, live_server.url)


def test_joining_works_without_javascript(live_server, phone_page_nojs: Page) -> None:
    join_and_enrol(phone_page_nojs, live_server.url)
