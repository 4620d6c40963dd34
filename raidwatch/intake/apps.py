from __future__ import annotations

from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "raidwatch.intake"
    label = "intake"
