"""R15: hostile text renders inert everywhere it is shown.

XSS payloads and U+202E RIGHT-TO-LEFT OVERRIDE go in through every input that
takes words (a report's description, the verifier's place text, a false
alarm's reason, observation markings, named-area names, usernames, message
templates) and are looked for in every output: the desk, the network pages,
the public alert page, the public API, and the email, SMS and push messages
as the fake providers receive them. Inert means: HTML-escaped in HTML, and no
U+202E anywhere (it is taken out where the text comes in).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.test import Client

from raidwatch.accounts import actions as account_actions
from raidwatch.alerts import actions as alert_actions
from raidwatch.alerts import outbox
from raidwatch.alerts.models import Alert, Scope
from raidwatch.coordination.tests.conftest import fresh_client
from raidwatch.incidents.models import Incident, Status
from raidwatch.subscriptions import actions as subscription_actions
from raidwatch.subscriptions.areas import resolve_area
from raidwatch.subscriptions.models import Subscription, SubscriptionStatus
from raidwatch.testing.volunteers import signed_in_client

pytestmark = [pytest.mark.django_db, pytest.mark.dbsensitive]

RLO = "\u202e"
SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '"><img src=x onerror=alert(1)>'
JS_URL = "javascript:alert(1)"
# Under 100 characters, so it fits the place and markings fields whole.
PAYLOAD = f"{ATTRIBUTE} {SCRIPT} {JS_URL} {RLO}gpj.exe"
RAW = (SCRIPT, "<img src=x", 'href="javascript:', 'src="javascript:', RLO)


def assert_inert_html(where: str, html: str, expect_shown: bool = True) -> None:
    for raw in RAW:
        assert raw not in html, f"{raw!r} reached {where} unescaped"
    if expect_shown:
        # The words are shown, escaped (so the test cannot pass by showing nothing).
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, f"the payload is not shown on {where}"


def assert_no_override(where: str, text: str) -> None:
    assert RLO not in text, f"U+202E reached {where}"
    assert "\\u202e" not in text.lower(), f"U+202E reached {where}, JSON-escaped"


def subscribe(channel: str, contact: dict[str, object]) -> None:
    subscribed = subscription_actions.subscribe(
        channel=channel,
        area=resolve_area({"postcode": "E1"}),
        language="en",
        level="verified",
        contact=contact,
    )
    # Confirmed as if the subscriber had typed the code.
    Subscription.objects.filter(pk=subscribed.subscription.pk).update(status=SubscriptionStatus.ACTIVE)


def test_hostile_words_render_inert_on_every_page_and_in_every_message(
    verifier: Any, coordinator: Any, fake_smtp: Any, fake_sms: Any, fake_push: Any
) -> None:
    reporter = Client()
    made = reporter.post(
        "/api/v1/reports",
        {"kind": "raid", "place": "E1", "description": PAYLOAD},
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    debunked = reporter.post(
        "/api/v1/reports",
        {"kind": "checkpoint", "place": "10001", "description": PAYLOAD},
        content_type="application/json",
    )
    assert debunked.status_code == 201
    form = reporter.post(
        "/en/report",
        {
            "kind": "arrest",
            "place": "E1",
            "when": "10",
            "description": PAYLOAD,
            "client_id": str(uuid.uuid4()),
        },
    )
    assert form.status_code == 302, form.content.decode()[-1500:]

    subscribe("email", {"address": "inert@example.org"})
    subscribe("sms", {"address": "+447700900123"})
    subscribe("webpush", fake_push.new_subscription())

    desk = signed_in_client(verifier)
    incident_id = made.json()["incident"]["id"]
    debunked_id = debunked.json()["incident"]["id"]
    desk.post(f"/en/volunteer/desk/{incident_id}/claim")
    desk.post(f"/en/volunteer/desk/{incident_id}/observe", {"officers": "3", "markings": PAYLOAD})
    desk.post(f"/en/volunteer/desk/{incident_id}/confirm", {"place": PAYLOAD})
    desk.post(f"/en/volunteer/desk/{debunked_id}/claim")
    desk.post(f"/en/volunteer/desk/{debunked_id}/false_alarm", {"reason": PAYLOAD})
    assert Incident.objects.get(pk=incident_id).status == Status.CONFIRMED
    assert Incident.objects.get(pk=debunked_id).status == Status.FALSE_ALARM

    # Where words come in that must never hold an override, it is refused.
    network = fresh_client(coordinator)
    named = network.post(
        "/en/volunteer/network/areas/", {"name": f"East {RLO}End", "source": "postcode", "places": "E1"}
    )
    assert named.status_code != 302
    named = network.post(
        "/en/volunteer/network/areas/", {"name": f"East {ATTRIBUTE}", "source": "postcode", "places": "E2"}
    )
    assert named.status_code == 302
    template = network.post(
        "/en/volunteer/network/templates/confirmed/en",
        {"text": f"CONFIRMED {RLO} %(kind)s near %(place)s at %(time)s.", "step": "save"},
    )
    assert template.status_code != 302
    with pytest.raises(account_actions.InvitationError):
        account_actions.clean_username(f"ana{RLO}")
    with pytest.raises(account_actions.InvitationError):
        account_actions.clean_username(SCRIPT)

    # The pages: the desk, the network tools, the public alert page.
    assert_inert_html("the desk queue", desk.get("/en/volunteer/desk/").content.decode(), expect_shown=False)
    assert_inert_html(
        "the desk incident page", desk.get(f"/en/volunteer/desk/{incident_id}").content.decode()
    )
    assert_inert_html("the debunked incident", desk.get(f"/en/volunteer/desk/{debunked_id}").content.decode())
    areas = network.get("/en/volunteer/network/areas/").content.decode()
    assert_inert_html("the named areas page", areas, expect_shown=False)
    assert "East &quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in areas
    duty = desk.get("/en/volunteer/duty/").content.decode()
    assert_inert_html("the duty page", duty, expect_shown=False)
    public = Client()
    public_alerts = list(Alert.objects.filter(scope=Scope.PUBLIC))
    assert public_alerts, "the confirmation is a public alert"
    for alert in public_alerts:
        page = public.get(f"/a/{alert.pk}")
        assert page.status_code == 200
        assert_inert_html(f"the public alert page /a/{alert.pk}", page.content.decode())
    assert_inert_html("the home page", public.get("/en/").content.decode(), expect_shown=False)

    # The public API: JSON, sent as JSON, with no override in it.
    for url in ("/api/v1/incidents", f"/api/v1/incidents/{incident_id}", f"/api/v1/incidents/{debunked_id}"):
        response = public.get(url)
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/json")
        assert response["X-Content-Type-Options"] == "nosniff"
        assert_no_override(url, response.content.decode())
    assert public.get(f"/api/v1/incidents/{incident_id}").json()["place"].startswith(ATTRIBUTE)

    # The messages, as the providers received them.
    for alert in Alert.objects.filter(fanned_out_at__isnull=True).order_by("pk"):
        alert_actions.fan_out(alert.pk)
    outbox.send_due()
    assert fake_smtp.received, "the email should have been sent"
    for mail in fake_smtp.received:
        body = mail.message.get_content()
        assert ATTRIBUTE in body  # plain text, shown as typed
        assert mail.message.get_content_type() == "text/plain"
        assert_no_override("an email", mail.raw.decode("utf-8", "replace") + body)
    assert fake_sms.messages, "the SMS should have been sent"
    for sms in fake_sms.messages:
        assert_no_override("an SMS", sms.body)
    pushed = fake_push.wait_for(1)
    for message in pushed:
        assert_no_override("a push message", json.dumps(message.json(), ensure_ascii=False))


# The checks must be able to fail.


def test_the_html_check_finds_an_unescaped_payload() -> None:
    with pytest.raises(AssertionError, match="unescaped"):
        assert_inert_html("a page", f"<p>{SCRIPT}</p>")
    with pytest.raises(AssertionError, match="not shown"):
        assert_inert_html("a page", "<p>nothing</p>")


def test_the_override_check_finds_it_raw_and_json_escaped() -> None:
    with pytest.raises(AssertionError, match="U\\+202E"):
        assert_no_override("a message", f"near {RLO}market")
    with pytest.raises(AssertionError, match="JSON-escaped"):
        assert_no_override("the API", json.dumps({"place": RLO}))
