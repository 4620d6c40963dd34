"""Background tasks of the alerts app."""

from __future__ import annotations

from django.tasks import task

from raidwatch.alerts import actions, outbox


@task
def fan_out_task(alert_id: int) -> int:
    created = actions.fan_out(alert_id)
    outbox.send_due()
    return created


@task
def send_deliveries_task() -> dict[str, int]:
    # A worker killed in the middle of a fan-out leaves its alert without
    # fanned_out_at; the fan-out is idempotent, so finishing it here loses nothing.
    for alert_id in actions.unfinished_fan_outs():
        actions.fan_out(alert_id)
    return outbox.send_due()


@task
def purge_deliveries_task() -> int:
    return outbox.purge_old_deliveries()


@task
def send_confirmation_code(subscription_id: str, code: str, language: str) -> bool:
    """Send the double opt-in code to a new address (SMS, email, messaging)."""
    from django.utils import translation
    from django.utils.translation import gettext

    from raidwatch.channels.base import OutboundMessage, TransportError
    from raidwatch.channels.registry import transport
    from raidwatch.lib import crypto
    from raidwatch.subscriptions.models import Subscription, SubscriptionStatus

    subscription = Subscription.objects.filter(pk=subscription_id, status=SubscriptionStatus.PENDING).first()
    if subscription is None:
        return False
    with translation.override(language):
        text = gettext("Your raidwatch code is %(code)s. If you did not ask for alerts, ignore this.") % {
            "code": code
        }
        title = gettext("Confirm your alerts")
    message = OutboundMessage(
        text=text, title=title, url="", unsubscribe_url="", topic="confirm", urgency="normal"
    )
    try:
        transport(subscription.channel).send(crypto.open_contact(bytes(subscription.contact_sealed)), message)
    except TransportError:
        return False
    return True
