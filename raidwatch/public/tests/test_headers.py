"""Strict headers on every response (R13), /healthz, and which URLs carry a language prefix."""

from __future__ import annotations

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

# One of each kind of response: a page, a service endpoint, the API, a missing
# page, a missing API path, a redirect, a refused (oversized) body, the service
# worker, a static file, and a stream answered without ASGI (the event stream
# over ASGI has its own test below, on its first bytes).
RESPONSES = {
    "a page": ("get", "/en/report", 200),
    "the health check": ("get", "/healthz", 200),
    "the API": ("get", "/api/v1/incidents", 200),
    "a missing page": ("get", "/en/no-such-page", 404),
    "a missing API path": ("get", "/api/v1/no-such-thing", 404),
    "a language redirect": ("get", "/report", 302),
    "a refused body": ("post", "/api/v1/reports", 413),
    "the service worker": ("get", "/sw.js", 200),
    "a static file": ("get", "/static/css/site.css", 200),
    "a rights page": ("get", "/en/rights/", 200),
    "the event stream without ASGI": ("get", "/events", 200),
    "a public alert that does not exist": ("get", "/a/999999", 404),
}


@pytest.fixture(autouse=True)
def _static_files_without_collecting(settings) -> None:
    # `raidwatch serve` collects static files first; here WhiteNoise finds
    # them in place instead. It serves them the same way, through the same
    # middleware stack, which is what the headers depend on.
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True


def fetch(client: Client, what: str):
    method, url, status = RESPONSES[what]
    if method == "post":
        response = client.post(url, data=b"{}" + b" " * 70_000, content_type="application/json")
    else:
        response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.mark.parametrize("what", list(RESPONSES))
def test_every_response_carries_the_strict_headers(client: Client, what: str) -> None:
    response = fetch(client, what)
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    csp = csp_directives(response["Content-Security-Policy"])
    assert csp["default-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]


@pytest.mark.parametrize("what", list(RESPONSES))
def test_no_response_allows_inline_or_evaluated_script_or_another_origin(client: Client, what: str) -> None:
    header = fetch(client, what)["Content-Security-Policy"]
    assert "unsafe-inline" not in header
    assert "unsafe-eval" not in header
    assert "*" not in header
    # Every source is this origin, a nonce, 'none' or inline images: no third-party origin.
    for name, values in csp_directives(header).items():
        for value in values:
            assert value in ("'self'", "'none'", "data:") or value.startswith("'nonce-"), (name, value)


def nonce_in_header(response) -> str:
    script_src = csp_directives(response["Content-Security-Policy"])["script-src"]
    nonces = [value[len("'nonce-") : -1] for value in script_src if value.startswith("'nonce-")]
    assert len(nonces) == 1, script_src
    return nonces[0]


def test_a_page_with_a_script_names_its_nonce_in_script_src_and_on_the_script_tag(client: Client) -> None:
    response = client.get("/en/report")
    nonce = nonce_in_header(response)
    assert len(nonce) >= 16
    script_nonces = re.findall(r'<script\b[^>]*\bnonce="([^"]*)"', response.content.decode())
    assert script_nonces, "the report page should load its location script"
    assert set(script_nonces) == {nonce}
    # Every script on the page carries the nonce; none could run without it.
    assert response.content.decode().count("<script") == len(script_nonces)


def test_each_page_view_gets_a_fresh_nonce(client: Client) -> None:
    assert nonce_in_header(client.get("/en/report")) != nonce_in_header(client.get("/en/report"))


def test_healthz_answers_ok_as_json(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"status": "ok"}


def test_an_unprefixed_page_redirects_to_the_english_page(client: Client) -> None:
    response = client.get("/report")
    assert response.status_code == 302
    assert response["Location"] == "/en/report"


def test_the_site_root_redirects_to_the_english_home_page(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/en/"


@pytest.mark.parametrize("url", ["/healthz", "/api/v1/incidents"])
def test_service_endpoints_answer_without_a_language_prefix(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200
    assert "Location" not in response


@pytest.mark.parametrize("url", ["/en/healthz", "/en/api/v1/incidents"])
def test_service_endpoints_do_not_exist_under_a_language_prefix(client: Client, url: str) -> None:
    assert client.get(url).status_code == 404


def test_the_health_check_does_not_set_a_cookie(client: Client) -> None:
    # Monitoring polls it constantly; a session or CSRF cookie there would be noise at best.
    assert not client.get("/healthz").cookies


def assert_strict(headers: dict[str, str]) -> None:
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-frame-options"] == "DENY"
    csp = csp_directives(headers["content-security-policy"])
    assert csp["default-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]


@pytest.mark.django_db(transaction=True)
def test_the_event_stream_over_asgi_carries_the_strict_headers_with_its_first_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from raidwatch.lib import events as events_module
    from raidwatch.public.tests.test_event_streams import Stream, run

    monkeypatch.setattr(events_module, "_hub", None)

    async def scenario() -> None:
        stream = await Stream("/events").open()
        assert stream.is_stream
        assert (await stream.first_chunk()).startswith(b"retry: ")
        assert_strict(stream.response_headers)
        await stream.close()

    run(scenario)


@pytest.mark.parametrize("url", ["/en/report", "/en/subscribe", "/en/volunteer/account/login/"])
def test_no_script_on_a_page_runs_without_the_nonce_or_from_another_origin(client: Client, url: str) -> None:
    """Our own scripts carry the nonce; allauth's sign-in scripts are same-origin
    files (allowed by 'self') and a JSON data block, which never runs."""
    response = client.get(url)
    assert response.status_code == 200
    tags = re.findall(r"<script\b[^>]*>", response.content.decode())
    assert tags, "each of these pages loads a script"
    nonce = None
    for tag in tags:
        if "nonce=" in tag:
            nonce = nonce or nonce_in_header(response)
            assert f'nonce="{nonce}"' in tag, tag
        elif 'type="application/json"' not in tag:
            assert re.search(r'\ssrc="/static/[^"]+"', tag), (
                f"a script with neither nonce nor own file: {tag}"
            )
