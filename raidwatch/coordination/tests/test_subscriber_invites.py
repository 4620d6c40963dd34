"""Invite codes for the `all` level: made here, shown once, kept only as a hash."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from raidwatch.accounts.models import AuditEntry
from raidwatch.subscriptions.models import Invite

pytestmark = pytest.mark.django_db

URL = "/en/volunteer/network/invites/"


def test_a_code_is_shown_once_and_works_for_the_all_level(coordinator_client) -> None:
    response = coordinator_client.post(URL, {"hours": "24"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    found = re.search(r'<code class="network-code">([^<]+)</code>', response.content.decode())
    assert found is not None
    code = found.group(1)
    invite = Invite.objects.get()
    assert code not in invite.code_hash
    assert 23 <= (invite.expires_at - invite.created_at).total_seconds() / 3600 <= 24
    assert code.encode() not in coordinator_client.get(URL).content
    entry = AuditEntry.objects.get(action="network.invite_create")
    assert entry.details == {"hours": 24}
    assert code not in str(entry.details)
    subscribed = Client().post(
        "/api/v1/subscriptions",
        {
            "channel": "email",
            "address": "organiser@example.org",
            "area": {"postcode": "E1"},
            "language": "en",
            "level": "all",
            "invite": code,
        },
        content_type="application/json",
    )
    assert subscribed.status_code == 201, subscribed.content


@pytest.mark.parametrize("hours", ["0", "721", "-5", "forever", ""])
def test_an_expiry_outside_the_bounds_is_refused(coordinator_client, hours) -> None:
    response = coordinator_client.post(URL, {"hours": hours})
    assert response.status_code == 400
    assert not Invite.objects.exists()
    assert not AuditEntry.objects.exists()
