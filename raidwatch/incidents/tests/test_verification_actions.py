from __future__ import annotations

import threading

import pytest
from django.db import connection

from raidwatch.accounts.audit import verify_chain
from raidwatch.accounts.models import AuditEntry
from raidwatch.incidents import actions
from raidwatch.incidents.models import Event, Incident, Status
from raidwatch.incidents.tests.factories import report

pytestmark = [pytest.mark.django_db, pytest.mark.dbsensitive]


def test_confirm_makes_the_incident_public_with_the_verifiers_place(verifier) -> None:
    incident = report().incident
    confirmed = actions.confirm(incident.pk, verifier, place="East St market")
    assert confirmed.status == Status.CONFIRMED
    assert confirmed.place == "East St market"
    event = Event.objects.filter(type="incident.confirm").get()
    assert event.public
    assert event.payload["place"] == "East St market"
    entry = AuditEntry.objects.get(action="incident.confirm")
    assert (entry.actor, entry.target_id, entry.details) == (
        "verifier",
        str(incident.pk),
        {"place": "East St market"},
    )


def test_the_whole_lifecycle_keeps_a_verifiable_audit_chain(verifier, coordinator) -> None:
    first = report().incident
    second = report(lat=40.7506, lon=-73.9972).incident
    actions.confirm(first.pk, verifier)
    actions.end(first.pk, verifier)
    actions.retract(first.pk, coordinator, reason="Was a film shoot")
    actions.false_alarm(second.pk, verifier, reason="Police, not immigration")
    assert list(Incident.objects.order_by("pk").values_list("status", flat=True)) == [
        "retracted",
        "false_alarm",
    ]
    ok, bad, head = verify_chain()
    assert ok
    assert bad is None
    assert len(head) == 64
    assert AuditEntry.objects.count() == 4


def test_editing_an_audit_row_breaks_the_chain_at_that_row(verifier) -> None:
    incident = report().incident
    actions.confirm(incident.pk, verifier)
    actions.end(incident.pk, verifier)
    tampered = AuditEntry.objects.order_by("id").first()
    assert tampered is not None
    AuditEntry.objects.filter(pk=tampered.pk).update(actor="someone-else")
    ok, bad, _ = verify_chain()
    assert not ok
    assert bad is not None
    assert bad.pk == tampered.pk


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (Status.CONFIRMED, "confirm"),
        (Status.ENDED, "end"),
        (Status.UNVERIFIED, "end"),
        (Status.UNVERIFIED, "retract"),
        (Status.CONFIRMED, "false_alarm"),
        (Status.EXPIRED, "confirm"),
    ],
)
def test_an_action_in_the_wrong_state_changes_nothing(verifier, status: str, action: str) -> None:
    incident = report().incident
    Incident.objects.filter(pk=incident.pk).update(status=status)
    with pytest.raises(actions.WrongState):
        getattr(actions, action)(incident.pk, verifier)
    assert Incident.objects.get(pk=incident.pk).status == status
    assert AuditEntry.objects.count() == 0


def test_a_responder_may_not_confirm(responder) -> None:
    incident = report().incident
    with pytest.raises(actions.NotAllowed):
        actions.confirm(incident.pk, responder)
    assert Incident.objects.get(pk=incident.pk).status == Status.UNVERIFIED


def test_an_inactive_volunteer_may_not_act(verifier) -> None:
    verifier.is_active = False
    verifier.save(update_fields=["is_active"])
    incident = report().incident
    with pytest.raises(actions.NotAllowed):
        actions.confirm(incident.pk, verifier)


def test_acting_on_a_missing_incident_says_so(verifier) -> None:
    with pytest.raises(actions.IncidentNotFound):
        actions.confirm(999_999, verifier)


@pytest.mark.dbsensitive
@pytest.mark.django_db(transaction=True)
def test_two_verifiers_racing_exactly_one_wins(verifier, coordinator) -> None:
    incident = report().incident
    results: list[str] = []
    barrier = threading.Barrier(2)

    def act(volunteer, verb):
        barrier.wait()
        try:
            getattr(actions, verb)(incident.pk, volunteer)
            results.append("won")
        except actions.WrongState:
            results.append("lost")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=act, args=(verifier, "confirm")),
        threading.Thread(target=act, args=(coordinator, "false_alarm")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["lost", "won"]
    assert AuditEntry.objects.count() == 1
    assert verify_chain()[0]
