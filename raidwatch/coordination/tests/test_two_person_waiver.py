"""The two-person rule: a coordinator lifts it for a stated period, or puts it
back, from the network tools; both behind a fresh sign-in, both audited."""

from __future__ import annotations

import pytest
from django.utils import timezone

from raidwatch.accounts.models import AuditEntry
from raidwatch.coordination.tests.conftest import stale_client
from raidwatch.incidents.models import TwoPersonWaiver

pytestmark = pytest.mark.django_db

URL = "/en/volunteer/network/two-person/"


def test_lifting_and_restoring_the_rule(coordinator_client, coordinator) -> None:
    assert "The rule is in force." in coordinator_client.get(URL).content.decode()
    lifted = coordinator_client.post(URL, {"hours": "4", "reason": "drill tonight"})
    assert lifted.status_code == 302
    waiver = TwoPersonWaiver.objects.get()
    assert waiver.by == coordinator
    assert 3.9 * 3600 < (waiver.until - timezone.now()).total_seconds() <= 4 * 3600
    page = coordinator_client.get(URL).content.decode()
    assert "drill tonight" in page
    coordinator_client.post(URL, {"step": "restore"})
    assert not TwoPersonWaiver.objects.filter(until__gt=timezone.now()).exists()
    assert list(AuditEntry.objects.values_list("action", flat=True)) == [
        "two_person.waive",
        "two_person.restore",
    ]


@pytest.mark.parametrize(
    "data",
    [{"hours": "0", "reason": "x"}, {"hours": "73", "reason": "x"}, {"hours": "4", "reason": ""}, {}],
)
def test_bad_input_lifts_nothing(coordinator_client, data) -> None:
    response = coordinator_client.post(URL, data)
    assert response.status_code == 400
    assert not TwoPersonWaiver.objects.exists()


def test_it_needs_a_fresh_sign_in(coordinator) -> None:
    response = stale_client(coordinator).post(URL, {"hours": "4", "reason": "x"})
    assert response.status_code == 302
    assert "reauthenticate" in response["Location"]
    assert not TwoPersonWaiver.objects.exists()
