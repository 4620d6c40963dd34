"""The versioned JSON API: /api/v1/…"""

from __future__ import annotations

from raidwatch.incidents.api import router as incidents_router
from raidwatch.intake.api import router as intake_router
from raidwatch.lib.api import build_api
from raidwatch.media.api import router as media_router
from raidwatch.subscriptions.api import router as subscriptions_router

api = build_api()
api.add_router("", intake_router)
api.add_router("", incidents_router)
api.add_router("", subscriptions_router)
api.add_router("", media_router)
