from __future__ import annotations

from django.apps import AppConfig


class CoordinationConfig(AppConfig):
    """Coordinator tools: named areas, message templates, channels, retention,
    drills and exports. Running the network, as opposed to working incidents."""

    name = "raidwatch.coordination"
