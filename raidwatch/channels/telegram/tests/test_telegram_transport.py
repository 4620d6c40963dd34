"""Telegram: the Bot API call, its rate-limit and gone-chat answers, and which addresses count."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

import pytest

from raidwatch.channels.base import InvalidAddress, OutboundMessage, TransportError
from raidwatch.channels.registry import transport
from raidwatch.channels.telegram.transport import TelegramTransport

if TYPE_CHECKING:
    from raidwatch.testing.fake_messaging import FakeTelegram

pytest_plugins = ["raidwatch.testing.fake_messaging"]

MESSAGE = OutboundMessage(
    text="Confirmed: enforcement vans near Market St, 14:20.",
    title="raidwatch alert",
    url="https://raidwatch.example/en/alerts/7",
    unsubscribe_url="https://raidwatch.example/en/subscribe/manage",
    topic="c0ffee",
)


@pytest.fixture
def telegram() -> TelegramTransport:
    return TelegramTransport()


def test_the_registry_finds_it() -> None:
    assert transport("telegram").name == "telegram"
    assert transport("telegram").needs_confirmation


def test_a_message_goes_as_plain_text_with_its_link(telegram, fake_telegram: FakeTelegram) -> None:
    telegram.send({"address": "-1001234567890"}, MESSAGE)

    [received] = fake_telegram.received
    assert received.path == f"/bot{fake_telegram.token}/sendMessage"
    assert received.payload == {
        "chat_id": "-1001234567890",
        "text": f"{MESSAGE.text}\n{MESSAGE.url}",
        "disable_web_page_preview": True,
    }  # no parse_mode: nothing in the text is markup


def test_a_public_area_channel_gets_the_text_as_given(telegram, fake_telegram: FakeTelegram) -> None:
    telegram.post_to_channel("@raidwatch_area", "All clear near Market St.")

    assert fake_telegram.payloads_to("@raidwatch_area")[0]["text"] == "All clear near Market St."


def test_a_flood_wait_becomes_retry_after(telegram, fake_telegram: FakeTelegram) -> None:
    fake_telegram.rate_limit("42", retry_after=7)

    with pytest.raises(TransportError) as caught:
        telegram.send({"address": "42"}, MESSAGE)
    assert (caught.value.retry_after, caught.value.permanent) == (7, False)

    telegram.send({"address": "42"}, MESSAGE)  # the wait is over
    assert len(fake_telegram.payloads_to("42")) == 1


@pytest.mark.parametrize("how", ["blocked", "not_found"])
def test_a_blocked_bot_or_a_missing_chat_is_permanent(
    telegram, fake_telegram: FakeTelegram, how: str
) -> None:
    fake_telegram.reject("42", how)

    with pytest.raises(TransportError) as caught:
        telegram.send({"address": "42"}, MESSAGE)
    assert caught.value.permanent


def test_a_server_error_is_retried_after_the_wait_it_asks_for(telegram, fake_telegram: FakeTelegram) -> None:
    fake_telegram.outage(503, retry_after=30)

    with pytest.raises(TransportError) as caught:
        telegram.send({"address": "42"}, MESSAGE)
    assert (caught.value.retry_after, caught.value.permanent) == (30, False)


def test_a_403_from_a_proxy_rather_than_telegram_is_not_permanent(
    telegram, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.outage(403)

    with pytest.raises(TransportError) as caught:
        telegram.send({"address": "42"}, MESSAGE)
    assert not caught.value.permanent


def test_a_wrong_bot_token_is_retried_and_never_quoted(
    telegram, fake_telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAIDWATCH_TELEGRAM_BOT_TOKEN", "999:not-our-token")

    with pytest.raises(TransportError) as caught:
        telegram.send({"address": "42"}, MESSAGE)
    assert not caught.value.permanent
    assert "not-our-token" not in caught.value.message


def test_an_unreachable_api_is_retried_and_the_token_not_quoted(
    telegram, fake_telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("RAIDWATCH_TELEGRAM_API_BASE", f"http://127.0.0.1:{port}")

    with pytest.raises(TransportError) as caught:
        telegram.send({"address": "42"}, MESSAGE)
    assert not caught.value.permanent
    assert fake_telegram.token not in caught.value.message


def test_nothing_is_sent_to_loopback_unless_allowed(telegram, fake_telegram: FakeTelegram, settings) -> None:
    settings.RAIDWATCH_ALLOW_PRIVATE_ENDPOINTS = False

    with pytest.raises(TransportError) as caught:
        telegram.send({"address": "42"}, MESSAGE)
    # The API base is our configuration, not the subscriber's: retried, nobody unsubscribed.
    assert not caught.value.permanent
    assert fake_telegram.requests == []


def test_the_rate_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAIDWATCH_TELEGRAM_RATE", raising=False)
    assert TelegramTransport.rate_per_second == 25
    monkeypatch.setenv("RAIDWATCH_TELEGRAM_RATE", "10")
    assert TelegramTransport().rate_per_second == 10


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("42", "42"),
        (" -1001234567890 ", "-1001234567890"),
        (42, "42"),
        ("007", "7"),
        ("@Raid_Watch", "@raid_watch"),
    ],
)
def test_chat_ids_and_channel_names_are_accepted(telegram, given: object, canonical: str) -> None:
    assert telegram.normalise_address({"address": given}) == canonical


@pytest.mark.parametrize(
    "given", ["", "abc", "12a", "@abc", "@1abcde", "@with-dash", "https://t.me/raidwatch", None, True, 4.2]
)
def test_other_addresses_are_refused(telegram, given: object) -> None:
    with pytest.raises(InvalidAddress) as caught:
        telegram.normalise_address({"address": given})
    assert caught.value.message
