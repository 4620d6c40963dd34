"""What the HTTP-based messaging transports share: one guarded request, and the
reading of a provider's answer into TransportError.

The rule throughout: ``permanent=True`` disables a subscription, so it is only
raised when the provider says *this recipient* is gone. Anything that could be
our own fault (a bad token, an unregistered sender account, a refused
destination, a request the provider did not like) is retried instead, because
a configuration mistake must never unsubscribe everyone at once.

Error messages name the channel and the status, never the URL, the recipient or
the provider's free text: the Telegram bot token sits in the URL path, and
provider messages quote recipients' numbers. The outbox may log these messages.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from raidwatch.channels.base import InvalidAddress, Transport, TransportError
from raidwatch.lib import http

# A provider asking for more than a day is broken or hostile; waiting that long
# would silently stop a channel, so the hint is capped.
MAX_RETRY_AFTER = 24 * 3600.0


def parse_retry_after(value: object) -> float | None:
    """Seconds to wait from a Retry-After value: delta-seconds or an HTTP date (RFC 9110)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text = str(value).strip()
        try:
            seconds = float(text)
        except ValueError:
            try:
                when = parsedate_to_datetime(text)
            except (TypeError, ValueError, IndexError):
                return None
            if when.tzinfo is None:  # RFC 850 / asctime forms carry no zone and mean GMT
                when = when.replace(tzinfo=UTC)
            seconds = (when - datetime.now(UTC)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def json_body(response: requests.Response) -> dict[str, Any]:
    """The response's JSON object, or {} when it has none (proxies answer 502 in HTML)."""
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def request(channel: str, method: str, url: str, **kwargs: Any) -> requests.Response:
    """One request through lib/http's guarded session; failures become retryable TransportErrors."""
    try:
        with http.session() as client:
            return client.request(method, url, **kwargs)
    except http.DestinationRefused as exc:
        # The endpoint is our configuration, not the subscriber's address: retry
        # (the operator can fix it) rather than disable anyone. The reason names
        # only the host, which is configuration too.
        raise TransportError(f"{channel}: destination refused: {exc}") from None
    except requests.RequestException as exc:
        # str(exc) would quote the URL, and with it the Telegram bot token.
        raise TransportError(f"{channel}: {type(exc).__name__} while sending") from None


def rate_limited(channel: str, retry_after: float | None) -> TransportError:
    return TransportError(f"{channel}: rate limited (HTTP 429)", retry_after=retry_after)


def generic_error(channel: str, response: requests.Response) -> TransportError:
    """The fallback for a status no transport gave a meaning to: retry, honouring any hint."""
    hint = parse_retry_after(response.headers.get("Retry-After"))
    if response.status_code == 429:
        return rate_limited(channel, hint)
    return TransportError(f"{channel}: HTTP {response.status_code}", retry_after=hint)


def permanent(channel: str, reason: str) -> TransportError:
    return TransportError(f"{channel}: {reason}", permanent=True)


def stored_address(transport: Transport, contact: dict[str, object]) -> str:
    """The address to send to. It was checked at subscription time, so one that no
    longer passes (the rules got stricter) can never be delivered to."""
    try:
        return transport.normalise_address(contact)
    except InvalidAddress:
        raise permanent(transport.name, "the stored address is not valid") from None
