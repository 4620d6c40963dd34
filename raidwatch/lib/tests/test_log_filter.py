"""R1's logging backstop: client addresses never reach a log handler."""

from __future__ import annotations

import io
import logging

import pytest
from django.conf import settings

from raidwatch.lib.logfilter import REDACTED, DropClientAddresses, redact


@pytest.mark.parametrize(
    "address",
    ["203.0.113.77", "198.51.100.23", "2001:db8::1", "2001:db8:85a3::8a2e:370:7334", "::ffff:203.0.113.9"],
)
def test_addresses_are_blanked_wherever_they_are(address: str) -> None:
    assert redact(f"peer ('{address}', 50430) said hello") == f"peer ('{REDACTED}', 50430) said hello"
    assert redact(f"connection from {address}.") == f"connection from {REDACTED}."
    if ":" not in address:  # after an IPv6 address a colon would read as part of it
        assert redact(f"{address}: refused") == f"{REDACTED}: refused"


@pytest.mark.parametrize("text", ["10:31:02", "version 1.2.3", "999.1.1.1", "a:b", "2026-11-26 10:31"])
def test_times_versions_and_near_misses_are_left_alone(text: str) -> None:
    assert redact(text) == text


def test_the_configured_handler_never_writes_an_address() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(DropClientAddresses())
    log = logging.getLogger("raidwatch.test.logfilter")
    log.addHandler(handler)
    try:
        log.warning("connection from %s failed", "203.0.113.77")
        try:
            raise ValueError("bad peer 2001:db8::1")
        except ValueError:
            log.exception("while talking to %s", "198.51.100.23")
    finally:
        log.removeHandler(handler)
    written = stream.getvalue()
    assert "203.0.113.77" not in written
    assert "198.51.100.23" not in written
    assert "2001:db8::1" not in written
    assert written.count(REDACTED) >= 3
    # And the project's own console handler has the filter.
    assert settings.LOGGING["handlers"]["console"]["filters"] == ["no_addresses"]  # type: ignore[index]
