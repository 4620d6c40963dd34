"""Forms for joining, the team page and a volunteer's duty page.

They only parse: every check that decides something (a free username, a
password the validators accept, who may grant which role, an area that
resolves) lives in ``actions`` or ``subscriptions.areas`` and is shown here
beside its field.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from raidwatch.accounts.actions import INVITATION_MAX_HOURS, INVITATION_MIN_HOURS, USERNAME_MAX_LENGTH
from raidwatch.accounts.models import Role
from raidwatch.subscriptions.areas import Area, InvalidArea, resolve_area
from raidwatch.subscriptions.forms import CHANNEL_CHOICES, RADIUS_CHOICES, WEBPUSH, language_choices
from raidwatch.subscriptions.models import NamedArea

DEFAULT_INVITATION_HOURS = 72


class JoinForm(forms.Form):
    username = forms.CharField(
        label=_("Username"),
        help_text=_(
            "A made-up name other volunteers will see. Not your real name, and not a name you use "
            "anywhere else: if this server is ever seized, usernames are what it holds."
        ),
        max_length=USERNAME_MAX_LENGTH,
        widget=forms.TextInput(
            attrs={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}
        ),
    )
    password = forms.CharField(
        label=_("Password"),
        help_text=_("At least 12 characters. A few unrelated words are easy to type and hard to guess."),
        strip=False,
        max_length=200,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password_again = forms.CharField(
        label=_("Password again"),
        strip=False,
        max_length=200,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") and data.get("password_again") and data["password"] != data["password_again"]:
            self.add_error("password_again", gettext("The two passwords differ. Type the same one twice."))
        return data


def role_choices() -> list[tuple[str, str]]:
    return [(value, str(label)) for value, label in Role.choices]


class InviteForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=role_choices, initial=Role.VERIFIER)
    hours = forms.IntegerField(
        label=_("Link works for (hours)"),
        min_value=INVITATION_MIN_HOURS,
        max_value=INVITATION_MAX_HOURS,
        initial=DEFAULT_INVITATION_HOURS,
        help_text=_("Between 1 and 168 hours (a week)."),
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("New role"), choices=role_choices)


class OnDutyForm(forms.Form):
    on = forms.TypedChoiceField(choices=[("1", "on"), ("0", "off")], coerce=lambda value: value == "1")


AREA_PLACE = "place"
AREA_NAMED = "named"
AREA_POINT = "point"


class PagingAreaForm(forms.Form):
    """Where and how a volunteer is paged. Push needs the browser's own
    subscription (JavaScript on the public subscribe page), so it is not
    offered in this plain form."""

    channel = forms.ChoiceField(
        label=_("How should pages reach you?"),
        choices=[(value, label) for value, label in CHANNEL_CHOICES if value != WEBPUSH],
        widget=forms.RadioSelect,
    )
    address = forms.CharField(
        label=_("Your address on that channel"),
        help_text=_(
            "Email: your email address. SMS or Signal: your phone number, starting with + and the "
            "country code. Telegram: a chat id or @channel. ntfy: a topic name. Matrix: a room, "
            "like #name:server. It is sealed at once: nobody, coordinators included, can read it here."
        ),
        max_length=320,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    area_kind = forms.ChoiceField(
        label=_("Which area?"),
        choices=[
            (AREA_PLACE, _("A postcode district or ZIP code")),
            (AREA_NAMED, _("An area a coordinator has named")),
            (AREA_POINT, _("A distance around a point")),
        ],
        initial=AREA_PLACE,
        widget=forms.RadioSelect,
    )
    place = forms.CharField(
        label=_("Postcode district or ZIP code"),
        help_text=_("A postcode district (E1) or a ZIP code (10001)."),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    named = forms.ChoiceField(label=_("Named area"), required=False)
    lat = forms.CharField(label=_("Latitude"), required=False, max_length=20)
    lon = forms.CharField(label=_("Longitude"), required=False, max_length=20)
    radius_km = forms.ChoiceField(label=_("How far around it?"), choices=RADIUS_CHOICES, initial="2")
    language = forms.ChoiceField(label=_("Language of the pages"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        named = self.fields["named"]
        language = self.fields["language"]
        assert isinstance(named, forms.ChoiceField)  # noqa: S101 - narrows the type for mypy
        assert isinstance(language, forms.ChoiceField)  # noqa: S101 - narrows the type for mypy
        # A handful of rows; filtered here because an empty JSON list compares differently per database.
        names = [area.name for area in NamedArea.objects.only("name", "cells") if area.cells]
        named.choices = [("", "—"), *((name, name) for name in names)]
        self.has_named_areas = bool(names)
        language.choices = language_choices()
        codes = {code for code, _name in settings.LANGUAGES}
        current = get_language() or settings.LANGUAGE_CODE
        language.initial = current if current in codes else settings.LANGUAGE_CODE
        self.area: Area | None = None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("area_kind")
        if kind == AREA_PLACE:
            place = str(data.get("place") or "").strip()
            if not place:
                self.add_error("place", gettext("Enter a postcode district or ZIP code."))
                return data
            key = "zip" if place.replace("-", "").isdigit() else "postcode"
            self._resolve({key: place}, "place")
        elif kind == AREA_NAMED:
            if not data.get("named"):
                self.add_error("named", gettext("Choose one of the named areas."))
                return data
            self._resolve({"named": data["named"]}, "named")
        elif kind == AREA_POINT:
            lat, lon = str(data.get("lat") or "").strip(), str(data.get("lon") or "").strip()
            if not lat or not lon:
                self.add_error("lat", gettext("Enter the latitude and longitude of the point."))
                return data
            self._resolve({"lat": lat, "lon": lon, "radius_km": data.get("radius_km") or "2"}, "lat")
        return data

    def _resolve(self, area: dict[str, object], field: str) -> None:
        try:
            self.area = resolve_area(area)
        except InvalidArea as exc:
            self.add_error("radius_km" if exc.field == "area.radius_km" else field, exc.message)
