"""Joining through an invitation link, /<lang>/join/<token>, up to a signed-in
volunteer with a second factor (R1, R9)."""

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
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.utils import timezone

from raidwatch.accounts import actions
from raidwatch.accounts.models import AuditEntry, Role, Volunteer

pytestmark = pytest.mark.django_db

PASSWORD = "lantern-orchard-basalt-91"
HOME = "/en/volunteer/"
TWO_FACTOR = "/en/volunteer/account/2fa/"
ACTIVATE_TOTP = "/en/volunteer/account/2fa/totp/activate/"
REAUTHENTICATE = "/en/volunteer/account/reauthenticate/"


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    # allauth keeps rate-limit counters and used TOTP codes in the cache.
    cache.clear()
    yield
    cache.clear()


def _link(by: Any = None, role: str = Role.VERIFIER) -> str:
    issued = actions.invite_volunteer(role, 24, by=by)
    return actions.join_path(issued.token)


def _form(username: str = "kestrel", password: str = PASSWORD) -> dict[str, str]:
    return {"username": username, "password": password, "password_again": password}


def _code(secret: str) -> str:
    return str(format_hotp_value(hotp_value(secret, int(time.time()) // 30)))


def test_the_page_names_the_role_and_warns_against_real_names(coordinator: Any) -> None:
    response = Client().get(_link(coordinator, Role.RESPONDER))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Responder" in page
    assert "Do not use your real name" in page
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert "no-store" in response["Cache-Control"]


def test_every_link_that_does_not_work_gets_the_same_page(coordinator: Any) -> None:
    used, expired = _link(coordinator), _link(coordinator)
    Client().post(used, _form())
    unknown = actions.join_path("not-a-real-token")
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        pages = [Client().get(url) for url in (used, expired, unknown)]
        posted = Client().post(unknown, _form("osprey"))
    assert {page.status_code for page in [*pages, posted]} == {404}
    # Identical but for the page's own address (which language links repeat)
    # and the script nonce, which every response draws afresh.
    bodies = {
        re.sub(r'nonce="[^"]*"', 'nonce=""', page.content.decode().replace(url.rsplit("/", 1)[1], "TOKEN"))
        for page, url in zip([*pages, posted], [used, expired, unknown, unknown], strict=True)
    }
    assert len(bodies) == 1
    assert actions.invalid_invitation_message() in pages[0].content.decode()
    assert not Volunteer.objects.filter(username="osprey").exists()


@pytest.mark.parametrize(
    ("form", "field"),
    [
        (_form(password="short"), "password"),
        ({**_form(), "password_again": "something-else-entirely"}, "password_again"),
        (_form(username="Maria Lopez"), "username"),
        (_form(username="coordinator"), "username"),
        ({"username": "kestrel"}, "password"),
    ],
)
def test_bad_input_is_shown_beside_its_field_and_changes_nothing(
    coordinator: Any, form: dict[str, str], field: str
) -> None:
    link = _link(coordinator)
    response = Client().post(link, form)
    assert response.status_code == 422
    assert field in response.context["form"].errors
    assert Volunteer.objects.count() == 1
    assert Client().get(link).status_code == 200  # the link still works


# allauth announces a new factor on commit (and this project then counts the
# enrolment as the session's second factor), so these run with real commits.
@pytest.mark.django_db(transaction=True)
def test_joining_signs_in_with_the_password_and_leads_to_two_factor_setup(coordinator: Any) -> None:
    client = Client()
    response = client.post(_link(coordinator), _form())
    assert response.status_code == 302
    assert response["Location"] == TWO_FACTOR
    volunteer = Volunteer.objects.get(username="kestrel")
    assert volunteer.role == Role.VERIFIER
    # A password-only session: the volunteer area sends it to enrol, nowhere else.
    assert client.get(HOME)["Location"] == TWO_FACTOR
    assert client.get("/en/volunteer/desk/")["Location"] == TWO_FACTOR
    assert client.get(TWO_FACTOR).status_code == 200

    # Choosing a password a moment ago counts as the fresh check before adding a factor.
    page = client.get(ACTIVATE_TOTP)
    assert page.status_code == 200
    secret = page.context["form"].secret
    assert secret in page.content.decode()
    enrolled = client.post(ACTIVATE_TOTP, {"code": _code(secret)})
    assert enrolled.status_code == 302
    assert Authenticator.objects.filter(user=volunteer, type=Authenticator.Type.TOTP).exists()

    home = client.get(HOME)
    assert home.status_code == 200
    assert "Signed in as kestrel (Verifier)." in home.content.decode()
    assert [(entry.action, entry.details.get("type")) for entry in AuditEntry.objects.order_by("id")] == [
        ("volunteer.invite", None),
        ("volunteer.join", None),
        ("volunteer.add_factor", "totp"),
        ("volunteer.add_factor", "recovery_codes"),
    ]


@pytest.mark.django_db(transaction=True)
def test_a_slow_enrolment_asks_for_the_password_again_and_keeps_nothing_of_the_request(
    coordinator: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Setting up an app can take more than the five minutes a fresh sign-in
    lasts. allauth would then keep the POST (client address and user agent
    included) in the session to resume it; here the volunteer is asked for
    the password and comes back to the page instead."""
    caplog.set_level(logging.DEBUG)
    sentinels: dict[str, Any] = {
        "REMOTE_ADDR": "198.51.100.231",
        "HTTP_X_FORWARDED_FOR": "203.0.113.77",
        "HTTP_USER_AGENT": "CanaryAgent/3.3 sentinel-join",
    }
    client = Client(**sentinels)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        client.post(_link(coordinator), _form())
        secret = client.get(ACTIVATE_TOTP).context["form"].secret
        traveller.shift(timedelta(minutes=6))
        slow = client.post(ACTIVATE_TOTP, {"code": _code(secret)})
        assert slow.status_code == 302
        assert (
            slow["Location"]
            == f"{REAUTHENTICATE}?next=%2Fen%2Fvolunteer%2Faccount%2F2fa%2Ftotp%2Factivate%2F"
        )
        assert not Authenticator.objects.exists()

        haystack = [repr(session.get_decoded()) for session in Session.objects.all()]
        with connection.cursor() as cursor:
            for table in connection.introspection.table_names():
                cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - table names from introspection
                haystack.append(repr(cursor.fetchall()))
        haystack.append(caplog.text)
        text = "\n".join(haystack)
        for value in sentinels.values():
            assert value not in text
            assert hashlib.sha256(value.encode()).hexdigest() not in text

        back = client.post(slow["Location"], {"password": PASSWORD})
        assert back["Location"] == ACTIVATE_TOTP
        secret = client.get(ACTIVATE_TOTP).context["form"].secret
        assert client.post(ACTIVATE_TOTP, {"code": _code(secret)}).status_code == 302
    assert client.get(HOME).status_code == 200


def test_a_link_made_at_the_console_works_the_same(db: None) -> None:
    client = Client()
    assert client.post(_link(None, Role.COORDINATOR), _form()).status_code == 302
    assert Volunteer.objects.get().role == Role.COORDINATOR
    assert AuditEntry.objects.first().actor == "operator"  # type: ignore[union-attr]
