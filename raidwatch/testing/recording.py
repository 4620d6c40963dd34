"""A transport that records what it would send, for tests of the outbox logic.

Tests of the real protocols use the fakes (fake_push, fake_smtp, fake_sms,
fake_messaging); this one isolates matching, fan-out and retry rules from them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import pytest

from raidwatch.channels import registry
from raidwatch.channels.base import InvalidAddress, OutboundMessage, Transport, TransportError


class RecordingTransport(Transport):
    name = "recording"
    needs_confirmation = False
    sent: ClassVar[list[tuple[str, OutboundMessage]]] = []
    # address -> error to raise instead of sending
    failures: ClassVar[dict[str, TransportError]] = {}

    def normalise_address(self, contact: dict[str, object]) -> str:
        address = contact.get("address")
        if not isinstance(address, str) or not address:
            raise InvalidAddress("an address is needed")
        return address.lower()

    def send(self, contact: dict[str, object], message: OutboundMessage) -> None:
        address = str(contact["address"]).lower()
        if address in self.failures:
            raise self.failures[address]
        self.sent.append((address, message))


@pytest.fixture
def recording_channel(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[RecordingTransport]]:
    """Every subscriber channel is served by the recording transport during the test."""
    RecordingTransport.sent = []
    RecordingTransport.failures = {}
    path = f"{__name__}.RecordingTransport"
    monkeypatch.setattr(registry, "TRANSPORTS", dict.fromkeys(registry.TRANSPORTS, path))
    registry.transport.cache_clear()
    yield RecordingTransport
    registry.transport.cache_clear()
