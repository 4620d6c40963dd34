"""The declared role-by-action table, checked cell by cell (SECURITY.md R10)."""

from __future__ import annotations

import pytest

from raidwatch.accounts.models import Role, Volunteer
from raidwatch.accounts.roles import PERMISSIONS, may

# The table as the project promises it, written out so a change to roles.py
# that widens access fails here until this table is changed on purpose.
EXPECTED = {
    # action: (admin, coordinator, verifier, responder)
    "incident.view_unverified": (1, 1, 1, 1),
    "incident.claim": (1, 1, 1, 0),
    "incident.confirm": (1, 1, 1, 0),
    "incident.update": (1, 1, 1, 0),
    "incident.false_alarm": (1, 1, 1, 0),
    "incident.end": (1, 1, 1, 1),
    "incident.retract": (1, 1, 1, 0),
    "incident.merge": (1, 1, 1, 0),
    "incident.move_report": (1, 1, 1, 0),
    "incident.bulk_dismiss": (1, 1, 1, 0),
    "incident.expire": (1, 1, 1, 0),
    "incident.observe": (1, 1, 1, 1),
    "incident.respond": (0, 1, 1, 1),
    "media.review": (1, 1, 1, 0),
    "two_person.waive": (1, 1, 0, 0),
    "volunteer.manage": (1, 1, 0, 0),
    "duty.manage_own": (1, 1, 1, 1),
    "network.areas": (1, 1, 0, 0),
    "network.templates": (1, 1, 0, 0),
    "network.channels": (1, 1, 0, 0),
    "network.retention": (1, 1, 0, 0),
    "network.drill": (1, 1, 0, 0),
    "network.export": (1, 1, 0, 0),
    "network.invite_subscribers": (1, 1, 0, 0),
}
ROLES = (Role.ADMIN, Role.COORDINATOR, Role.VERIFIER, Role.RESPONDER)


def test_the_table_declares_exactly_the_expected_actions() -> None:
    assert set(PERMISSIONS) == set(EXPECTED)


@pytest.mark.parametrize("action", sorted(EXPECTED))
@pytest.mark.parametrize("role_index", range(len(ROLES)))
def test_each_cell(action: str, role_index: int) -> None:
    volunteer = Volunteer(username="x", role=ROLES[role_index], is_active=True)
    assert may(volunteer, action) is bool(EXPECTED[action][role_index])


@pytest.mark.parametrize("action", sorted(EXPECTED))
def test_nobody_and_inactive_volunteers_may_do_nothing(action: str) -> None:
    assert not may(None, action)
    assert not may(Volunteer(username="x", role=Role.ADMIN, is_active=False), action)
