"""The /subscribe and confirm forms: the API's checks, shown beside each field.

The form only parses: it turns the typed place or the located point into an
Area (cells only; the point itself goes no further than this request) and
leaves every state change to ``actions``.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.conf import settings
from django.utils.functional import lazy
from django.utils.translation import get_language, get_language_info, gettext
from django.utils.translation import gettext_lazy as _

from raidwatch.subscriptions.actions import SubscriptionError
from raidwatch.subscriptions.areas import Area, InvalidArea, resolve_area
from raidwatch.subscriptions.models import Level

WEBPUSH = "webpush"
CHANNEL_CHOICES = [
    # Offered only once subscribe.js has found that this browser can take push messages.
    (WEBPUSH, _("This browser (push notifications)")),
    ("email", _("Email")),
    ("sms", _("Text message (SMS)")),
    ("telegram", _("Telegram")),
    ("signal", _("Signal")),
    ("ntfy", _("ntfy")),
    ("matrix", _("Matrix")),
]


def _km_label(km: int) -> str:
    # The same message as the area label areas.py stores, so one translation serves both.
    return gettext("%(km)s km") % {"km": str(km)}


km_label = lazy(_km_label, str)
RADIUS_CHOICES = [(str(km), km_label(km)) for km in (1, 2, 5, 10)]
DEFAULT_RADIUS = "2"
# ZIP or ZIP+4; anything else typed is taken as a postcode district.
_ZIP = re.compile(r"\s*[0-9]{5}(?:-[0-9]{4})?\s*")


def language_name(code: str) -> str:
    """A language's name in that language (what its speakers look for), else its label."""
    try:
        return str(get_language_info(code)["name_local"])
    except KeyError:
        return str(dict(settings.LANGUAGES).get(code, code))


def language_choices() -> list[tuple[str, str]]:
    return [(code, language_name(code)) for code, _name in settings.LANGUAGES]


def area_input(place: str, lat: str, lon: str, radius_km: str) -> dict[str, object]:
    """The API's area object for what was typed or located; a point wins over text
    because subscribe.js clears the other one when either is given."""
    if lat and lon:
        return {"lat": lat, "lon": lon, "radius_km": radius_km}
    key = "zip" if _ZIP.fullmatch(place) else "postcode"
    return {key: place}


class SubscribeForm(forms.Form):
    channel = forms.ChoiceField(
        label=_("How should alerts reach you?"), choices=CHANNEL_CHOICES, widget=forms.RadioSelect
    )
    address = forms.CharField(
        label=_("Your address on that channel"),
        help_text=_(
            "Email: your email address. SMS or Signal: your phone number, starting with + and the "
            "country code. Telegram: a chat id or @channel. ntfy: a topic name. Matrix: a room, "
            "like #name:server."
        ),
        required=False,
        max_length=320,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    place = forms.CharField(
        label=_("Which area?"),
        help_text=_("A postcode district (E1) or a ZIP code (10001)."),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    # Filled in only by the "use my location" button. The point is turned into
    # cells for this request and then dropped: it is never stored.
    lat = forms.CharField(required=False, max_length=20, widget=forms.HiddenInput)
    lon = forms.CharField(required=False, max_length=20, widget=forms.HiddenInput)
    radius_km = forms.ChoiceField(
        label=_("How far around your location?"), choices=RADIUS_CHOICES, initial=DEFAULT_RADIUS
    )
    language = forms.ChoiceField(label=_("Language of the alerts"))
    level = forms.ChoiceField(
        label=_("Which alerts?"), choices=Level.choices, initial=Level.VERIFIED, widget=forms.RadioSelect
    )
    invite = forms.CharField(
        label=_("Invite code"),
        help_text=_("Only for everything, unverified reports included: a coordinator gives you a code."),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        language = self.fields["language"]
        assert isinstance(language, forms.ChoiceField)  # noqa: S101 - narrows the type for mypy
        language.choices = language_choices()
        codes = {code for code, _name in settings.LANGUAGES}
        current = get_language() or settings.LANGUAGE_CODE
        language.initial = current if current in codes else settings.LANGUAGE_CODE
        self.area: Area | None = None

    def clean_channel(self) -> str:
        channel = str(self.cleaned_data["channel"])
        if channel == WEBPUSH:
            # Push needs the browser's own subscription, which only the script can get;
            # the script sends it to the API and never submits this form for push.
            raise forms.ValidationError(
                gettext("Push notifications need JavaScript. Turn it on, or choose another channel.")
            )
        return channel

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        place = str(data.get("place") or "").strip()
        lat, lon = str(data.get("lat") or ""), str(data.get("lon") or "")
        if not place and not (lat and lon):
            self.add_error("place", gettext("Enter a postcode district or ZIP code, or use your location."))
            return data
        try:
            self.area = resolve_area(
                area_input(place, lat, lon, str(data.get("radius_km") or DEFAULT_RADIUS))
            )
        except InvalidArea as exc:
            self.add_error(self.form_field(exc.field), exc.message)
        return data

    def form_field(self, api_field: str | None) -> str | None:
        """The field of this form an API error field (``area.postcode``, ``endpoint``…) belongs beside."""
        if api_field is None:
            return None
        if api_field == "area.radius_km":
            return "radius_km"
        if api_field == "area" or api_field.startswith("area."):
            return "place"
        if api_field in ("endpoint", "keys"):
            return "channel"
        return api_field if api_field in self.fields else None

    def add_subscription_error(self, exc: SubscriptionError) -> None:
        self.add_error(self.form_field(exc.field), exc.message)


class ConfirmForm(forms.Form):
    code = forms.CharField(
        label=_("The 6-digit code we sent you"),
        max_length=12,
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "pattern": "[0-9 ]*",
                "spellcheck": "false",
            }
        ),
    )
