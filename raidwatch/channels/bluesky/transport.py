"""Bluesky (AT Protocol): public alerts posted to the operator's account.

There are no Bluesky subscribers: an account's followers see one post, so
this is a public channel only (PERFORMANCE.md G7), used by alerts/public_posts.

Configuration (read at send time): RAIDWATCH_BLUESKY_PDS (default
https://bsky.social), RAIDWATCH_BLUESKY_HANDLE, RAIDWATCH_BLUESKY_APP_PASSWORD
(an app password, never the account's own), RAIDWATCH_BLUESKY_AREAS (read by
alerts/public_posts).

A post is a record created in our repository. We choose its record key from the
public post's id, so a retry of a post whose first attempt got through (but
whose answer was lost) names the same record and cannot create a second one.
"""

from __future__ import annotations

import threading
import time
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from django.utils import translation

from raidwatch.channels import http_errors
from raidwatch.channels.base import TransportError
from raidwatch.lib.env import env_str

NAME = "bluesky"
DEFAULT_PDS = "https://bsky.social"
COLLECTION = "app.bsky.feed.post"
# app.bsky.feed.post allows 300 graphemes (and 3,000 bytes, which 300 code points
# never exceed: UTF-8 needs at most 4 bytes for one).
MAX_GRAPHEMES = 300
ELLIPSIS = "…"
# The base32 alphabet of TIDs, in sort order (atproto's "base32-sortable").
TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ZWJ = "\u200d"


# Text.


def shorten(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters, cut with an ellipsis if it is longer.

    Counts code points. A grapheme is one or more code points, so this never
    exceeds a limit counted in graphemes (Bluesky's, Mastodon's); it may cut a
    little earlier than needed, which is harmless for a short alert. It steps
    back over combining marks, joiners and emoji modifiers so a cut does not
    leave half a letter (Bengali, Gurmukhi, Arabic vowel marks) or half an emoji.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if len(text) <= limit:
        return text
    cut = limit - len(ELLIPSIS)
    while cut > 0 and (_continues_previous(text[cut]) or text[cut - 1] == _ZWJ):
        cut -= 1
    return text[:cut].rstrip() + ELLIPSIS


def _continues_previous(char: str) -> bool:
    """Whether ``char`` belongs to the grapheme of the character before it."""
    code = ord(char)
    return (
        unicodedata.category(char) in ("Mn", "Mc", "Me")
        or char == _ZWJ
        or 0xFE00 <= code <= 0xFE0F  # variation selectors (emoji vs text presentation)
        or 0x1F3FB <= code <= 0x1F3FF  # skin tone modifiers
        or 0xE0020 <= code <= 0xE007F  # tag characters (subdivision flags)
    )


def language_tag(language: str) -> str:
    """A Django language code as the BCP 47 tag ``langs`` wants: "zh-hans" → "zh-Hans"."""
    return translation.to_locale(language).replace("_", "-")


def build_record(text: str, url: str, language: str, now: datetime) -> dict[str, Any]:
    """The post record: text cut to fit with the link kept whole, and a link facet
    so the URL is clickable (Bluesky does not detect links in text by itself)."""
    separator = "\n"
    room = MAX_GRAPHEMES - len(separator) - len(url)
    if room < len(ELLIPSIS) + 1:
        raise TransportError(f"{NAME}: the alert link is too long for a post")
    body = shorten(text, room)
    # Facet offsets count UTF-8 bytes, not characters: "ã" or "ক" before the
    # link moves it by two or three bytes per character.
    start = len(f"{body}{separator}".encode())
    return {
        "$type": COLLECTION,
        "text": f"{body}{separator}{url}",
        # Millisecond precision with a Z, the form Bluesky's own clients write.
        "createdAt": now.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "langs": [language_tag(language)],
        "facets": [
            {
                "index": {"byteStart": start, "byteEnd": start + len(url.encode())},
                "features": [{"$type": "app.bsky.richtext.facet#link", "uri": url}],
            }
        ],
    }


def record_key(post_id: int, moment: datetime) -> str:
    """A record key for one public post: the same for every retry, different for every post.

    app.bsky.feed.post records are keyed by TIDs (13 base32-sortable characters:
    microseconds since 1970, then a 10-bit clock id). The time is the alert's,
    and the clock id comes from the post's id; the time keeps keys from colliding
    with earlier posts of the same account even after the database is recreated
    and ids start again from 1, which a key made of the id alone would not.
    """
    micros = (moment - _EPOCH) // timedelta(microseconds=1)
    value = ((micros & ((1 << 53) - 1)) << 10) | (post_id & 0x3FF)
    chars = []
    for _ in range(13):
        chars.append(TID_ALPHABET[value & 0x1F])
        value >>= 5
    return "".join(reversed(chars))


def account_label() -> str:
    """A name for where the posts go, for the operator's view of public posts (the handle)."""
    return (env_str("RAIDWATCH_BLUESKY_HANDLE") or NAME).strip().lower()[:100]


# Sessions.


@dataclass(frozen=True)
class Session:
    access_jwt: str
    did: str


class _SessionCache:
    """One session per PDS and handle for this process.

    createSession is rate limited far more tightly than posting (tens per five
    minutes, a few hundred a day per account), so a session is reused until the
    PDS refuses its token, and then replaced once.
    """

    def __init__(self) -> None:
        # Held while a session is created, so two threads never both log in.
        self._lock = threading.Lock()
        self._sessions: dict[tuple[str, str], Session] = {}

    def get(self, pds: str, handle: str, password: str) -> Session:
        with self._lock:
            session = self._sessions.get((pds, handle))
            if session is None:
                session = self._sessions[(pds, handle)] = _create_session(pds, handle, password)
            return session

    def renew(self, pds: str, handle: str, password: str, stale: Session) -> Session:
        with self._lock:
            current = self._sessions.get((pds, handle))
            if current is not None and current != stale:
                return current  # another thread renewed it already
            self._sessions.pop((pds, handle), None)
            session = self._sessions[(pds, handle)] = _create_session(pds, handle, password)
            return session

    def clear(self) -> None:
        with self._lock:
            self._sessions.clear()


sessions = _SessionCache()


def _create_session(pds: str, handle: str, password: str) -> Session:
    response = http_errors.request(
        NAME,
        "POST",
        f"{pds}/xrpc/com.atproto.server.createSession",
        json={"identifier": handle, "password": password},
    )
    body = http_errors.json_body(response)
    if response.status_code == 200:
        access, did = body.get("accessJwt"), body.get("did")
        if isinstance(access, str) and access and isinstance(did, str) and did.startswith("did:"):
            return Session(access_jwt=access, did=did)
        raise TransportError(f"{NAME}: createSession answered without a session")
    if response.status_code == 429:
        raise http_errors.rate_limited(NAME, retry_hint(response))
    if response.status_code == 401:
        # Our configuration (the handle or the app password): retried, so that
        # posts go out once the operator fixes it, and failed after the outbox's attempts.
        raise TransportError(f"{NAME}: the handle or app password was refused (HTTP 401)")
    raise http_errors.generic_error(NAME, response)


# Posting.


class BlueskyTransport:
    name = NAME

    def post(self, text: str, url: str, *, language: str, rkey: str) -> None:
        """Post ``text`` and its link once; a repeat with the same ``rkey`` posts nothing more."""
        pds = (env_str("RAIDWATCH_BLUESKY_PDS") or DEFAULT_PDS).rstrip("/")
        handle = env_str("RAIDWATCH_BLUESKY_HANDLE")
        password = env_str("RAIDWATCH_BLUESKY_APP_PASSWORD")
        if not handle or not password:
            raise TransportError(
                f"{NAME}: RAIDWATCH_BLUESKY_HANDLE and RAIDWATCH_BLUESKY_APP_PASSWORD must be set"
            )
        record = build_record(text, url, language, datetime.now(UTC))
        session = sessions.get(pds, handle, password)
        response = _create_record(pds, session, rkey, record)
        if _session_refused(response):
            # Access tokens live for hours; a post after a quiet day finds it expired.
            # One new session per attempt: if that is refused too, the outbox retries later.
            session = sessions.renew(pds, handle, password, stale=session)
            response = _create_record(pds, session, rkey, record)
        if response.status_code == 200 and isinstance(http_errors.json_body(response).get("uri"), str):
            return
        if response.status_code == 429:
            raise http_errors.rate_limited(NAME, retry_hint(response))
        if _session_refused(response):
            raise TransportError(f"{NAME}: a new session was refused too (HTTP {response.status_code})")
        # A record that already exists is an earlier attempt of this same post that
        # got through. The PDS answers that with a 500 today (atproto issue #3718),
        # and a newer one with its own error name; asking for the record covers both.
        if _record_exists(pds, session.did, rkey):
            return
        raise http_errors.generic_error(NAME, response)


def _create_record(pds: str, session: Session, rkey: str, record: dict[str, Any]) -> requests.Response:
    return http_errors.request(
        NAME,
        "POST",
        f"{pds}/xrpc/com.atproto.repo.createRecord",
        json={"repo": session.did, "collection": COLLECTION, "rkey": rkey, "record": record},
        headers={"Authorization": f"Bearer {session.access_jwt}"},
    )


def _session_refused(response: requests.Response) -> bool:
    if response.status_code == 401:
        return True
    error = http_errors.json_body(response).get("error")
    return response.status_code == 400 and error in ("ExpiredToken", "InvalidToken")


def _record_exists(pds: str, did: str, rkey: str) -> bool:
    try:
        response = http_errors.request(
            NAME,
            "GET",
            f"{pds}/xrpc/com.atproto.repo.getRecord",
            params={"repo": did, "collection": COLLECTION, "rkey": rkey},
        )
    except TransportError:
        return False  # unknown: the caller reports the original failure, and the outbox retries
    return response.status_code == 200 and isinstance(http_errors.json_body(response).get("uri"), str)


def retry_hint(response: requests.Response) -> float | None:
    """Seconds to wait: Bluesky's RateLimit-Reset is a Unix time in seconds; a proxy's
    Retry-After is the fallback."""
    reset = response.headers.get("RateLimit-Reset")
    if reset is not None:
        try:
            hint = http_errors.parse_retry_after(float(reset.strip()) - time.time())
        except ValueError:
            hint = None
        if hint is not None:
            return hint
    return http_errors.parse_retry_after(response.headers.get("Retry-After"))
