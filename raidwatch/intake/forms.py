"""The /report web form: the same checks as the API, shown beside each field."""

from __future__ import annotations

import uuid
from collections.abc import Callable
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
        """Check every piece on its own, so a witness sees all problems at once."""
        data = super().clean() or {}
        self.valid_report: validation.ValidReport | None = None
        minutes = int(data.get("when") or 0)
        checks: dict[str, Callable[[], object]] = {
            "kind": lambda: validation.clean_kind(data.get("kind")),
            "location": lambda: validation.clean_location(
                data.get("lat"), data.get("lon"), data.get("place")
            ),
            "observed_at": lambda: validation.clean_observed_at(timezone.now() - timedelta(minutes=minutes)),
            "description": lambda: validation.clean_description(data.get("description")),
        }
        cleaned: dict[str, Any] = {}
        for name, check in checks.items():
            if name in self.errors:
                continue  # the field's own check already said what is wrong
            try:
                cleaned[name] = check()
            except validation.ReportInvalid as exc:
                # Coordinates come from the location button; their problems belong to "where".
                field = "place" if exc.field in ("lat", "lon") else exc.field
                self.add_error(field if field in self.fields else None, exc.message)
        if not self.errors:
            self.valid_report = validation.ValidReport(
                kind=cleaned["kind"],
                location=cleaned["location"],
                observed_at=cleaned["observed_at"],
                description=cleaned["description"],
                language=get_language() or "en",
                client_id=data.get("client_id"),
            )
        return data
