"""Matrix through the client-server API, as a bot account: it sends to rooms it
is a member of, and joins a room it was invited to (or a public one) the first
time it sends there.

Configuration (read at send time): RAIDWATCH_MATRIX_HOMESERVER (the bot's
homeserver, e.g. https://matrix.example.org) and RAIDWATCH_MATRIX_ACCESS_TOKEN.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import quote

import requests
from django.utils.translation import gettext as _

from raidwatch.channels import http_errors
from raidwatch.channels.base import InvalidAddress, OutboundMessage, Transport, TransportError
from raidwatch.lib.env import env_str

NAME = "matrix"
# A server name: a DNS name, IPv4 or [IPv6] literal, with an optional port.
_SERVER = r"(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?"
# Room ids are opaque; from room version 12 they carry no ":server" part.
ROOM_ID = re.compile(rf"![\x21-\x39\x3b-\x7e]{{1,200}}(?::{_SERVER})?")
ALIAS = re.compile(rf"#[^\s:]{{1,200}}:{_SERVER}")


class MatrixTransport(Transport):
    name = NAME
    needs_confirmation = True  # anyone can name a room; the code shows they can read it

    def normalise_address(self, contact: dict[str, object]) -> str:
        address = contact.get("address")
        if isinstance(address, str):
            room = address.strip()
            # The spec caps identifiers at 255 bytes.
            if len(room.encode()) <= 255 and (ROOM_ID.fullmatch(room) or ALIAS.fullmatch(room)):
                return room
        raise InvalidAddress(_("Enter a Matrix room id (!…:server) or room address (#name:server)."))

    def send(self, contact: dict[str, object], message: OutboundMessage) -> None:
        address = http_errors.stored_address(self, contact)
        homeserver = env_str("RAIDWATCH_MATRIX_HOMESERVER")
        token = env_str("RAIDWATCH_MATRIX_ACCESS_TOKEN")
        if not homeserver or not token:
            raise TransportError(
                f"{NAME}: RAIDWATCH_MATRIX_HOMESERVER and RAIDWATCH_MATRIX_ACCESS_TOKEN must be set"
            )
        api = f"{homeserver.rstrip('/')}/_matrix/client/v3"
        headers = {"Authorization": f"Bearer {token}"}
        # An alias can be re-pointed, so it is resolved each time rather than stored.
        room = _resolve(api, headers, address) if address.startswith("#") else address
        body = f"{message.text}\n{message.url}"
        url = f"{api}/rooms/{quote(room, safe='')}/send/m.room.message/{transaction_id(room, message)}"
        response = http_errors.request(
            NAME, "PUT", url, json={"msgtype": "m.text", "body": body}, headers=headers
        )
        if _not_in_room(response) and _join(api, headers, room):
            # Invited (or a public room) but not joined yet: join once, send again
            # with the same transaction id, so the message still goes out once.
            response = http_errors.request(
                NAME, "PUT", url, json={"msgtype": "m.text", "body": body}, headers=headers
            )
        if response.status_code == 200:
            return
        raise _error(response)


def _not_in_room(response: requests.Response) -> bool:
    return response.status_code == 403 and http_errors.json_body(response).get("errcode") == "M_FORBIDDEN"


def _join(api: str, headers: dict[str, str], room: str) -> bool:
    """Join ``room``; True when the bot is now a member. A room the bot was
    never invited to (nor can join) answers 403, and sending stays refused."""
    response = http_errors.request(
        NAME, "POST", f"{api}/join/{quote(room, safe='')}", json={}, headers=headers
    )
    return response.status_code == 200


def transaction_id(room: str, message: OutboundMessage) -> str:
    """The same for a retry of the same delivery, so the homeserver sends it only once
    even when our first attempt got through but its answer was lost.

    The server scopes transaction ids to our access token; two deliveries with the
    same room, incident topic and text are the same message, and sending it once is right.
    """
    digest = hashlib.sha256("\x00".join((room, message.topic, message.text)).encode()).hexdigest()
    return f"rw{digest[:40]}"


def _resolve(api: str, headers: dict[str, str], alias: str) -> str:
    response = http_errors.request(
        NAME, "GET", f"{api}/directory/room/{quote(alias, safe='')}", headers=headers
    )
    body = http_errors.json_body(response)
    room_id = body.get("room_id")
    if response.status_code == 200 and isinstance(room_id, str) and ROOM_ID.fullmatch(room_id):
        return room_id
    if response.status_code == 404 and body.get("errcode") == "M_NOT_FOUND":
        # The homeserver's own answer, not a misrouted proxy's 404, so the alias is really gone.
        raise http_errors.permanent(NAME, "HTTP 404 (room address not found)")
    raise _error(response)


def _error(response: requests.Response) -> TransportError:
    body = http_errors.json_body(response)
    status = response.status_code
    if status == 429:
        # Spec v1.10+ servers send Retry-After; all send retry_after_ms in the body.
        hint = http_errors.parse_retry_after(response.headers.get("Retry-After"))
        if hint is None:
            milliseconds = body.get("retry_after_ms")
            if isinstance(milliseconds, int | float) and not isinstance(milliseconds, bool):
                hint = http_errors.parse_retry_after(milliseconds / 1000)
        return http_errors.rate_limited(NAME, hint)
    if status == 403 and body.get("errcode") == "M_FORBIDDEN":
        # The bot is not in the room and could not join it (never invited, kicked or banned).
        return http_errors.permanent(NAME, "HTTP 403 M_FORBIDDEN (not in the room)")
    # 401 M_UNKNOWN_TOKEN is our token; other errors are retried.
    return http_errors.generic_error(NAME, response)
