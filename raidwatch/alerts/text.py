"""Alert text: one translatable template per event, rendered per subscriber language.

Every message must fit one SMS in every language (PRODUCT.md), so the templates
are short and carry only the coarse area, place text, time and a link (R15).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging

from django.conf import settings
from django.utils import formats, timezone, translation
from django.utils.translation import gettext, gettext_lazy, pgettext_lazy

from raidwatch.alerts.models import Alert, CapStatus, Event
from raidwatch.channels.base import OutboundMessage
from raidwatch.coordination.models import TemplateOverride
from raidwatch.incidents.models import Kind

logger = logging.getLogger(__name__)

# %(kind)s is what was seen, %(place)s where (the verifier's words or the area),
# %(time)s the local time. Links are added by channels that have room for them.
TEMPLATES = {
    Event.UNVERIFIED: gettext_lazy(
        "UNVERIFIED report, not yet checked: %(kind)s near %(place)s at %(time)s."
    ),
    Event.CONFIRMED: gettext_lazy("CONFIRMED: %(kind)s near %(place)s at %(time)s. Know your rights."),
    Event.UPDATED: gettext_lazy("UPDATE: %(kind)s near %(place)s, %(time)s."),
    Event.ENDED: gettext_lazy("ALL CLEAR: %(kind)s near %(place)s has ended (%(time)s)."),
    Event.FALSE_ALARM: gettext_lazy(
        "FALSE ALARM: the report of %(kind)s near %(place)s was checked: not true."
    ),
    Event.RETRACTED: gettext_lazy(
        "CORRECTION: the alert about %(kind)s near %(place)s was confirmed in error."
    ),
    Event.TEST: gettext_lazy("Test message from raidwatch: your alerts work."),
}
TITLES = {
    Event.UNVERIFIED: pgettext_lazy("alert title", "Unverified report"),
    Event.CONFIRMED: pgettext_lazy("alert title", "Confirmed"),
    Event.UPDATED: pgettext_lazy("alert title", "Update"),
    Event.ENDED: pgettext_lazy("alert title", "All clear"),
    Event.FALSE_ALARM: pgettext_lazy("alert title", "False alarm"),
    Event.RETRACTED: pgettext_lazy("alert title", "Correction"),
    Event.TEST: pgettext_lazy("alert title", "Test"),
}
EXERCISE_PREFIX = gettext_lazy("EXERCISE, NOT REAL: ")


def local_time(alert: Alert) -> str:
    """The alert's time in the deployment's time zone, in the active language's format."""
    return formats.time_format(timezone.localtime(alert.sent_at), "TIME_FORMAT")


def default_template(event: str, language: str) -> str:
    """The shipped template for ``event``, translated into ``language``."""
    with translation.override(language):
        return str(TEMPLATES[Event(event)])


def template_for(event: str, language: str) -> str:
    """The template in use: a coordinator's override for (event, language), else
    the shipped translation.

    One indexed lookup; the outbox renders once per alert and language per batch,
    so this is not read per delivery. Overrides are checked when saved (same
    placeholders, fits one SMS at worst), so one can be used as it is.
    """
    override = (
        TemplateOverride.objects.filter(event=event, language=language).values_list("text", flat=True).first()
    )
    return override if override is not None else default_template(event, language)


def render_text(alert: Alert, language: str, template: str | None = None) -> tuple[str, str]:
    """(title, text) for one language; ``template`` renders a draft instead of
    the template in use (the coordinators' preview)."""
    draft = template is not None
    if template is None:
        template = template_for(alert.event, language)
    with translation.override(language):
        kind = str(Kind(alert.kind).label) if alert.kind in Kind.values else alert.kind
        prefix = str(EXERCISE_PREFIX) if alert.status == CapStatus.EXERCISE else ""
        values = {
            "kind": kind.lower(),
            "place": alert.place or gettext("your area"),
            "time": local_time(alert),
        }
        try:
            text = prefix + template % values
        except (KeyError, ValueError, TypeError):
            if draft:
                raise  # the editor checks drafts first and shows the problem
            # A stored wording that no longer fits the placeholders (edited in
            # the database, or older than an upgrade) must not stop alerts
            # going out: fall back to the shipped text, and say so in the log.
            logger.error("The %s wording for %s is broken; sending the default.", language, alert.event)
            template = default_template(alert.event, language)
            text = prefix + template % values
        if alert.place:
            text = _fit_place(text, prefix, template, values)
        title = prefix + str(TITLES[Event(alert.event)])
    return title, text


# A shortened place keeps at least this many characters: less says nothing.
MIN_PLACE = 8


def _fit_place(text: str, prefix: str, template: str, values: dict[str, str]) -> str:
    """The text, with the verifier's place words cut short if that is what it
    takes to fit one SMS. In scripts outside GSM-7 one SMS is 70 characters, so
    a long landmark does not fit beside the status, kind and time; the link and
    the public alert page carry the full place."""
    from raidwatch.alerts.sms_length import measure

    fit = measure(text)
    place = values["place"]
    while not fit.fits and len(place) > MIN_PLACE:
        # One character for "…" where the text is UCS-2 anyway, else "...".
        ellipsis = "…" if fit.encoding == "UCS-2" else "..."
        keep = max(MIN_PLACE, len(place) - (fit.length - fit.limit) - len(ellipsis))
        place = place[:keep].rstrip(" ,;") + ellipsis
        text = prefix + template % (values | {"place": place})
        fit = measure(text)
        if keep == MIN_PLACE:
            break
    return text


def opaque_topic(alert: Alert) -> str:
    """A Web Push Topic per incident: the same for its updates (so the phone replaces
    the earlier alert), meaningless to the push service that sees it (R15)."""
    key = settings.SECRET_KEY.encode()
    subject = f"incident:{alert.incident_id}" if alert.incident_id else f"alert:{alert.pk}"
    digest = hmac.new(key, subject.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")


def alert_url(alert: Alert) -> str:
    return f"{settings.RAIDWATCH_BASE_URL}/a/{alert.pk}"


def render(alert: Alert, language: str, unsubscribe_url: str) -> OutboundMessage:
    title, text = render_text(alert, language)
    return OutboundMessage(
        text=text,
        title=title,
        url=alert_url(alert),
        unsubscribe_url=unsubscribe_url,
        topic=opaque_topic(alert),
        urgency="high" if alert.event in (Event.CONFIRMED, Event.UNVERIFIED) else "normal",
        language=language,
    )
