"""Volunteer invitations: one-time links that expire, one account per link (R10, R11)."""

from __future__ import annotations

import hashlib
import threading
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from raidwatch.accounts import actions
from raidwatch.accounts.audit import verify_chain
from raidwatch.accounts.models import AuditEntry, Role, Volunteer, VolunteerInvitation

pytestmark = pytest.mark.django_db

PASSWORD = "lantern-orchard-basalt-91"


def _database_dump() -> str:
    parts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - table names from introspection
            parts.append(repr(cursor.fetchall()))
    return "\n".join(parts)


def test_an_invitation_keeps_only_the_hash_of_its_token(coordinator: Any) -> None:
    issued = actions.invite_volunteer(Role.VERIFIER, 24, by=coordinator)
    stored = VolunteerInvitation.objects.get()
    assert stored.token_hash == hashlib.sha256(issued.token.encode()).hexdigest()
    assert issued.token not in _database_dump()
    assert stored.created_by == "coordinator"
    assert stored.expires_at - stored.created_at == timedelta(hours=24)
    assert actions.join_link(issued.token) == f"http://127.0.0.1:8000/en/join/{issued.token}"


def test_accepting_creates_the_volunteer_with_the_role_and_spends_the_link(coordinator: Any) -> None:
    issued = actions.invite_volunteer(Role.RESPONDER, 24, by=coordinator)
    volunteer = actions.accept_invitation(issued.token, "kestrel", PASSWORD)
    assert volunteer.role == Role.RESPONDER
    assert volunteer.check_password(PASSWORD)
    assert VolunteerInvitation.objects.get().used_at is not None
    invite, join = AuditEntry.objects.order_by("id")
    assert (invite.actor, invite.action, invite.details) == (
        "coordinator",
        "volunteer.invite",
        {"role": "responder", "hours": 24},
    )
    assert (join.actor, join.action, join.target_id) == ("kestrel", "volunteer.join", str(volunteer.pk))
    assert join.details["invited_by"] == "coordinator"
    assert verify_chain()[0]


def test_used_expired_unknown_and_revoked_links_all_get_one_message(coordinator: Any) -> None:
    used = actions.invite_volunteer(Role.VERIFIER, 1, by=coordinator)
    actions.accept_invitation(used.token, "first", PASSWORD)
    expired = actions.invite_volunteer(Role.VERIFIER, 1, by=coordinator)
    revoked = actions.invite_volunteer(Role.VERIFIER, 1, by=coordinator)
    assert actions.revoke_invitation(revoked.invitation.pk, by=coordinator)
    messages = set()
    with time_machine.travel(timezone.now() + timedelta(hours=1, seconds=1)):
        for token in (used.token, expired.token, revoked.token, "no-such-token", ""):
            with pytest.raises(actions.InvitationError) as refused:
                actions.accept_invitation(token, "second", PASSWORD)
            assert refused.value.field is None
            messages.add(refused.value.message)
    assert messages == {actions.invalid_invitation_message()}
    assert list(Volunteer.objects.values_list("username", flat=True)) == ["coordinator", "first"]


@pytest.mark.parametrize(
    ("username", "password", "field"),
    [
        ("kestrel", "short", "password"),
        ("kestrel", "password1234", "password"),  # a common password
        ("kestrel", "kestrel12345", "password"),  # too like the username
        ("", PASSWORD, "username"),
        ("Maria Lopez", PASSWORD, "username"),  # a space: a name, not a handle
        ("x" * 41, PASSWORD, "username"),
        ("COORDINATOR", PASSWORD, "username"),  # taken, whatever the case
        ("bad<script>", PASSWORD, "username"),
        ("\u0441oordinator2", PASSWORD, "username"),  # a Cyrillic first letter among Latin ones
    ],
)
def test_a_bad_username_or_password_changes_nothing(
    coordinator: Any, username: str, password: str, field: str
) -> None:
    issued = actions.invite_volunteer(Role.VERIFIER, 24, by=coordinator)
    with pytest.raises(actions.InvitationError) as refused:
        actions.accept_invitation(issued.token, username, password)
    assert refused.value.field == field
    assert refused.value.message
    assert Volunteer.objects.count() == 1
    assert VolunteerInvitation.objects.get().used_at is None  # still usable
    actions.accept_invitation(issued.token, "kestrel", PASSWORD)


def test_usernames_in_any_script_up_to_forty_characters_are_fine(coordinator: Any) -> None:
    for name in ("طائر", "x" * 40, "night.owl-7"):
        issued = actions.invite_volunteer(Role.VERIFIER, 24, by=coordinator)
        assert actions.accept_invitation(issued.token, name, PASSWORD).username == name


def test_the_database_refuses_the_same_username_in_another_case(coordinator: Any) -> None:
    # Behind the check in clean_username: two joins at once could both pass it.
    with pytest.raises(IntegrityError), transaction.atomic():
        Volunteer.objects.create_user("Coordinator", password="x", role=Role.VERIFIER)


def test_only_an_admin_invites_an_admin(coordinator: Any) -> None:
    with pytest.raises(PermissionDenied):
        actions.invite_volunteer(Role.ADMIN, 24, by=coordinator)
    admin = Volunteer.objects.create_user("admin", password="x", role=Role.ADMIN)
    actions.invite_volunteer(Role.ADMIN, 24, by=admin)
    actions.invite_volunteer(Role.ADMIN, 24, by=None)  # the operator at the console
    actions.invite_volunteer(Role.COORDINATOR, 24, by=coordinator)
    assert VolunteerInvitation.objects.count() == 3
    assert AuditEntry.objects.filter(action="volunteer.invite").count() == 3


def test_verifiers_and_responders_may_not_invite(verifier: Any, responder: Any) -> None:
    for volunteer in (verifier, responder):
        with pytest.raises(PermissionDenied):
            actions.invite_volunteer(Role.VERIFIER, 24, by=volunteer)
        with pytest.raises(PermissionDenied):
            actions.revoke_invitation(1, by=volunteer)
    assert not VolunteerInvitation.objects.exists()


@pytest.mark.parametrize("hours", [0, -1, 169])
def test_an_invitation_lasts_between_an_hour_and_a_week(coordinator: Any, hours: int) -> None:
    with pytest.raises(ValueError, match="hours"):
        actions.invite_volunteer(Role.VERIFIER, hours, by=coordinator)
    with pytest.raises(ValueError, match="role"):
        actions.invite_volunteer("superuser", 24, by=coordinator)
    assert not VolunteerInvitation.objects.exists()


def test_revoking_is_audited_and_a_used_invitation_cannot_be_revoked(coordinator: Any) -> None:
    issued = actions.invite_volunteer(Role.VERIFIER, 24, by=coordinator)
    actions.accept_invitation(issued.token, "kestrel", PASSWORD)
    assert not actions.revoke_invitation(issued.invitation.pk, by=coordinator)
    pending = actions.invite_volunteer(Role.VERIFIER, 24, by=coordinator)
    assert [i.pk for i in actions.pending_invitations()] == [pending.invitation.pk]
    assert actions.revoke_invitation(pending.invitation.pk, by=coordinator)
    assert actions.pending_invitations() == []
    assert AuditEntry.objects.filter(action="volunteer.revoke_invitation").count() == 1


@pytest.mark.dbsensitive
@pytest.mark.django_db(transaction=True)
def test_two_people_racing_with_one_link_yield_exactly_one_account(coordinator: Any) -> None:
    issued = actions.invite_volunteer(Role.VERIFIER, 24, by=coordinator)
    results: list[str] = []
    barrier = threading.Barrier(2)

    def accept(username: str) -> None:
        barrier.wait()
        try:
            actions.accept_invitation(issued.token, username, PASSWORD)
            results.append("joined")
        except actions.InvitationError as exc:
            results.append(exc.message)
        finally:
            connection.close()

    threads = [threading.Thread(target=accept, args=(name,)) for name in ("kestrel", "osprey")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == sorted(["joined", actions.invalid_invitation_message()])
    assert Volunteer.objects.exclude(username="coordinator").count() == 1
    assert AuditEntry.objects.filter(action="volunteer.join").count() == 1
    assert verify_chain()[0]


@pytest.mark.dbsensitive
@pytest.mark.django_db(transaction=True)
def test_two_links_racing_for_one_username_yield_one_account_and_leave_the_other_link_usable(
    coordinator: Any,
) -> None:
    first = actions.invite_volunteer(Role.VERIFIER, 24, by=coordinator)
    second = actions.invite_volunteer(Role.RESPONDER, 24, by=coordinator)
    results: list[str | None] = []
    barrier = threading.Barrier(2)

    def accept(token: str) -> None:
        barrier.wait()
        try:
            actions.accept_invitation(token, "kestrel", PASSWORD)
            results.append("joined")
        except actions.InvitationError as exc:
            results.append(exc.field)
        finally:
            connection.close()

    threads = [threading.Thread(target=accept, args=(issued.token,)) for issued in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results, key=str) == ["joined", "username"]
    assert Volunteer.objects.filter(username="kestrel").count() == 1
    # The loser's invitation was not spent: they can choose another name.
    assert VolunteerInvitation.objects.filter(used_at__isnull=True).count() == 1
