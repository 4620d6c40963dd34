"""The team page: volunteers, invitations, role changes and offboarding (R9, R10, R11)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from raidwatch.accounts import actions
from raidwatch.accounts.models import AuditEntry, Role, Volunteer, VolunteerInvitation
from raidwatch.testing.volunteers import signed_in_client

pytestmark = pytest.mark.django_db

TEAM = "/en/volunteer/team/"
INVITE = "/en/volunteer/team/invite"
REAUTHENTICATE = "/en/volunteer/account/reauthenticate/"


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def admin(db: None) -> Any:
    return Volunteer.objects.create_user("admin", password="admin-correct-horse", role=Role.ADMIN)


def role_url(volunteer: Any) -> str:
    return f"/en/volunteer/team/{volunteer.pk}/role"


def offboard_url(volunteer: Any) -> str:
    return f"/en/volunteer/team/{volunteer.pk}/offboard"


def fresh(volunteer: Any) -> Client:
    """Signed in with both factors and the password confirmed just now."""
    client = signed_in_client(volunteer)
    response = client.post(REAUTHENTICATE, {"password": f"{volunteer.username}-correct-horse"})
    assert response.status_code == 302
    return client


def test_the_list_shows_each_volunteer_and_no_contact(
    coordinator: Any, verifier: Any, responder: Any
) -> None:
    TOTP.activate(verifier, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    actions.set_on_duty(responder, True)
    page = signed_in_client(coordinator).get(TEAM)
    assert page.status_code == 200
    rows = {row["volunteer"].username: row for row in page.context["rows"]}
    assert set(rows) == {"coordinator", "verifier", "responder"}
    assert rows["verifier"]["volunteer"].has_factor
    assert not rows["responder"]["volunteer"].has_factor
    assert rows["responder"]["volunteer"].on_duty
    assert not rows["coordinator"]["manageable"]  # oneself
    assert rows["verifier"]["manageable"]
    html = page.content.decode()
    assert "Change role" in html
    assert "Offboard" in html


def test_an_invitation_link_is_shown_once_and_only_its_hash_is_kept(coordinator: Any) -> None:
    client = fresh(coordinator)
    response = client.post(INVITE, {"role": "responder", "hours": "48"})
    assert response.status_code == 201
    link = response.context["link"]
    assert re.fullmatch(r"http://127\.0\.0\.1:8000/en/join/[A-Za-z0-9_-]{43}", link)
    assert link in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    token = link.rsplit("/", 1)[1]
    # Nowhere on the server but in the response: not in a session, a message or the database.
    assert not any(token in repr(session.get_decoded()) for session in Session.objects.all())
    assert token not in repr(list(VolunteerInvitation.objects.values()))
    later = client.get(TEAM)
    assert token not in later.content.decode()
    [pending] = later.context["invitations"]
    assert pending.role == Role.RESPONDER
    assert "invited by coordinator" in later.content.decode()


@pytest.mark.parametrize("hours", ["0", "169", "soon", ""])
def test_a_bad_expiry_is_refused_beside_its_field(coordinator: Any, hours: str) -> None:
    response = fresh(coordinator).post(INVITE, {"role": "verifier", "hours": hours})
    assert response.status_code == 422
    assert "hours" in response.context["form"].errors
    assert not VolunteerInvitation.objects.exists()


def test_a_coordinator_cannot_invite_an_admin_and_is_not_offered_it(coordinator: Any, admin: Any) -> None:
    client = fresh(coordinator)
    page = client.get(TEAM).content.decode()
    assert 'value="admin"' not in page
    refused = client.post(INVITE, {"role": "admin", "hours": "24"})
    assert refused.status_code == 422
    assert refused.context["form"].errors["role"] == ["Only an admin can make someone an admin."]
    assert not VolunteerInvitation.objects.exists()
    assert fresh(admin).post(INVITE, {"role": "admin", "hours": "24"}).status_code == 201


def test_inviting_needs_a_fresh_sign_in_and_comes_back_to_the_team_page(coordinator: Any) -> None:
    client = signed_in_client(coordinator)
    response = client.post(INVITE, {"role": "coordinator", "hours": "168"})
    assert response.status_code == 302
    assert response["Location"].startswith(REAUTHENTICATE)
    assert not VolunteerInvitation.objects.exists()
    # Signing in again comes back here by GET, which leads to the team page
    # to submit once more: the first POST is never replayed.
    back = client.post(response["Location"], {"password": "coordinator-correct-horse"})
    assert back["Location"] == INVITE
    assert client.get(INVITE)["Location"] == TEAM
    assert not VolunteerInvitation.objects.exists()


def test_revoking_stops_the_link(coordinator: Any) -> None:
    client = fresh(coordinator)
    link = client.post(INVITE, {"role": "verifier", "hours": "24"}).context["link"]
    path = link.removeprefix("http://127.0.0.1:8000")
    invitation = VolunteerInvitation.objects.get()
    response = client.post(f"/en/volunteer/team/invitations/{invitation.pk}/revoke")
    assert response.status_code == 302
    assert Client().get(path).status_code == 404
    again = client.post(f"/en/volunteer/team/invitations/{invitation.pk}/revoke", follow=True)
    assert "already used, revoked or expired" in again.content.decode()
    assert AuditEntry.objects.filter(action="volunteer.revoke_invitation").count() == 1


def test_a_role_change_asks_for_the_password_first_and_then_confirms(coordinator: Any, verifier: Any) -> None:
    client = signed_in_client(coordinator)
    # Not confirmed recently: a POST changes nothing and leads to the password,
    # then back to the confirmation page (by GET), never resuming the POST.
    posted = client.post(role_url(verifier), {"role": "responder"})
    assert posted.status_code == 302
    assert posted["Location"] == f"{REAUTHENTICATE}?next=%2Fen%2Fvolunteer%2Fteam%2F{verifier.pk}%2Frole"
    verifier.refresh_from_db()
    assert verifier.role == Role.VERIFIER
    back = client.post(posted["Location"], {"password": "coordinator-correct-horse"})
    assert back["Location"] == role_url(verifier)
    confirm = client.get(role_url(verifier))
    assert confirm.status_code == 200
    assert "Change the role of verifier" in confirm.content.decode()
    done = client.post(role_url(verifier), {"role": "responder"})
    assert done["Location"] == TEAM
    verifier.refresh_from_db()
    assert verifier.role == Role.RESPONDER
    entry = AuditEntry.objects.get(action="volunteer.set_role")
    assert (entry.actor, entry.details["previous"], entry.details["role"]) == (
        "coordinator",
        "verifier",
        "responder",
    )


def test_the_fresh_sign_in_lasts_five_minutes(coordinator: Any, verifier: Any) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        client = fresh(coordinator)
        traveller.shift(timedelta(minutes=4))
        assert client.get(role_url(verifier)).status_code == 200
        traveller.shift(timedelta(minutes=2))
        assert client.get(role_url(verifier))["Location"].startswith(REAUTHENTICATE)


def test_a_bad_role_is_a_form_error(coordinator: Any, verifier: Any) -> None:
    response = fresh(coordinator).post(role_url(verifier), {"role": "overlord"})
    assert response.status_code == 422
    verifier.refresh_from_db()
    assert verifier.role == Role.VERIFIER


def test_a_coordinator_cannot_make_an_admin_nor_touch_one(
    coordinator: Any, verifier: Any, admin: Any
) -> None:
    client = fresh(coordinator)
    assert 'value="admin"' not in client.get(role_url(verifier)).content.decode()
    promoted = client.post(role_url(verifier), {"role": "admin"})
    assert promoted.status_code == 403
    assert "Only an admin can make someone an admin." in promoted.content.decode()
    assert client.get(role_url(admin)).status_code == 403
    assert client.post(role_url(admin), {"role": "responder"}).status_code == 403
    assert client.post(offboard_url(admin)).status_code == 403
    admin.refresh_from_db()
    verifier.refresh_from_db()
    assert (admin.role, admin.is_active, verifier.role) == (Role.ADMIN, True, Role.VERIFIER)
    assert not AuditEntry.objects.filter(action__in=["volunteer.set_role", "volunteer.offboard"]).exists()


def test_an_admin_may_make_an_admin(admin: Any, coordinator: Any) -> None:
    assert fresh(admin).post(role_url(coordinator), {"role": "admin"}).status_code == 302
    coordinator.refresh_from_db()
    assert coordinator.role == Role.ADMIN


def test_nobody_changes_their_own_role_or_offboards_themselves(coordinator: Any, admin: Any) -> None:
    for volunteer in (coordinator, admin):
        client = fresh(volunteer)
        assert client.post(role_url(volunteer), {"role": "responder"}).status_code == 403
        assert client.post(offboard_url(volunteer)).status_code == 403
        volunteer.refresh_from_db()
        assert volunteer.is_active
    assert (coordinator.role, admin.role) == (Role.COORDINATOR, Role.ADMIN)


def test_offboarding_from_the_page(coordinator: Any, verifier: Any) -> None:
    victim = signed_in_client(verifier)
    client = fresh(coordinator)
    confirm = client.get(offboard_url(verifier))
    assert confirm.status_code == 200
    assert "Offboard verifier?" in confirm.content.decode()
    done = client.post(offboard_url(verifier), follow=True)
    assert "verifier was offboarded: 1 sessions ended" in done.content.decode()
    verifier.refresh_from_db()
    assert not verifier.is_active
    assert victim.get("/en/volunteer/")["Location"].startswith("/en/volunteer/account/login/")
    # Offboarded volunteers stay listed, without buttons.
    rows = {row["volunteer"].username: row for row in client.get(TEAM).context["rows"]}
    assert not rows["verifier"]["manageable"]
    assert client.get(offboard_url(verifier)).status_code == 403


def test_an_unknown_volunteer_is_not_found(coordinator: Any) -> None:
    client = fresh(coordinator)
    assert client.get("/en/volunteer/team/999999/role").status_code == 404
    assert client.post("/en/volunteer/team/999999/offboard").status_code == 404
    assert client.post("/en/volunteer/team/invitations/999999/revoke").status_code == 302
