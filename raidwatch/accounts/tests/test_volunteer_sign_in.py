"""Volunteer sign-in with a mandatory second factor (SECURITY.md R1, R9)."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path
from django.utils import timezone

from raidwatch.accounts.adapter import MFAAdapter, rate_limit_source
from raidwatch.accounts.models import AuditEntry
from raidwatch.accounts.volunteer import in_volunteer_area, require_action
from raidwatch.lib import crypto
from raidwatch.testing.volunteers import signed_in_client
from raidwatch.urls import urlpatterns as site_urlpatterns

pytestmark = pytest.mark.django_db

HOME = "/en/volunteer/"
LOGIN = "/en/volunteer/account/login/"
SECOND_STEP = "/en/volunteer/account/2fa/authenticate/"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


# --- A URL configuration with views that forgot their guard, for this module only.


def _unguarded(request: HttpRequest) -> HttpResponse:
    return HttpResponse("the forgotten page")


@require_action("volunteer.manage")
def _managers_only(request: HttpRequest) -> HttpResponse:
    return HttpResponse("managed")


@require_action("volunteer.manage", reauthenticate=True)
def _export(request: HttpRequest) -> HttpResponse:
    return HttpResponse("exported")


urlpatterns = [
    *i18n_patterns(
        path("volunteer/forgotten/", _unguarded),
        path("volunteer/manage/", _managers_only),
        path("volunteer/export/", _export),
        prefix_default_language=True,
    ),
    *site_urlpatterns,
]
TEST_URLS = __name__


# --- Helpers


def totp_code(secret: str = SECRET, at: float | None = None) -> str:
    counter = int(time.time() if at is None else at) // 30
    return str(format_hotp_value(hotp_value(secret, counter)))


def password_step(client: Client, volunteer: Any) -> Any:
    return client.post(
        LOGIN, {"login": volunteer.username, "password": f"{volunteer.username}-correct-horse"}
    )


def sign_in(client: Client, volunteer: Any, secret: str = SECRET) -> Any:
    first = password_step(client, volunteer)
    assert first.status_code == 302
    assert first["Location"] == SECOND_STEP
    return client.post(SECOND_STEP, {"code": totp_code(secret)})


def force_sign_in(client: Client, volunteer: Any) -> None:
    """A session as if the volunteer had signed in with password and TOTP."""
    signed_in = signed_in_client(volunteer)
    client.cookies = signed_in.cookies


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    # allauth keeps rate-limit counters and used TOTP codes in the cache, and
    # user ids repeat across tests.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def enrolled(verifier: Any) -> Any:
    TOTP.activate(verifier, SECRET)
    return verifier


# --- Refusals


def test_anonymous_is_sent_to_sign_in() -> None:
    response = Client().get(HOME)
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next={HOME}"


@pytest.mark.urls(TEST_URLS)
def test_a_volunteer_page_without_the_decorator_is_still_refused(enrolled: Any) -> None:
    assert Client().get("/en/volunteer/forgotten/")["Location"].startswith(LOGIN)
    client = Client()
    password_step(client, enrolled)
    assert client.get("/en/volunteer/forgotten/")["Location"].startswith(LOGIN)
    client.post(SECOND_STEP, {"code": totp_code()})
    assert client.get("/en/volunteer/forgotten/").content == b"the forgotten page"


def test_the_password_alone_does_not_sign_in(enrolled: Any) -> None:
    client = Client()
    password_step(client, enrolled)
    response = client.get(HOME)
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_a_password_only_session_of_an_enrolled_volunteer_is_signed_out(enrolled: Any) -> None:
    client = Client()
    assert client.login(username=enrolled.username, password=f"{enrolled.username}-correct-horse")
    response = client.get(HOME)
    assert response["Location"].startswith(LOGIN)
    assert "_auth_user_id" not in client.session
    # allauth's pages under the prefix are refused to it just the same.
    client.login(username=enrolled.username, password=f"{enrolled.username}-correct-horse")
    assert client.get("/en/volunteer/account/2fa/webauthn/add/")["Location"].startswith(LOGIN)


def test_a_wrong_code_is_refused(enrolled: Any) -> None:
    client = Client()
    password_step(client, enrolled)
    wrong = f"{(int(totp_code()) + 1) % 1_000_000:06d}"
    response = client.post(SECOND_STEP, {"code": wrong})
    assert response.status_code == 200
    assert b"Incorrect code" in response.content
    assert client.get(HOME)["Location"].startswith(LOGIN)


def test_sign_up_and_email_pages_do_not_exist() -> None:
    client = Client()
    for url in (
        "/en/volunteer/account/signup/",
        "/en/volunteer/account/email/",
        "/en/volunteer/account/password/reset/",
        "/en/volunteer/account/confirm-email/",
    ):
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"username": "intruder", "password1": "x" * 20}).status_code == 404, url


# --- Signing in


def test_password_and_code_reach_the_volunteer_home(enrolled: Any) -> None:
    client = Client()
    response = sign_in(client, enrolled)
    assert response.status_code == 302
    assert response["Location"] == HOME
    page = client.get(HOME)
    assert page.status_code == 200
    assert "Signed in as verifier (Verifier)." in page.content.decode()


def test_a_code_cannot_be_used_twice(enrolled: Any) -> None:
    code = totp_code()
    first = Client()
    password_step(first, enrolled)
    first.post(SECOND_STEP, {"code": code})
    assert first.get(HOME).status_code == 200
    second = Client()
    password_step(second, enrolled)
    second.post(SECOND_STEP, {"code": code})
    assert second.get(HOME).status_code == 302


def test_a_recovery_code_is_a_second_factor(enrolled: Any) -> None:
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    codes = RecoveryCodes.activate(enrolled).get_unused_codes()
    client = Client()
    password_step(client, enrolled)
    client.post(SECOND_STEP, {"code": codes[0]})
    assert client.get(HOME).status_code == 200


# Transactional: allauth announces a new authenticator on commit, inside the
# request, which a test wrapped in one transaction would never reach.
@pytest.mark.django_db(transaction=True)
def test_a_new_volunteer_must_enrol_before_entering(verifier: Any) -> None:
    client = Client()
    password_step(client, verifier)
    # No second factor yet: allauth signs the password in, the area does not let it through.
    assert client.get(HOME)["Location"] == "/en/volunteer/account/2fa/"
    assert client.get("/en/volunteer/account/2fa/").status_code == 200
    assert client.get("/en/volunteer/account/password/change/")["Location"] == "/en/volunteer/account/2fa/"
    # allauth asks for the password again before a factor is added.
    again = client.get("/en/volunteer/account/2fa/totp/activate/")
    assert again["Location"].startswith("/en/volunteer/account/reauthenticate/")
    client.post(again["Location"], {"password": "verifier-correct-horse"})
    page = client.get("/en/volunteer/account/2fa/totp/activate/")
    assert page.status_code == 200
    secret = client.session["mfa.totp.secret"]
    response = client.post("/en/volunteer/account/2fa/totp/activate/", {"code": totp_code(secret)})
    assert response.status_code == 302
    assert client.get(HOME).status_code == 200
    assert Authenticator.objects.filter(user=verifier, type="totp").exists()
    added = AuditEntry.objects.filter(action="volunteer.add_factor", actor="verifier")
    assert {entry.details["type"] for entry in added} == {"totp", "recovery_codes"}


def test_the_last_second_factor_cannot_be_removed(enrolled: Any) -> None:
    totp = Authenticator.objects.get(user=enrolled, type="totp")
    assert not MFAAdapter().can_delete_authenticator(totp)
    client = Client()
    sign_in(client, enrolled)
    client.post("/en/volunteer/account/2fa/totp/deactivate/", {})
    assert Authenticator.objects.filter(pk=totp.pk).exists()


def test_totp_secrets_are_sealed_in_the_database(enrolled: Any) -> None:
    stored = Authenticator.objects.get(user=enrolled, type="totp").data
    assert SECRET not in str(stored)
    assert SECRET.lower() not in str(stored).lower()


# --- Idle timeout and re-authentication


def test_idle_timeout_is_thirty_minutes_at_most() -> None:
    assert settings.SESSION_COOKIE_AGE <= 30 * 60


def test_only_the_volunteer_area_saves_the_session(enrolled: Any) -> None:
    """A public page fetched in the background (the service worker keeping pages
    for offline reading) must not save the session it loaded: finishing after a
    sign-in step, it would put the older session back and sign the volunteer out."""
    client = Client()
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        sign_in(client, enrolled)
        saved = Session.objects.get().expire_date
        traveller.shift(timedelta(minutes=5))
        assert client.get("/en/rights/").status_code == 200
        assert client.get("/en/report").status_code == 200
        assert Session.objects.get().expire_date == saved
        assert client.get(HOME).status_code == 200
        assert Session.objects.get().expire_date == saved + timedelta(minutes=5)


def test_a_session_ends_after_thirty_idle_minutes_but_not_while_used(enrolled: Any) -> None:
    client = Client()
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        sign_in(client, enrolled)
        for _ in range(3):
            traveller.shift(timedelta(minutes=20))
            assert client.get(HOME).status_code == 200
        traveller.shift(timedelta(minutes=31))
        assert client.get(HOME)["Location"].startswith(LOGIN)


@pytest.mark.urls(TEST_URLS)
def test_actions_follow_the_role_table(coordinator: Any, responder: Any) -> None:
    allowed, refused = Client(), Client()
    force_sign_in(allowed, coordinator)
    force_sign_in(refused, responder)
    assert allowed.get("/en/volunteer/manage/").content == b"managed"
    response = refused.get("/en/volunteer/manage/")
    assert response.status_code == 403
    assert b"Your role does not allow this" in response.content


@pytest.mark.urls(TEST_URLS)
def test_exports_need_a_recent_sign_in(coordinator: Any) -> None:
    client = Client()
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        force_sign_in(client, coordinator)
        for _ in range(2):
            response = client.get("/en/volunteer/export/")
            assert response.status_code == 302
            assert response["Location"].startswith("/en/volunteer/account/reauthenticate/")
            client.post(response["Location"], {"password": "coordinator-correct-horse"})
            assert client.get("/en/volunteer/export/").content == b"exported"
            traveller.shift(timedelta(minutes=4))
            assert client.get("/en/volunteer/export/").content == b"exported"
            # Past ACCOUNT_REAUTHENTICATION_TIMEOUT, the password is asked for again.
            traveller.shift(timedelta(minutes=2))


def test_the_volunteer_area_is_recognised_in_every_language() -> None:
    assert in_volunteer_area("/en/volunteer/")
    assert in_volunteer_area("/en/volunteer/account/login/")
    assert in_volunteer_area("/volunteer/")
    assert not in_volunteer_area("/en/volunteers/")
    assert not in_volunteer_area("/en/report")


# --- No addresses (R1)

SENTINEL_IP = "198.51.100.77"
SENTINEL_FORWARDED = "203.0.113.9"
SENTINEL_AGENT = "SentinelAgent/7.7 (canary)"


def _database_dump() -> str:
    parts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - table names from introspection
            parts.append(repr(cursor.fetchall()))
    parts.extend(repr(session.get_decoded()) for session in Session.objects.all())
    return "\n".join(parts)


def _cache_dump() -> str:
    store = getattr(cache, "_cache", {})
    return "\n".join(f"{key!r} {value!r}" for key, value in store.items())


def test_no_address_or_user_agent_is_stored_by_sign_in(
    enrolled: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    headers: dict[str, Any] = {
        "REMOTE_ADDR": SENTINEL_IP,
        "HTTP_USER_AGENT": SENTINEL_AGENT,
        "HTTP_X_FORWARDED_FOR": SENTINEL_FORWARDED,
    }
    failing = Client(**headers)
    failing.post(LOGIN, {"login": "verifier", "password": "not-the-password"})
    failing.post(LOGIN, {"login": "nobody", "password": "not-the-password"})
    client = Client(**headers)
    password_step(client, enrolled)
    client.post(SECOND_STEP, {"code": "000000"})
    client.post(SECOND_STEP, {"code": totp_code()})
    assert client.get(HOME).status_code == 200
    client.get("/en/volunteer/account/2fa/")
    client.post("/en/volunteer/account/logout/")

    haystack = "\n".join([_database_dump(), _cache_dump(), caplog.text])
    for needle in (SENTINEL_IP, SENTINEL_FORWARDED, SENTINEL_AGENT, "198.51.100.", "SentinelAgent"):
        assert needle not in haystack
        assert hashlib.sha256(needle.encode()).hexdigest() not in haystack
    # The rate limits did run, keyed by the pseudonymous source.
    assert "allauth:rl" in _cache_dump()


def test_the_rate_limit_source_is_a_keyed_hash_of_the_network() -> None:
    def source(address: str) -> str:
        request = HttpRequest()
        request.META["REMOTE_ADDR"] = address
        return rate_limit_source(request)

    assert source("198.51.100.77") == source("198.51.100.3")  # one /24, one source
    assert source("198.51.100.77") != source("198.51.101.77")
    assert hashlib.sha256(b"198.51.100.77").hexdigest()[:32] not in source("198.51.100.77")
    assert crypto.reporter_key(None, "198.51.100.77") not in source("198.51.100.77")
    assert "198.51" not in source("198.51.100.77")


# --- Pages render with the site's layout and keep to the CSP


def test_sign_in_pages_use_the_site_layout_and_no_inline_scripts(enrolled: Any) -> None:
    client = Client()
    login_page = client.get(LOGIN).content.decode()
    assert "Volunteer sign-in" in login_page
    assert "sign up" not in login_page.lower()
    assert 'class="site-header"' in login_page
    password_step(client, enrolled)
    second = client.get(SECOND_STEP).content.decode()
    for html in (login_page, second):
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag or "nonce=" in tag, tag
        for src in re.findall(r'<script[^>]*src="([^"]+)"', html):
            assert src.startswith("/static/"), src


def test_account_pages_render_in_the_site_layout(enrolled: Any) -> None:
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    RecoveryCodes.activate(enrolled)
    client = Client()
    sign_in(client, enrolled)
    again = client.get("/en/volunteer/account/2fa/recovery-codes/")
    assert again["Location"].startswith("/en/volunteer/account/reauthenticate/")
    assert 'class="site-header"' in client.get(again["Location"]).content.decode()
    client.post(again["Location"], {"password": "verifier-correct-horse"})
    for url in (
        "/en/volunteer/account/2fa/",
        "/en/volunteer/account/2fa/recovery-codes/",
        "/en/volunteer/account/2fa/webauthn/",
        "/en/volunteer/account/2fa/webauthn/add/",
        "/en/volunteer/account/password/change/",
    ):
        page = client.get(url)
        assert page.status_code == 200, url
        assert 'class="site-header"' in page.content.decode(), url
