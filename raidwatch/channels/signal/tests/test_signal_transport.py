"""Signal: the signal-cli REST call, rate limits, unregistered recipients, and phone numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import TYPE_CHECKING

import pytest

from raidwatch.channels.base import InvalidAddress, OutboundMessage, TransportError
from raidwatch.channels.http_errors import MAX_RETRY_AFTER, parse_retry_after
from raidwatch.channels.registry import transport
from raidwatch.channels.signal.transport import SignalTransport

if TYPE_CHECKING:
    from raidwatch.testing.fake_messaging import FakeSignal

pytest_plugins = ["raidwatch.testing.fake_messaging"]

MESSAGE = OutboundMessage(
    text="Confirmado: redada cerca de Market St, 14:20.",
    title="raidwatch",
    url="https://raidwatch.example/es/alerts/7",
    unsubscribe_url="https://raidwatch.example/es/subscribe/manage",
    topic="c0ffee",
    language="es",
)
NUMBER = "+447700900123"


@pytest.fixture
def signal() -> SignalTransport:
    return SignalTransport()


def test_the_registry_finds_it() -> None:
    assert transport("signal").name == "signal"
    assert transport("signal").needs_confirmation


def test_a_message_goes_from_our_number_to_one_recipient(signal, fake_signal: FakeSignal) -> None:
    signal.send({"address": NUMBER}, MESSAGE)

    [received] = fake_signal.received
    assert received.payload == {
        "message": f"{MESSAGE.text}\n{MESSAGE.url}",
        "number": fake_signal.number,
        "recipients": [NUMBER],
    }


def test_a_rate_limit_becomes_retry_after(signal, fake_signal: FakeSignal) -> None:
    fake_signal.rate_limit(NUMBER, retry_after=3)

    with pytest.raises(TransportError) as caught:
        signal.send({"address": NUMBER}, MESSAGE)
    assert (caught.value.retry_after, caught.value.permanent) == (3, False)


def test_a_recipient_not_on_signal_is_permanent(signal, fake_signal: FakeSignal) -> None:
    fake_signal.reject(NUMBER)

    with pytest.raises(TransportError) as caught:
        signal.send({"address": NUMBER}, MESSAGE)
    assert caught.value.permanent
    assert NUMBER not in caught.value.message  # the outbox may log it


def test_a_failing_wrapper_is_retried(signal, fake_signal: FakeSignal) -> None:
    fake_signal.outage(502)

    with pytest.raises(TransportError) as caught:
        signal.send({"address": NUMBER}, MESSAGE)
    assert not caught.value.permanent


def test_our_own_account_unregistered_is_not_the_recipients_fault(
    signal, fake_signal: FakeSignal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAIDWATCH_SIGNAL_NUMBER", "+15550100999")

    with pytest.raises(TransportError) as caught:
        signal.send({"address": NUMBER}, MESSAGE)
    assert not caught.value.permanent


def test_an_unconfigured_channel_is_retried(signal, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAIDWATCH_SIGNAL_API_BASE", raising=False)
    monkeypatch.delenv("RAIDWATCH_SIGNAL_API_BASE_FILE", raising=False)

    with pytest.raises(TransportError) as caught:
        signal.send({"address": NUMBER}, MESSAGE)
    assert not caught.value.permanent


def test_nothing_is_sent_to_loopback_unless_allowed(signal, fake_signal: FakeSignal, settings) -> None:
    settings.RAIDWATCH_ALLOW_PRIVATE_ENDPOINTS = False

    with pytest.raises(TransportError) as caught:
        signal.send({"address": NUMBER}, MESSAGE)
    assert not caught.value.permanent
    assert fake_signal.requests == []


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        (NUMBER, NUMBER),
        ("+44 7700 900-123", NUMBER),
        (" +1 (555) 010.0002 ", "+15550100002"),
        ("+12345678", "+12345678"),
    ],
)
def test_e164_numbers_are_accepted(signal, given: str, canonical: str) -> None:
    assert signal.normalise_address({"address": given}) == canonical


@pytest.mark.parametrize(
    "given",
    [
        "07700900123",
        "447700900123",
        "+0447700900123",
        "+1234567",
        "+1234567890123456",
        "+44abc",
        447700900123,
        None,
    ],
)
def test_other_numbers_are_refused(signal, given: object) -> None:
    with pytest.raises(InvalidAddress) as caught:
        signal.normalise_address({"address": given})
    assert caught.value.message


def test_retry_after_is_read_as_seconds_or_a_date() -> None:
    in_a_minute = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    assert 55 <= (parse_retry_after(in_a_minute) or 0) <= 60
    assert parse_retry_after(" 12 ") == 12
    assert parse_retry_after(2.5) == 2.5
    assert parse_retry_after("-5") == 0  # a date in the past or a negative wait: go now
    assert parse_retry_after("10" * 10) == MAX_RETRY_AFTER
    for junk in (None, "", "soon", "nan", True):
        assert parse_retry_after(junk) is None
