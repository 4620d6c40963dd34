"""Whether an alert text fits one SMS once its placeholders are filled in, at worst.

Every alert goes out as one SMS in every language (PRODUCT.md): 160 GSM-7
septets, or 70 UCS-2 units as soon as one character is outside GSM-7. A
template is only known to fit once every value its placeholders can take has
been tried: each kind of incident in that language, the longest place text and
the "your area" fallback, the longest time, with and without the exercise
label. The test over the shipped templates and the coordinators' template
editor both measure through here, so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from raidwatch.alerts.models import Alert, CapStatus
from raidwatch.channels.sms.transport import GSM7_SINGLE_LIMIT, UCS2_SINGLE_LIMIT, is_gsm7, sms_length
from raidwatch.incidents.models import Kind

# The longest place text a verifier is expected to give: the desk asks for a
# short landmark, and this is the longest one the project's examples use.
LONG_PLACE = "Whitechapel Road market, east exit"
# Times whose local rendering is longest in 12-hour formats ("11:55 p.m.") and
# the ones some formats spell out in words ("midnight", "noon").
SAMPLE_TIMES = (
    datetime(2026, 11, 26, 23, 55, tzinfo=UTC),
    datetime(2026, 11, 26, 0, 0, tzinfo=UTC),
    datetime(2026, 11, 26, 12, 0, tzinfo=UTC),
)
# An alert is real or a drill; both must fit (the drill carries a label).
SAMPLE_STATUSES = (CapStatus.ACTUAL, CapStatus.EXERCISE)


@dataclass(frozen=True)
class SmsFit:
    """One rendered text measured against the single-SMS limit of its encoding."""

    text: str
    length: int
    limit: int
    encoding: str  # "GSM-7" or "UCS-2"

    @property
    def fits(self) -> bool:
        return self.length <= self.limit


def measure(text: str) -> SmsFit:
    gsm7 = is_gsm7(text)
    return SmsFit(
        text=text,
        length=sms_length(text),
        limit=GSM7_SINGLE_LIMIT if gsm7 else UCS2_SINGLE_LIMIT,
        encoding="GSM-7" if gsm7 else "UCS-2",
    )


def sample_alert(event: str, kind: str, status: str, place: str, sent_at: datetime) -> Alert:
    """An unsaved alert with the given values, to render a text from."""
    return Alert(event=event, kind=kind, status=status, place=place, sent_at=sent_at)


def worst_case(event: str, language: str, template: str | None = None) -> SmsFit:
    """The longest rendering of ``event``'s text in ``language``, relative to its limit.

    ``template`` measures a draft instead of the text in use (an override or the
    translation). It must be a valid template for the event: check its
    placeholders before measuring it.
    """
    from raidwatch.alerts.text import render_text, template_for

    if template is None:
        template = template_for(event, language)  # once, not once per sample
    worst: SmsFit | None = None
    for kind in Kind.values:
        for status in SAMPLE_STATUSES:
            for place in (LONG_PLACE, ""):  # "" renders as "your area" in the language
                for sent_at in SAMPLE_TIMES:
                    alert = sample_alert(event, kind, status, place, sent_at)
                    fit = measure(render_text(alert, language, template=template)[1])
                    if worst is None or fit.length / fit.limit > worst.length / worst.limit:
                        worst = fit
    assert worst is not None  # noqa: S101 - Kind and the samples are never empty
    return worst
