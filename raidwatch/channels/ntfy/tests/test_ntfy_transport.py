"""ntfy: JSON publishing with a token, area topics, and why nothing here is permanent."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import pytest

from raidwatch.channels.base import InvalidAddress, OutboundMessage, TransportError
from raidwatch.channels.ntfy.transport import NtfyTransport, topic_for_area
from raidwatch.channels.registry import transport

if TYPE_CHECKING:
    from raidwatch.testing.fake_messaging import FakeNtfy

pytest_plugins = ["raidwatch.testing.fake_messaging"]

MESSAGE = OutboundMessage(
    text="已确认：Market St 附近有执法车辆，14:20。",
    title="raidwatch 警报",
    url="https://raidwatch.example/zh-hans/alerts/7",
    unsubscribe_url="https://raidwatch.example/zh-hans/subscribe/manage",
    topic="c0ffee",
    language="zh-hans",
)
TOPIC = "market-st_alerts"


@pytest.fixture
def ntfy() -> NtfyTransport:
    return NtfyTransport()


def test_the_registry_finds_it() -> None:
    assert transport("ntfy").name == "ntfy"
    # A topic is public: a confirmation code sent there would prove nothing.
    assert not transport("ntfy").needs_confirmation


def test_a_message_is_published_as_json_with_the_token(ntfy, fake_ntfy: FakeNtfy) -> None:
    ntfy.send({"address": TOPIC}, MESSAGE)

    [received] = fake_ntfy.received
    assert received.headers["authorization"] == f"Bearer {fake_ntfy.token}"
    assert received.payload == {
        "topic": TOPIC,
        "message": MESSAGE.text,
        "title": MESSAGE.title,  # UTF-8 as it is: no header encoding needed
        "click": MESSAGE.url,
        "priority": 5,
    }


def test_a_less_urgent_message_has_a_lower_priority(ntfy, fake_ntfy: FakeNtfy) -> None:
    ntfy.send({"address": TOPIC}, dataclasses.replace(MESSAGE, urgency="normal"))

    assert fake_ntfy.payloads_to(TOPIC)[0]["priority"] == 3


def test_without_a_token_no_authorization_is_sent(
    ntfy, fake_ntfy: FakeNtfy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RAIDWATCH_NTFY_TOKEN")
    fake_ntfy.anonymous_allowed = True

    ntfy.send({"address": TOPIC}, MESSAGE)

    assert "authorization" not in fake_ntfy.received[0].headers


def test_a_refused_token_is_retried(ntfy, fake_ntfy: FakeNtfy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAIDWATCH_NTFY_TOKEN", "tk_wrong")

    with pytest.raises(TransportError) as caught:
        ntfy.send({"address": TOPIC}, MESSAGE)
    assert not caught.value.permanent


def test_a_server_error_is_retried(ntfy, fake_ntfy: FakeNtfy) -> None:
    fake_ntfy.outage(500)

    with pytest.raises(TransportError) as caught:
        ntfy.send({"address": TOPIC}, MESSAGE)
    assert not caught.value.permanent


def test_a_rate_limit_without_a_hint_is_retried(ntfy, fake_ntfy: FakeNtfy) -> None:
    fake_ntfy.rate_limit(TOPIC)

    with pytest.raises(TransportError) as caught:
        ntfy.send({"address": TOPIC}, MESSAGE)
    # ntfy gives no Retry-After, so the outbox's own backoff decides.
    assert (caught.value.retry_after, caught.value.permanent) == (None, False)


def test_a_forbidden_topic_is_not_the_subscribers_fault(ntfy, fake_ntfy: FakeNtfy) -> None:
    fake_ntfy.reject(TOPIC)

    with pytest.raises(TransportError) as caught:
        ntfy.send({"address": TOPIC}, MESSAGE)
    assert not caught.value.permanent


def test_nothing_is_sent_to_loopback_unless_allowed(ntfy, fake_ntfy: FakeNtfy, settings) -> None:
    settings.RAIDWATCH_ALLOW_PRIVATE_ENDPOINTS = False

    with pytest.raises(TransportError) as caught:
        ntfy.send({"address": TOPIC}, MESSAGE)
    assert not caught.value.permanent
    assert fake_ntfy.requests == []


def test_each_area_has_its_own_topic(ntfy, fake_ntfy: FakeNtfy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAIDWATCH_NTFY_TOPIC_PREFIX", raising=False)
    assert topic_for_area("88195da49bfffff") == "raidwatch-88195da49bfffff"
    monkeypatch.setenv("RAIDWATCH_NTFY_TOPIC_PREFIX", "rw_london")
    topic = topic_for_area("88195da49bfffff")
    assert topic == "rw_london-88195da49bfffff"

    ntfy.send({"address": topic}, MESSAGE)
    assert len(fake_ntfy.payloads_to(topic)) == 1


def test_a_bad_topic_prefix_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAIDWATCH_NTFY_TOPIC_PREFIX", "raid watch")
    with pytest.raises(ValueError, match="RAIDWATCH_NTFY_TOPIC_PREFIX"):
        topic_for_area("88195da49bfffff")


@pytest.mark.parametrize(
    ("given", "canonical"), [(TOPIC, TOPIC), (" Area_7 ", "Area_7"), ("x" * 64, "x" * 64)]
)
def test_topic_names_are_accepted(ntfy, given: str, canonical: str) -> None:
    assert ntfy.normalise_address({"address": given}) == canonical


@pytest.mark.parametrize("given", ["", "a b", "a/b", "ünïcode", "x" * 65, "https://ntfy.sh/topic", None, 7])
def test_other_topics_are_refused(ntfy, given: object) -> None:
    with pytest.raises(InvalidAddress) as caught:
        ntfy.normalise_address({"address": given})
    assert caught.value.message
