"""Playwright fixtures for browser tests, driving Debian's Chromium.

Fixtures (tests that use them must carry ``@pytest.mark.browser``):

- ``browser`` (session): a headless Chromium, or a skip naming what is missing.
- ``phone_context``: a factory, ``phone_context(js=True, geolocation=None, locale="en-GB")``,
  returning a new phone-sized context pointed at pytest-django's ``live_server``;
  ``geolocation=(lat, lon)`` also grants the geolocation permission.
- ``phone_page`` / ``phone_page_nojs``: a page in such a context, with JavaScript on or off.

Every context records the URL of every request it makes. At teardown the test
fails if any of them went to an origin other than the live server's (SECURITY.md
R13); ``data:`` and ``blob:`` URLs never leave the page, so they are allowed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Request, Route
    from pytest_django.live_server_helper import LiveServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium calls Google hosts on its own, which R13 forbids even in tests.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Schemes whose URLs are resolved inside the page and never reach a network.
LOCAL_SCHEMES = frozenset({"data", "blob"})
# A page that hangs should fail the test in seconds, not after Playwright's 30 s.
ACTION_TIMEOUT_MS = 10_000


class PhoneContextFactory(Protocol):
    def __call__(
        self, *, js: bool = True, geolocation: tuple[float, float] | None = None, locale: str = "en-GB"
    ) -> BrowserContext: ...


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def foreign_requests(urls: list[str], allowed_origin: str) -> list[str]:
    """The URLs that would have left the page for an origin other than ``allowed_origin``."""
    allowed = _origin(allowed_origin)
    return [url for url in urls if urlsplit(url).scheme not in LOCAL_SCHEMES and _origin(url) != allowed]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Once Playwright's sync API has started, the test thread looks to asyncio
    # (and so to Django and asgiref) as if an event loop were running in it,
    # until the browser session ends. Running browser tests last keeps every
    # other test free of that: async_to_sync would refuse to run, and the ORM's
    # async-safety check would have to be off.
    items[:] = sorted(items, key=lambda item: "browser" in getattr(item, "fixturenames", ()))


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Debian's Chromium; missing: {CHROMIUM}")
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError as exc:
        pytest.skip(f"browser tests need the playwright package; missing: {exc.name}")
    # The sync API marks the loop it runs in greenlets as running in this
    # thread, so Django would raise SynchronousOnlyOperation for every ORM call
    # a test makes; the ORM is in fact called synchronously here, from the
    # test's own thread, so the check guards nothing.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        try:
            playwright = sync_playwright().start()
        except (Error, OSError) as exc:
            pytest.skip(
                f"browser tests need Playwright's driver; missing: a working driver ({_first_line(exc)})"
            )
        try:
            try:
                launched = playwright.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
                )
            except Error as exc:
                pytest.skip(
                    f"browser tests need a Chromium that starts; missing: {CHROMIUM} ({_first_line(exc)})"
                )
            yield launched
            launched.close()
        finally:
            playwright.stop()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@pytest.fixture
def phone_context(
    request: pytest.FixtureRequest, browser: Browser, live_server: LiveServer
) -> Iterator[PhoneContextFactory]:
    if request.node.get_closest_marker("browser") is None:
        pytest.fail("tests that drive the browser must be marked @pytest.mark.browser")
    server = live_server.url
    contexts: list[BrowserContext] = []
    requested: list[str] = []

    def record(sent: Request) -> None:
        requested.append(sent.url)

    def refuse(route: Route) -> None:
        # Recorded already by the request listener; refused so a failing test
        # never contacts anyone else either.
        route.abort("blockedbyclient")

    def make(
        *, js: bool = True, geolocation: tuple[float, float] | None = None, locale: str = "en-GB"
    ) -> BrowserContext:
        context = browser.new_context(
            base_url=server,
            viewport={"width": 375, "height": 667},
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            locale=locale,
            java_script_enabled=js,
            geolocation=(
                {"latitude": geolocation[0], "longitude": geolocation[1]} if geolocation is not None else None
            ),
            permissions=["geolocation"] if geolocation is not None else [],
        )
        contexts.append(context)
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        context.on("request", record)
        context.route(lambda url: bool(foreign_requests([url], server)), refuse)
        return context

    yield make

    for context in contexts:
        context.close()
    if foreign := foreign_requests(requested, server):
        pytest.fail(f"requests left the site for another origin (R13): {sorted(set(foreign))}")


@pytest.fixture
def phone_page(phone_context: PhoneContextFactory) -> Page:
    return phone_context().new_page()


@pytest.fixture
def phone_page_nojs(phone_context: PhoneContextFactory) -> Page:
    return phone_context(js=False).new_page()
