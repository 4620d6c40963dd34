"""Verification actions. Each runs in one transaction, writes the audit log and the
event log, and loses cleanly to a concurrent action on the same incident."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from raidwatch.accounts import audit
from raidwatch.accounts.models import Volunteer
from raidwatch.accounts.roles import may
from raidwatch.alerts.actions import alert_cells, alert_for_incident
from raidwatch.alerts.matching import match_subscriptions
from raidwatch.alerts.models import Event
from raidwatch.coordination import tuning
from raidwatch.incidents import clustering
from raidwatch.incidents.events import append_incident_event
from raidwatch.incidents.models import (
    OPEN_STATUSES,
    Incident,
    Observation,
    ResponderState,
    Response,
    Status,
    TwoPersonWaiver,
)
from raidwatch.intake.models import Report
from raidwatch.intake.validation import clean_description, inert_text
from raidwatch.subscriptions.models import Level

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


class SignOffRequested(NotAllowed):
    """Not allowed alone: the request is recorded and a second verifier must confirm."""


class AlreadyClaimed(WrongState):
    pass


def _transition(
    incident_id: int,
    by: Volunteer | None,
    *,
    action: str,
    from_statuses: tuple[str, ...],
    to_status: str,
    place: str | None = None,
    reason: str | None = None,
    extra: dict[str, object] | None = None,
) -> Incident:
    by = _require(by, f"incident.{action}")
    now = timezone.now()
    changes: dict[str, object] = {"status": to_status, "updated_at": now}
    # Verifiers' words go to the public and to every channel: no bidi overrides
    # or control characters (R15), in the record and in the audit log alike.
    if place is not None:
        place = inert_text(place)[:100]
        changes["place"] = place
    if reason is not None:
        reason = inert_text(reason)[:200]
        changes["reason"] = reason
    changes.update(extra or {})
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
        if action in _ALERT_EVENTS:  # expiry is quiet: nobody was told it was true
            alert_for_incident(incident, _ALERT_EVENTS[action])
    return incident


def confirm(incident_id: int, by: Volunteer | None, place: str | None = None) -> Incident:
    """Unverified → confirmed: the incident becomes public and alerts go out.

    An alert that would reach more subscribers than the two-person threshold
    needs a second verifier: the first call records the request and raises
    SignOffRequested; a different verifier's confirm then publishes it.
    """
    _check_two_person_rule(incident_id, by)
    return _transition(
        incident_id,
        by,
        action="confirm",
        from_statuses=(Status.UNVERIFIED,),
        to_status=Status.CONFIRMED,
        place=place,
        extra={"verified_at": timezone.now(), "signoff_requested_by": None, "claimed_by": None},
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
        extra={"verified_at": timezone.now(), "claimed_by": None},
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
    cutoff = timezone.now() - timedelta(minutes=tuning.unverified_expiry_minutes())
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


# --- The desk ------------------------------------------------------------------


def _require(by: Volunteer | None, action: str) -> Volunteer:
    if by is None or not may(by, action):
        raise NotAllowed(
            _("%(who)s may not do this (%(action)s).") % {"who": by or _("Nobody"), "action": action}
        )
    return by


def _get(incident_id: int) -> Incident:
    incident = Incident.objects.filter(pk=incident_id).first()
    if incident is None:
        raise IncidentNotFound(_("There is no incident %(id)s.") % {"id": incident_id})
    return incident


def estimated_audience(incident: Incident) -> int:
    """How many subscriptions a confirmation of this incident would reach."""
    return len(match_subscriptions(alert_cells(incident), [Level.VERIFIED, Level.ALL]))


def _check_two_person_rule(incident_id: int, by: Volunteer | None) -> None:
    volunteer = _require(by, "incident.confirm")
    incident = _get(incident_id)
    if incident.status != Status.UNVERIFIED:
        return  # _transition reports the wrong state
    now = timezone.now()
    audience = estimated_audience(incident)
    if audience <= tuning.two_person_threshold() or TwoPersonWaiver.objects.filter(until__gt=now).exists():
        return
    message = _("This alert would reach %(n)d subscribers, so a second verifier must confirm it too.") % {
        "n": audience
    }
    if incident.signoff_requested_by_id is None:
        with transaction.atomic():
            if Incident.objects.filter(pk=incident_id, signoff_requested_by__isnull=True).update(
                signoff_requested_by=volunteer
            ):
                audit.record(
                    volunteer.username,
                    "incident.confirm_requested",
                    "incident",
                    incident_id,
                    audience=audience,
                )
                append_incident_event(incident, "incident.confirm_requested", desk_only=True)
        raise SignOffRequested(message + " " + _("Your confirmation is recorded."))
    if incident.signoff_requested_by_id == volunteer.pk:
        raise SignOffRequested(message + " " + _("You asked already; another verifier must confirm."))


def claim(incident_id: int, by: Volunteer | None) -> Incident:
    """Take an open incident to work on, so two verifiers don't work the same one."""
    volunteer = _require(by, "incident.claim")
    now = timezone.now()
    free = Q(claimed_by__isnull=True) | Q(claimed_by=volunteer) | Q(claimed_until__lt=now)
    with transaction.atomic():
        changed = Incident.objects.filter(free, pk=incident_id, status__in=OPEN_STATUSES).update(
            claimed_by=volunteer,
            claimed_until=now + timedelta(minutes=tuning.claim_minutes()),
            first_looked_at=Coalesce("first_looked_at", Value(now)),
        )
        incident = _get(incident_id)
        if not changed:
            if incident.status in OPEN_STATUSES and incident.claimed_by is not None:
                raise AlreadyClaimed(
                    _("%(who)s is already working on incident %(id)s.")
                    % {"who": incident.claimed_by, "id": incident_id}
                )
            raise WrongState(_("Incident %(id)s is closed.") % {"id": incident_id})
        audit.record(volunteer.username, "incident.claim", "incident", incident_id)
        append_incident_event(incident, "incident.claim", desk_only=True)
    return incident


def release(incident_id: int, by: Volunteer | None) -> None:
    volunteer = _require(by, "incident.claim")
    with transaction.atomic():
        if Incident.objects.filter(pk=incident_id, claimed_by=volunteer).update(
            claimed_by=None, claimed_until=None
        ):
            audit.record(volunteer.username, "incident.release", "incident", incident_id)
            append_incident_event(_get(incident_id), "incident.release", desk_only=True)


def _recount(incident: Incident) -> None:
    """Counts, kind and times of an incident from its reports (after a merge or a move)."""
    reports = list(incident.reports.values_list("kind", "reporter_key", "observed_at"))
    incident.report_count = len(reports)
    incident.corroborations = len({key for _, key, _ in reports})
    incident.confidence = clustering.confidence(incident.corroborations)
    kind = reports[0][0]
    for other, _key, _at in reports[1:]:
        kind = clustering.merged_kind(kind, other)
    incident.kind = kind
    incident.last_report_at = max(at for _, _, at in reports)
    incident.opened_at = min(incident.opened_at, min(at for _, _, at in reports))
    incident.updated_at = timezone.now()
    incident.save(
        update_fields=[
            "report_count",
            "corroborations",
            "confidence",
            "kind",
            "last_report_at",
            "opened_at",
            "updated_at",
        ]
    )


def merge(target_id: int, source_id: int, by: Volunteer | None) -> Incident:
    """Fold an unverified incident into another open one (the same event, reported twice)."""
    volunteer = _require(by, "incident.merge")
    if target_id == source_id:
        raise WrongState(_("An incident cannot be merged into itself."))
    with transaction.atomic():
        target, source = _get(target_id), _get(source_id)
        if target.status not in OPEN_STATUSES:
            raise WrongState(_("Incident %(id)s is closed.") % {"id": target_id})
        if target.is_exercise != source.is_exercise:
            raise WrongState(_("A drill and a real incident are never merged."))
        if not Incident.objects.filter(pk=source_id, status=Status.UNVERIFIED).update(
            status=Status.MERGED, merged_into=target, updated_at=timezone.now(), claimed_by=None
        ):
            raise WrongState(_("Only an unverified incident can be merged into another."))
        Report.objects.filter(incident_id=source_id).update(incident=target)
        _recount(target)
        audit.record(volunteer.username, "incident.merge", "incident", target_id, merged=source_id)
        append_incident_event(target, "incident.merge")
        source.refresh_from_db()
        append_incident_event(source, "incident.merged", desk_only=True)
    return target


def move_report_out(report_id: int, by: Volunteer | None) -> Incident:
    """A report that is about something else gets an incident of its own."""
    volunteer = _require(by, "incident.move_report")
    with transaction.atomic():
        report = Report.objects.select_related("incident").filter(pk=report_id).first()
        if report is None:
            raise IncidentNotFound(_("There is no report %(id)s.") % {"id": report_id})
        old = report.incident
        if old.status not in OPEN_STATUSES or old.report_count < 2:
            raise WrongState(_("Only a report of an open incident with other reports can be moved out."))
        now = timezone.now()
        new = Incident.objects.create(
            kind=report.kind,
            cell=report.cell,
            # A report moved out of a drill is still practice, never a real incident.
            is_exercise=old.is_exercise,
            opened_at=report.observed_at,
            updated_at=now,
            last_report_at=report.observed_at,
        )
        Report.objects.filter(pk=report_id).update(incident=new)
        _recount(old)
        _recount(new)
        audit.record(
            volunteer.username, "incident.move_report", "report", report_id, source=old.pk, to=new.pk
        )
        append_incident_event(old, "incident.report_moved")
        append_incident_event(new, "incident.opened")
    return new


def add_observation(
    incident_id: int,
    by: Volunteer | None,
    *,
    officer_count: int | None = None,
    vehicle_count: int | None = None,
    markings: str = "",
    observed_at: datetime | None = None,
) -> Observation:
    """Counts and agency markings seen at the scene; nothing that identifies a person."""
    volunteer = _require(by, "incident.observe")
    for value in (officer_count, vehicle_count):
        if value is not None and not 0 <= value <= 500:
            raise WrongState(_("Counts must be between 0 and 500."))
    cleaned = clean_description(markings) if markings else ""
    if len(cleaned) > 100:
        raise WrongState(_("Keep the markings to 100 characters."))
    now = timezone.now()
    with transaction.atomic():
        incident = _get(incident_id)
        observation = Observation.objects.create(
            incident=incident,
            by=volunteer,
            at=now,
            observed_at=observed_at or now,
            officer_count=officer_count,
            vehicle_count=vehicle_count,
            markings=cleaned,
        )
        audit.record(
            volunteer.username,
            "incident.observe",
            "incident",
            incident_id,
            officers=officer_count,
            vehicles=vehicle_count,
            markings=cleaned,
        )
        append_incident_event(incident, "incident.observation", desk_only=True)
    return observation


def respond(incident_id: int, by: Volunteer | None, state: str) -> Response:
    """A responder's "on my way", "arrived" or "left"; only volunteers see it."""
    volunteer = _require(by, "incident.respond")
    if state not in ResponderState.values:
        raise WrongState(_("Unknown state %(state)s.") % {"state": state})
    with transaction.atomic():
        incident = _get(incident_id)
        if incident.status not in OPEN_STATUSES:
            raise WrongState(_("Incident %(id)s is closed.") % {"id": incident_id})
        response, _created = Response.objects.update_or_create(
            incident=incident, volunteer=volunteer, defaults={"state": state, "at": timezone.now()}
        )
        # Movements are redacted from the audit log after the retention period (R11).
        audit.record(volunteer.username, "incident.respond", "incident", incident_id, state=state)
        append_incident_event(incident, "incident.response", desk_only=True)
    return response


def expire(incident_id: int, by: Volunteer | None, reason: str | None = None) -> Incident:
    """Unverified → expired by a verifier (stale, or a flood-day sweep)."""
    return _transition(
        incident_id,
        by,
        action="expire",
        from_statuses=(Status.UNVERIFIED,),
        to_status=Status.EXPIRED,
        reason=reason,
        extra={"claimed_by": None},
    )


def bulk_dismiss(
    incident_ids: list[int], by: Volunteer | None, *, status: str, reason: str
) -> dict[str, list[int]]:
    """For flood days: many unverified incidents marked false alarm or expired at once.

    Each one is its own transaction, so one that changed meanwhile is skipped,
    not the whole selection.
    """
    _require(by, "incident.bulk_dismiss")
    if status not in (Status.FALSE_ALARM, Status.EXPIRED):
        raise WrongState(_("Bulk dismiss marks incidents as false alarm or expired."))
    act = false_alarm if status == Status.FALSE_ALARM else expire
    result: dict[str, list[int]] = {"done": [], "skipped": []}
    for incident_id in incident_ids:
        try:
            act(incident_id, by, reason=reason)
        except (WrongState, IncidentNotFound):
            result["skipped"].append(incident_id)
        else:
            result["done"].append(incident_id)
    return result


WAIVER_MAX_HOURS = 72


def waive_two_person_rule(by: Volunteer | None, *, hours: int, reason: str) -> TwoPersonWaiver:
    """A coordinator lifts the two-person rule for a stated period (a drill, a crisis with few verifiers)."""
    volunteer = _require(by, "two_person.waive")
    if not 1 <= hours <= WAIVER_MAX_HOURS or not reason.strip():
        raise WrongState(_("Give a reason and a period of 1 to %(max)d hours.") % {"max": WAIVER_MAX_HOURS})
    now = timezone.now()
    with transaction.atomic():
        waiver = TwoPersonWaiver.objects.create(
            by=volunteer, reason=inert_text(reason)[:200], created_at=now, until=now + timedelta(hours=hours)
        )
        audit.record(
            volunteer.username, "two_person.waive", "waiver", waiver.pk, hours=hours, reason=waiver.reason
        )
    return waiver


def end_two_person_waivers(by: Volunteer | None) -> int:
    """Put the two-person rule back in force now; returns how many waivers ended."""
    volunteer = _require(by, "two_person.waive")
    now = timezone.now()
    with transaction.atomic():
        ended = TwoPersonWaiver.objects.filter(until__gt=now).update(until=now)
        if ended:
            audit.record(volunteer.username, "two_person.restore", "waiver", "", ended=ended)
    return ended
