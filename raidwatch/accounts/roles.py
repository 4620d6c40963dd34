"""Who may do what: the declared role by action table (SECURITY.md R10)."""

from __future__ import annotations

from raidwatch.accounts.models import Role, Volunteer

# Actions on incidents. The Verification desk issue extends this table.
PERMISSIONS: dict[str, frozenset[str]] = {
    "incident.confirm": frozenset({Role.VERIFIER, Role.COORDINATOR}),
    "incident.false_alarm": frozenset({Role.VERIFIER, Role.COORDINATOR}),
    "incident.update": frozenset({Role.VERIFIER, Role.COORDINATOR}),
    "incident.end": frozenset({Role.VERIFIER, Role.COORDINATOR, Role.RESPONDER}),
    "incident.retract": frozenset({Role.VERIFIER, Role.COORDINATOR}),
    "incident.view_unverified": frozenset({Role.VERIFIER, Role.COORDINATOR, Role.RESPONDER}),
}


def may(volunteer: Volunteer | None, action: str) -> bool:
    if volunteer is None or not volunteer.is_active:
        return False
    return volunteer.role in PERMISSIONS[action]
