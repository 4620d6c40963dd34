"""Forms for the coordinator pages: parsing and bounds only; the actions decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from raidwatch.channels.registry import TRANSPORTS
from raidwatch.coordination import actions, tuning
from raidwatch.coordination.wording import MAX_LENGTH
from raidwatch.incidents.actions import WAIVER_MAX_HOURS
from raidwatch.incidents.models import Kind
from raidwatch.subscriptions.areas import MAX_RADIUS_KM
from raidwatch.subscriptions.models import NamedArea

AREA_SOURCES = (
    ("postcode", _("UK postcode districts, e.g. E1, E2, E3")),
    ("zip", _("US ZIP codes, e.g. 10001, 10002")),
    ("radius", _("A radius around a point (the point is not kept)")),
)


class NamedAreaForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=actions.MAX_NAME_LENGTH)
    source = forms.ChoiceField(label=_("Made of"), choices=AREA_SOURCES, widget=forms.RadioSelect)
    places = forms.CharField(
        label=_("Postcode districts or ZIPs, separated by commas"), required=False, max_length=1000
    )
    lat = forms.FloatField(label=_("Latitude"), required=False, min_value=-90, max_value=90)
    lon = forms.FloatField(label=_("Longitude"), required=False, min_value=-180, max_value=180)
    radius_km = forms.FloatField(
        label=_("Radius in km"), required=False, min_value=0.2, max_value=MAX_RADIUS_KM
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("source") == "radius":
            for field in ("lat", "lon", "radius_km"):
                if data.get(field) is None and field not in self.errors:
                    self.add_error(field, _("Needed for an area around a point."))
        elif data.get("source") in ("postcode", "zip") and not (data.get("places") or "").strip():
            self.add_error("places", _("Give at least one postcode district or ZIP."))
        return data


class TemplateForm(forms.Form):
    text = forms.CharField(
        label=_("Message text"), max_length=MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 4}), strip=True
    )


class TestSendForm(forms.Form):
    channel = forms.ChoiceField(choices=[(name, name) for name in TRANSPORTS], widget=forms.HiddenInput)
    address = forms.CharField(label=_("Send a test message to"), max_length=4000)


class TunablesForm(forms.Form):
    """One optional whole number per tunable; empty means the environment's value."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for tunable in tuning.TUNABLES.values():
            self.fields[tunable.name] = forms.IntegerField(
                label=tunable.label,
                help_text=tunable.help,
                required=False,
                min_value=tunable.minimum,
                max_value=tunable.maximum,
            )


def _named_area_choices() -> list[tuple[str, str]]:
    return [("", str(_("(none: use the postcode or ZIP below)")))] + [
        (name, name) for name in NamedArea.objects.values_list("name", flat=True)
    ]


class DrillForm(forms.Form):
    kind = forms.ChoiceField(label=_("What the drill is about"), choices=Kind.choices, initial=Kind.RAID)
    named = forms.ChoiceField(label=_("Named area"), required=False, choices=())
    place = forms.CharField(label=_("or a postcode district or ZIP"), required=False, max_length=20)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["named"].choices = _named_area_choices()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("named") and not (data.get("place") or "").strip():
            self.add_error("place", _("Choose a named area or give a postcode district or ZIP."))
        return data

    def area(self) -> dict[str, str]:
        named = self.cleaned_data.get("named")
        return {"named": named} if named else {"place": self.cleaned_data["place"]}


class InviteForm(forms.Form):
    hours = forms.IntegerField(
        label=_("Valid for (hours)"),
        initial=72,
        min_value=actions.INVITE_MIN_HOURS,
        max_value=actions.INVITE_MAX_HOURS,
    )


class WaiverForm(forms.Form):
    hours = forms.IntegerField(
        label=_("For how many hours"), initial=4, min_value=1, max_value=WAIVER_MAX_HOURS
    )
    reason = forms.CharField(
        label=_("Why"),
        max_length=200,
        help_text=_("For example: a drill tonight, or too few verifiers on duty during a raid."),
    )


def languages() -> list[tuple[str, str]]:
    return [(code, str(name)) for code, name in settings.LANGUAGES]
