"""Subscribing from a phone: push in this browser with JavaScript, email without it."""

from __future__ import annotations

import base64
import json
import re
import secrets
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from playwright.sync_api import Page, expect

from raidwatch.channels.webpush import vapid
from raidwatch.lib import crypto
from raidwatch.subscriptions.models import Subscription, SubscriptionStatus
from raidwatch.testing.browser import PhoneContextFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PUSH_CHOICE = "This browser (push notifications)"

# No real push service is reachable from here, so the browser's PushManager is
# replaced before any page script runs: it hands back a subscription with an
# endpoint on the live server itself (never contacted while subscribing) and
# real-looking keys, and notes what it was asked for. The service worker is
# registered for real, from /sw.js.
FAKE_PUSH = """
(() => {
  const endpoint = `${location.origin}/fake-push/abc`;
  const keys = %(keys)s;
  const fake = {
    endpoint,
    options: { applicationServerKey: null, userVisibleOnly: true },
    toJSON() { return { endpoint, expirationTime: null, keys }; },
    unsubscribe() { return Promise.resolve(true); },
  };
  if (!window.PushManager) return;
  PushManager.prototype.getSubscription = () => Promise.resolve(null);
  PushManager.prototype.subscribe = function (options) {
    const key = new Uint8Array(options.applicationServerKey);
    localStorage.setItem("fake-push-asked", JSON.stringify({
      userVisibleOnly: options.userVisibleOnly,
      applicationServerKey: btoa(String.fromCharCode(...key)),
    }));
    return Promise.resolve(fake);
  };
  if (window.Notification) Notification.requestPermission = () => Promise.resolve("granted");
})();
"""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture
def push_keys() -> dict[str, str]:
    browser_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    point = browser_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return {"p256dh": b64url(point), "auth": b64url(secrets.token_bytes(16))}


@pytest.fixture
def push_page(phone_context: PhoneContextFactory, push_keys: dict[str, str], settings: Any) -> Page:
    # The fake endpoint is http on loopback, which only a test or demo may accept.
    settings.RAIDWATCH_ALLOW_PRIVATE_ENDPOINTS = True
    page = phone_context().new_page()
    page.add_init_script(FAKE_PUSH % {"keys": json.dumps(push_keys)})
    return page


def test_push_in_this_browser_lands_on_the_manage_page(
    live_server, push_page: Page, push_keys: dict[str, str]
) -> None:
    page = push_page
    page.goto(f"{live_server.url}/en/subscribe")
    page.get_by_label(PUSH_CHOICE).tap()
    # Push needs no typed address.
    expect(page.get_by_label("Your address on that channel")).to_be_hidden()
    page.get_by_label("Which area?").fill("E1")
    page.get_by_role("button", name="Start alerts").tap()

    expect(page).to_have_url(re.compile(r"/en/subscriptions/manage/[^/]+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your alerts")
    expect(page.locator(".summary")).to_contain_text("E1")
    subscription = Subscription.objects.get()
    assert (subscription.channel, subscription.status) == ("webpush", SubscriptionStatus.ACTIVE)
    assert subscription.area_label == "E1"
    contact = crypto.open_contact(bytes(subscription.contact_sealed))
    assert contact == {"endpoint": f"{live_server.url}/fake-push/abc", "keys": push_keys}
    asked = json.loads(page.evaluate("localStorage.getItem('fake-push-asked')"))
    assert asked["userVisibleOnly"] is True
    server_key = base64.b64encode(base64.urlsafe_b64decode(vapid.public_key_b64url() + "==")).decode()
    assert asked["applicationServerKey"] == server_key
    # The worker that shows the alerts is in charge of the whole site.
    scope = page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
    assert scope == f"{live_server.url}/"


def test_push_errors_from_the_api_are_shown_beside_the_field(live_server, push_page: Page) -> None:
    page = push_page
    page.goto(f"{live_server.url}/en/subscribe")
    page.get_by_label(PUSH_CHOICE).tap()
    page.get_by_label("Which area?").fill("ZZ9")
    page.get_by_role("button", name="Start alerts").tap()

    place_field = page.locator('[data-field="place"]')
    expect(place_field.locator("#place-error")).to_contain_text("ZZ9")
    expect(place_field).to_have_class(re.compile(r"has-error"))
    expect(page).to_have_url(f"{live_server.url}/en/subscribe")
    assert not Subscription.objects.exists()


def test_email_subscription_without_javascript_asks_for_the_code(live_server, phone_page_nojs: Page) -> None:
    page = phone_page_nojs
    page.goto(f"{live_server.url}/en/subscribe")
    expect(page.get_by_label(PUSH_CHOICE)).to_be_hidden()
    expect(page.get_by_role("button", name="Use my location")).to_be_hidden()
    page.get_by_label("Email", exact=True).tap()
    page.get_by_label("Your address on that channel").fill("someone@example.org")
    page.get_by_label("Which area?").fill("E1")
    page.get_by_role("button", name="Start alerts").tap()

    expect(page).to_have_url(re.compile(r"/en/subscribe/confirm/[^/]+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your code")
    subscription = Subscription.objects.get()
    assert (subscription.channel, subscription.status) == ("email", SubscriptionStatus.PENDING)
