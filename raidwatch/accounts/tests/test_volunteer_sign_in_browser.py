"""A verifier signs in on a phone with password and authenticator code."""

from __future__ import annotations

import re
import time

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from playwright.sync_api import ConsoleMessage, Page, Response, expect

from raidwatch.accounts.management.commands.demo import demo_password, ensure_demo_factors
from raidwatch.accounts.models import Role, Volunteer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def demo_verifier() -> tuple[str, str]:
    """A verifier set up as `raidwatch demo` sets one up: (password, TOTP secret)."""
    volunteer = Volunteer.objects.create_user(
        "verifier", password=demo_password("verifier"), role=Role.VERIFIER
    )
    secret, _codes = ensure_demo_factors(volunteer)
    return demo_password("verifier"), secret


def sign_in(page: Page, base_url: str, password: str, secret: str) -> None:
    page.goto(f"{base_url}/en/volunteer/")
    expect(page).to_have_url(re.compile(r"/en/volunteer/account/login/"))
    page.get_by_label("Username").fill("verifier")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Continue").tap()
    expect(page).to_have_url(re.compile(r"/en/volunteer/account/2fa/authenticate/"))
    page.get_by_label("Code").fill(str(format_hotp_value(hotp_value(secret, int(time.time()) // 30))))
    page.get_by_role("button", name="Sign in", exact=True).tap()
    expect(page).to_have_url(re.compile(r"/en/volunteer/$"))
    expect(page.get_by_text("Signed in as verifier (Verifier).")).to_be_visible()


def test_verifier_signs_in_with_password_and_code(live_server, phone_page: Page) -> None:
    password, secret = demo_verifier()
    refused: list[str] = []

    def watch(message: ConsoleMessage) -> None:
        # A script or style the CSP blocked shows up here, not as a failed test.
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    failed: list[str] = []
    phone_page.on("console", watch)

    # allauth's WebAuthn scripts come from this site's static files; a missing one would fail quietly.
    def check(response: Response) -> None:
        if response.status >= 400:
            failed.append(response.url)

    phone_page.on("response", check)
    sign_in(phone_page, live_server.url, password, secret)
    assert refused == []
    assert failed == []

    phone_page.get_by_role("button", name="Sign out").tap()
    expect(phone_page).to_have_url(re.compile(r"/en/volunteer/account/login/$"))
    phone_page.goto(f"{live_server.url}/en/volunteer/")
    expect(phone_page).to_have_url(re.compile(r"/en/volunteer/account/login/\?next="))


def test_sign_in_works_without_javascript(live_server, phone_page_nojs: Page) -> None:
    password, secret = demo_verifier()
    sign_in(phone_page_nojs, live_server.url, password, secret)
