from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from raidwatch.accounts.models import AuditEntry
from raidwatch.incidents import actions
from raidwatch.incidents.tests.factories import report

pytestmark = [pytest.mark.django_db, pytest.mark.dbsensitive]


def verify(*args: str) -> str:
    out = StringIO()
    call_command("audit", "verify", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def logged(verifier) -> str:
    incident = report().incident
    actions.confirm(incident.pk, verifier)
    actions.end(incident.pk, verifier)
    return verify().rsplit("Head: ", 1)[1].strip()


def test_an_untouched_log_verifies_and_prints_its_head(logged: str) -> None:
    assert logged == AuditEntry.objects.order_by("-id").values_list("entry_hash", flat=True)[0]
    assert "2 entries" in verify("--head", logged)


def test_an_edited_entry_is_named(logged: str) -> None:
    first = AuditEntry.objects.order_by("id").first()
    assert first is not None
    AuditEntry.objects.filter(pk=first.pk).update(details={"place": "elsewhere"})
    with pytest.raises(CommandError, match=f"entry {first.pk} "):
        verify()


def test_a_deleted_entry_in_the_middle_breaks_the_chain(logged: str, verifier) -> None:
    actions.confirm(report(lat=40.75, lon=-73.99).incident.pk, verifier)
    middle = AuditEntry.objects.order_by("id")[1]
    middle.delete()
    with pytest.raises(CommandError, match="altered"):
        verify()


def test_rows_cut_off_the_end_are_caught_against_an_earlier_head(logged: str) -> None:
    AuditEntry.objects.order_by("-id").first().delete()  # type: ignore[union-attr]
    assert "1 entries" in verify()  # the rest still chains: only the head shows the cut
    with pytest.raises(CommandError, match="no longer in the audit log"):
        verify("--head", logged)


def test_redacting_movements_keeps_the_chain_verifiable(verifier, responder) -> None:
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from raidwatch.accounts.audit import redact_movements

    incident = report().incident
    actions.respond(incident.pk, responder, "on_my_way")
    actions.respond(incident.pk, responder, "arrived")
    head_before = verify().rsplit("Head: ", 1)[1].strip()
    assert redact_movements(timedelta(days=30)) == 0  # too recent
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        assert redact_movements(timedelta(days=30)) == 2
    moves = AuditEntry.objects.filter(action="incident.respond")
    assert all(entry.details == {} and entry.redacted_at for entry in moves)
    assert verify("--head", head_before).rsplit("Head: ", 1)[1].strip() == head_before
    # Editing the details of an entry that was not redacted is still caught.
    kept = AuditEntry.objects.filter(action="incident.confirm").first()
    if kept is None:
        actions.confirm(incident.pk, verifier)
        kept = AuditEntry.objects.get(action="incident.confirm")
    AuditEntry.objects.filter(pk=kept.pk).update(details={"place": "forged"})
    with pytest.raises(CommandError, match="altered"):
        verify()


def test_dressing_up_a_verdict_as_a_redacted_movement_is_caught(verifier) -> None:
    from django.utils import timezone

    actions.false_alarm(report().incident.pk, verifier, reason="police, not immigration")
    verdict = AuditEntry.objects.get(action="incident.false_alarm")
    AuditEntry.objects.filter(pk=verdict.pk).update(details={}, redacted_at=timezone.now())
    with pytest.raises(CommandError, match=f"entry {verdict.pk} "):
        verify()
