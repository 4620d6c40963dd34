"""Matrix: the room send, idempotent retries, alias resolution, and the errors that end a subscription."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest

from raidwatch.channels.base import InvalidAddress, OutboundMessage, TransportError
from raidwatch.channels.matrix.transport import MatrixTransport
from raidwatch.channels.registry import transport

if TYPE_CHECKING:
    from raidwatch.testing.fake_messaging import FakeMatrix

pytest_plugins = ["raidwatch.testing.fake_messaging"]

MESSAGE = OutboundMessage(
    text="Confirmat: duba lângă Market St, 14:20.",
    title="raidwatch",
    url="https://raidwatch.example/ro/alerts/7",
    unsubscribe_url="https://raidwatch.example/ro/subscribe/manage",
    topic="c0ffee",
    language="ro",
)
ROOM = "!AbCdEf123:fake.test"


@pytest.fixture
def matrix() -> MatrixTransport:
    return MatrixTransport()


def sends(fake: FakeMatrix) -> list[str]:
    return [path for method, path in fake.requests if method == "PUT"]


def test_the_registry_finds_it() -> None:
    assert transport("matrix").name == "matrix"
    assert transport("matrix").needs_confirmation


def test_a_message_is_an_m_text_event_in_the_room(matrix, fake_matrix: FakeMatrix) -> None:
    matrix.send({"address": ROOM}, MESSAGE)

    [received] = fake_matrix.received
    assert received.recipient == ROOM
    assert received.path.startswith(f"/_matrix/client/v3/rooms/{quote(ROOM, safe='')}/send/m.room.message/")
    assert received.headers["authorization"] == f"Bearer {fake_matrix.token}"
    assert received.payload == {"msgtype": "m.text", "body": f"{MESSAGE.text}\n{MESSAGE.url}"}


def test_a_room_address_is_resolved_when_sending(matrix, fake_matrix: FakeMatrix) -> None:
    fake_matrix.aliases["#market-st:fake.test"] = ROOM

    matrix.send({"address": "#market-st:fake.test"}, MESSAGE)

    assert len(fake_matrix.payloads_to(ROOM)) == 1


def test_an_unknown_room_address_is_permanent(matrix, fake_matrix: FakeMatrix) -> None:
    with pytest.raises(TransportError) as caught:
        matrix.send({"address": "#gone:fake.test"}, MESSAGE)
    assert caught.value.permanent
    assert sends(fake_matrix) == []


def test_a_proxys_404_for_the_directory_is_not_permanent(matrix, fake_matrix: FakeMatrix) -> None:
    fake_matrix.outage(404)

    with pytest.raises(TransportError) as caught:
        matrix.send({"address": "#market-st:fake.test"}, MESSAGE)
    assert not caught.value.permanent


def test_a_failing_homeserver_is_retried(matrix, fake_matrix: FakeMatrix) -> None:
    fake_matrix.outage(502, retry_after=4)

    with pytest.raises(TransportError) as caught:
        matrix.send({"address": ROOM}, MESSAGE)
    assert (caught.value.retry_after, caught.value.permanent) == (4, False)


def test_a_rate_limit_gives_retry_after_and_the_retry_reuses_the_transaction(
    matrix, fake_matrix: FakeMatrix
) -> None:
    fake_matrix.rate_limit(ROOM, retry_after=1.5)

    with pytest.raises(TransportError) as caught:
        matrix.send({"address": ROOM}, MESSAGE)
    assert (caught.value.retry_after, caught.value.permanent) == (1.5, False)
    matrix.send({"address": ROOM}, MESSAGE)

    first, retry = sends(fake_matrix)
    assert first == retry
    assert len(fake_matrix.received) == 1


def test_a_retry_after_a_lost_answer_is_not_a_second_message(matrix, fake_matrix: FakeMatrix) -> None:
    matrix.send({"address": ROOM}, MESSAGE)
    matrix.send({"address": ROOM}, MESSAGE)  # as if the first answer never reached us

    assert len(sends(fake_matrix)) == 2
    assert len(fake_matrix.received) == 1


def test_a_different_message_is_a_different_transaction(matrix, fake_matrix: FakeMatrix) -> None:
    matrix.send({"address": ROOM}, MESSAGE)
    matrix.send({"address": ROOM}, dataclasses.replace(MESSAGE, text="All clear near Market St."))

    assert len(set(sends(fake_matrix))) == 2
    assert len(fake_matrix.received) == 2


def test_not_being_in_the_room_is_permanent(matrix, fake_matrix: FakeMatrix) -> None:
    fake_matrix.reject(ROOM)

    with pytest.raises(TransportError) as caught:
        matrix.send({"address": ROOM}, MESSAGE)
    assert caught.value.permanent
    assert fake_matrix.joins == [ROOM]  # it tried to join, and was refused
    assert fake_matrix.received == []


def test_an_invited_bot_joins_the_room_and_sends_once(matrix, fake_matrix: FakeMatrix) -> None:
    fake_matrix.reject(ROOM)  # not a member yet
    fake_matrix.invited.add(ROOM)

    matrix.send({"address": ROOM}, MESSAGE)
    matrix.send({"address": ROOM}, MESSAGE)  # a retry of the same delivery

    assert fake_matrix.joins == [ROOM]
    assert len(fake_matrix.received) == 1


def test_a_bad_access_token_is_retried(
    matrix, fake_matrix: FakeMatrix, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAIDWATCH_MATRIX_ACCESS_TOKEN", "syt_wrong")

    with pytest.raises(TransportError) as caught:
        matrix.send({"address": ROOM}, MESSAGE)
    assert not caught.value.permanent


def test_nothing_is_sent_to_loopback_unless_allowed(matrix, fake_matrix: FakeMatrix, settings) -> None:
    settings.RAIDWATCH_ALLOW_PRIVATE_ENDPOINTS = False

    with pytest.raises(TransportError) as caught:
        matrix.send({"address": ROOM}, MESSAGE)
    assert not caught.value.permanent
    assert fake_matrix.requests == []


@pytest.mark.parametrize(
    "given",
    [ROOM, "!opaqueIdOfARoomV12", "#area-7:example.org", "#area:example.org:8448", "!a:[2001:db8::1]:8448"],
)
def test_room_ids_and_addresses_are_accepted(matrix, given: str) -> None:
    assert matrix.normalise_address({"address": f" {given} "}) == given


@pytest.mark.parametrize(
    "given",
    ["", "room", "#no-server", "@user:example.org", "!a b:example.org", "#a:b c", "!" + "x" * 300, None],
)
def test_other_addresses_are_refused(matrix, given: object) -> None:
    with pytest.raises(InvalidAddress) as caught:
        matrix.normalise_address({"address": given})
    assert caught.value.message
