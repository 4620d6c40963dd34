"""Signal through signal-cli's REST wrapper (bbernhard/signal-cli-rest-api, POST /v2/send).

Configuration (read at send time): RAIDWATCH_SIGNAL_API_BASE (where the wrapper
listens) and RAIDWATCH_SIGNAL_NUMBER (the registered account alerts come from).
The wrapper has no authentication of its own, so it belongs on a private network
or behind a proxy; lib/http only lets us reach a private address when
RAIDWATCH_ALLOW_PRIVATE_ENDPOINTS is set.
"""

from __future__ import annotations

import re

import requests
from django.utils.translation import gettext as _

from raidwatch.channels import http_errors
from raidwatch.channels.base import InvalidAddress, OutboundMessage, Transport, TransportError
from raidwatch.lib.env import env_str

NAME = "signal"
# E.164: a country code never starts with 0; 8 to 15 digits in all.
E164 = re.compile(r"\+[1-9][0-9]{7,14}")
# Separators people type in numbers; removed before checking.
SEPARATORS = re.compile(r"[\s\-().]")


class SignalTransport(Transport):
    name = NAME
    needs_confirmation = True  # a phone number is easy to mistype or to give for somebody else

    def normalise_address(self, contact: dict[str, object]) -> str:
        address = contact.get("address")
        if isinstance(address, str):
            number = SEPARATORS.sub("", address)
            if E164.fullmatch(number):
                return number
        raise InvalidAddress(
            _("Enter the phone number you use Signal with, starting with + and the country code.")
        )

    def send(self, contact: dict[str, object], message: OutboundMessage) -> None:
        recipient = http_errors.stored_address(self, contact)
        base = env_str("RAIDWATCH_SIGNAL_API_BASE")
        number = env_str("RAIDWATCH_SIGNAL_NUMBER")
        if not base or not number:
            raise TransportError(f"{NAME}: RAIDWATCH_SIGNAL_API_BASE and RAIDWATCH_SIGNAL_NUMBER must be set")
        response = http_errors.request(
            NAME,
            "POST",
            f"{base.rstrip('/')}/v2/send",
            json={"message": f"{message.text}\n{message.url}", "number": number, "recipients": [recipient]},
        )
        if response.status_code in (200, 201):
            return
        raise _error(response)


def _error(response: requests.Response) -> TransportError:
    status = response.status_code
    error = str(http_errors.json_body(response).get("error", ""))
    if status == 429 or "rate limit" in error.lower():
        # signal-cli reports Signal's own rate limiting inside a 400 as well.
        return http_errors.rate_limited(
            NAME, http_errors.parse_retry_after(response.headers.get("Retry-After"))
        )
    if 400 <= status < 500 and "Unregistered user" in error:
        # The recipient has no Signal account (any more). Not to be confused with
        # "User +… is not registered", which is about our own sending account.
        return http_errors.permanent(NAME, f"HTTP {status} (recipient not on Signal)")
    # Untrusted identity, our account unregistered, the wrapper failing: retry.
    return http_errors.generic_error(NAME, response)
