from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django_tasks_db.models import DBTaskResult

from raidwatch.lib import crypto
from raidwatch.subscriptions.areas import resolve_area
from raidwatch.subscriptions.models import Invite, NamedArea, Subscription, SubscriptionCell

pytestmark = [pytest.mark.django_db, pytest.mark.dbsensitive]


def post(client: Client, url: str, body: object, **headers: str):
    return client.post(url, data=json.dumps(body), content_type="application/json", headers=headers)


def subscribe(client: Client, **fields: object):
    body = {"channel": "ntfy", "area": {"postcode": "E1"}, "address": "raidwatch-e1-test", **fields}
    return post(client, "/api/v1/subscriptions", body)


def test_an_ntfy_subscription_is_active_at_once_and_stores_only_cells_and_ciphertext(client: Client) -> None:
    response = subscribe(client, area={"lat": 51.5155, "lon": -0.0723, "radius_km": 2})
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "active"
    subscription = Subscription.objects.get(pk=body["id"])
    assert subscription.area_label == "2 km"
    assert b"raidwatch-e1-test" not in bytes(subscription.contact_sealed)
    assert crypto.open_contact(bytes(subscription.contact_sealed)) == {"address": "raidwatch-e1-test"}
    cells = list(SubscriptionCell.objects.filter(subscription=subscription).values_list("cell", flat=True))
    assert cells
    assert "51.5155" not in json.dumps(list(Subscription.objects.values()), default=str)


def test_a_named_area_is_copied_into_the_subscription_by_name(client: Client) -> None:
    cells = sorted(resolve_area({"postcode": "E1"}).cells)
    NamedArea.objects.create(name="Whitechapel", cells=cells)
    response = subscribe(client, area={"named": "Whitechapel"})
    assert response.status_code == 201
    subscription = Subscription.objects.get(pk=response.json()["id"])
    assert (subscription.area_kind, subscription.area_label) == ("named", "Whitechapel")
    stored = SubscriptionCell.objects.filter(subscription=subscription).values_list("cell", flat=True)
    assert sorted(stored) == cells
    # Editing the named area later leaves existing subscriptions where they were.
    NamedArea.objects.filter(name="Whitechapel").update(cells=[])
    assert SubscriptionCell.objects.filter(subscription=subscription).count() == len(cells)
    missing = subscribe(client, area={"named": "Whitechapel"})
    assert missing.status_code == 422
    assert missing.json()["error"] == {
        "code": "unknown_place",
        "message": "There is no area of that name.",
        "field": "area.named",
    }


def test_an_email_subscription_waits_for_its_code(client: Client, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = post(
            client,
            "/api/v1/subscriptions",
            {"channel": "email", "area": {"zip": "10001"}, "address": "me@example.org", "language": "en"},
        )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "pending_confirmation"
    # The code travels to the sending worker through the durable queue.
    queued = DBTaskResult.objects.get(task_path__endswith="send_confirmation_code")
    subscription_id, code, language = queued.args_kwargs["args"]
    assert (subscription_id, language) == (body["id"], "en")
    wrong = post(client, f"/api/v1/subscriptions/{body['id']}/confirm", {"code": "000000"})
    assert wrong.status_code == 422
    assert wrong.json()["error"]["code"] == "wrong_code"
    right = post(client, f"/api/v1/subscriptions/{body['id']}/confirm", {"code": code})
    assert right.json() == {"id": body["id"], "status": "active"}


def test_five_wrong_codes_spend_the_code_even_for_the_right_one(client: Client) -> None:
    body = post(
        client,
        "/api/v1/subscriptions",
        {"channel": "email", "area": {"zip": "10001"}, "address": "me@example.org", "language": "en"},
    ).json()
    queued = DBTaskResult.objects.get(task_path__endswith="send_confirmation_code")
    code = queued.args_kwargs["args"][1]
    wrong = "000000" if code != "000000" else "111111"
    for _attempt in range(5):
        answer = post(client, f"/api/v1/subscriptions/{body['id']}/confirm", {"code": wrong})
        assert answer.json()["error"]["code"] == "wrong_code"
    # Each wrong guess was counted and kept, although the request failed.
    assert Subscription.objects.get(pk=body["id"]).confirm_attempts == 5
    late = post(client, f"/api/v1/subscriptions/{body['id']}/confirm", {"code": code})
    assert late.status_code == 422
    assert late.json()["error"]["code"] == "code_expired"
    assert Subscription.objects.get(pk=body["id"]).status == "pending_confirmation"


def test_delete_with_the_manage_token_removes_the_sealed_contact(client: Client) -> None:
    body = subscribe(client).json()
    assert client.delete(f"/api/v1/subscriptions/{body['id']}").status_code == 404
    other = subscribe(client, address="someone-else").json()
    refused = client.delete(
        f"/api/v1/subscriptions/{body['id']}", headers={"Authorization": f"Bearer {other['manage_token']}"}
    )
    assert refused.status_code == 404
    gone = client.delete(
        f"/api/v1/subscriptions/{body['id']}", headers={"Authorization": f"Bearer {body['manage_token']}"}
    )
    assert gone.status_code == 204
    assert not Subscription.objects.filter(pk=body["id"]).exists()
    assert not SubscriptionCell.objects.filter(subscription_id=body["id"]).exists()


def test_the_all_level_needs_a_one_time_invite(client: Client) -> None:
    refused = subscribe(client, level="all")
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "invite"
    out = StringIO()
    call_command("invite", stdout=out, stderr=StringIO())
    code = out.getvalue().strip()
    assert subscribe(client, level="all", invite=code).status_code == 201
    again = subscribe(client, level="all", invite=code, address="another-topic")
    assert again.json()["error"]["code"] == "invalid_invite"
    assert Invite.objects.get().used_at is not None
    assert code not in json.dumps(list(Invite.objects.values()), default=str)


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        (
            {"channel": "pigeon", "area": {"postcode": "E1"}, "address": "x"},
            422,
            "unknown_channel",
            "channel",
        ),
        (
            {"channel": "ntfy", "area": {"postcode": "ZZ9"}, "address": "x"},
            422,
            "unknown_place",
            "area.postcode",
        ),
        (
            {"channel": "ntfy", "area": {"postcode": "10001"}, "address": "x"},
            422,
            "unknown_place",
            "area.postcode",
        ),
        (
            {"channel": "ntfy", "area": {"lat": 51.5, "lon": 0, "radius_km": 500}},
            422,
            "out_of_range",
            "area.radius_km",
        ),
        (
            {"channel": "ntfy", "area": {"lat": 95, "lon": 0, "radius_km": 1}, "address": "x"},
            422,
            "out_of_range",
            "area",
        ),
        ({"channel": "ntfy", "area": "E1", "address": "x"}, 422, "invalid_area", "area"),
        ({"channel": "ntfy", "area": {"postcode": "E1"}}, 422, "invalid_address", "address"),
        (
            {"channel": "ntfy", "area": {"postcode": "E1"}, "address": "not a topic!"},
            422,
            "invalid_address",
            "address",
        ),
        ({"channel": "webpush", "area": {"postcode": "E1"}}, 422, "invalid_address", "endpoint"),
        (
            {"channel": "ntfy", "area": {"postcode": "E1"}, "address": "x", "level": "some"},
            422,
            "unknown_level",
            "level",
        ),
        (
            {"channel": "ntfy", "area": {"postcode": "E1"}, "address": "x", "language": "xx"},
            422,
            "unknown_language",
            "language",
        ),
    ],
)
def test_bad_subscriptions_get_a_contract_error_and_store_nothing(
    client: Client, body: dict[str, object], status: int, code: str, field: str
) -> None:
    response = post(client, "/api/v1/subscriptions", body)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["field"] == field
    assert Subscription.objects.count() == 0


def test_malformed_json_is_a_400(client: Client) -> None:
    response = client.post("/api/v1/subscriptions", data=b"{nope", content_type="application/json")
    assert response.status_code == 400
