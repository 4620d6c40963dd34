"""Offboarding ends a volunteer's sessions and second factors at once; role changes are audited."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.test import Client

from raidwatch.accounts.actions import offboard, set_role
from raidwatch.accounts.audit import verify_chain
from raidwatch.accounts.models import AuditEntry, Role

pytestmark = pytest.mark.django_db

HOME = "/en/volunteer/"
LOGIN = "/en/volunteer/account/login/"
SECOND_STEP = "/en/volunteer/account/2fa/authenticate/"
SECRET = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def _code() -> str:
    return str(format_hotp_value(hotp_value(SECRET, int(time.time()) // 30)))


def _signed_in(volunteer: Any) -> Client:
    client = Client()
    client.post(LOGIN, {"login": volunteer.username, "password": f"{volunteer.username}-correct-horse"})
    client.post(SECOND_STEP, {"code": _code()})
    assert client.get(HOME).status_code == 200
    return client


@pytest.fixture
def enrolled(verifier: Any) -> Any:
    TOTP.activate(verifier, SECRET)
    RecoveryCodes.activate(verifier)
    return verifier


def test_offboarding_signs_the_volunteer_out_at_once(enrolled: Any, coordinator: Any) -> None:
    phone, laptop = _signed_in(enrolled), Client()
    # A second device half-way through signing in: password given, code not yet.
    laptop.post(LOGIN, {"login": "verifier", "password": "verifier-correct-horse"})
    bystander = Client()
    bystander.force_login(coordinator)
    assert Session.objects.count() == 3

    result = offboard(enrolled, by=coordinator)

    assert result.sessions_ended == 2
    assert result.authenticators_removed == 2
    assert phone.get(HOME)["Location"].startswith(LOGIN)
    assert laptop.post(SECOND_STEP, {"code": _code()}).status_code == 302
    assert laptop.get(HOME)["Location"].startswith(LOGIN)
    assert not Authenticator.objects.filter(user=enrolled).exists()
    enrolled.refresh_from_db()
    assert not enrolled.is_active
    assert not enrolled.has_usable_password()
    assert Session.objects.count() == 1  # the coordinator's own session is untouched


def test_an_offboarded_volunteer_cannot_sign_in_again(enrolled: Any, coordinator: Any) -> None:
    offboard(enrolled, by=coordinator)
    client = Client()
    response = client.post(LOGIN, {"login": "verifier", "password": "verifier-correct-horse"})
    assert response.status_code == 200  # the form again, with an error
    assert client.get(HOME)["Location"].startswith(LOGIN)


def test_offboarding_is_audited(enrolled: Any, coordinator: Any) -> None:
    offboard(enrolled, by=coordinator)
    entry = AuditEntry.objects.get(action="volunteer.offboard")
    assert entry.actor == "coordinator"
    assert entry.target_id == str(enrolled.pk)
    assert entry.details["authenticators_removed"] == 2
    assert verify_chain()[0]


def test_only_managers_may_offboard_or_change_roles(enrolled: Any, responder: Any) -> None:
    with pytest.raises(PermissionDenied):
        offboard(enrolled, by=responder)
    with pytest.raises(PermissionDenied):
        set_role(enrolled, Role.COORDINATOR, by=responder)
    enrolled.refresh_from_db()
    assert enrolled.is_active
    assert enrolled.role == Role.VERIFIER
    assert not AuditEntry.objects.exists()


def test_the_operator_may_offboard_from_the_console(enrolled: Any) -> None:
    offboard(enrolled, by=None)
    assert AuditEntry.objects.get(action="volunteer.offboard").actor == "operator"


def test_set_role_changes_and_audits_the_role(verifier: Any, coordinator: Any) -> None:
    set_role(verifier, Role.RESPONDER, by=coordinator)
    verifier.refresh_from_db()
    assert verifier.role == Role.RESPONDER
    entry = AuditEntry.objects.get(action="volunteer.set_role")
    assert (entry.actor, entry.details["previous"], entry.details["role"]) == (
        "coordinator",
        "verifier",
        "responder",
    )
    set_role(verifier, Role.RESPONDER, by=coordinator)  # no change, no entry
    assert AuditEntry.objects.filter(action="volunteer.set_role").count() == 1


def test_nobody_changes_their_own_role(coordinator: Any) -> None:
    with pytest.raises(PermissionDenied):
        set_role(coordinator, Role.RESPONDER, by=coordinator)
    with pytest.raises(ValueError, match="unknown role"):
        set_role(coordinator, "emperor", by=None)
