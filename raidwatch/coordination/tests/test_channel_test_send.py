"""The channels page: configuration from the environment (secrets never shown), and
a test message through a channel's real transport to a typed address kept nowhere."""

from __future__ import annotations

import json

import pytest
from django.contrib.sessions.models import Session

from raidwatch.accounts.models import AuditEntry

pytestmark = pytest.mark.django_db

URL = "/en/volunteer/network/channels/"
NUMBER = "+447700900123"


def _nowhere(*values: str) -> None:
    """None of ``values`` is in the audit log or any session."""
    stored = json.dumps(list(AuditEntry.objects.values()), default=str)
    stored += "".join(session.session_data for session in Session.objects.all())
    stored += json.dumps([s.get_decoded() for s in Session.objects.all()], default=str)
    for value in values:
        assert value not in stored


def test_every_transport_is_listed_and_secrets_are_never_shown(
    coordinator_client, fake_sms, monkeypatch
) -> None:
    for name in (
        "RAIDWATCH_TELEGRAM_BOT_TOKEN",
        "RAIDWATCH_MATRIX_HOMESERVER",
        "RAIDWATCH_MATRIX_ACCESS_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)
    body = coordinator_client.get(URL).content.decode()
    for channel in ("webpush", "email", "sms", "telegram", "signal", "ntfy", "matrix"):
        assert f'id="channel-{channel}"' in body
    assert "never here" in body  # why credentials stay in the environment
    # Set, and shown as set, never as the value.
    assert fake_sms.auth_token not in body
    assert fake_sms.account_sid not in body
    assert fake_sms.android_password not in body
    assert "set (secret, not shown)" in body
    # Non-secret details are shown.
    assert fake_sms.base_url in body
    # Telegram without its token: not set up, and no test form for it.
    assert "RAIDWATCH_TELEGRAM_BOT_TOKEN" in body.split('id="channel-telegram"')[1].split("Missing:")[1][:200]
    assert 'id="test-telegram"' not in body
    assert 'id="test-sms"' in body


def test_a_password_inside_a_base_url_is_not_shown(coordinator_client, monkeypatch) -> None:
    monkeypatch.setenv("RAIDWATCH_NTFY_BASE", "https://alerts:hunter2-secret@ntfy.example.org/base")
    body = coordinator_client.get(URL).content.decode()
    assert "hunter2-secret" not in body
    assert "alerts:" not in body
    assert "ntfy.example.org/base" in body


def test_a_test_sms_goes_through_the_real_transport(coordinator_client, fake_sms) -> None:
    response = coordinator_client.post(URL, {"channel": "sms", "address": NUMBER})
    assert response.status_code == 200
    assert b"Sent. Check that it arrived." in response.content
    [sms] = fake_sms.messages
    assert sms.to == NUMBER
    assert sms.body.startswith("Test message from raidwatch")
    entry = AuditEntry.objects.get(action="network.channel_test")
    assert (entry.target_id, entry.details) == ("sms", {"outcome": "sent"})
    assert NUMBER.encode() not in response.content  # not even echoed back into the form
    _nowhere(NUMBER, NUMBER[1:])


def test_the_transports_error_is_shown_and_only_the_outcome_audited(coordinator_client, fake_sms) -> None:
    fake_sms.fail_number(NUMBER, code=21610)
    response = coordinator_client.post(URL, {"channel": "sms", "address": NUMBER})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Not sent:" in body
    assert "21610" in body
    assert AuditEntry.objects.get(action="network.channel_test").details == {"outcome": "failed"}
    _nowhere(NUMBER, NUMBER[1:])


def test_a_test_email_arrives(coordinator_client, fake_smtp) -> None:
    response = coordinator_client.post(URL, {"channel": "email", "address": "coordinator@example.org"})
    assert b"Sent." in response.content
    [mail] = fake_smtp.received
    assert mail.rcpt_tos == ("coordinator@example.org",)
    assert "Test message from raidwatch" in mail.message.get_content()
    _nowhere("coordinator@example.org")


def test_a_test_push_reaches_a_browser(coordinator_client, fake_push) -> None:
    subscription = fake_push.new_subscription()
    response = coordinator_client.post(URL, {"channel": "webpush", "address": json.dumps(subscription)})
    assert b"Sent." in response.content
    [pushed] = fake_push.wait_for(1)
    assert json.loads(pushed.payload)["body"].startswith("Test message from raidwatch")
    _nowhere(subscription["endpoint"])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"channel": "sms", "address": "07700 900123"}, "country code"),
        ({"channel": "sms", "address": ""}, "required"),
        ({"channel": "email", "address": "not an address"}, "valid email"),
        ({"channel": "webpush", "address": "{not json"}, "as JSON"),
        ({"channel": "pigeon", "address": "x"}, "valid choice"),
    ],
)
def test_a_bad_address_is_a_form_error_and_nothing_is_sent(
    coordinator_client, fake_sms, data, message
) -> None:
    response = coordinator_client.post(URL, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not fake_sms.messages
    assert not AuditEntry.objects.exists()


def test_an_unreachable_provider_is_a_shown_error_not_a_500(
    coordinator_client, monkeypatch, settings
) -> None:
    monkeypatch.setenv("RAIDWATCH_SIGNAL_API_BASE", "http://127.0.0.1:9")  # nothing listens on discard
    monkeypatch.setenv("RAIDWATCH_SIGNAL_NUMBER", "+447700900999")
    settings.RAIDWATCH_ALLOW_PRIVATE_ENDPOINTS = True
    response = coordinator_client.post(URL, {"channel": "signal", "address": NUMBER})
    assert response.status_code == 200
    assert b"Not sent:" in response.content
    assert AuditEntry.objects.get(action="network.channel_test").details == {"outcome": "failed"}
