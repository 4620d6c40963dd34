"""My duty and areas: the on-duty switch and a volunteer's own paging areas (R5, R11)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import Client

from raidwatch.accounts import actions
from raidwatch.accounts.models import AuditEntry
from raidwatch.alerts.matching import match_subscriptions
from raidwatch.lib import geo
from raidwatch.subscriptions.areas import MATCH_RESOLUTION, resolve_area
from raidwatch.subscriptions.models import NamedArea, Subscription, SubscriptionStatus
from raidwatch.testing.volunteers import signed_in_client

pytestmark = pytest.mark.django_db

DUTY = "/en/volunteer/duty/"
ADD = "/en/volunteer/duty/areas"
ADDRESS = "pager-sentinel@example.org"


@pytest.fixture
def sent_codes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Codes the confirmation task would have sent, captured at the enqueue."""
    from raidwatch.alerts import tasks

    codes: list[str] = []

    class FakeTask:
        def enqueue(self, subscription_id: str, code: str, language: str) -> None:
            codes.append(code)

    monkeypatch.setattr(tasks, "send_confirmation_code", FakeTask())
    return codes


def area_form(**changes: str) -> dict[str, str]:
    data = {
        "channel": "ntfy",
        "address": "night-shift-e1",
        "area_kind": "place",
        "place": "E1",
        "named": "",
        "lat": "",
        "lon": "",
        "radius_km": "2",
        "language": "en",
    }
    return {**data, **changes}


def e1_cell() -> str:
    place = geo.resolve_place("E1")
    return geo.point_to_cell(place.lat, place.lon, MATCH_RESOLUTION)


def test_the_switch_turns_paging_on_and_off_and_is_audited(verifier: Any) -> None:
    client = signed_in_client(verifier)
    assert client.post(ADD, area_form()).status_code == 302
    cell = e1_cell()
    assert match_subscriptions([cell], ["all"]) == set()  # off duty: quiet

    on = client.post("/en/volunteer/duty/switch", {"on": "1"}, follow=True)
    assert "You are on duty" in on.content.decode()
    verifier.refresh_from_db()
    assert verifier.on_duty
    assert match_subscriptions([cell], ["all"]) == {str(Subscription.objects.get().pk)}

    client.post("/en/volunteer/duty/switch", {"on": "1"})  # already on: no second entry
    client.post("/en/volunteer/duty/switch", {"on": "0"})
    verifier.refresh_from_db()
    assert not verifier.on_duty
    assert list(
        AuditEntry.objects.filter(action__in=["volunteer.on_duty", "volunteer.off_duty"]).values_list(
            "actor", "action"
        )
    ) == [("verifier", "volunteer.on_duty"), ("verifier", "volunteer.off_duty")]


def test_a_bad_switch_value_changes_nothing(verifier: Any) -> None:
    response = signed_in_client(verifier).post("/en/volunteer/duty/switch", {"on": "maybe"}, follow=True)
    assert response.status_code == 200
    assert "Choose on duty or off duty." in response.content.decode()
    verifier.refresh_from_db()
    assert not verifier.on_duty


def test_an_area_is_listed_without_its_address_and_stored_sealed(
    responder: Any, sent_codes: list[str]
) -> None:
    client = signed_in_client(responder)
    added = client.post(ADD, area_form(channel="email", address=ADDRESS))
    assert added.status_code == 302
    subscription = Subscription.objects.get()
    assert (subscription.volunteer_id, subscription.level, subscription.area_label) == (
        responder.pk,
        "all",
        "E1",
    )
    page = client.get(DUTY).content.decode()
    assert "E1" in page
    assert "Email" in page
    assert "Waiting for confirmation" in page
    assert "pager-sentinel" not in page
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - table names from introspection
            assert "pager-sentinel" not in repr(cursor.fetchall())
    entry = AuditEntry.objects.get(action="volunteer.add_paging_area")
    # The audit log names the kind of area, not the area: it is often near home.
    assert entry.details == {"channel": "email", "area_kind": "postcode"}


def test_email_areas_are_confirmed_with_the_code_like_any_subscription(
    verifier: Any, sent_codes: list[str]
) -> None:
    client = signed_in_client(verifier)
    client.post(ADD, area_form(channel="email", address=ADDRESS))
    subscription = Subscription.objects.get()
    [code] = sent_codes
    url = f"/en/volunteer/duty/areas/{subscription.pk}/confirm"
    wrong = client.post(url, {"code": "000000" if code != "000000" else "111111"})
    assert wrong.status_code == 422
    assert "That code is not right" in wrong.content.decode()
    empty = client.post(url, {"code": ""})
    assert empty.status_code == 422
    right = client.post(url, {"code": code})
    assert right["Location"] == DUTY
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert AuditEntry.objects.filter(action="volunteer.confirm_paging_area").count() == 1


def test_areas_by_zip_named_area_and_point(verifier: Any) -> None:
    named_cells = sorted(resolve_area({"postcode": "M1"}).cells)
    NamedArea.objects.create(name="North depot", cells=named_cells)
    client = signed_in_client(verifier)
    assert "North depot" in client.get(DUTY).content.decode()
    assert client.post(ADD, area_form(place="10001", address="zip-topic")).status_code == 302
    assert (
        client.post(ADD, area_form(area_kind="named", named="North depot", address="named")).status_code
        == 302
    )
    point = area_form(area_kind="point", lat="51.5145", lon="-0.0708", radius_km="5", address="pt")
    assert client.post(ADD, point).status_code == 302
    labels = dict(Subscription.objects.values_list("area_kind", "area_label"))
    assert labels == {"zip": "10001", "named": "North depot", "radius": "5 km"}
    named = Subscription.objects.get(area_kind="named")
    assert sorted(named.cells.values_list("cell", flat=True)) == named_cells


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"place": "ZZ99"}, "place"),
        ({"place": ""}, "place"),
        ({"area_kind": "named", "named": ""}, "named"),
        ({"area_kind": "named", "named": "Nowhere"}, "named"),
        ({"area_kind": "point", "lat": "", "lon": ""}, "lat"),
        ({"area_kind": "point", "lat": "95", "lon": "0"}, "lat"),
        ({"area_kind": "point", "lat": "51.5", "lon": "-0.1", "radius_km": "500"}, "radius_km"),
        ({"channel": "webpush"}, "channel"),
        ({"channel": "pigeon"}, "channel"),
        ({"channel": "email", "address": "not an address"}, "address"),
        ({"address": ""}, "address"),
        ({"area_kind": "everywhere"}, "area_kind"),
    ],
)
def test_bad_input_is_shown_beside_its_field_and_adds_nothing(
    verifier: Any, changes: dict[str, str], field: str
) -> None:
    response = signed_in_client(verifier).post(ADD, area_form(**changes))
    assert response.status_code == 422
    assert field in response.context["form"].errors
    assert not Subscription.objects.exists()
    assert not AuditEntry.objects.exists()


def test_removing_an_area_deletes_it_and_only_ones_own(verifier: Any, responder: Any) -> None:
    mine, theirs = signed_in_client(verifier), signed_in_client(responder)
    mine.post(ADD, area_form())
    theirs.post(ADD, area_form(address="other-topic"))
    own = Subscription.objects.get(volunteer=verifier)
    other = Subscription.objects.get(volunteer=responder)
    assert mine.post(f"/en/volunteer/duty/areas/{other.pk}/remove").status_code == 404
    assert mine.post(f"/en/volunteer/duty/areas/{other.pk}/confirm", {"code": "123456"}).status_code == 404
    assert mine.post(f"/en/volunteer/duty/areas/{own.pk}/remove")["Location"] == "/en/volunteer/duty/"
    assert list(Subscription.objects.all()) == [other]
    assert AuditEntry.objects.filter(action="volunteer.remove_paging_area", actor="verifier").count() == 1


def test_the_area_actions_check_the_role_table_too(verifier: Any) -> None:
    verifier.is_active = False
    with pytest.raises(PermissionDenied, match="duty"):
        actions.set_on_duty(verifier, True)


def test_pages_only_take_posts_for_changes(verifier: Any) -> None:
    client = signed_in_client(verifier)
    assert client.get("/en/volunteer/duty/switch").status_code == 405
    assert client.get(ADD).status_code == 405
    assert client.post(DUTY).status_code == 405
    assert Client().post("/en/volunteer/duty/switch", {"on": "1"}).status_code == 302
