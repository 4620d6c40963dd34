"""The desk pages: the queue, an incident, and acting on it."""

from __future__ import annotations

import h3
import pytest
from django.test import Client

from raidwatch.incidents.models import Incident, Status
from raidwatch.incidents.tests.factories import report
from raidwatch.testing.volunteers import signed_in_client

pytestmark = pytest.mark.django_db


def test_outsiders_never_see_the_desk(responder) -> None:
    incident = report().incident
    for url in ("/en/volunteer/desk/", f"/en/volunteer/desk/{incident.pk}"):
        response = Client().get(url)
        assert response.status_code == 302
        assert "/volunteer/account/login" in response["Location"]
    # A password-only session is no volunteer session either.
    password_only = Client()
    password_only.force_login(responder)
    assert password_only.get("/en/volunteer/desk/").status_code == 302


def test_the_queue_lists_unverified_incidents_most_urgent_first(verifier) -> None:
    vans = report("van_sighting", lat=51.50, lon=-0.10).incident
    raid = report("raid", lat=51.60, lon=-0.20).incident
    page = signed_in_client(verifier).get("/en/volunteer/desk/")
    assert page.status_code == 200
    body = page.content.decode()
    assert body.index(f"#{raid.pk} ") < body.index(f"#{vans.pk} ")


def test_a_verifier_claims_and_confirms_and_the_incident_goes_public(verifier) -> None:
    incident = report(description="Two vans by the market").incident
    client = signed_in_client(verifier)
    page = client.get(f"/en/volunteer/desk/{incident.pk}")
    assert b"Two vans by the market" in page.content
    client.post(f"/en/volunteer/desk/{incident.pk}/claim")
    assert Incident.objects.get(pk=incident.pk).claimed_by == verifier
    done = client.post(f"/en/volunteer/desk/{incident.pk}/confirm", {"place": "East St market"})
    assert done.status_code == 302
    assert Incident.objects.get(pk=incident.pk).status == Status.CONFIRMED
    assert Client().get(f"/api/v1/incidents/{incident.pk}").json()["place"] == "East St market"


def test_a_home_address_as_place_text_is_refused_with_the_reason(verifier) -> None:
    incident = report().incident
    client = signed_in_client(verifier)
    client.post(f"/en/volunteer/desk/{incident.pk}/confirm", {"place": "12 Mile End Road"})
    assert Incident.objects.get(pk=incident.pk).status == Status.UNVERIFIED
    page = client.get(f"/en/volunteer/desk/{incident.pk}")
    assert b"never a home address" in page.content


def test_a_responder_may_look_but_not_confirm(responder) -> None:
    incident = report().incident
    client = signed_in_client(responder)
    assert client.get(f"/en/volunteer/desk/{incident.pk}").status_code == 200
    client.post(f"/en/volunteer/desk/{incident.pk}/confirm", {"place": "East St"})
    assert Incident.objects.get(pk=incident.pk).status == Status.UNVERIFIED
    client.post(f"/en/volunteer/desk/{incident.pk}/respond", {"state": "on_my_way"})
    assert incident.responses.get().state == "on_my_way"
    assert (
        client.post("/en/volunteer/desk/dismiss", {"incident": [incident.pk], "reason": "x"}).status_code
        == 403
    )


def test_bulk_dismiss_from_the_queue(verifier) -> None:
    incidents = [report(lat=51.5 + i / 10, lon=-0.1).incident for i in range(3)]
    client = signed_in_client(verifier)
    client.post(
        "/en/volunteer/desk/dismiss",
        {"incident": [i.pk for i in incidents[:2]], "reason": "prank flood", "status": "false_alarm"},
    )
    statuses = [Incident.objects.get(pk=i.pk).status for i in incidents]
    assert statuses == [Status.FALSE_ALARM, Status.FALSE_ALARM, Status.UNVERIFIED]


def test_unknown_verbs_and_incidents_are_not_found(verifier) -> None:
    client = signed_in_client(verifier)
    assert client.post("/en/volunteer/desk/999999/confirm").status_code == 302  # message: no such incident
    assert client.post(f"/en/volunteer/desk/{report().incident.pk}/explode").status_code == 404
    assert client.get("/en/volunteer/desk/999999").status_code == 404


def _two_rings_away(incident: Incident) -> tuple[float, float]:
    """A point two cells away: not clustered with ``incident``, but on its map."""
    lat, lon = h3.cell_to_latlng(sorted(h3.grid_ring(incident.cell, 2))[0])
    return float(lat), float(lon)


def test_a_duplicate_is_merged_from_its_page_and_its_old_address_leads_on(verifier) -> None:
    first = report("raid", reporter="a").incident
    lat, lon = _two_rings_away(first)
    duplicate = report("raid", lat=lat, lon=lon, reporter="b").incident
    assert duplicate.pk != first.pk
    client = signed_in_client(verifier)
    page = client.get(f"/en/volunteer/desk/{duplicate.pk}").content.decode()
    # The other incident is offered for merging and drawn on the map.
    assert f'<option value="{first.pk}">' in page
    assert f">#{first.pk}</text>" in page
    done = client.post(f"/en/volunteer/desk/{duplicate.pk}/merge", {"into": str(first.pk)})
    assert done["Location"] == f"/en/volunteer/desk/{first.pk}"
    merged = Incident.objects.get(pk=duplicate.pk)
    assert (merged.status, merged.merged_into_id) == (Status.MERGED, first.pk)
    assert Incident.objects.get(pk=first.pk).report_count == 2
    old_address = client.get(f"/en/volunteer/desk/{duplicate.pk}")
    assert old_address["Location"] == f"/en/volunteer/desk/{first.pk}"


def test_merging_without_a_target_or_into_itself_changes_nothing(verifier) -> None:
    incident = report().incident
    client = signed_in_client(verifier)
    client.post(f"/en/volunteer/desk/{incident.pk}/merge", {"into": ""})
    client.post(f"/en/volunteer/desk/{incident.pk}/merge", {"into": str(incident.pk)})
    assert Incident.objects.get(pk=incident.pk).status == Status.UNVERIFIED
    page = client.get(f"/en/volunteer/desk/{incident.pk}").content.decode()
    assert "Choose the incident this one is a duplicate of." in page
    assert "cannot be merged into itself" in page


def test_a_report_about_something_else_is_moved_out_from_the_desk(verifier, responder) -> None:
    incident = report(reporter="a").incident
    stray = report(reporter="b", description="A different van, going north")
    assert stray.incident.pk == incident.pk
    url = f"/en/volunteer/desk/{incident.pk}/reports/{stray.report.pk}/move-out"
    assert signed_in_client(responder).post(url).status_code == 403
    client = signed_in_client(verifier)
    assert "Not the same event: move out" in client.get(f"/en/volunteer/desk/{incident.pk}").content.decode()
    client.post(url)
    stray.report.refresh_from_db()
    assert stray.report.incident_id != incident.pk
    assert Incident.objects.get(pk=incident.pk).report_count == 1
    # The last report cannot be moved out of its own incident, and a report of
    # another incident is not found under this one.
    assert (
        client.post(f"/en/volunteer/desk/{incident.pk}/reports/{stray.report.pk}/move-out").status_code == 404
    )
    client.post(f"/en/volunteer/desk/{stray.report.incident_id}/reports/{stray.report.pk}/move-out")
    stray.report.refresh_from_db()
    assert Incident.objects.get(pk=stray.report.incident_id).report_count == 1


def test_an_exercise_is_labelled_on_the_desk(verifier) -> None:
    incident = report().incident
    Incident.objects.filter(pk=incident.pk).update(is_exercise=True)
    client = signed_in_client(verifier)
    assert "EXERCISE" in client.get("/en/volunteer/desk/").content.decode()
    assert "EXERCISE" in client.get(f"/en/volunteer/desk/{incident.pk}").content.decode()
