"""`raidwatch invite`: subscriber codes unchanged, volunteer links with --role."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from raidwatch.accounts.models import AuditEntry, Role, Volunteer, VolunteerInvitation
from raidwatch.subscriptions.models import Invite

pytestmark = pytest.mark.django_db


def invite(*args: str) -> str:
    out = StringIO()
    call_command("invite", *args, stdout=out, stderr=StringIO())
    return out.getvalue().strip()


def test_role_prints_a_one_time_link_at_the_configured_address(settings) -> None:
    settings.RAIDWATCH_BASE_URL = "https://alerts.example.org"
    link = invite("--role", "responder", "--expires", "12")
    assert link.startswith("https://alerts.example.org/en/join/")
    invitation = VolunteerInvitation.objects.get()
    assert (invitation.role, invitation.created_by) == (Role.RESPONDER, "operator")
    assert (invitation.expires_at - invitation.created_at).total_seconds() == 12 * 3600
    assert not Invite.objects.exists()
    assert AuditEntry.objects.get().action == "volunteer.invite"

    path = link.removeprefix("https://alerts.example.org")
    client = Client()
    form = {"username": "heron", "password": "lantern-orchard-basalt-91"}
    assert client.post(path, {**form, "password_again": form["password"]}).status_code == 302
    assert Volunteer.objects.get(username="heron").role == Role.RESPONDER
    assert Client().get(path).status_code == 404  # one time only


def test_without_role_it_still_prints_a_code_for_the_all_level() -> None:
    code = invite()
    assert "/" not in code
    assert Invite.objects.get().level == "all"
    invite("--level", "all", "--expires", "720")
    assert Invite.objects.count() == 2
    assert not VolunteerInvitation.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--role", "superuser"), "--role must be one of: admin, coordinator, verifier, responder"),
        (("--role", ""), "--role must be one of"),
        (("--role", "verifier", "--expires", "0"), "between 1 and 168 hours"),
        (("--role", "verifier", "--expires", "169"), "between 1 and 168 hours"),
        (("--role", "verifier", "--level", "all"), "give one"),
        (("--expires", "0"), "between 1 and 720 hours"),
        (("--expires", "721"), "between 1 and 720 hours"),
    ],
)
def test_bad_arguments_are_refused_clearly_and_create_nothing(args: tuple[str, ...], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        invite(*args)
    assert not VolunteerInvitation.objects.exists()
    assert not Invite.objects.exists()
