"""Which subscriptions an alert's cells meet.

The (cell, subscription) table is the source of truth. Subscription cells are
compacted and never finer than resolution 8 while alert cells are resolution 8,
so a subscription meets an alert exactly when one of its cells is an alert cell
or an ancestor of one: one indexed IN query over at most 9 keys per alert cell.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q

from raidwatch.subscriptions.areas import match_keys
from raidwatch.subscriptions.models import SubscriptionCell, SubscriptionStatus


def match_subscriptions(
    alert_cells: Iterable[str], levels: list[str], *, volunteers_only: bool = False
) -> set[str]:
    """Active subscriptions at ``levels`` whose cells meet ``alert_cells``;
    ``volunteers_only`` keeps volunteers' paging subscriptions alone (drills)."""
    keys = match_keys(list(alert_cells))
    rows = (
        SubscriptionCell.objects.filter(
            cell__in=keys,
            subscription__status=SubscriptionStatus.ACTIVE,
            subscription__level__in=levels,
        )
        # Volunteers' paging subscriptions count only while they are on duty
        # and still volunteers (offboarding also deletes them; this is the backstop).
        .filter(
            Q(subscription__volunteer__isnull=True)
            | Q(subscription__volunteer__on_duty=True, subscription__volunteer__is_active=True)
        )
    )
    if volunteers_only:
        rows = rows.filter(subscription__volunteer__isnull=False)
    return {str(pk) for pk in rows.values_list("subscription_id", flat=True).distinct()}
