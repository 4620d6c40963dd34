"""What a review of the desk and network tools found, each pinned by a test:
offboarding leaves nothing working behind, a wrong paging code is counted,
drills stay among volunteers, and a broken stored wording cannot stop alerts."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from raidwatch.accounts import actions as accounts
from raidwatch.accounts.models import VolunteerInvitation
from raidwatch.alerts import outbox
from raidwatch.alerts.models import Alert, CapStatus, Delivery, Event
from raidwatch.alerts.tests.helpers import subscriber
from raidwatch.alerts.tests.test_dispatch_paging import fan_out_all, pager
from raidwatch.coordination.models import TemplateOverride
from raidwatch.incidents import actions as incident_actions
from raidwatch.incidents.models import Incident, Status
from raidwatch.incidents.tests.factories import report
from raidwatch.subscriptions.areas import resolve_area
from raidwatch.subscriptions.models import Subscription

pytestmark = pytest.mark.django_db

DRILLS = "/en/volunteer/network/drills/"


def _drill(client: Client) -> Incident:
    client.post(DRILLS, {"place": "E1", "kind": "raid"})
    return Incident.objects.filter(is_exercise=True).latest("pk")


def test_offboarding_stops_pages_and_withdraws_invitations(recording_channel, coordinator, responder) -> None:
    accounts.set_on_duty(responder, True)
    pager(responder, "leaver@example.org")
    issued = accounts.invite_volunteer("verifier", 24, coordinator)
    VolunteerInvitation.objects.filter(pk=issued.invitation.pk).update(created_by=responder.username)
    accounts.offboard(responder, coordinator)
    responder.refresh_from_db()
    assert not responder.on_duty
    assert not Subscription.objects.filter(volunteer=responder).exists()
    assert not VolunteerInvitation.objects.filter(
        created_by=responder.username, used_at__isnull=True
    ).exists()
    report(reporter="a")
    fan_out_all()
    outbox.send_due()
    assert recording_channel.sent == []


def test_wrong_paging_codes_are_counted_and_five_spend_the_code(responder) -> None:
    area = accounts.add_paging_area(
        responder,
        channel="email",
        area=resolve_area({"postcode": "E1"}),
        address="me@example.org",
        language="en",
    )
    code = DBTaskResult.objects.get(task_path__endswith="send_confirmation_code").args_kwargs["args"][1]
    wrong = "000000" if code != "000000" else "111111"
    for _attempt in range(5):
        with pytest.raises(Exception, match="not right"):
            accounts.confirm_paging_area(responder, area.pk, wrong)
    assert Subscription.objects.get(pk=area.pk).confirm_attempts == 5
    with pytest.raises(Exception, match="expired"):
        accounts.confirm_paging_area(responder, area.pk, code)


def test_a_drill_reaches_volunteers_only_and_never_a_public_page(
    recording_channel, coordinator_client, responder, verifier
) -> None:
    accounts.set_on_duty(responder, True)
    pager(responder, "responder@example.org")
    subscriber("neighbour@example.org")  # a member of the public, verified level
    subscriber("organiser@example.org", level="all")  # invited to unverified reports, not a volunteer
    incident = _drill(coordinator_client)
    incident_actions.confirm(incident.pk, verifier, place="East St market")
    fan_out_all()
    outbox.send_due()
    assert {address for address, _message in recording_channel.sent} == {"responder@example.org"}
    for alert in Alert.objects.filter(incident=incident):
        assert alert.status == CapStatus.EXERCISE
        assert Client().get(f"/a/{alert.pk}").status_code == 404
    # The drill used none of the hourly share a real alert needs.
    assert not Delivery.objects.filter(
        alert__incident=incident, subscription__volunteer__isnull=True
    ).exists()


def test_drills_and_real_incidents_never_mix_on_the_desk(coordinator_client, verifier) -> None:
    drill = _drill(coordinator_client)
    real = report("raid", lat=53.48, lon=-2.24).incident
    with pytest.raises(incident_actions.WrongState, match="never merged"):
        incident_actions.merge(real.pk, drill.pk, verifier)
    with pytest.raises(incident_actions.WrongState, match="never merged"):
        incident_actions.merge(drill.pk, real.pk, verifier)
    # A second report in the drill, moved out, is still practice.
    extra = drill.reports.get()
    extra.pk = None
    extra.client_id = None
    extra.save()
    drill.report_count = 2
    drill.save(update_fields=["report_count"])
    moved = incident_actions.move_report_out(extra.pk, verifier)
    assert moved.is_exercise
    assert Incident.objects.get(pk=real.pk).status == Status.UNVERIFIED


def test_a_broken_stored_wording_falls_back_to_the_shipped_text(recording_channel, verifier) -> None:
    # As if edited in the database, or left over from before an upgrade.
    TemplateOverride.objects.create(
        event=Event.CONFIRMED, language="en", text="CONFIRMED %(nowhere)s", updated_at=timezone.now()
    )
    subscriber("neighbour@example.org")
    incident = report().incident
    incident_actions.confirm(incident.pk, verifier, place="East St market")
    fan_out_all()
    outbox.send_due()
    [(address, message)] = recording_channel.sent
    assert address == "neighbour@example.org"
    assert message.text.startswith("CONFIRMED: ")
    assert "East St market" in message.text
