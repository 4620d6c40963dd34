"""The web app manifest: raidwatch installs from the browser, no app store needed."""

from __future__ import annotations

import json
import struct

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

MANIFEST = "/manifest.webmanifest"


def manifest(client: Client, **headers: str) -> dict[str, object]:
    response = client.get(MANIFEST, headers=headers)
    assert response.status_code == 200
    data: dict[str, object] = json.loads(response.content)
    return data


def test_the_manifest_is_served_at_the_root_with_its_media_type(client: Client) -> None:
    response = client.get(MANIFEST)

    assert response.status_code == 200
    assert response["Content-Type"].split(";")[0] == "application/manifest+json"
    assert "Content-Security-Policy" in response


def test_the_manifest_describes_an_installable_app_for_the_whole_site(client: Client) -> None:
    data = manifest(client)

    assert data["name"] == "raidwatch"
    assert data["short_name"] == "raidwatch"
    assert (data["start_url"], data["scope"], data["id"]) == ("/", "/", "/")
    assert data["display"] == "standalone"
    # The accent and paper colours of site.css.
    assert (data["theme_color"], data["background_color"]) == ("#0b5cad", "#ffffff")


def test_every_icon_exists_with_the_size_it_claims(client: Client) -> None:
    icons = manifest(client)["icons"]
    assert isinstance(icons, list)
    sizes = {icon["sizes"] for icon in icons}
    assert {"any", "192x192", "512x512"} <= sizes
    for icon in icons:
        assert icon["src"].startswith("/static/icons/")
        path = finders.find(icon["src"].removeprefix("/static/"))
        assert isinstance(path, str), icon
        with open(path, "rb") as file:
            head = file.read(32)
        if icon["type"] == "image/png":
            assert head[:8] == b"\x89PNG\r\n\x1a\n"
            width, height = struct.unpack(">II", head[16:24])
            assert f"{width}x{height}" == icon["sizes"]
        else:
            assert icon["type"] == "image/svg+xml"
            assert head.startswith(b"<svg")


def test_the_manifest_speaks_the_readers_language(client: Client) -> None:
    english = manifest(client, accept_language="en")
    arabic = manifest(client, accept_language="ar")

    assert (english["lang"], english["dir"]) == ("en", "ltr")
    assert (arabic["lang"], arabic["dir"]) == ("ar", "rtl")
    # The shortcuts are unprefixed, so they open in whatever language the reader uses then.
    shortcuts = english["shortcuts"]
    assert isinstance(shortcuts, list)
    assert {shortcut["url"] for shortcut in shortcuts} == {"/report", "/rights/"}


@pytest.mark.django_db
def test_every_page_links_the_manifest(client: Client) -> None:
    for page in ("/en/report", "/en/rights/", "/en/subscribe", "/en/"):
        response = client.get(page)
        assert response.status_code == 200, page
        assert b'<link rel="manifest" href="/manifest.webmanifest">' in response.content, page
