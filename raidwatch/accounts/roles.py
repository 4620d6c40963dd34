"""Who may do what: the declared role by action table (SECURITY.md R10)."""

from __future__ import annotations

from raidwatch.accounts.models import Role, Volunteer

# Actions on incidents. The Verification desk issue extends this table.
_DESK = frozenset({Role.VERIFIER, Role.COORDINATOR, Role.ADMIN})
_EVERY_VOLUNTEER = frozenset({Role.VERIFIER, Role.COORDINATOR, Role.ADMIN, Role.RESPONDER})

PERMISSIONS: dict[str, frozenset[str]] = {
    "incident.view_unverified": _EVERY_VOLUNTEER,
    "incident.claim": _DESK,
    "incident.confirm": _DESK,
    "incident.update": _DESK,
    "incident.false_alarm": _DESK,
    "incident.end": _EVERY_VOLUNTEER,
    "incident.retract": _DESK,
    "incident.merge": _DESK,
    "incident.move_report": _DESK,
    "incident.bulk_dismiss": _DESK,
    "incident.expire": _DESK,
    "incident.observe": _EVERY_VOLUNTEER,
    "incident.respond": frozenset({Role.RESPONDER, Role.VERIFIER, Role.COORDINATOR}),
    "two_person.waive": frozenset({Role.COORDINATOR, Role.ADMIN}),
    "volunteer.manage": frozenset({Role.COORDINATOR, Role.ADMIN}),
}


def may(volunteer: Volunteer | None, action: str) -> bool:
    if volunteer is None or not volunteer.is_active:
        return False
    return volunteer.role in PERMISSIONS[action]
