"""Double opt-in over real SMTP: the code arrives by mail, and only then alerts flow."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from raidwatch.subscriptions.models import Subscription
from raidwatch.testing.queue import run_queued_tasks

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.dbsensitive]


def test_the_code_arrives_by_email_and_confirms_the_subscription(client: Client, fake_smtp) -> None:
    response = client.post(
        "/api/v1/subscriptions",
        data=json.dumps({"channel": "email", "area": {"postcode": "E1"}, "address": "Me@Example.ORG"}),
        content_type="application/json",
    )
    subscription_id = response.json()["id"]
    assert Subscription.objects.get(pk=subscription_id).status == "pending_confirmation"
    run_queued_tasks()
    [mail] = fake_smtp.received
    assert mail.rcpt_tos == ("Me@example.org",)
    code = re.search(r"\b(\d{6})\b", mail.message.get_content()).group(1)  # type: ignore[union-attr]
    confirmed = client.post(
        f"/api/v1/subscriptions/{subscription_id}/confirm",
        data=json.dumps({"code": code}),
        content_type="application/json",
    )
    assert confirmed.json()["status"] == "active"
