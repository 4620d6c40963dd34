"""Who reaches the team and duty pages (R9, R10): nobody signed out or on a
password alone, the team pages only coordinators and admins."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import Client

from raidwatch.accounts.models import Role, Volunteer, VolunteerInvitation
from raidwatch.testing.volunteers import signed_in_client

pytestmark = pytest.mark.django_db

LOGIN = "/en/volunteer/account/login/"
AREA = uuid.UUID(int=1)

# (method, path); {pk} is another volunteer's id.
TEAM_PAGES = [
    ("get", "/en/volunteer/team/"),
    ("post", "/en/volunteer/team/invite"),
    ("post", "/en/volunteer/team/invitations/{invitation}/revoke"),
    ("get", "/en/volunteer/team/{pk}/role"),
    ("post", "/en/volunteer/team/{pk}/role"),
    ("get", "/en/volunteer/team/{pk}/offboard"),
    ("post", "/en/volunteer/team/{pk}/offboard"),
]
DUTY_PAGES = [
    ("get", "/en/volunteer/duty/"),
    ("post", "/en/volunteer/duty/switch"),
    ("post", "/en/volunteer/duty/areas"),
    ("post", f"/en/volunteer/duty/areas/{AREA}/confirm"),
    ("post", f"/en/volunteer/duty/areas/{AREA}/remove"),
]


@pytest.fixture
def others(db: None) -> dict[str, Any]:
    target = Volunteer.objects.create_user("target", password="x", role=Role.VERIFIER)
    invitation = VolunteerInvitation.objects.create(
        token_hash="0" * 64,
        role=Role.VERIFIER,
        created_at="2030-01-01T00:00Z",
        expires_at="2030-01-02T00:00Z",
    )
    return {"pk": target.pk, "invitation": invitation.pk}


def _request(client: Client, method: str, path: str, others: dict[str, Any]) -> Any:
    url = path.format(**others)
    return client.get(url) if method == "get" else client.post(url, {"role": "admin", "on": "1"})


@pytest.mark.parametrize(("method", "path"), TEAM_PAGES + DUTY_PAGES)
def test_signed_out_is_sent_to_sign_in(others: dict[str, Any], method: str, path: str) -> None:
    response = _request(Client(), method, path, others)
    assert response.status_code == 302
    assert response["Location"].startswith(f"{LOGIN}?next=")


@pytest.mark.parametrize(("method", "path"), TEAM_PAGES + DUTY_PAGES)
def test_a_password_only_session_is_sent_to_set_up_a_second_factor(
    verifier: Any, others: dict[str, Any], method: str, path: str
) -> None:
    client = Client()
    client.force_login(verifier)
    response = _request(client, method, path, others)
    assert response.status_code == 302
    assert response["Location"] == "/en/volunteer/account/2fa/"


@pytest.mark.parametrize(("method", "path"), TEAM_PAGES)
@pytest.mark.parametrize("role", [Role.VERIFIER, Role.RESPONDER])
def test_verifiers_and_responders_are_refused_the_team_pages(
    others: dict[str, Any], method: str, path: str, role: str
) -> None:
    volunteer = Volunteer.objects.create_user("someone", password="x", role=role)
    response = _request(signed_in_client(volunteer), method, path, others)
    assert response.status_code == 403
    target = Volunteer.objects.get(username="target")
    assert (target.role, target.is_active) == (Role.VERIFIER, True)
    assert VolunteerInvitation.objects.count() == 1


@pytest.mark.parametrize("role", [Role.ADMIN, Role.COORDINATOR, Role.VERIFIER, Role.RESPONDER])
def test_every_volunteer_has_a_duty_page(role: str) -> None:
    volunteer = Volunteer.objects.create_user("someone", password="x", role=role)
    assert signed_in_client(volunteer).get("/en/volunteer/duty/").status_code == 200


@pytest.mark.parametrize("role", [Role.ADMIN, Role.COORDINATOR])
def test_coordinators_and_admins_have_the_team_page(role: str) -> None:
    volunteer = Volunteer.objects.create_user("someone", password="x", role=role)
    assert signed_in_client(volunteer).get("/en/volunteer/team/").status_code == 200


@pytest.mark.parametrize(
    ("role", "team_link"),
    [(Role.ADMIN, True), (Role.COORDINATOR, True), (Role.VERIFIER, False), (Role.RESPONDER, False)],
)
def test_the_home_page_links_duty_always_and_team_and_network_only_when_allowed(
    role: str, team_link: bool
) -> None:
    volunteer = Volunteer.objects.create_user("someone", password="x", role=role)
    page = signed_in_client(volunteer).get("/en/volunteer/").content.decode()
    assert 'href="/en/volunteer/duty/"' in page
    assert 'href="/en/volunteer/desk/"' in page
    assert ('href="/en/volunteer/team/"' in page) is team_link
    assert ('href="/en/volunteer/network/"' in page) is team_link
