"""The /report web form: the same checks as the API, shown beside each field."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from raidwatch.incidents.models import Kind
from raidwatch.intake import validation

WHEN_CHOICES = [
    ("0", _("Just now")),
    ("10", _("About 10 minutes ago")),
    ("30", _("About 30 minutes ago")),
    ("60", _("About an hour ago")),
    ("180", _("Earlier today")),
]


class ReportForm(forms.Form):
    kind = forms.ChoiceField(label=_("What did you see?"), choices=Kind.choices, widget=forms.RadioSelect)
    place = forms.CharField(
        label=_("Where?"),
        help_text=_("A postcode district (E1), a ZIP code (10001) or a town and state (Marfa, TX)."),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text", "enterkeyhint": "next"}),
    )
    # Filled in only by the "use my location" button; never shown to anyone.
    lat = forms.CharField(required=False, widget=forms.HiddenInput)
    lon = forms.CharField(required=False, widget=forms.HiddenInput)
    when = forms.ChoiceField(label=_("When?"), choices=WHEN_CHOICES, initial="0")
    description = forms.CharField(
        label=_("Anything else? (optional)"),
        help_text=_("Say what you saw, not who. Do not name or describe anyone."),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": validation.MAX_DESCRIPTION}),
    )
    # A fresh id per form view makes a double tap or a resend one report, not two.
    client_id = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        self.valid_report: validation.ValidReport | None = None
        if self.errors:
            return data
        minutes = int(data.get("when") or 0)
        observed_at = timezone.now() - timedelta(minutes=minutes)
        try:
            self.valid_report = validation.clean_report(
                {
                    "kind": data.get("kind"),
                    "lat": data.get("lat"),
                    "lon": data.get("lon"),
                    "place": data.get("place"),
                    "observed_at": observed_at,
                    "description": data.get("description"),
                    "client_id": data.get("client_id"),
                },
                default_language=get_language() or "en",
            )
        except validation.ReportInvalid as exc:
            # Coordinates come from the location button; their problems belong to "where".
            field = "place" if exc.field in ("lat", "lon") else exc.field
            self.add_error(field if field in self.fields else None, exc.message)
        return data
