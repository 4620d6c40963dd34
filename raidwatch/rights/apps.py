from __future__ import annotations

from django.apps import AppConfig


class RightsConfig(AppConfig):
    """Know-your-rights pages, /<lang>/rights/, and the printable rights card."""

    name = "raidwatch.rights"
