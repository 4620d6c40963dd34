"""Local stand-ins for a Mastodon instance and a Bluesky PDS, for public posts.

Real HTTP servers on 127.0.0.1 (the machinery of fake_messaging), so the
transports are tested through lib/http as they run. Each checks what the real
service checks (the token or session, the JSON shape), records what it posted
in ``received``, and deduplicates the way the service does:

- Mastodon answers a repeated ``Idempotency-Key`` with the status it already made;
- a PDS refuses a second record with the same key (today with a 500, atproto
  issue #3718), and ``getRecord`` shows the first.

Both can answer with the service's own rate limit headers (``rate_limit``), fail
as a proxy in front would (``outage``), or post and then lose the answer
(``lose_answer``: a 504 from a gateway, or, with ``hold=True``, no answer until
the client has timed out), which is what makes a naive retry double-post.

Fixtures ``fake_mastodon`` and ``fake_bluesky`` start one, point the
RAIDWATCH_MASTODON_* or RAIDWATCH_BLUESKY_* variables at it (not the *_AREAS:
tests choose those), set RAIDWATCH_ALLOW_PRIVATE_ENDPOINTS and stop it
afterwards. Load with ``pytest_plugins = ["raidwatch.testing.fake_social"]``.
"""

from __future__ import annotations

import itertools
import re
import secrets
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs

import pytest

from raidwatch.channels.bluesky.transport import TID_ALPHABET
from raidwatch.channels.bluesky.transport import sessions as bluesky_sessions
from raidwatch.testing.fake_messaging import FakeService, Reply

RKEY = re.compile(r"[A-Za-z0-9._:~-]{1,512}")
TID = re.compile(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}")
URL = re.compile(r"https?://\S+")
# How long a held answer waits at most, so a forgotten release cannot hang a run.
HOLD_LIMIT = 5.0


class _LosesAnswers(FakeService):
    """A fake that can commit a post and then not deliver the answer."""

    def __init__(self) -> None:
        super().__init__()
        self._lost: list[bool] = []  # per pending loss: hold (True) or 504 (False)
        self._release = threading.Event()
        report_error = self._server.handle_error

        def handle_error(request: Any, client_address: Any) -> None:
            # A held answer meets a closed connection: the client gave up, as the
            # test wanted. Anything else is a fault in the fake and is reported.
            if not isinstance(sys.exc_info()[1], ConnectionError):
                report_error(request, client_address)

        self._server.handle_error = handle_error  # type: ignore[method-assign]

    def lose_answer(self, *, times: int = 1, hold: bool = False) -> None:
        """Post the next ``times`` posts, then answer 504 (or, with ``hold``, answer
        only after the client gave up waiting)."""
        with self._lock:
            self._lost.extend([hold] * times)

    def answer_after_commit(self, reply: Reply) -> Reply:
        with self._lock:
            hold = self._lost.pop(0) if self._lost else None
        if hold is None:
            return reply
        if hold:
            self._release.wait(HOLD_LIMIT)  # the client's read timeout ends its wait first
            return reply
        return 504, {}, {}

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._release.set()
        super().__exit__(kind, error, trace)


class FakeMastodon(_LosesAnswers):
    """POST /api/v1/statuses for one account's access token.

    ``rate_limit(fake.account, retry_after)`` answers 429 with X-RateLimit-Reset;
    ``reject(fake.account)`` answers 422 (the status refused), ``reject(fake.account,
    "suspended")`` 403."""

    token = "fake-mastodon-access-token"  # noqa: S105 - a fake service's token, not a secret
    account = "raidwatch"
    max_characters = 500

    def __init__(self) -> None:
        super().__init__()
        self.statuses: list[dict[str, Any]] = []
        self._by_key: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(109_000_000_000_000_001)

    def bad_request(self, reason: str) -> Reply:
        return 400, {"error": reason}, {}

    def handle(self, method: str, path: str, headers: dict[str, str], payload: dict[str, Any]) -> Reply:
        if method != "POST" or path != "/api/v1/statuses":
            return 404, {"error": "Record not found"}, {}
        if headers.get("authorization") != f"Bearer {self.token}":
            return 401, {"error": "The access token is invalid"}, {}
        hint = self.hint_for(self.account)
        if hint is not None:
            reset = datetime.now(UTC) + timedelta(seconds=hint)
            return (
                429,
                {"error": "Too many requests"},
                {
                    "X-RateLimit-Limit": "300",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": reset.isoformat(timespec="microseconds").replace("+00:00", "Z"),
                },
            )
        key = headers.get("idempotency-key")
        with self._lock:
            earlier = self._by_key.get(key) if key else None
        if earlier is not None:
            return 200, earlier, {}
        how = self.rejection_for(self.account)
        if how == "suspended":
            return 403, {"error": "Your login is currently disabled"}, {}
        if how is not None:
            return 422, {"error": "Validation failed: Text has been rejected"}, {}
        text, visibility = payload.get("status"), payload.get("visibility", "public")
        if not isinstance(text, str) or not text.strip():
            return 422, {"error": "Validation failed: Text can't be blank"}, {}
        if len(URL.sub("x" * 23, text)) > self.max_characters:
            return (
                422,
                {"error": f"Validation failed: Text character limit of {self.max_characters} exceeded"},
                {},
            )
        if visibility not in ("public", "unlisted", "private", "direct"):
            return 422, {"error": "Validation failed: Visibility is not included in the list"}, {}
        language = payload.get("language")
        if language is not None and not (isinstance(language, str) and re.fullmatch(r"[a-z]{2,3}", language)):
            return 422, {"error": "Validation failed: Language is not a valid language code"}, {}
        status_id = str(next(self._ids))
        status = {
            "id": status_id,
            "uri": f"https://fake.test/users/{self.account}/statuses/{status_id}",
            "url": f"https://fake.test/@{self.account}/{status_id}",
            "visibility": visibility,
            "language": language,
            "content": text,
        }
        with self._lock:
            if key:
                self._by_key[key] = status
            self.statuses.append(status)
        self.record(self.account, payload, headers, path)
        return self.answer_after_commit((200, status, {}))


class FakeBluesky(_LosesAnswers):
    """A PDS holding one account: createSession, createRecord and getRecord.

    ``expire_sessions()`` makes every token issued so far answer 400 ExpiredToken;
    ``expire_new_sessions = True`` makes even fresh ones do so (a PDS that keeps
    refusing). ``rate_limit(fake.did, retry_after)`` answers 429 with RateLimit-*
    headers; ``rate_limit("createSession", …)`` limits logging in."""

    handle_name = "raidwatch.fake.test"
    did = "did:plc:fakeraidwatchaccount00"
    app_password = "abcd-efgh-ijkl-mnop"  # noqa: S105 - a fake service's password, not a secret

    def __init__(self) -> None:
        super().__init__()
        self.records: dict[str, dict[str, Any]] = {}  # rkey -> record
        self.sessions_created = 0
        self.expire_new_sessions = False
        self._tokens: dict[str, bool] = {}  # access token -> expired

    def expire_sessions(self) -> None:
        with self._lock:
            self._tokens = dict.fromkeys(self._tokens, True)

    def bad_request(self, reason: str) -> Reply:
        return 400, {"error": "InvalidRequest", "message": reason}, {}

    def handle(self, method: str, path: str, headers: dict[str, str], payload: dict[str, Any]) -> Reply:
        route, _, query = path.partition("?")
        if method == "POST" and route == "/xrpc/com.atproto.server.createSession":
            return self._create_session(payload)
        if method == "POST" and route == "/xrpc/com.atproto.repo.createRecord":
            return self._create_record(headers, payload, path)
        if method == "GET" and route == "/xrpc/com.atproto.repo.getRecord":
            return self._get_record(parse_qs(query))
        return 404, {"error": "MethodNotImplemented", "message": "Method Not Implemented"}, {}

    def _rate_limited(self, hint: float) -> Reply:
        headers = {
            "RateLimit-Limit": "5000",
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": str(int(time.time() + hint)),
            "RateLimit-Policy": "5000;w=3600",
        }
        return 429, {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}, headers

    def _create_session(self, payload: dict[str, Any]) -> Reply:
        identifier, password = payload.get("identifier"), payload.get("password")
        if not isinstance(identifier, str) or not isinstance(password, str):
            return self.bad_request("Input must have the properties identifier and password")
        hint = self.hint_for("createSession")
        if hint is not None:
            return self._rate_limited(hint)
        if identifier.lower() not in (self.handle_name, self.did) or password != self.app_password:
            return 401, {"error": "AuthenticationRequired", "message": "Invalid identifier or password"}, {}
        token = f"fake-access-{secrets.token_hex(8)}"
        with self._lock:
            self.sessions_created += 1
            self._tokens[token] = self.expire_new_sessions
        body = {
            "did": self.did,
            "handle": self.handle_name,
            "accessJwt": token,
            "refreshJwt": f"fake-refresh-{secrets.token_hex(8)}",
            "active": True,
        }
        return 200, body, {}

    def _create_record(self, headers: dict[str, str], payload: dict[str, Any], path: str) -> Reply:
        authorization = headers.get("authorization", "")
        if not authorization.startswith("Bearer "):
            return 401, {"error": "AuthenticationRequired", "message": "Authentication Required"}, {}
        with self._lock:
            expired = self._tokens.get(authorization.removeprefix("Bearer "))
        if expired is None:
            return 400, {"error": "InvalidToken", "message": "Token could not be verified"}, {}
        if expired:
            return 400, {"error": "ExpiredToken", "message": "Token has expired"}, {}
        hint = self.hint_for(self.did)
        if hint is not None:
            return self._rate_limited(hint)
        if payload.get("repo") not in (self.did, self.handle_name):
            return self.bad_request("Could not find repo")
        if payload.get("collection") != "app.bsky.feed.post":
            return self.bad_request("This fake PDS only takes app.bsky.feed.post records")
        rkey = payload.get("rkey")
        if rkey is None:  # the PDS picks a TID
            rkey = "3" + "".join(secrets.choice(TID_ALPHABET) for _ in range(12))
        if not isinstance(rkey, str) or not RKEY.fullmatch(rkey) or rkey in (".", ".."):
            return self.bad_request("Invalid record key")
        if not TID.fullmatch(rkey):
            return self.bad_request("Invalid record key: app.bsky.feed.post records are keyed by TID")
        record = payload.get("record")
        problem = _post_problem(record)
        if problem or not isinstance(record, dict):
            return self.bad_request(f"Invalid app.bsky.feed.post record: {problem}")
        with self._lock:
            exists = rkey in self.records
            if not exists:
                self.records[rkey] = record
        if exists:
            # What the reference PDS answers today for a key already taken.
            return 500, {"error": "InternalServerError", "message": "Internal Server Error"}, {}
        self.record(self.did, payload, headers, path)
        uri = f"at://{self.did}/app.bsky.feed.post/{rkey}"
        body = {"uri": uri, "cid": f"bafyreifake{rkey}", "validationStatus": "valid"}
        return self.answer_after_commit((200, body, {}))

    def _get_record(self, query: dict[str, list[str]]) -> Reply:
        repo, collection, rkey = (query.get(name, [""])[0] for name in ("repo", "collection", "rkey"))
        uri = f"at://{repo}/{collection}/{rkey}"
        with self._lock:
            record = (
                self.records.get(rkey) if repo == self.did and collection == "app.bsky.feed.post" else None
            )
        if record is None:
            return 400, {"error": "RecordNotFound", "message": f"Could not locate record: {uri}"}, {}
        return 200, {"uri": uri, "cid": f"bafyreifake{rkey}", "value": record}, {}

    def facet_texts(self, rkey: str) -> list[str]:
        """The text each facet of a stored post covers, cut by its UTF-8 byte offsets."""
        record = self.records[rkey]
        raw = record["text"].encode()
        return [
            raw[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode() for f in record.get("facets", [])
        ]


def _post_problem(record: object) -> str:
    """What the app.bsky.feed.post lexicon would refuse in ``record``, or ""."""
    if not isinstance(record, dict) or record.get("$type") != "app.bsky.feed.post":
        return "$type must be app.bsky.feed.post"
    text = record.get("text")
    # Code points stand in for graphemes here: never fewer, so the fake is the stricter.
    if not isinstance(text, str) or len(text) > 300 or len(text.encode()) > 3000:
        return "text must be a string of at most 300 graphemes"
    created = record.get("createdAt")
    try:
        when = datetime.fromisoformat(created) if isinstance(created, str) else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        return "createdAt must be a datetime with a time zone"
    langs = record.get("langs", [])
    if not isinstance(langs, list) or len(langs) > 3 or not all(isinstance(tag, str) for tag in langs):
        return "langs must be up to 3 language tags"
    for facet in record.get("facets", []):
        index = facet.get("index") if isinstance(facet, dict) else None
        features = facet.get("features") if isinstance(facet, dict) else None
        if not isinstance(index, dict) or not isinstance(features, list) or not features:
            return "a facet needs an index and features"
        start, end = index.get("byteStart"), index.get("byteEnd")
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start <= end):
            return "facet byteStart and byteEnd must be integers from 0"
        for feature in features:
            if not isinstance(feature, dict) or not isinstance(feature.get("$type"), str):
                return "a facet feature needs a $type"
            if feature["$type"] == "app.bsky.richtext.facet#link" and not isinstance(feature.get("uri"), str):
                return "a link facet needs a uri"
    return ""


def _configure(monkeypatch: pytest.MonkeyPatch, settings: Any, variables: dict[str, str]) -> None:
    settings.RAIDWATCH_ALLOW_PRIVATE_ENDPOINTS = True
    for name, value in variables.items():
        monkeypatch.delenv(f"{name}_FILE", raising=False)  # NAME and NAME_FILE together is an error
        monkeypatch.setenv(name, value)


@pytest.fixture
def fake_mastodon(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[FakeMastodon]:
    with FakeMastodon() as fake:
        _configure(
            monkeypatch,
            settings,
            {"RAIDWATCH_MASTODON_BASE": fake.base_url, "RAIDWATCH_MASTODON_TOKEN": fake.token},
        )
        yield fake


@pytest.fixture
def fake_bluesky(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[FakeBluesky]:
    # Sessions are cached per process: one from an earlier test must not leak in.
    bluesky_sessions.clear()
    with FakeBluesky() as fake:
        _configure(
            monkeypatch,
            settings,
            {
                "RAIDWATCH_BLUESKY_PDS": fake.base_url,
                "RAIDWATCH_BLUESKY_HANDLE": fake.handle_name,
                "RAIDWATCH_BLUESKY_APP_PASSWORD": fake.app_password,
            },
        )
        yield fake
    bluesky_sessions.clear()
