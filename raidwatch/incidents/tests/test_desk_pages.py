"""The desk pages: the queue, an incident, and acting on it."""

from __future__ import annotations

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
