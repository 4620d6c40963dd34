"""Every coordinator page: signed out → sign-in, verifier or responder → 403,
coordinator and admin → the page (SECURITY.md R9, R10)."""

from __future__ import annotations

import pytest
from django.test import Client

from raidwatch.coordination.tests.conftest import fresh_client
from raidwatch.subscriptions.models import NamedArea
from raidwatch.testing.volunteers import signed_in_client

pytestmark = pytest.mark.django_db

GET_PAGES = (
    "/en/volunteer/network/",
    "/en/volunteer/network/areas/",
    "/en/volunteer/network/templates/",
    "/en/volunteer/network/templates/confirmed/en",
    "/en/volunteer/network/channels/",
    "/en/volunteer/network/retention/",
    "/en/volunteer/network/drills/",
    "/en/volunteer/network/exports/",
    "/en/volunteer/network/invites/",
    "/en/volunteer/network/two-person/",
)
POST_ONLY = (
    "/en/volunteer/network/areas/{area}/delete",
    "/en/volunteer/network/retention/save",
    "/en/volunteer/network/drills/999/end",
    "/en/volunteer/network/exports/incidents.csv",
    "/en/volunteer/network/exports/audit.jsonl",
)


def _urls() -> list[tuple[str, str]]:
    area = NamedArea.objects.create(name="Whitechapel", cells=["88195da49bfffff"])
    return [("get", url) for url in GET_PAGES] + [("post", url.format(area=area.pk)) for url in POST_ONLY]


def test_signed_out_visitors_are_sent_to_sign_in() -> None:
    for method, url in _urls():
        response = getattr(Client(), method)(url)
        assert response.status_code == 302, url
        assert "/volunteer/account/login" in response["Location"], url


def test_a_password_only_session_is_not_let_in(coordinator) -> None:
    client = Client()
    client.force_login(coordinator)
    for method, url in _urls():
        assert getattr(client, method)(url).status_code == 302, url


@pytest.mark.parametrize("persona", ["verifier", "responder"])
def test_verifiers_and_responders_are_refused(persona, request) -> None:
    client = signed_in_client(request.getfixturevalue(persona))
    for method, url in _urls():
        assert getattr(client, method)(url).status_code == 403, url
    assert NamedArea.objects.filter(name="Whitechapel").exists()  # the delete did nothing


@pytest.mark.parametrize("persona", ["coordinator", "admin"])
def test_coordinators_and_admins_get_every_page(persona, request) -> None:
    client = fresh_client(request.getfixturevalue(persona))
    _urls()
    for url in GET_PAGES:
        assert client.get(url).status_code == 200, url


def test_the_index_links_every_tool(coordinator_client) -> None:
    body = coordinator_client.get("/en/volunteer/network/").content.decode()
    for url in GET_PAGES[1:]:
        if url.count("/") == 5:  # the tools' own pages, not an edit page
            assert f'href="{url}"' in body, url


def test_urls_that_act_refuse_get(coordinator_client) -> None:
    for url in ("/en/volunteer/network/areas/1/delete", "/en/volunteer/network/drills/1/end"):
        assert coordinator_client.get(url).status_code == 405, url


def test_urls_behind_re_authentication_show_their_page_on_get(coordinator_client) -> None:
    # Where the re-authentication step sends the volunteer back: confirm there.
    for url in POST_ONLY[1:]:
        if "drills" not in url:
            assert coordinator_client.get(url).status_code == 200, url
