"""R1: no client address or user agent is stored or logged anywhere.

Every flow runs with sentinel values in REMOTE_ADDR, the forwarding headers and
User-Agent; then the whole database (every model's rows, every table's raw
rows, decoded sessions, the SQLite files themselves), every SQL statement sent,
the cache and the log records are searched for the sentinels and for their
SHA-256 digests.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from raidwatch.incidents import actions
from raidwatch.intake.models import Report
from raidwatch.lib import crypto

ADDRESS = "203.0.113.77"
FORWARDED = "198.51.100.23"
AGENT = "Mozilla/5.0 (X11; Linux x86_64) RaidwatchCanary/9.1 sentinel-7f3a9c"
SENTINELS = {
    "the client address": ADDRESS,
    "the forwarded address": FORWARDED,
    "the user agent": AGENT,
    "the client's /24": crypto.network_prefix(ADDRESS),
    "the forwarded /24": crypto.network_prefix(FORWARDED),
}


def needles() -> dict[str, bytes]:
    """Each sentinel as text, and its SHA-256 as (the start of) its hex and as raw bytes."""
    found: dict[str, bytes] = {}
    for name, value in SENTINELS.items():
        digest = hashlib.sha256(value.encode())
        found[name] = value.encode()
        # The first 64 bits are enough to find a digest cut short, as keys often are.
        found[f"SHA-256 hex of {name}"] = digest.hexdigest()[:16].encode()
        found[f"SHA-256 bytes of {name}"] = digest.digest()[:8]
    return found


def leaks(haystack: bytes) -> list[str]:
    lowered = haystack.lower()
    return [name for name, needle in needles().items() if needle in haystack or needle.lower() in lowered]


def as_bytes(value: Any) -> bytes:
    if isinstance(value, memoryview):
        return value.tobytes()
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    return str(value).encode("utf-8", "backslashreplace")


def dump_database() -> bytes:
    parts: list[bytes] = []
    for model in apps.get_models(include_auto_created=True):
        for row in model._default_manager.all().values():
            parts.extend(as_bytes(value) for value in row.values())
    # Session data is signed and compressed: search what it decodes to.
    parts.extend(as_bytes(session.get_decoded()) for session in Session.objects.all())
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(include_views=True):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - names from the schema
            for row in cursor.fetchall():
                parts.extend(as_bytes(value) for value in row)
    return b"\n".join(parts)


def dump_database_files() -> bytes:
    """The SQLite database and its -wal and -shm files, byte for byte."""
    if connection.vendor != "sqlite":
        return b""
    name = Path(connection.settings_dict["NAME"])
    return b"".join(
        path.read_bytes() for path in (name, Path(f"{name}-wal"), Path(f"{name}-shm")) if path.exists()
    )


def dump_caches() -> bytes:
    parts: list[bytes] = []
    for cache in caches.all():
        store = getattr(cache, "_cache", None)  # the local-memory backend keeps pickles here
        if isinstance(store, dict):
            parts.extend(as_bytes(key) + b"\n" + as_bytes(value) for key, value in store.items())
    return b"\n".join(parts)


@pytest.fixture
def all_logs_at_debug(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every logger at DEBUG, including those our settings quieten."""
    caplog.set_level(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def log_text(caplog: pytest.LogCaptureFixture) -> bytes:
    parts = []
    for record in caplog.records:
        parts.append(record.getMessage())
        parts.append(repr(record.__dict__))
    return "\n".join(parts).encode("utf-8", "backslashreplace")


def sentinel_client() -> Client:
    return Client(
        REMOTE_ADDR=ADDRESS,
        HTTP_X_FORWARDED_FOR=f"{FORWARDED}, {ADDRESS}",
        HTTP_X_REAL_IP=FORWARDED,
        HTTP_FORWARDED=f"for={FORWARDED};proto=https",
        HTTP_USER_AGENT=AGENT,
    )


def run_every_flow(client: Client, verifier: Any) -> None:
    """Each flow that exists, with the status it must answer, so none passes vacuously."""
    api = "/api/v1/reports"
    point = client.post(
        api, {"kind": "van_sighting", "lat": 51.5155, "lon": -0.0723}, content_type="application/json"
    )
    assert point.status_code == 201, point.content
    place = client.post(api, {"kind": "checkpoint", "place": "E1"}, content_type="application/json")
    assert place.status_code == 201, place.content
    with_token = client.post(
        api,
        {"kind": "raid", "place": "10001", "client_id": str(uuid.uuid4())},
        content_type="application/json",
        headers={"X-Raidwatch-Token": "a-client-held-random-token"},
    )
    assert with_token.status_code == 201, with_token.content
    # Refused input is a flow too: errors are where addresses often get logged.
    assert client.post(api, b"{not json", content_type="application/json").status_code == 400
    assert (
        client.post(api, {"kind": "raid", "place": "Atlantis"}, content_type="application/json").status_code
        == 422
    )
    assert client.post(api, b" " * (65 * 1024), content_type="application/json").status_code == 413

    form = client.get("/en/report")
    assert form.status_code == 200
    posted = client.post(
        "/en/report",
        {"kind": "arrest", "place": "E1", "when": "10", "client_id": str(uuid.uuid4())},
        follow=True,
    )
    assert posted.redirect_chain, posted.content
    assert posted.status_code == 200
    assert client.post("/en/report", {"kind": "arrest", "place": "", "when": "0"}).status_code == 422

    # Subscribing, confirming by code and leaving: the subscriber's own flows.
    subscribed = client.post(
        "/api/v1/subscriptions",
        {"channel": "email", "area": {"postcode": "E1"}, "address": "someone@example.org"},
        content_type="application/json",
    )
    assert subscribed.status_code == 201
    subscription = subscribed.json()
    assert (
        client.post(
            f"/api/v1/subscriptions/{subscription['id']}/confirm",
            {"code": "000000"},
            content_type="application/json",
        ).status_code
        == 422
    )
    assert (
        client.delete(
            f"/api/v1/subscriptions/{subscription['id']}",
            headers={"Authorization": f"Bearer {subscription['manage_token']}"},
        ).status_code
        == 204
    )
    assert client.get("/api/v1/push/vapid-public-key").status_code == 200

    incident_id = point.json()["incident"]["id"]
    actions.confirm(incident_id, verifier, place="Whitechapel market")

    for url, status in [
        ("/en/", 200),
        ("/en/about", 200),
        ("/healthz", 200),
        ("/api/v1/incidents", 200),
        (f"/api/v1/incidents/{incident_id}", 200),
        ("/api/v1/openapi.json", 200),
        ("/report", 302),
        ("/en/no-such-page", 404),
        ("/api/v1/incidents/999999", 404),
    ]:
        assert client.get(url).status_code == status, url
    assert Report.objects.count() == 4


@pytest.mark.dbsensitive
def test_no_trace_of_the_client_address_or_user_agent_is_stored_or_logged(
    transactional_db: None, verifier: Any, all_logs_at_debug: pytest.LogCaptureFixture
) -> None:
    client = sentinel_client()
    with CaptureQueriesContext(connection) as queries:
        run_every_flow(client, verifier)

    assert leaks(dump_database()) == [], "in the database rows"
    assert leaks(dump_database_files()) == [], "in the database files"
    assert leaks("\n".join(q["sql"] for q in queries.captured_queries).encode()) == [], "in the SQL sent"
    assert leaks(dump_caches()) == [], "in the cache"
    assert all_logs_at_debug.records, "the flows should have logged something at DEBUG"
    assert leaks(log_text(all_logs_at_debug)) == [], "in the logs"


def test_the_stored_reporter_key_is_not_a_plain_hash_of_the_address(db: None) -> None:
    response = sentinel_client().post(
        "/api/v1/reports", {"kind": "raid", "place": "E1"}, content_type="application/json"
    )
    assert response.status_code == 201
    stored = Report.objects.get().reporter_key
    assert stored
    for value in (*SENTINELS.values(), f"net:{crypto.network_prefix(ADDRESS)}"):
        for algorithm in ("sha256", "sha1", "md5", "blake2b"):
            assert stored not in hashlib.new(algorithm, value.encode()).hexdigest(), (value, algorithm)
    # It is the keyed hash of the network prefix: the same /24 gives the same key today.
    assert stored == crypto.reporter_key(None, "203.0.113.1")


# The search above must be able to find a leak: plant one in each place it looks.


def test_the_search_finds_an_address_in_a_model_row(db: None) -> None:
    from raidwatch.incidents.tests.factories import report

    report(reporter=ADDRESS)  # what a careless rate limiter might key reports by
    assert leaks(dump_database()) == ["the client address"]


def test_the_search_finds_a_user_agent_hidden_in_session_data(db: None) -> None:
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session["ua"] = AGENT
    session.save()
    assert "the user agent" in leaks(dump_database())


def test_the_search_finds_a_truncated_hash_of_an_address_in_a_table_without_a_model(db: None) -> None:
    digest = hashlib.sha256(FORWARDED.encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE canary_without_model (value text)")
        cursor.execute("INSERT INTO canary_without_model VALUES (%s)", [digest[:32].upper()])
    assert leaks(dump_database()) == ["SHA-256 hex of the forwarded address"]


def test_the_search_finds_an_address_in_a_log_record(all_logs_at_debug: pytest.LogCaptureFixture) -> None:
    logging.getLogger("django.request").debug("request from %s", ADDRESS)
    assert leaks(log_text(all_logs_at_debug)) == ["the client address"]


def test_the_search_finds_a_prefix_in_the_cache() -> None:
    caches["default"].set("canary", {"net": crypto.network_prefix(ADDRESS)})
    try:
        assert "the client's /24" in leaks(dump_caches())
    finally:
        caches["default"].delete("canary")
