"""Verification actions. Each runs in one transaction, writes the audit log and the
event log, and loses cleanly to a concurrent action on the same incident."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from raidwatch.accounts import audit
from raidwatch.accounts.models import Volunteer
from raidwatch.accounts.roles import may
from raidwatch.alerts.actions import alert_for_incident
from raidwatch.alerts.models import Event
from raidwatch.incidents.events import append_incident_event
from raidwatch.incidents.models import Incident, Status

# Which alert each verification action sends.
_ALERT_EVENTS = {
    "confirm": Event.CONFIRMED,
    "false_alarm": Event.FALSE_ALARM,
    "end": Event.ENDED,
    "update": Event.UPDATED,
    "retract": Event.RETRACTED,
}


class ActionError(Exception):
    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class IncidentNotFound(ActionError):
    exit_code = 2


class WrongState(ActionError):
    exit_code = 3


class NotAllowed(ActionError):
    exit_code = 4


def _transition(
    incident_id: int,
    by: Volunteer | None,
    *,
    action: str,
    from_statuses: tuple[str, ...],
    to_status: str,
    place: str | None = None,
    reason: str | None = None,
) -> Incident:
    if not may(by, f"incident.{action}"):
        raise NotAllowed(
            _("%(who)s may not %(action)s incidents.") % {"who": by or _("Nobody"), "action": action}
        )
    assert by is not None  # noqa: S101 - may() refuses None
    now = timezone.now()
    changes: dict[str, object] = {"status": to_status, "updated_at": now}
    if place is not None:
        changes["place"] = place.strip()[:100]
    if reason is not None:
        changes["reason"] = reason.strip()[:200]
    with transaction.atomic():
        # A conditional UPDATE is the race guard: of two verifiers acting at
        # once, exactly one sees a row change; the other gets WrongState.
        changed = Incident.objects.filter(pk=incident_id, status__in=from_statuses).update(**changes)
        incident = Incident.objects.filter(pk=incident_id).first()
        if incident is None:
            raise IncidentNotFound(_("There is no incident %(id)s.") % {"id": incident_id})
        if not changed:
            raise WrongState(
                _("Incident %(id)s is %(status)s; it cannot be marked %(to)s.")
                % {"id": incident_id, "status": incident.get_status_display(), "to": Status(to_status).label}
            )
        audit.record(
            by.username,
            f"incident.{action}",
            "incident",
            incident.pk,
            **{k: v for k, v in (("place", place), ("reason", reason)) if v is not None},
        )
        append_incident_event(incident, f"incident.{action}")
        alert_for_incident(incident, _ALERT_EVENTS[action])
    return incident


def confirm(incident_id: int, by: Volunteer | None, place: str | None = None) -> Incident:
    """Unverified → confirmed: the incident becomes public (the Alerts issue sends alerts here)."""
    return _transition(
        incident_id,
        by,
        action="confirm",
        from_statuses=(Status.UNVERIFIED,),
        to_status=Status.CONFIRMED,
        place=place,
    )


def false_alarm(incident_id: int, by: Volunteer | None, reason: str | None = None) -> Incident:
    """Unverified → false alarm: a public debunk with the verifier's short reason."""
    return _transition(
        incident_id,
        by,
        action="false_alarm",
        from_statuses=(Status.UNVERIFIED,),
        to_status=Status.FALSE_ALARM,
        reason=reason,
    )


def update(incident_id: int, by: Volunteer | None, place: str) -> Incident:
    """Confirmed stays confirmed with new details (the place): an Update to everyone alerted."""
    return _transition(
        incident_id,
        by,
        action="update",
        from_statuses=(Status.CONFIRMED,),
        to_status=Status.CONFIRMED,
        place=place,
    )


def end(incident_id: int, by: Volunteer | None) -> Incident:
    """Confirmed → ended: the all clear."""
    return _transition(
        incident_id, by, action="end", from_statuses=(Status.CONFIRMED,), to_status=Status.ENDED
    )


def retract(incident_id: int, by: Volunteer | None, reason: str | None = None) -> Incident:
    """Confirmed or ended → retracted: the confirmation was made in error."""
    return _transition(
        incident_id,
        by,
        action="retract",
        from_statuses=(Status.CONFIRMED, Status.ENDED),
        to_status=Status.RETRACTED,
        reason=reason,
    )


def expire_stale_incidents() -> int:
    """Unverified incidents with no report for a while expire; returns how many."""
    cutoff = timezone.now() - timedelta(minutes=settings.RAIDWATCH_UNVERIFIED_EXPIRY_MINUTES)
    expired = 0
    for incident_id in Incident.objects.filter(
        status=Status.UNVERIFIED, last_report_at__lt=cutoff
    ).values_list("pk", flat=True):
        with transaction.atomic():
            if not Incident.objects.filter(
                pk=incident_id, status=Status.UNVERIFIED, last_report_at__lt=cutoff
            ).update(status=Status.EXPIRED, updated_at=timezone.now()):
                continue  # a report or a verifier got there first
            incident = Incident.objects.get(pk=incident_id)
            audit.record("system", "incident.expire", "incident", incident_id)
            append_incident_event(incident, "incident.expire")
            expired += 1
    return expired
