"""Who may do what: the declared role by action table (SECURITY.md R10)."""

from __future__ import annotations

from raidwatch.accounts.models import Role, Volunteer

# Actions on incidents, on volunteers and on the network as a whole.
_DESK = frozenset({Role.VERIFIER, Role.COORDINATOR, Role.ADMIN})
_EVERY_VOLUNTEER = frozenset({Role.VERIFIER, Role.COORDINATOR, Role.ADMIN, Role.RESPONDER})
_RUNNERS = frozenset({Role.COORDINATOR, Role.ADMIN})

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
    # Looking at unpublished photos (faces the detector missed) and publishing them.
    "media.review": _DESK,
    "incident.respond": frozenset({Role.RESPONDER, Role.VERIFIER, Role.COORDINATOR}),
    "two_person.waive": frozenset({Role.COORDINATOR, Role.ADMIN}),
    "volunteer.manage": _RUNNERS,
    # Every volunteer sets their own on-duty switch and paging areas.
    "duty.manage_own": _EVERY_VOLUNTEER,
    # Coordinator tools: running the network rather than working incidents.
    "network.areas": _RUNNERS,
    "network.templates": _RUNNERS,
    "network.channels": _RUNNERS,
    "network.retention": _RUNNERS,
    "network.drill": _RUNNERS,
    "network.export": _RUNNERS,
    "network.invite_subscribers": _RUNNERS,
}


def may(volunteer: Volunteer | None, action: str) -> bool:
    if volunteer is None or not volunteer.is_active:
        return False
    return volunteer.role in PERMISSIONS[action]
