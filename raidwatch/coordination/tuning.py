"""The effective value of each tunable: a coordinator's override, else the environment.

The environment (settings.py) sets each value at start-up; coordinators may
change some of them from the network pages, only within the bounds below. The
bounds are the safety limits: no choice in the page can keep precise locations
longer than a day, make the two-person rule meaningless, or let alerts flood.

These are read on hot paths (the outbox, the fan-out, every claim), so the
overrides are read from the database at most once per ``CACHE_SECONDS`` per
process; a change made here takes effect in this process at once and in
others within that time. The environment's value is read on every call (it is
an attribute lookup), so a changed setting applies at once.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise  # the stubs' name for a lazy string

logger = logging.getLogger(__name__)

CACHE_SECONDS = 30.0


@dataclass(frozen=True)
class Tunable:
    name: str  # the settings / environment name
    label: _StrPromise
    help: _StrPromise
    unit: _StrPromise
    minimum: int
    upper: int
    # A safety rule the environment sets: coordinators may only tighten it, so
    # one (perhaps hijacked) coordinator account cannot switch it off.
    stricter_only: bool = False

    @property
    def maximum(self) -> int:
        if self.stricter_only:
            return min(self.upper, environment_value(self.name))
        return self.upper


TUNABLES: dict[str, Tunable] = {
    tunable.name: tunable
    for tunable in (
        # R3: a day at most, the promise made to reporters; shorter is safer.
        Tunable(
            "RAIDWATCH_LOCATION_RETENTION_HOURS",
            _("Keep precise report locations for"),
            _("After this, the key that seals a precise location is destroyed and the point is gone."),
            _("hours"),
            1,
            24,
        ),
        # Long enough for a slow night shift to look, short enough that a stale
        # rumour leaves the desk within a day.
        Tunable(
            "RAIDWATCH_UNVERIFIED_EXPIRY_MINUTES",
            _("Unverified incidents expire after"),
            _("An unverified incident with no new report for this long leaves the desk as expired."),
            _("minutes"),
            10,
            24 * 60,
        ),
        # R11: responders' movements are redacted from the audit log after this.
        Tunable(
            "RAIDWATCH_MOVEMENT_RETENTION_DAYS",
            _("Keep responders' movements in the audit log for"),
            _("After this, 'on my way' and 'arrived' entries lose their details; the log still verifies."),
            _("days"),
            1,
            90,
        ),
        # Which alert went where (PRODUCT.md #7), for a while; never for ever.
        Tunable(
            "RAIDWATCH_DELIVERY_RETENTION_DAYS",
            _("Keep the record of sent alerts for"),
            _("Delivery rows (which alert went to which subscription) are deleted after this."),
            _("days"),
            1,
            90,
        ),
        # 0 makes every confirmation need two verifiers; the ceiling keeps a
        # second pair of eyes on any alert to a big audience.
        Tunable(
            "RAIDWATCH_TWO_PERSON_THRESHOLD",
            _("Two verifiers must confirm alerts reaching more than"),
            _("Alerts to more subscribers than this need a second verifier's confirmation."),
            _("subscribers"),
            0,
            100_000,
            stricter_only=True,
        ),
        # Alert fatigue and flood resistance (R12): at most this many new alerts
        # per subscriber per hour. At least 5: a busy morning has several real
        # raids in one area, and none of them may be held back.
        Tunable(
            "RAIDWATCH_ALERTS_PER_HOUR",
            _("New alerts per subscriber per hour, at most"),
            _("Beyond this, further new alerts to the same subscriber within the hour are held back."),
            _("alerts"),
            5,
            30,
        ),
        Tunable(
            "RAIDWATCH_CLAIM_MINUTES",
            _("A verifier's claim on an incident lasts"),
            _("After this, another verifier may take over an incident someone claimed."),
            _("minutes"),
            1,
            120,
        ),
    )
}

_lock = threading.Lock()
# (when read, monotonic; the overrides then)
_cache: tuple[float, dict[str, int]] | None = None


def invalidate() -> None:
    """Forget the cached overrides (after a change, and between tests)."""
    global _cache
    with _lock:
        _cache = None


def clamp(name: str, value: int) -> int:
    tunable = TUNABLES[name]
    return min(max(value, tunable.minimum), tunable.maximum)


def _overrides() -> dict[str, int]:
    global _cache
    cached = _cache
    now = time.monotonic()
    if cached is not None and now - cached[0] < CACHE_SECONDS:
        return cached[1]
    from django.db import transaction

    from raidwatch.coordination.models import TunableOverride

    query = TunableOverride.objects.filter(name__in=TUNABLES).values_list("name", "value")
    try:
        if transaction.get_connection().in_atomic_block:
            # A savepoint: callers read tunables inside their own transactions,
            # and on PostgreSQL a failed query would abort those.
            with transaction.atomic():
                rows = dict(query)
        else:
            # No transaction of our own: on SQLite (IMMEDIATE) it would take
            # the write lock just to read.
            rows = dict(query)
    except Exception as exc:
        # The jobs that read these (key destruction, expiry, purges) must not
        # stop because the override table cannot be read (a database outage, a
        # process started before `migrate`, a caller without database access).
        # The last values read stay in force; with none, the environment's.
        logger.warning("tunable overrides unreadable (%s); using the last known values", type(exc).__name__)
        return cached[1] if cached is not None else {}
    with _lock:
        _cache = (now, rows)
    return rows


def environment_value(name: str) -> int:
    return int(getattr(settings, name))


def override_value(name: str) -> int | None:
    value = _overrides().get(name)
    return None if value is None else clamp(name, value)


def effective(name: str) -> int:
    """A coordinator's override (within the bounds), else the environment's setting."""
    if name not in TUNABLES:
        raise KeyError(name)
    value = override_value(name)
    return environment_value(name) if value is None else value


def location_retention_hours() -> int:
    return effective("RAIDWATCH_LOCATION_RETENTION_HOURS")


def unverified_expiry_minutes() -> int:
    return effective("RAIDWATCH_UNVERIFIED_EXPIRY_MINUTES")


def movement_retention_days() -> int:
    return effective("RAIDWATCH_MOVEMENT_RETENTION_DAYS")


def delivery_retention_days() -> int:
    return effective("RAIDWATCH_DELIVERY_RETENTION_DAYS")


def two_person_threshold() -> int:
    return effective("RAIDWATCH_TWO_PERSON_THRESHOLD")


def alerts_per_hour() -> int:
    return effective("RAIDWATCH_ALERTS_PER_HOUR")


def claim_minutes() -> int:
    return effective("RAIDWATCH_CLAIM_MINUTES")
