"""The 64 KB body limit: a 413 in the contract's shape, before the body is read."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.asgi import get_asgi_application
from django.core.handlers import asgi as asgi_handler
from django.test import Client

from raidwatch.intake.models import Report
from raidwatch.lib.asgi import ASGIBodyLimit

pytestmark = pytest.mark.django_db

LIMIT = 64 * 1024
API = "/api/v1/reports"
FORM = "/en/report"


def json_body(size: int) -> bytes:
    """A valid report, padded with trailing whitespace to exactly ``size`` bytes."""
    body = json.dumps({"kind": "raid", "place": "E1"}).encode()
    return body + b" " * (size - len(body))


def form_body(size: int) -> bytes:
    """A valid web-form report, padded with an unknown field to exactly ``size`` bytes."""
    fields = {"kind": "raid", "place": "E1", "when": "0", "client_id": str(uuid.uuid4()), "pad": ""}
    body = urlencode(fields).encode()
    return body + b"x" * (size - len(body))


def post_api(client: Client, body: bytes, **extra: Any):
    return client.post(API, data=body, content_type="application/json", **extra)


def post_form(client: Client, body: bytes, **extra: Any):
    return client.post(FORM, data=body, content_type="application/x-www-form-urlencoded", **extra)


def assert_body_too_large(response) -> None:
    assert response.status_code == 413
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == "body_too_large"
    assert "64 KB" in error["message"]


class UnreadableBody:
    """A request body that fails the test if anything reads it."""

    def read(self, *args: Any) -> bytes:
        raise AssertionError("the body was read")

    readline = read


# Through Django's test client (the WSGI path)


def test_an_api_body_over_64_kb_gets_a_413_json_error_and_stores_nothing(client: Client) -> None:
    assert_body_too_large(post_api(client, json_body(LIMIT + 1)))
    assert not Report.objects.exists()


def test_a_web_form_body_over_64_kb_gets_a_413_json_error_and_stores_nothing(client: Client) -> None:
    assert_body_too_large(post_form(client, form_body(LIMIT + 1)))
    assert not Report.objects.exists()


def test_the_413_comes_before_the_csrf_check_and_the_view() -> None:
    client = Client(enforce_csrf_checks=True)
    assert_body_too_large(post_form(client, form_body(LIMIT + 1)))


@pytest.mark.parametrize("url", [API, FORM])
def test_an_oversized_body_is_refused_on_its_declared_length_without_being_read(
    client: Client, url: str
) -> None:
    environ: dict[str, Any] = {"CONTENT_LENGTH": str(50 * 1024 * 1024), "wsgi.input": UnreadableBody()}
    response = client.post(url, data=b"{}", content_type="application/json", **environ)
    assert_body_too_large(response)


def test_an_api_body_of_exactly_64_kb_is_accepted(client: Client) -> None:
    response = post_api(client, json_body(LIMIT))
    assert response.status_code == 201, response.content
    assert Report.objects.count() == 1


def test_a_web_form_body_of_exactly_64_kb_is_accepted(client: Client) -> None:
    response = post_form(client, form_body(LIMIT))
    assert response.status_code == 302, response.content
    assert Report.objects.count() == 1


@pytest.mark.parametrize("url", [API, FORM])
@pytest.mark.parametrize("length", ["lots", "12abc", "-1", "1e9", "0x10"])
def test_a_content_length_that_is_not_a_number_gets_a_400_json_error(
    client: Client, url: str, length: str
) -> None:
    response = client.post(url, data=b"{}", content_type="application/json", CONTENT_LENGTH=length)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed"
    assert not Report.objects.exists()


def test_a_get_without_a_body_is_untouched(client: Client) -> None:
    assert client.get(FORM).status_code == 200


# Through the ASGI application (what uvicorn runs), where the body arrives in chunks


CHUNK = 16 * 1024


class FakeClient:
    """An HTTP client streaming a body in chunks, as uvicorn hands them to the app.

    Once the body is sent it waits, like a real connection, until the app is done.
    """

    def __init__(self, chunks: int) -> None:
        self.chunks = chunks
        self.handed_out = 0
        self.messages: list[dict[str, Any]] = []

    async def receive(self) -> dict[str, Any]:
        await asyncio.sleep(0)
        if self.handed_out >= self.chunks:
            await asyncio.sleep(3600)  # cancelled by the app when its response is sent
            return {"type": "http.disconnect"}
        self.handed_out += 1
        return {"type": "http.request", "body": b" " * CHUNK, "more_body": self.handed_out < self.chunks}

    async def send(self, message: dict[str, Any]) -> None:
        self.messages.append(message)

    @property
    def status(self) -> int | None:
        starts = [m["status"] for m in self.messages if m["type"] == "http.response.start"]
        return starts[0] if starts else None

    @property
    def json(self) -> Any:
        return json.loads(
            b"".join(m.get("body", b"") for m in self.messages if m["type"] == "http.response.body")
        )


class TakenBody(io.BytesIO):
    """Stands in for the file Django's ASGI handler collects the body into.

    It records how much the app took in, and refuses to grow far past the limit
    (Django would otherwise spool a large body to a temporary file on disk).
    """

    taken = 0

    def write(self, data: Any) -> int:
        TakenBody.taken += len(data)
        if TakenBody.taken > 4 * LIMIT:
            raise AssertionError(f"the app took {TakenBody.taken} bytes of the body")
        return super().write(data)


@pytest.fixture
def taken(monkeypatch: pytest.MonkeyPatch) -> type[TakenBody]:
    TakenBody.taken = 0
    # Django's ASGI handler reads the body into tempfile.SpooledTemporaryFile.
    monkeypatch.setattr(
        asgi_handler, "tempfile", SimpleNamespace(SpooledTemporaryFile=lambda **_: TakenBody())
    )
    return TakenBody


def scope(headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": API,
        "raw_path": API.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"), *headers],
        "client": ("203.0.113.77", 40000),
        "server": ("127.0.0.1", 8000),
    }


def run_asgi(app: Any, fake: FakeClient, headers: list[tuple[bytes, bytes]]) -> FakeClient:
    asyncio.run(asyncio.wait_for(app(scope(headers), fake.receive, fake.send), timeout=20))
    return fake


@pytest.fixture
def limited_app() -> Any:
    return ASGIBodyLimit(get_asgi_application())


def test_a_chunked_body_over_64_kb_is_cut_off_at_the_limit_and_refused_with_a_413(
    limited_app: Any, taken: type[TakenBody]
) -> None:
    # 64 MB on offer; one byte over 64 KB is all the app may take in.
    fake = run_asgi(limited_app, FakeClient(chunks=4096), [])
    assert fake.status == 413
    assert fake.json["error"]["code"] == "body_too_large"
    assert taken.taken == LIMIT + 1


def test_a_declared_oversized_body_is_refused_over_asgi_without_reading_any_of_it(
    limited_app: Any, taken: type[TakenBody]
) -> None:
    fake = run_asgi(limited_app, FakeClient(chunks=64), [(b"content-length", str(64 * CHUNK).encode())])
    assert fake.status == 413
    assert taken.taken == 0


def test_a_non_numeric_content_length_is_refused_over_asgi_without_reading_the_body(
    limited_app: Any, taken: type[TakenBody]
) -> None:
    fake = run_asgi(limited_app, FakeClient(chunks=2), [(b"content-length", b"lots")])
    assert fake.status == 400
    assert fake.json["error"]["code"] == "malformed"
    assert taken.taken == 0


def test_a_chunked_body_within_the_limit_reaches_the_view_whole(
    limited_app: Any, taken: type[TakenBody]
) -> None:
    # Exactly 64 KB of spaces is not JSON: the view itself answers, so the body got through.
    fake = run_asgi(limited_app, FakeClient(chunks=LIMIT // CHUNK), [])
    assert fake.status == 400
    assert fake.json["error"]["code"] == "malformed_json"
    assert taken.taken == LIMIT


def test_the_served_asgi_application_enforces_the_limit_before_reading_the_body(
    taken: type[TakenBody],
) -> None:
    from raidwatch.asgi import application

    fake = run_asgi(application, FakeClient(chunks=4096), [])
    assert fake.status == 413
    assert taken.taken == LIMIT + 1
