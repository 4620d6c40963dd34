"""Subscribing, confirming, managing and leaving through the pages, and the pages alerts link to."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.test import Client

from raidwatch.alerts.models import Alert, CapStatus, Delivery, Event, Scope
from raidwatch.alerts.outbox import _unsubscribe_url
from raidwatch.incidents import actions as incident_actions
from raidwatch.incidents.tests.factories import report
from raidwatch.subscriptions import actions
from raidwatch.subscriptions.areas import resolve_area
from raidwatch.subscriptions.models import Subscription, SubscriptionCell, SubscriptionStatus

pytestmark = pytest.mark.django_db

ADDRESS = "someone@example.org"


def form(**changes: str) -> dict[str, str]:
    data = {
        "channel": "email",
        "address": ADDRESS,
        "place": "E1",
        "radius_km": "2",
        "language": "en",
        "level": "verified",
        "invite": "",
    }
    return {**data, **changes}


@pytest.fixture
def sent_codes(monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any) -> list[str]:
    """Codes the confirmation task would have sent, captured at the enqueue."""
    from raidwatch.alerts import tasks

    codes: list[str] = []

    class FakeTask:
        def enqueue(self, subscription_id: str, code: str, language: str) -> None:
            codes.append(code)

    monkeypatch.setattr(tasks, "send_confirmation_code", FakeTask())
    return codes


def subscribe_by_email(client: Client, capture: Any) -> tuple[Subscription, str]:
    with capture(execute=True):
        response = client.post("/en/subscribe", form())
    assert response.status_code == 302
    match = re.fullmatch(r"/en/subscribe/confirm/([^/]+)", response["Location"])
    assert match, response["Location"]
    return Subscription.objects.get(), match[1]


def active_subscription(
    channel: str = "ntfy", address: str = "raidwatch-e1-test"
) -> tuple[Subscription, str]:
    subscribed = actions.subscribe(
        channel=channel,
        area=resolve_area({"postcode": "E1"}),
        language="en",
        level="verified",
        contact={"address": address},
    )
    assert subscribed.subscription.status == SubscriptionStatus.ACTIVE
    return subscribed.subscription, subscribed.manage_token


def test_the_page_offers_every_channel_and_push_only_to_the_script(client: Client) -> None:
    page = client.get("/en/subscribe")

    assert page.status_code == 200
    html = page.content.decode()
    for channel in ("email", "sms", "telegram", "signal", "ntfy", "matrix"):
        assert f'value="{channel}"' in html
    # Without JavaScript there is no way to get a push subscription, so it starts hidden.
    assert re.search(r'<label class="choice"\s+id="channel-webpush-choice"\s+hidden>', html)
    assert re.search(r'<script src="/static/js/subscribe\.js"\s+nonce="[^"]+"', html)


def test_subscribing_by_email_with_a_postcode_district_waits_for_a_code(
    client: Client, sent_codes: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    subscription, token = subscribe_by_email(client, django_capture_on_commit_callbacks)

    assert subscription.status == SubscriptionStatus.PENDING
    assert (subscription.channel, subscription.area_label, subscription.language) == ("email", "E1", "en")
    assert SubscriptionCell.objects.filter(subscription=subscription).exists()
    assert len(sent_codes) == 1
    assert re.fullmatch(r"[0-9]{6}", sent_codes[0])
    page = client.get(f"/en/subscribe/confirm/{token}")
    assert page.status_code == 200
    assert b"6-digit code" in page.content


def test_a_wrong_code_is_explained_beside_the_code_field(
    client: Client, sent_codes: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    subscription, token = subscribe_by_email(client, django_capture_on_commit_callbacks)
    wrong = f"{(int(sent_codes[0]) + 1) % 1_000_000:06d}"

    response = client.post(f"/en/subscribe/confirm/{token}", {"code": wrong})

    assert response.status_code == 422
    assert "code" in response.context["form"].errors
    assert b'id="code-error"' in response.content
    assert b"That code is not right" in response.content
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.PENDING


def test_the_right_code_turns_the_alerts_on(
    client: Client, sent_codes: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    subscription, token = subscribe_by_email(client, django_capture_on_commit_callbacks)

    response = client.post(f"/en/subscribe/confirm/{token}", {"code": sent_codes[0]})

    assert response.status_code == 302
    assert response["Location"] == f"/en/subscriptions/manage/{token}?confirmed=1"
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.ACTIVE
    page = client.get(response["Location"])
    assert b"your alerts are on" in page.content
    # Once on, the confirm link leads to the manage page rather than asking again.
    again = client.get(f"/en/subscribe/confirm/{token}")
    assert again.status_code == 302
    assert again["Location"] == f"/en/subscriptions/manage/{token}"


def test_a_channel_without_confirmation_goes_straight_to_the_manage_page(client: Client) -> None:
    response = client.post("/en/subscribe", form(channel="ntfy", address="raidwatch-e1-test"))

    assert response.status_code == 302
    assert response["Location"].startswith("/en/subscriptions/manage/")
    assert Subscription.objects.get().status == SubscriptionStatus.ACTIVE


def test_the_all_level_without_an_invite_is_refused_beside_the_invite_field(client: Client) -> None:
    response = client.post("/en/subscribe", form(level="all"))

    assert response.status_code == 422
    assert list(response.context["form"].errors) == ["invite"]
    assert b'id="invite-error"' in response.content
    assert not Subscription.objects.exists()


def test_the_all_level_with_a_coordinators_invite_is_accepted(client: Client) -> None:
    code = actions.create_invite()

    response = client.post(
        "/en/subscribe", form(channel="ntfy", address="raidwatch-e1", level="all", invite=code)
    )

    assert response.status_code == 302
    assert Subscription.objects.get().level == "all"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"place": "ZZ9"}, "place", b"ZZ9"),
        ({"place": ""}, "place", b"or use your location"),
        ({"place": "10001-12"}, "place", b"postcode district"),
        ({"address": "not an address"}, "address", b"email address"),
        ({"channel": "webpush"}, "channel", b"need JavaScript"),
        ({"channel": "pigeon"}, "channel", b"Select a valid choice"),
        ({"place": "", "lat": "51.515", "lon": "-0.072", "radius_km": "50"}, "radius_km", b"valid choice"),
        ({"place": "", "lat": "95", "lon": "0"}, "place", b"atitude"),
    ],
)
def test_bad_input_is_shown_beside_its_field_and_subscribes_nobody(
    client: Client, changes: dict[str, str], field: str, message: bytes
) -> None:
    response = client.post("/en/subscribe", form(**changes))

    assert response.status_code == 422
    assert field in response.context["form"].errors, response.context["form"].errors
    assert message in response.content
    assert not Subscription.objects.exists()


def test_use_my_location_keeps_the_area_cells_and_never_the_point(client: Client) -> None:
    response = client.post(
        "/en/subscribe",
        form(channel="ntfy", address="raidwatch-here", place="", lat="51.515", lon="-0.072", radius_km="1"),
    )

    assert response.status_code == 302
    subscription = Subscription.objects.get()
    assert (subscription.area_kind, subscription.area_label) == ("radius", "1 km")
    assert subscription.cells.count() > 0
    stored = " ".join(str(getattr(subscription, f.attname)) for f in Subscription._meta.concrete_fields)
    assert "51.5" not in stored
    assert "0.07" not in stored


def test_the_manage_page_shows_the_subscription_but_never_the_address(
    client: Client, sent_codes: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    _subscription, token = subscribe_by_email(client, django_capture_on_commit_callbacks)

    page = client.get(f"/en/subscriptions/manage/{token}")

    assert page.status_code == 200
    html = page.content.decode()
    assert "E1" in html
    assert "Email" in html
    assert "Waiting for confirmation" in html
    assert ADDRESS not in html
    assert "example.org" not in html
    assert page["X-Robots-Tag"].startswith("noindex")


def test_the_manage_page_sends_a_test_alert(client: Client) -> None:
    subscription, token = active_subscription()

    response = client.post(f"/en/subscriptions/manage/{token}", {"action": "test"})

    assert response.status_code == 302
    assert response["Location"] == f"/en/subscriptions/manage/{token}?sent=test"
    delivery = Delivery.objects.select_related("alert").get()
    assert delivery.subscription_id == subscription.pk
    assert (delivery.alert.event, delivery.alert.status) == (Event.TEST, CapStatus.TEST)
    page = client.get(response["Location"])
    assert b"A test alert is on its way" in page.content


def test_a_test_alert_waits_for_the_confirmation_code(
    client: Client, sent_codes: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    _subscription, token = subscribe_by_email(client, django_capture_on_commit_callbacks)

    response = client.post(f"/en/subscriptions/manage/{token}", {"action": "test"})

    assert response.status_code == 409
    assert b"Confirm your alerts with the code first" in response.content
    assert not Delivery.objects.exists()


def test_stopping_from_the_manage_page_deletes_the_subscription_and_its_cells(client: Client) -> None:
    subscription, token = active_subscription()

    response = client.post(f"/en/subscriptions/manage/{token}", {"action": "leave"})

    assert response.status_code == 302
    assert response["Location"] == "/en/subscriptions/left"
    assert not Subscription.objects.filter(pk=subscription.pk).exists()
    assert not SubscriptionCell.objects.exists()
    assert b"Your alerts are stopped" in client.get(response["Location"]).content


def test_the_manage_page_still_needs_a_csrf_token(client: Client) -> None:
    subscription, token = active_subscription()
    strict = Client(enforce_csrf_checks=True)

    response = strict.post(f"/en/subscriptions/manage/{token}", {"action": "leave"})

    assert response.status_code == 403
    assert Subscription.objects.filter(pk=subscription.pk).exists()


@pytest.mark.parametrize(
    "url", ["/en/subscriptions/manage/{token}", "/en/subscribe/confirm/{token}", "/u/{token}"]
)
def test_a_bad_or_spent_token_gets_a_helpful_not_found_page(client: Client, url: str) -> None:
    subscription, token = active_subscription()
    actions.unsubscribe(subscription)

    for bad in (token, token[:-3], "not-a-token"):
        response = client.get(url.format(token=bad))
        assert response.status_code == 404
        assert b"This link does not lead to any alerts" in response.content


def test_one_click_unsubscribe_asks_on_get_and_changes_nothing(client: Client) -> None:
    subscription, token = active_subscription()

    page = client.get(f"/u/{token}")

    assert page.status_code == 200
    assert b"Stop these alerts" in page.content
    assert f'action="/u/{token}"'.encode() in page.content
    assert Subscription.objects.filter(pk=subscription.pk).exists()


def test_one_click_unsubscribe_post_from_a_mail_provider_needs_no_csrf_token() -> None:
    subscription, _token = active_subscription()
    # The link alert messages carry, exactly as the outbox builds it.
    path = re.sub(r"^https?://[^/]+", "", _unsubscribe_url(subscription.pk))
    mail_provider = Client(enforce_csrf_checks=True)

    response = mail_provider.post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 200
    assert b"Your alerts are stopped" in response.content
    assert not Subscription.objects.filter(pk=subscription.pk).exists()
    assert not SubscriptionCell.objects.filter(subscription_id=subscription.pk).exists()


def test_a_public_alert_page_shows_the_alert_in_coarse_time(client: Client, verifier: Any) -> None:
    # 13:37 UTC is 14:37 in London in June; public times round down to 14:30 (R4).
    with time_machine.travel(datetime(2025, 6, 3, 13, 37, 12, tzinfo=UTC), tick=False):
        submitted = report("raid", place="E1")
        incident_actions.confirm(submitted.incident.pk, by=verifier, place="Whitechapel Road")
    alert = Alert.objects.get(scope=Scope.PUBLIC, event=Event.CONFIRMED)

    page = client.get(f"/a/{alert.pk}")

    assert page.status_code == 200
    html = page.content.decode()
    assert "CONFIRMED: raid near Whitechapel Road at 2:30 p.m." in html
    assert "2:37" not in html
    assert "14:37" not in html
    assert 'datetime="2025-06-03T14:30:00+01:00"' in html
    assert 'href="/en/report"' in html
    assert 'href="/en/subscribe"' in html


def test_a_restricted_alert_is_never_public(client: Client, verifier: Any) -> None:
    submitted = report("raid", place="E1")
    unverified = Alert.objects.get(incident=submitted.incident, event=Event.UNVERIFIED)
    assert unverified.scope == Scope.RESTRICTED
    subscription, _token = active_subscription()
    from raidwatch.alerts.actions import send_test_alert

    test_alert = send_test_alert(subscription)

    for alert_id in (unverified.pk, test_alert.pk, 999_999):
        response = client.get(f"/a/{alert_id}")
        assert response.status_code == 404
        assert b"There is no public alert at this address" in response.content
        assert b"UNVERIFIED" not in response.content


def test_the_service_worker_is_served_from_the_root_scope(client: Client) -> None:
    response = client.get("/sw.js")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    body = response.content.decode()
    assert "showNotification" in body
    assert "notificationclick" in body
