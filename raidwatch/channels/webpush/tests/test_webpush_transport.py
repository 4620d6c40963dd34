"""Web Push against a local push service that verifies VAPID and really decrypts."""

from __future__ import annotations

import base64
import dataclasses
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from django.core.exceptions import ImproperlyConfigured

from raidwatch.channels.base import InvalidAddress, OutboundMessage, TransportError
from raidwatch.channels.registry import transport
from raidwatch.channels.webpush import vapid
from raidwatch.channels.webpush.transport import WebPushTransport, opaque_topic
from raidwatch.testing import fake_push as fake_push_plugin
from raidwatch.testing.fake_push import FakePushService, b64url_encode

# The fixture, made visible here (other folders list the module in pytest_plugins).
fake_push = fake_push_plugin.fake_push


@pytest.fixture(autouse=True)
def _fresh_vapid_cache():
    vapid.clear_cache()
    yield
    vapid.clear_cache()


def alert(**overrides) -> OutboundMessage:
    message = OutboundMessage(
        title="Raid alert",
        text="ICE vans seen near Elm St market, 14:20. Know your rights: rw.example/r",
        url="https://rw.example/en/alerts/17",
        unsubscribe_url="https://rw.example/u/tok3n",
        topic="aGk3bWx0c0xxVzBB",
        urgency="high",
        ttl_seconds=6 * 3600,
    )
    return dataclasses.replace(message, **overrides)


def test_registry_returns_the_webpush_transport():
    webpush = transport("webpush")
    assert isinstance(webpush, WebPushTransport)
    assert webpush.needs_confirmation is False


def test_send_is_decrypted_by_the_subscriber_exactly(fake_push):
    subscription = fake_push.new_subscription(application_server_key=vapid.public_key_b64url())

    WebPushTransport().send(subscription, alert())

    [message] = fake_push.received
    assert message.json() == {
        "title": "Raid alert",
        "body": "ICE vans seen near Elm St market, 14:20. Know your rights: rw.example/r",
        "url": "https://rw.example/en/alerts/17",
        "unsubscribe": "https://rw.example/u/tok3n",
        "topic": "aGk3bWx0c0xxVzBB",
    }
    assert message.ttl == 6 * 3600
    assert message.urgency == "high"
    assert message.topic == "aGk3bWx0c0xxVzBB"
    assert message.vapid_public_key == vapid.public_key_b64url()
    assert message.vapid_claims["aud"] == fake_push.url
    assert message.vapid_claims["sub"] == vapid.vapid_subject()
    assert fake_push.rejected == []


def test_payload_holds_only_the_listed_fields_and_no_coordinates(fake_push):
    subscription = fake_push.new_subscription()
    text = "تنبيه: مداهمة قرب السوق، ١٤:٢٠"

    WebPushTransport().send(subscription, alert(text=text, headers={"X-Lat": "51.5072"}))

    [message] = fake_push.received
    payload = message.json()
    assert set(payload) == {"title", "body", "url", "unsubscribe", "topic"}
    assert payload["body"] == text
    # Sent as UTF-8, not \u escapes that triple the size of non-Latin text.
    assert text.encode() in message.payload
    assert b"51.5072" not in message.payload
    assert not {name for name in message.headers if name.startswith("x-")}


def test_vapid_is_signed_once_per_push_origin(fake_push, monkeypatch):
    signed_for: list[str] = []
    real_sign = vapid._sign_authorization

    def counting_sign(private_key, claims):
        signed_for.append(str(claims["aud"]))
        return real_sign(private_key, claims)

    monkeypatch.setattr(vapid, "_sign_authorization", counting_sign)
    webpush = WebPushTransport()
    subscriptions = [fake_push.new_subscription() for _ in range(5)]

    with FakePushService() as other_service:
        other = other_service.new_subscription()
        for subscription in subscriptions * 2:
            webpush.send(subscription, alert())
        webpush.send(other, alert())
        webpush.send(other, alert())
        assert len(other_service.received) == 2

    assert len(fake_push.received) == 10
    assert sorted(signed_for) == sorted([fake_push.url, other_service.url])


def test_vapid_header_is_signed_again_before_it_expires(fake_push, monkeypatch):
    signatures = 0
    real_sign = vapid._sign_authorization

    def counting_sign(private_key, claims):
        nonlocal signatures
        signatures += 1
        return real_sign(private_key, claims)

    monkeypatch.setattr(vapid, "_sign_authorization", counting_sign)
    subscription = fake_push.new_subscription()
    start = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

    with time_machine.travel(start, tick=False) as clock:
        WebPushTransport().send(subscription, alert())
        clock.move_to(start + timedelta(seconds=vapid.REFRESH_AFTER_SECONDS - 60))
        WebPushTransport().send(subscription, alert())
        assert signatures == 1
        clock.move_to(start + timedelta(seconds=vapid.REFRESH_AFTER_SECONDS + 60))
        WebPushTransport().send(subscription, alert())
        assert signatures == 2

    # Each token the fake saw was within 24 h of its own clock at the time.
    assert [m.vapid_claims["exp"] for m in fake_push.received][-1] > int(start.timestamp()) + 12 * 3600


def test_ttl_is_never_zero(fake_push):
    subscription = fake_push.new_subscription()

    WebPushTransport().send(subscription, alert(ttl_seconds=0))

    assert fake_push.received[0].ttl >= 1


def test_topic_and_urgency_are_made_acceptable_to_the_push_service(fake_push):
    subscription = fake_push.new_subscription()

    WebPushTransport().send(subscription, alert(topic="incident/42+" + "x" * 40, urgency="urgent!"))

    [message] = fake_push.received
    assert message.topic == opaque_topic("incident/42+" + "x" * 40)
    assert len(message.topic) == 32
    assert message.urgency == "high"


def test_gone_subscription_is_a_permanent_error(fake_push):
    subscription = fake_push.new_subscription()
    fake_push.make_gone(subscription)

    with pytest.raises(TransportError) as caught:
        WebPushTransport().send(subscription, alert())

    assert caught.value.permanent is True
    assert "410" in caught.value.message
    assert subscription["endpoint"] not in caught.value.message


def test_unknown_subscription_is_a_permanent_error(fake_push):
    subscription = fake_push.new_subscription()
    subscription["endpoint"] = f"{fake_push.url}/push/never-existed"

    with pytest.raises(TransportError) as caught:
        WebPushTransport().send(subscription, alert())

    assert caught.value.permanent is True


def test_rate_limit_passes_retry_after_on(fake_push):
    subscription = fake_push.new_subscription()
    fake_push.make_rate_limited(subscription, retry_after=30)

    with pytest.raises(TransportError) as caught:
        WebPushTransport().send(subscription, alert())

    assert caught.value.permanent is False
    assert caught.value.retry_after == 30


@pytest.mark.parametrize(("status", "headers"), [(429, {}), (503, {})])
def test_rate_limit_without_retry_after_leaves_the_wait_to_the_outbox(fake_push, status, headers):
    subscription = fake_push.new_subscription()
    fake_push.answer(subscription, status, headers)

    with pytest.raises(TransportError) as caught:
        WebPushTransport().send(subscription, alert())

    assert caught.value.permanent is False
    assert caught.value.retry_after is None


@pytest.mark.parametrize("status", [400, 401, 403, 413, 500])
def test_other_refusals_are_retried_not_disabling_the_subscription(fake_push, status):
    subscription = fake_push.new_subscription()
    fake_push.answer(subscription, status)

    with pytest.raises(TransportError) as caught:
        WebPushTransport().send(subscription, alert())

    assert caught.value.permanent is False
    assert str(status) in caught.value.message


def test_push_signed_with_another_key_is_refused_by_the_service(fake_push):
    other_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    subscription = fake_push.new_subscription(
        application_server_key=b64url_encode(
            other_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        )
    )

    with pytest.raises(TransportError) as caught:
        WebPushTransport().send(subscription, alert())

    assert caught.value.permanent is False
    assert fake_push.received == []
    assert [r.status for r in fake_push.rejected] == [403]


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_loopback_endpoint_is_refused_without_private_endpoints(fake_push, settings, scheme):
    subscription = fake_push.new_subscription()
    subscription["endpoint"] = subscription["endpoint"].replace("http://", f"{scheme}://", 1)
    settings.RAIDWATCH_ALLOW_PRIVATE_ENDPOINTS = False

    with pytest.raises(TransportError) as caught:
        WebPushTransport().send(subscription, alert())

    assert caught.value.permanent is True
    assert fake_push.request_count == 0


def test_unreachable_push_service_is_a_temporary_error(settings):
    settings.RAIDWATCH_ALLOW_PRIVATE_ENDPOINTS = True
    with FakePushService() as service:
        subscription = service.new_subscription()

    with pytest.raises(TransportError) as caught:
        WebPushTransport().send(subscription, alert())

    assert caught.value.permanent is False
    assert subscription["endpoint"] not in caught.value.message


def test_rate_limit_given_as_a_date_becomes_seconds(fake_push):
    subscription = fake_push.new_subscription()
    fake_push.make_rate_limited(subscription, retry_after="Sun, 01 Mar 2026 09:02:00 GMT")

    with (
        time_machine.travel(datetime(2026, 3, 1, 9, 0, tzinfo=UTC), tick=False),
        pytest.raises(TransportError) as caught,
    ):
        WebPushTransport().send(subscription, alert())

    assert caught.value.retry_after == 120


# --- subscriptions given to normalise_address ---------------------------------


def _keys(p256dh_bytes: bytes | None = None, auth_bytes: bytes | None = None) -> dict[str, str]:
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    )
    return {
        "p256dh": b64url_encode(point if p256dh_bytes is None else p256dh_bytes),
        "auth": b64url_encode(os.urandom(16) if auth_bytes is None else auth_bytes),
    }


def test_valid_subscription_normalises_to_its_endpoint(settings):
    settings.RAIDWATCH_ALLOW_PRIVATE_ENDPOINTS = False
    endpoint = "https://fcm.googleapis.com/fcm/send/dGVzdA:APA91b"
    keys = _keys()
    padded = {"p256dh": keys["p256dh"] + "=", "auth": keys["auth"] + "=="}

    assert WebPushTransport().normalise_address({"endpoint": endpoint, "keys": keys}) == endpoint
    assert WebPushTransport().normalise_address({"endpoint": endpoint, "keys": padded}) == endpoint


@pytest.mark.parametrize(
    ("contact", "complaint"),
    [
        ({"keys": _keys()}, "no endpoint"),
        ({"endpoint": "ftp://push.example/x", "keys": _keys()}, "https://"),
        ({"endpoint": "http://push.example/x", "keys": _keys()}, "https://"),
        ({"endpoint": "https://user:pw@push.example/x", "keys": _keys()}, "https://"),
        ({"endpoint": "https://push.example/a b", "keys": _keys()}, "https://"),
        ({"endpoint": "https:///nohost", "keys": _keys()}, "https://"),
        ({"endpoint": "https://push.example/" + "a" * 2000, "keys": _keys()}, "too long"),
        ({"endpoint": "https://127.0.0.1/push/x", "keys": _keys()}, "not a public address"),
        ({"endpoint": "https://[::1]/push/x", "keys": _keys()}, "not a public address"),
        ({"endpoint": "https://localhost/push/x", "keys": _keys()}, "not a public address"),
        ({"endpoint": "https://push.example/x"}, "no keys"),
        (
            {"endpoint": "https://push.example/x", "keys": _keys(p256dh_bytes=b"\x04" + b"\x01" * 31)},
            "p256dh",
        ),
        (
            {"endpoint": "https://push.example/x", "keys": _keys(p256dh_bytes=b"\x04" + b"\x01" * 64)},
            "p256dh",
        ),
        (
            {"endpoint": "https://push.example/x", "keys": {**_keys(), "p256dh": "BAD+/base64"}},
            "p256dh",
        ),
        ({"endpoint": "https://push.example/x", "keys": _keys(auth_bytes=os.urandom(15))}, "16 bytes"),
        ({"endpoint": "https://push.example/x", "keys": {**_keys(), "auth": 1234}}, "16 bytes"),
    ],
)
def test_unusable_subscriptions_are_refused_with_a_reason(settings, contact, complaint):
    settings.RAIDWATCH_ALLOW_PRIVATE_ENDPOINTS = False

    with pytest.raises(InvalidAddress) as caught:
        WebPushTransport().normalise_address(contact)

    assert complaint in caught.value.message


def test_http_and_loopback_endpoints_are_accepted_only_when_private_endpoints_are(settings):
    settings.RAIDWATCH_ALLOW_PRIVATE_ENDPOINTS = True
    endpoint = "http://127.0.0.1:9/push/x"

    assert WebPushTransport().normalise_address({"endpoint": endpoint, "keys": _keys()}) == endpoint


def test_invalid_stored_subscription_fails_permanently_without_a_request(fake_push):
    subscription = fake_push.new_subscription()
    subscription["keys"]["auth"] = b64url_encode(b"short")

    with pytest.raises(TransportError) as caught:
        WebPushTransport().send(subscription, alert())

    assert caught.value.permanent is True
    assert fake_push.request_count == 0


# --- the VAPID identity -------------------------------------------------------


def test_vapid_key_is_created_once_owner_only(settings):
    first = vapid.public_key_b64url()
    vapid.clear_cache()

    assert vapid.public_key_b64url() == first
    raw = base64.urlsafe_b64decode(first + "=" * (-len(first) % 4))
    assert len(raw) == 65
    assert raw[0] == 4
    assert "=" not in first
    key_file = Path(settings.KEY_DIR) / vapid.KEY_FILE_NAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


@pytest.mark.parametrize("form", ["pem", "raw"])
def test_vapid_key_can_be_configured(monkeypatch, settings, form):
    private_key = ec.generate_private_key(ec.SECP256R1())
    if form == "pem":
        text = private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    else:
        text = b64url_encode(private_key.private_numbers().private_value.to_bytes(32, "big"))
    monkeypatch.setenv("RAIDWATCH_VAPID_PRIVATE_KEY", text)

    expected = b64url_encode(
        private_key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    )
    assert vapid.public_key_b64url() == expected
    assert not (Path(settings.KEY_DIR) / vapid.KEY_FILE_NAME).exists()


def test_malformed_vapid_key_stops_with_a_message_naming_the_variable(monkeypatch):
    monkeypatch.setenv("RAIDWATCH_VAPID_PRIVATE_KEY", "not-a-key")

    with pytest.raises(ImproperlyConfigured, match="RAIDWATCH_VAPID_PRIVATE_KEY"):
        vapid.public_key_b64url()


def test_vapid_subject_comes_from_the_environment_or_the_site(monkeypatch, settings):
    settings.RAIDWATCH_BASE_URL = "https://alerts.example.org"
    assert vapid.vapid_subject() == "https://alerts.example.org"

    settings.RAIDWATCH_BASE_URL = "http://127.0.0.1:8000"
    assert vapid.vapid_subject() == "mailto:admin@localhost"

    monkeypatch.setenv("RAIDWATCH_VAPID_SUBJECT", "mailto:ops@alerts.example.org")
    assert vapid.vapid_subject() == "mailto:ops@alerts.example.org"

    monkeypatch.setenv("RAIDWATCH_VAPID_SUBJECT", "ops@alerts.example.org")
    with pytest.raises(ImproperlyConfigured, match="RAIDWATCH_VAPID_SUBJECT"):
        vapid.vapid_subject()
