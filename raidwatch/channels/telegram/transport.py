"""Telegram through the Bot API (sendMessage).

Configuration (read at send time): RAIDWATCH_TELEGRAM_BOT_TOKEN,
RAIDWATCH_TELEGRAM_API_BASE (default https://api.telegram.org), RAIDWATCH_TELEGRAM_RATE
(messages per second for this process, default 25: Telegram allows a bot about 30
a second overall, and a margin keeps us clear of flood waits).
"""

from __future__ import annotations

import re
from typing import Any

import requests
from django.utils.translation import gettext as _

from raidwatch.channels import http_errors
from raidwatch.channels.base import InvalidAddress, OutboundMessage, Transport, TransportError
from raidwatch.lib.env import env_int, env_str

NAME = "telegram"
DEFAULT_API_BASE = "https://api.telegram.org"
# A user or group chat id (supergroups and channels are negative, -100…).
CHAT_ID = re.compile(r"-?[0-9]{1,20}")
# A public channel or supergroup username: 5 to 32 characters, starting with a letter.
USERNAME = re.compile(r"@[A-Za-z][A-Za-z0-9_]{4,31}")
# 400 answers that mean the chat is gone or never existed, not that our request was bad.
GONE = ("chat not found", "peer_id_invalid")


class _RateFromEnv:
    """rate_per_second, read from the environment whenever it is asked for, so an
    operator's (or a test's) setting applies without re-importing the module."""

    def __get__(self, instance: object, owner: type | None = None) -> float:
        return float(env_int("RAIDWATCH_TELEGRAM_RATE", 25, minimum=1, maximum=1000))


class TelegramTransport(Transport):
    name = NAME
    needs_confirmation = True  # a chat id is easy to mistype or to give for somebody else
    rate_per_second = _RateFromEnv()

    def normalise_address(self, contact: dict[str, object]) -> str:
        address = contact.get("address")
        if isinstance(address, int) and not isinstance(address, bool):
            address = str(address)
        if isinstance(address, str):
            address = address.strip()
            if CHAT_ID.fullmatch(address):
                return str(int(address))  # drops leading zeros, so one chat has one form
            if USERNAME.fullmatch(address):
                return address.lower()  # Telegram usernames are case-insensitive
        raise InvalidAddress(_("Enter a Telegram chat id (a number) or a channel name starting with @."))

    def send(self, contact: dict[str, object], message: OutboundMessage) -> None:
        # No parse_mode: the text goes as plain text, so nothing in it is markup (R15).
        self._send_message(http_errors.stored_address(self, contact), f"{message.text}\n{message.url}")

    def post_to_channel(self, chat_id: str, text: str) -> None:
        """Post to a public per-area channel the bot administers ("@name" or its id).

        One post reaches every member, which is how public channels stay within
        the rate limits however many people follow an area (PERFORMANCE.md G7).
        Telegram allows about 20 posts a minute into one group or channel.
        """
        self._send_message(chat_id, text)

    def _send_message(self, chat_id: str, text: str) -> None:
        token = env_str("RAIDWATCH_TELEGRAM_BOT_TOKEN")
        if not token:
            raise TransportError(f"{NAME}: RAIDWATCH_TELEGRAM_BOT_TOKEN is not set")
        base = (env_str("RAIDWATCH_TELEGRAM_API_BASE") or DEFAULT_API_BASE).rstrip("/")
        response = http_errors.request(
            NAME,
            "POST",
            f"{base}/bot{token}/sendMessage",
            json={"chat_id": chat_id, "text": text, "disable_web_page_preview": True},
        )
        body = http_errors.json_body(response)
        if response.status_code == 200 and body.get("ok") is True:
            return
        raise _error(response, body)


def _error(response: requests.Response, body: dict[str, Any]) -> TransportError:
    status = response.status_code
    description = str(body.get("description", "")).lower()
    parameters = body.get("parameters")
    parameters = parameters if isinstance(parameters, dict) else {}
    if status == 429:
        # The Bot API gives its wait in the body; a proxy in front may use the header.
        hint = http_errors.parse_retry_after(parameters.get("retry_after"))
        if hint is None:
            hint = http_errors.parse_retry_after(response.headers.get("Retry-After"))
        return http_errors.rate_limited(NAME, hint)
    # Only the Bot API's own answer (ok: false) can say a chat is gone: a proxy's
    # or firewall's 403 in front of it must not unsubscribe everyone.
    from_telegram = body.get("ok") is False
    if status == 403 and from_telegram:
        # Blocked by the user, kicked from the group, or the user deleted their account.
        return http_errors.permanent(NAME, "HTTP 403 (blocked, removed or deactivated)")
    if status == 400 and from_telegram and "migrate_to_chat_id" in parameters:
        # A group became a supergroup and has a new id: the old address is gone,
        # and the subscriber re-subscribes with the new one.
        return http_errors.permanent(NAME, "HTTP 400 (group moved to a new chat id)")
    if status == 400 and from_telegram and any(reason in description for reason in GONE):
        return http_errors.permanent(NAME, "HTTP 400 (chat not found)")
    # 401/404 mean a bad bot token (ours), other 400s a request we got wrong: retry.
    return http_errors.generic_error(NAME, response)
