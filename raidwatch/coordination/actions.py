"""Coordinator actions: each checks the role, runs in one transaction and is audited.

Views parse and render; everything that changes state is here, so the checks
and the audit entry cannot be skipped by a second way in (a command, a test).
"""

from __future__ import annotations

import json
import re
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Any

import h3
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from raidwatch.accounts import audit
from raidwatch.accounts.models import Volunteer
from raidwatch.accounts.roles import may
from raidwatch.alerts.actions import alert_for_incident
from raidwatch.alerts.models import Alert, CapStatus, Certainty, Event, MsgType, Scope
from raidwatch.alerts.text import render_text
from raidwatch.channels.base import InvalidAddress, OutboundMessage, TransportError
from raidwatch.channels.registry import TRANSPORTS, transport
from raidwatch.coordination import tuning
from raidwatch.coordination.models import TemplateOverride, TunableOverride
from raidwatch.coordination.wording import check_template
from raidwatch.incidents import actions as incident_actions
from raidwatch.incidents import clustering
from raidwatch.incidents.events import append_incident_event
from raidwatch.incidents.models import OPEN_STATUSES, Incident, Kind, Status
from raidwatch.intake.models import Report, Source
from raidwatch.lib import geo
from raidwatch.subscriptions.actions import create_invite
from raidwatch.subscriptions.areas import MATCH_RESOLUTION, InvalidArea, resolve_area
from raidwatch.subscriptions.models import Level, NamedArea

# At most this many districts or ZIPs in one named area: enough for a borough,
# few enough that a typo'd paste of a whole list is caught.
MAX_PLACES = 30
MAX_NAME_LENGTH = 60
# Invites for the `all` level: the same bounds as `raidwatch invite --expires`.
INVITE_MIN_HOURS = 1
INVITE_MAX_HOURS = 24 * 30


class CoordinationError(Exception):
    """A refusal whose message is for the coordinator; nothing was changed."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotAllowed(CoordinationError):
    pass


def _require(by: Volunteer | None, action: str) -> Volunteer:
    if by is None or not may(by, action):
        raise NotAllowed(_("You may not do this (%(action)s).") % {"action": action})
    return by


# --- Named areas -------------------------------------------------------------------


@dataclass(frozen=True)
class AreaDraft:
    """Cells for a named area, and coarse words about where they came from."""

    cells: frozenset[str]  # compacted, none finer than the match resolution
    source: str  # "postcode", "zip" or "radius"
    labels: tuple[str, ...]  # the districts or ZIPs; empty for a radius (no point is kept)


def split_places(text: str) -> list[str]:
    """ "E1, E2 E3;E14" → ["E1", "E2", "E3", "E14"], without repeats. The Arabic
    comma and semicolon count too: coordinators type in their own script."""
    seen: dict[str, None] = {}
    for part in re.split(r"[,;،؛\n]", text):
        for piece in part.split():
            seen.setdefault(piece.strip().upper(), None)
    return [place for place in seen if place]


def _union(cell_sets: list[frozenset[str]]) -> frozenset[str]:
    # Compacted sets from overlapping discs can hold a parent and its children;
    # expanding to the match resolution first makes the union exact.
    fine: set[str] = set()
    for cells in cell_sets:
        fine.update(h3.uncompact_cells(list(cells), MATCH_RESOLUTION))
    return frozenset(h3.compact_cells(list(fine)))


def area_from_places(key: str, text: str) -> AreaDraft:
    """The union of postcode districts (``key`` "postcode") or ZIPs ("zip")."""
    places = split_places(text)
    if not places:
        raise CoordinationError(_("Give at least one postcode district or ZIP."), "places")
    if len(places) > MAX_PLACES:
        raise CoordinationError(
            _("At most %(n)d places in one area; make several areas.") % {"n": MAX_PLACES}, "places"
        )
    cell_sets, labels = [], []
    for place in places:
        try:
            area = resolve_area({key: place})
        except InvalidArea as exc:
            raise CoordinationError(f"{place}: {exc.message}", "places") from None
        cell_sets.append(area.cells)
        labels.append(area.label)
    return AreaDraft(_union(cell_sets), key, tuple(labels))


def area_from_radius(lat: float, lon: float, radius_km: float) -> AreaDraft:
    """The cells around a point; the point itself is not kept anywhere."""
    try:
        area = resolve_area({"lat": lat, "lon": lon, "radius_km": radius_km})
    except InvalidArea as exc:
        raise CoordinationError(exc.message, "radius_km" if "radius" in exc.field else "lat") from None
    return AreaDraft(area.cells, "radius", ())


def clean_name(raw: str) -> str:
    name = " ".join(raw.split())
    if not name:
        raise CoordinationError(_("Give the area a name."), "name")
    if len(name) > MAX_NAME_LENGTH:
        raise CoordinationError(_("Keep the name to %(n)d characters.") % {"n": MAX_NAME_LENGTH}, "name")
    if any(unicodedata.category(char) in ("Cc", "Cf") for char in name):
        raise CoordinationError(_("The name holds invisible or control characters."), "name")
    return name


def area_size_km2(cells: list[str] | frozenset[str]) -> float:
    return float(sum(h3.cell_area(cell, unit="km^2") for cell in cells))


def create_named_area(by: Volunteer | None, name: str, draft: AreaDraft) -> NamedArea:
    volunteer = _require(by, "network.areas")
    name = clean_name(name)
    try:
        with transaction.atomic():
            area = NamedArea.objects.create(name=name, cells=sorted(draft.cells))
            audit.record(
                volunteer.username,
                "network.area_create",
                "named_area",
                area.pk,
                name=name,
                source=draft.source,
                # Districts and ZIPs are coarse and public; a radius's point is never recorded.
                places=list(draft.labels),
                cells=len(draft.cells),
            )
    except IntegrityError:
        raise CoordinationError(_("An area with this name exists already."), "name") from None
    return area


def delete_named_area(by: Volunteer | None, area_id: int) -> None:
    """Subscriptions copied the cells when they were made, so nobody's alerts move."""
    volunteer = _require(by, "network.areas")
    with transaction.atomic():
        area = NamedArea.objects.filter(pk=area_id).first()
        if area is None:
            raise CoordinationError(_("There is no such area."))
        area.delete()
        audit.record(volunteer.username, "network.area_delete", "named_area", area_id, name=area.name)


# --- Message templates ---------------------------------------------------------------


def _check_event_language(event: str, language: str) -> None:
    from django.conf import settings

    if event not in Event.values:
        raise CoordinationError(_("There is no such message."))
    if language not in {code for code, _name in settings.LANGUAGES}:
        raise CoordinationError(_("There is no such language."))


def save_template(by: Volunteer | None, event: str, language: str, text: str) -> TemplateOverride:
    """Store a coordinator's wording, once it has the shipped placeholders and
    fits one SMS at worst; CoordinationError otherwise, with every reason."""
    volunteer = _require(by, "network.templates")
    _check_event_language(event, language)
    check = check_template(event, language, text)
    if not check.ok:
        raise CoordinationError(" ".join(check.problems), "text")
    with transaction.atomic():
        override, _created = TemplateOverride.objects.update_or_create(
            event=event, language=language, defaults={"text": text, "updated_at": timezone.now()}
        )
        audit.record(
            volunteer.username,
            "network.template_save",
            "template",
            f"{event}:{language}",
            text=text,
        )
    return override


def reset_template(by: Volunteer | None, event: str, language: str) -> bool:
    """Back to the shipped translation; False when there was no override."""
    volunteer = _require(by, "network.templates")
    _check_event_language(event, language)
    with transaction.atomic():
        deleted, _rows = TemplateOverride.objects.filter(event=event, language=language).delete()
        if deleted:
            audit.record(volunteer.username, "network.template_reset", "template", f"{event}:{language}")
    return bool(deleted)


# --- Channels ----------------------------------------------------------------------


@dataclass(frozen=True)
class TestSendResult:
    sent: bool
    error: str  # the transport's message when it was not sent


def _test_contact(channel: str, address: str) -> dict[str, object]:
    if channel == "webpush":
        # A browser's PushSubscription as JSON ({"endpoint", "keys": {p256dh, auth}}).
        try:
            contact = json.loads(address)
        except ValueError:
            raise CoordinationError(_("Paste the browser's push subscription as JSON."), "address") from None
        if not isinstance(contact, dict):
            raise CoordinationError(_("Paste the browser's push subscription as JSON."), "address")
        return contact
    return {"address": address}


def test_message(language: str) -> OutboundMessage:
    """The Test message (the same text subscribers' test alerts carry)."""
    from django.conf import settings

    alert = Alert(
        event=Event.TEST,
        msg_type=MsgType.ALERT,
        status=CapStatus.TEST,
        scope=Scope.RESTRICTED,
        certainty=Certainty.OBSERVED,
        kind="",
        sent_at=timezone.now(),
    )
    title, text = render_text(alert, language)
    return OutboundMessage(
        text=text,
        title=title,
        url=str(settings.RAIDWATCH_BASE_URL),
        unsubscribe_url=str(settings.RAIDWATCH_BASE_URL),
        # Opaque and new each time: a push service learns nothing from it.
        topic=secrets.token_urlsafe(16),
        urgency="normal",
        language=language,
    )


def send_test(by: Volunteer | None, channel: str, address: str, language: str) -> TestSendResult:
    """Send the Test message through ``channel``'s real transport, now.

    The address is used for this one send and kept nowhere: not in the
    database, the session or the audit entry, which says channel and outcome only.
    """
    volunteer = _require(by, "network.channels")
    if channel not in TRANSPORTS:
        raise CoordinationError(_("There is no such channel."), "channel")
    if not address.strip():
        raise CoordinationError(_("Give an address to send the test to."), "address")
    sender = transport(channel)
    contact = _test_contact(channel, address.strip())
    try:
        sender.normalise_address(contact)
    except InvalidAddress as exc:
        raise CoordinationError(exc.message, "address") from None
    with translation.override(language):
        message = test_message(language)
    error = ""
    try:
        sender.send(contact, message)
    except TransportError as exc:
        error = exc.message
    except Exception as exc:  # a misconfiguration shows here, and must not be a 500
        error = _("%(channel)s could not send: %(problem)s") % {
            "channel": channel,
            "problem": str(exc) if isinstance(exc, ValueError | LookupError) else type(exc).__name__,
        }
    with transaction.atomic():
        audit.record(
            volunteer.username,
            "network.channel_test",
            "channel",
            channel,
            outcome="sent" if not error else "failed",
        )
    return TestSendResult(sent=not error, error=error)


# --- Tunables ------------------------------------------------------------------------


def set_tunables(
    by: Volunteer | None, values: dict[str, int | None]
) -> dict[str, tuple[int | None, int | None]]:
    """Set (a number) or clear (None: back to the environment's value) overrides.

    Every value must be within its bounds, or nothing changes. Returns the
    changes as {name: (old override, new override)}.
    """
    volunteer = _require(by, "network.retention")
    for name, value in values.items():
        if name not in tuning.TUNABLES:
            raise CoordinationError(_("There is no setting %(name)s.") % {"name": name}, name)
        tunable = tuning.TUNABLES[name]
        if value is not None and not tunable.minimum <= value <= tunable.maximum:
            raise CoordinationError(
                _("%(label)s: choose between %(min)d and %(max)d %(unit)s.")
                % {
                    "label": tunable.label,
                    "min": tunable.minimum,
                    "max": tunable.maximum,
                    "unit": tunable.unit,
                },
                name,
            )
    changes: dict[str, tuple[int | None, int | None]] = {}
    now = timezone.now()
    with transaction.atomic():
        current = dict(TunableOverride.objects.select_for_update().values_list("name", "value"))
        for name, value in values.items():
            old = current.get(name)
            if old == value:
                continue
            if value is None:
                TunableOverride.objects.filter(name=name).delete()
            else:
                TunableOverride.objects.update_or_create(
                    name=name, defaults={"value": value, "updated_at": now}
                )
            changes[name] = (old, value)
        if changes:
            audit.record(
                volunteer.username,
                "network.retention_change",
                "settings",
                "tunables",
                changes={name: list(change) for name, change in changes.items()},
            )
        # This process sees the change at once, others within the cache time.
        transaction.on_commit(tuning.invalidate)
    tuning.invalidate()
    return changes


# --- Drills --------------------------------------------------------------------------


def _drill_cell(area: dict[str, Any]) -> tuple[str, str]:
    """(a resolution-8 cell inside the area, a coarse label for it)."""
    if "named" in area:
        named = NamedArea.objects.filter(name=area["named"]).first()
        if named is None or not named.cells:
            raise CoordinationError(_("There is no area of that name."), "named")
        # The first of its cells (in a stable order), at the clustering resolution.
        first = sorted(named.cells)[0]
        return h3.cell_to_center_child(first, geo.CLUSTER_RESOLUTION), named.name[:60]
    text = str(area.get("place", "")).strip()
    if not text:
        raise CoordinationError(_("Choose a named area or give a postcode district or ZIP."), "place")
    try:
        place = geo.resolve_place(text)
    except geo.UnknownPlace as exc:
        raise CoordinationError(exc.message, "place") from None
    if place.kind not in (geo.KIND_POSTCODE_DISTRICT, geo.KIND_ZIP):
        raise CoordinationError(_("Give a postcode district or a ZIP."), "place")
    return place.cell(), place.label[:60]


def start_drill(by: Volunteer | None, *, kind: str, area: dict[str, Any], language: str = "en") -> Incident:
    """Open an exercise incident with one drill report, so the whole flow can be
    practised: the desk, confirming, alerts (CAP status Exercise, every text
    labelled "EXERCISE, NOT REAL") and paging of volunteers on duty."""
    volunteer = _require(by, "network.drill")
    if kind not in Kind.values:
        raise CoordinationError(_("Choose what the drill is about."), "kind")
    cell, label = _drill_cell(area)
    now = timezone.now()
    with transaction.atomic():
        incident = Incident.objects.create(
            kind=kind,
            cell=cell,
            opened_at=now,
            updated_at=now,
            last_report_at=now,
            report_count=1,
            corroborations=1,
            confidence=clustering.confidence(1),
            is_exercise=True,
        )
        Report.objects.create(
            incident=incident,
            kind=kind,
            cell=cell,
            location_sealed=None,  # a drill has no witness and no precise point
            place_label=label,
            observed_at=now,
            received_at=now,
            description=_("EXERCISE, NOT REAL: drill started by %(who)s.") % {"who": volunteer.username},
            language=language,
            source=Source.WEB,
            # Distinct from any real key (those are hex digests), one per drill.
            reporter_key=f"drill-{secrets.token_hex(8)}",
        )
        alert_for_incident(incident, Event.UNVERIFIED)
        append_incident_event(incident, "incident.opened")
        audit.record(
            volunteer.username, "network.drill_start", "incident", incident.pk, kind=kind, area=label
        )
    return incident


def end_drill(by: Volunteer | None, incident_id: int) -> Incident:
    """Close a drill whatever its state: a confirmed one gets its (exercise)
    all clear, an unverified one expires quietly."""
    volunteer = _require(by, "network.drill")
    with transaction.atomic():
        incident = Incident.objects.filter(pk=incident_id, is_exercise=True).first()
        if incident is None:
            raise CoordinationError(_("There is no such drill."))
        if incident.status not in OPEN_STATUSES:
            raise CoordinationError(_("This drill has ended already."))
        try:
            if incident.status == Status.CONFIRMED:
                incident = incident_actions.end(incident_id, volunteer)
            else:
                incident = incident_actions.expire(incident_id, volunteer, reason=_("Drill ended"))
        except incident_actions.ActionError as exc:
            raise CoordinationError(exc.message) from None
        audit.record(volunteer.username, "network.drill_end", "incident", incident_id, status=incident.status)
    return incident


def open_drills() -> list[Incident]:
    return list(Incident.objects.filter(is_exercise=True, status__in=OPEN_STATUSES).order_by("-opened_at"))


# --- Exports and invites -------------------------------------------------------------


def record_export(by: Volunteer | None, what: str, **details: Any) -> None:
    """Audit an export before it is handed over (so the audit export holds itself)."""
    volunteer = _require(by, "network.export")
    with transaction.atomic():
        audit.record(volunteer.username, f"network.export_{what}", "export", what, **details)


def create_subscriber_invite(by: Volunteer | None, hours: int) -> str:
    """A one-time code for the `all` level (unverified reports too). Only its hash
    is stored, so it can be shown once and never again."""
    volunteer = _require(by, "network.invite_subscribers")
    if not INVITE_MIN_HOURS <= hours <= INVITE_MAX_HOURS:
        raise CoordinationError(
            _("An invite is valid for %(min)d to %(max)d hours.")
            % {"min": INVITE_MIN_HOURS, "max": INVITE_MAX_HOURS},
            "hours",
        )
    with transaction.atomic():
        code = create_invite(level=Level.ALL, hours=hours)
        audit.record(volunteer.username, "network.invite_create", "invite", Level.ALL, hours=hours)
    return code
