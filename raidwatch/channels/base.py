"""The small interface every transport implements.

A transport sends one rendered message to one recipient. It raises
TransportError when it cannot: ``permanent=True`` means the destination is gone
(an expired push subscription, a blocked bot) and the subscription is disabled;
otherwise the outbox retries with backoff, waiting at least ``retry_after``
seconds when the provider said so (HTTP 429 / Retry-After).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar


class TransportError(Exception):
    def __init__(self, message: str, *, permanent: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after


class InvalidAddress(ValueError):
    """A subscriber's address is not one this channel can use; ``message`` is for them."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class OutboundMessage:
    """One alert rendered for one recipient's language: minimal by design (R15)."""

    text: str  # fits one SMS; every channel can send it as it is
    title: str
    url: str  # the alert's public page
    unsubscribe_url: str
    # Opaque per incident: push services see it, so it must not say anything.
    topic: str
    urgency: str = "high"  # Web Push Urgency: very-low | low | normal | high
    ttl_seconds: int = 6 * 3600  # a phone offline at send time still gets it
    language: str = "en"
    headers: dict[str, str] = field(default_factory=dict)


class Transport:
    """Base class: one subclass per folder under channels/."""

    name: ClassVar[str]
    # Addresses need a confirmation code sent to them before alerts go out.
    needs_confirmation: ClassVar[bool] = True
    # The provider's allowed sending rate, per second, for this process; None = unlimited.
    rate_per_second: ClassVar[float | None] = None
    # How many sends may run at once (threads); 1 for providers with a rate limit.
    concurrency: ClassVar[int] = 1

    def normalise_address(self, contact: dict[str, object]) -> str:
        """The canonical form of the contact's address (for the lookup hash), or InvalidAddress."""
        raise NotImplementedError

    def send(self, contact: dict[str, object], message: OutboundMessage) -> None:
        raise NotImplementedError
