"""R1: no client address or user agent is stored or logged anywhere.

Every flow runs with sentinel values in REMOTE_ADDR, the forwarding headers and
User-Agent (the public's flows, subscribing and leaving, volunteers signing in,
failing to, enrolling a second factor, joining by invitation, the desk, the
team and duty pages, the network tools with their test-send and exports, the
rights pages and the language switcher); then the queued tasks run, and the
whole database (every model's rows, every table's raw rows (the task queue's
among them), decoded sessions, the SQLite files themselves), every SQL statement sent,
the cache and the log records are searched for the sentinels and for their
SHA-256 digests.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from raidwatch.alerts.models import Alert, Scope
from raidwatch.incidents import actions
from raidwatch.intake.models import Report
from raidwatch.lib import crypto
from raidwatch.media.models import Photo
from raidwatch.media.tests.images import plain_jpeg
from raidwatch.testing.queue import run_queued_tasks

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


def sentinel_session(volunteer: Any, reauthenticated: bool = False) -> Client:
    """A sentinel client signed in as ``volunteer`` with a second factor."""
    client = sentinel_client()
    client.force_login(volunteer)
    session = client.session
    methods: list[dict[str, Any]] = [{"method": "mfa", "at": time.time(), "type": "totp"}]
    if reauthenticated:
        methods.append({"method": "password", "at": time.time(), "reauthenticated": True})
    session["account_authentication_methods"] = methods
    session["account_authentication_methods_user"] = str(volunteer.pk)
    session.save()
    return client


def totp_code(secret: str) -> str:
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    return str(format_hotp_value(hotp_value(secret, int(time.time()) // 30)))


def run_volunteer_flows(verifier: Any, coordinator: Any, incident_id: int) -> None:
    """Signing in (and failing to), joining, enrolling, the desk, team, duty and network pages."""
    from allauth.mfa.totp.internal.auth import TOTP

    from raidwatch.accounts import actions as account_actions

    login, second = "/en/volunteer/account/login/", "/en/volunteer/account/2fa/authenticate/"
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    TOTP.activate(verifier, secret)

    failed = sentinel_client()
    assert failed.post(login, {"login": "verifier", "password": "wrong-password-here"}).status_code == 200
    assert (
        failed.post(login, {"login": "nobody-at-all", "password": "wrong-password-here"}).status_code == 200
    )
    assert failed.post(login, {"login": "verifier", "password": "verifier-correct-horse"}).status_code == 302
    assert failed.post(second, {"code": "000000"}).status_code == 200  # the wrong code

    signed_in = sentinel_client()
    assert (
        signed_in.post(login, {"login": "verifier", "password": "verifier-correct-horse"})["Location"]
        == second
    )
    assert signed_in.post(second, {"code": totp_code(secret)}).status_code == 302
    assert signed_in.get("/en/volunteer/").status_code == 200

    # Joining by an invitation link, then enrolling an authenticator app.
    joining = sentinel_client()
    link = account_actions.join_path(account_actions.invite_volunteer("responder", 24, by=coordinator).token)
    assert joining.get(link).status_code == 200
    password = "lantern-orchard-basalt-91"
    joined = joining.post(link, {"username": "kestrel", "password": password, "password_again": password})
    assert joined.status_code == 302, joined.content.decode()[-1000:]
    activate = "/en/volunteer/account/2fa/totp/activate/"
    page = joining.get(activate)
    assert page.status_code == 200
    assert joining.post(activate, {"code": "000000"}).status_code == 200  # a wrong first code
    assert joining.post(activate, {"code": totp_code(page.context["form"].secret)}).status_code == 302
    assert joining.get("/en/volunteer/").status_code == 200

    # The desk: every page and the actions on one incident.
    desk = sentinel_session(verifier)
    assert desk.get("/en/volunteer/desk/").status_code == 200
    assert desk.get(f"/en/volunteer/desk/{incident_id}").status_code == 200
    assert desk.post(f"/en/volunteer/desk/{incident_id}/claim").status_code == 302
    assert (
        desk.post(
            f"/en/volunteer/desk/{incident_id}/observe", {"officers": "2", "markings": "vans"}
        ).status_code
        == 302
    )
    assert desk.post(f"/en/volunteer/desk/{incident_id}/respond", {"state": "on_my_way"}).status_code == 302
    assert (
        desk.post(f"/en/volunteer/desk/{incident_id}/confirm", {"place": "Whitechapel market"}).status_code
        == 302
    )
    assert desk.post(f"/en/volunteer/desk/{incident_id}/end").status_code == 302
    assert desk.post("/en/volunteer/desk/dismiss", {"incident": ["999999"], "reason": "x"}).status_code == 302

    # The duty page: on duty, a paging area, off duty.
    assert desk.get("/en/volunteer/duty/").status_code == 200
    assert desk.post("/en/volunteer/duty/switch", {"on": "1"}).status_code == 302
    area = {"channel": "ntfy", "address": "night-shift-e1", "area_kind": "place", "place": "E1"}
    area |= {"named": "", "lat": "", "lon": "", "radius_km": "2", "language": "en"}
    assert desk.post("/en/volunteer/duty/areas", area).status_code == 302
    assert desk.post("/en/volunteer/duty/switch", {"on": "0"}).status_code == 302

    # The team page and the network tools, with a fresh sign-in where they need one.
    network = sentinel_session(coordinator, reauthenticated=True)
    assert network.get("/en/volunteer/team/").status_code == 200
    assert network.post("/en/volunteer/team/invite", {"role": "responder", "hours": "24"}).status_code == 201
    base = "/en/volunteer/network/"
    for page_url in (
        "",
        "areas/",
        "templates/",
        "channels/",
        "retention/",
        "drills/",
        "exports/",
        "invites/",
    ):
        assert network.get(base + page_url).status_code == 200, page_url
    assert (
        network.post(base + "areas/", {"name": "East End", "source": "postcode", "places": "E1"}).status_code
        == 302
    )
    saved = network.post(
        base + "templates/confirmed/en",
        {"text": "CONFIRMED: %(kind)s near %(place)s at %(time)s.", "step": "save"},
    )
    assert saved.status_code == 302
    assert (
        network.post(base + "retention/save", {"RAIDWATCH_LOCATION_RETENTION_HOURS": "12"}).status_code == 302
    )
    test_send = network.post(base + "channels/", {"channel": "email", "address": "coordinator@example.org"})
    assert test_send.status_code in (200, 302)
    assert network.post(base + "drills/", {"kind": "raid", "named": "East End"}).status_code == 302
    assert network.post(base + "invites/", {"hours": "24"}).status_code in (200, 302)
    assert network.post(base + "exports/incidents.csv").status_code == 200
    assert network.post(base + "exports/audit.jsonl").status_code == 200


def run_subscriber_and_reader_flows(client: Client) -> None:
    """The subscribe page and its confirmation, one-click leaving, rights pages, the language switcher."""
    from raidwatch.alerts.outbox import _unsubscribe_url
    from raidwatch.subscriptions.models import Subscription

    page_form = {"channel": "email", "address": "reader@example.org", "place": "E1", "radius_km": "2"}
    page_form |= {"language": "en", "level": "verified", "invite": ""}
    assert client.get("/en/subscribe").status_code == 200
    subscribed = client.post("/en/subscribe", page_form)
    assert subscribed.status_code == 302
    confirm_page = subscribed["Location"]
    assert re.fullmatch(r"/en/subscribe/confirm/[^/]+", confirm_page)
    assert client.get(confirm_page).status_code == 200
    assert client.post(confirm_page, {"code": "000000"}).status_code in (200, 422)

    topic = {"channel": "ntfy", "address": "raidwatch-e1-sentinel", "place": "E1", "radius_km": "2"}
    topic |= {"language": "en", "level": "verified", "invite": ""}
    assert client.post("/en/subscribe", topic).status_code == 302
    active = Subscription.objects.get(channel="ntfy", volunteer__isnull=True)
    leave = _unsubscribe_url(active.pk).removeprefix(str(settings.RAIDWATCH_BASE_URL))
    assert client.get(leave).status_code == 200
    assert client.post(leave).status_code == 200

    for url in ("/en/rights/", "/en/rights/?jurisdiction=us", "/en/rights/card"):
        assert client.get(url).status_code == 200, url
    assert client.get("/language/ar", {"next": "/en/report"}).status_code == 302
    assert client.get("/ar/").status_code == 200


def run_every_flow(client: Client, verifier: Any, coordinator: Any | None = None) -> None:
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

    # Photos: by the API with the report's media token, and by the thanks page's form.
    photo = plain_jpeg()
    by_api = client.post(
        f"/api/v1/reports/{point.json()['id']}/media",
        {"file": SimpleUploadedFile("p.jpg", photo, "image/jpeg")},
        headers={"Authorization": f"Bearer {point.json()['media_token']}"},
    )
    assert by_api.status_code == 201, by_api.content
    by_form = client.post("/en/report/photo", {"file": SimpleUploadedFile("p.jpg", photo, "image/jpeg")})
    assert by_form.status_code in (200, 201, 302), by_form.content
    assert Photo.objects.count() == 2  # both really stored, so both were searched

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
    run_subscriber_and_reader_flows(client)
    if coordinator is not None:
        run_volunteer_flows(verifier, coordinator, incident_id)
    else:
        actions.confirm(incident_id, verifier, place="Whitechapel market")
    alert_id = Alert.objects.filter(scope=Scope.PUBLIC).values_list("pk", flat=True).first()
    assert alert_id is not None
    assert client.get(f"/a/{alert_id}").status_code == 200

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
    assert Report.objects.filter(incident__is_exercise=False).count() == 4


def run_gated_flows(client: Client, settings: Any) -> None:
    """The abuse gate (R2, R12): throttled API and form requests, a solved
    challenge and an answered question, all from the sentinel address."""
    import re

    from raidwatch.intake.tests.test_gate import solve

    settings.RAIDWATCH_REPORT_ALLOWANCE = 1
    api = "/api/v1/reports"
    body = {"kind": "van_sighting", "place": "E1"}
    answers = [client.post(api, body, content_type="application/json") for _ in range(2)]
    throttled = answers[-1]
    assert throttled.status_code == 429, throttled.content
    solved = client.post(
        api, body, content_type="application/json", HTTP_X_ALTCHA=solve(throttled.json()["challenge"])
    )
    assert solved.status_code == 201, solved.content
    form = {"kind": "van_sighting", "place": "E1", "when": "0", "client_id": str(uuid.uuid4())}
    page = client.post("/en/report", form)
    assert page.status_code == 429
    text = page.content.decode()
    token = re.search(r'name="check_token" value="([^"]+)"', text)
    sums = re.search(r"What is (\d) plus (\d)\?", text)
    assert token
    assert sums
    answer = str(int(sums.group(1)) + int(sums.group(2)))
    assert (
        client.post("/en/report", {**form, "check_token": token.group(1), "check_answer": answer}).status_code
        == 302
    )


@pytest.mark.dbsensitive
def test_no_trace_of_the_client_address_or_user_agent_is_stored_or_logged(
    settings: Any,
    transactional_db: None,
    verifier: Any,
    coordinator: Any,
    fake_smtp: Any,
    all_logs_at_debug: pytest.LogCaptureFixture,
) -> None:
    caches["default"].clear()
    client = sentinel_client()
    with CaptureQueriesContext(connection) as queries:
        run_every_flow(client, verifier, coordinator)
        run_gated_flows(client, settings)
        run_queued_tasks()
    assert fake_smtp.received, "the confirmation and test emails should have gone out"

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
    # Straight to the capturing handler: the project's own handler would blank it first.
    record = logging.LogRecord(
        "django.request", logging.DEBUG, __file__, 1, "request from %s", (ADDRESS,), None
    )
    all_logs_at_debug.handler.handle(record)
    assert leaks(log_text(all_logs_at_debug)) == ["the client address"]


def test_an_address_logged_through_the_configured_handlers_is_blanked(
    all_logs_at_debug: pytest.LogCaptureFixture,
) -> None:
    logging.getLogger("django.request").warning("request from %s", ADDRESS)
    assert leaks(log_text(all_logs_at_debug)) == []


def test_the_search_finds_a_prefix_in_the_cache() -> None:
    caches["default"].set("canary", {"net": crypto.network_prefix(ADDRESS)})
    try:
        assert "the client's /24" in leaks(dump_caches())
    finally:
        caches["default"].delete("canary")
