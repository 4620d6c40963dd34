"""Offline: the rights pages and the report form open from the phone's cache, and a
report made without a connection is sent, once, when the connection returns."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from raidwatch.intake.models import Report
from raidwatch.testing.browser import PhoneContextFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SAVED = "Your report is saved on this phone"
SENT = "Your saved report has been sent"

KEPT_URLS = """
  (async () => {
    const urls = [];
    for (const name of await caches.keys()) {
      const cache = await caches.open(name);
      for (const request of await cache.keys()) {
        const url = new URL(request.url);
        urls.push(url.pathname + url.search);
      }
    }
    return urls;
  })()
"""

QUEUED = """
  new Promise((resolve, reject) => {
    const opening = indexedDB.open("raidwatch", 1);
    opening.onerror = () => reject(opening.error);
    opening.onsuccess = () => {
      const read = opening.result.transaction("reports").objectStore("reports").getAll();
      read.onsuccess = () => { opening.result.close(); resolve(read.result); };
    };
  })
"""

REQUEUE = """
  (report) => new Promise((resolve, reject) => {
    const opening = indexedDB.open("raidwatch", 1);
    opening.onsuccess = () => {
      const tx = opening.result.transaction("reports", "readwrite");
      tx.objectStore("reports").put(report);
      tx.oncomplete = () => { opening.result.close(); resolve(true); };
      tx.onerror = () => reject(tx.error);
    };
  })
"""


def wait_until(page: Page, check: str, seconds: float = 10) -> None:
    """Wait for an async check in the page (wait_for_function does not await promises)."""
    met = page.evaluate(
        f"""async () => {{
          const deadline = Date.now() + {seconds * 1000};
          while (Date.now() < deadline) {{
            if (await ({check})) return true;
            await new Promise(resolve => setTimeout(resolve, 50));
          }}
          return false;
        }}"""
    )
    assert met, f"still not true after {seconds} s: {check}"


def install_for_offline(page: Page) -> None:
    """Open the report form online and wait until the worker controls it and has kept the pages."""
    page.goto("/en/report")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    wait_until(
        page,
        f"""{KEPT_URLS}.then(urls => urls.includes("/en/rights/.kept") && urls.includes("/en/rights/")
             && urls.includes("/en/subscribe")
             && urls.some(url => /^\\/en\\/rights\\/[a-z-]+\\?jurisdiction=uk$/.test(url)))""",
    )


def kept_urls(page: Page) -> list[str]:
    return list(page.evaluate(KEPT_URLS))


def report_raid_in_e1(page: Page) -> None:
    page.get_by_label("Raid", exact=True).tap()
    page.get_by_label("Where?").fill("E1")
    page.get_by_label("Anything else? (optional)").fill("Two vans outside the market")
    page.get_by_role("button", name="Send report").tap()


@pytest.fixture
def context(phone_context: PhoneContextFactory) -> BrowserContext:
    return phone_context()


def test_rights_pages_open_offline_and_an_offline_report_is_sent_once(
    live_server, context: BrowserContext
) -> None:
    page = context.new_page()
    page.goto("/en/rights/")
    install_for_offline(page)
    topic_url = next(url for url in kept_urls(page) if re.match(r"^/en/rights/[a-z-]+\?", url))

    context.set_offline(True)
    page.goto("/en/rights/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Know your rights")
    page.goto(topic_url)
    expect(page.get_by_text("This is information, not legal advice.")).to_be_visible()

    page.goto("/en/report")
    pressed = datetime.now(UTC)
    report_raid_in_e1(page)
    expect(page.locator("#report-status")).to_contain_text(SAVED)
    assert not Report.objects.exists()
    [queued] = page.evaluate(QUEUED)
    assert queued["state"] == "queued"

    context.set_offline(False)
    expect(page.locator("#report-status")).to_contain_text(SENT)
    report = Report.objects.get()
    assert str(report.client_id) == queued["client_id"]
    assert abs(report.observed_at - pressed) < timedelta(minutes=1)
    assert (report.kind, report.place_label) == ("raid", "E1")
    # Sent and settled: nothing of the report is left on the phone.
    wait_until(page, f"{QUEUED}.then(reports => reports.length === 0)")

    # The answer was lost on the way back, say: the same report goes again, on a
    # reload, and is still the one report.
    page.evaluate(REQUEUE, queued)
    page.reload()
    expect(page.locator("#report-status")).to_contain_text(SENT)
    wait_until(page, f"{QUEUED}.then(reports => reports.length === 0)")
    assert Report.objects.count() == 1
    assert Report.objects.get().observed_at == report.observed_at


def test_a_report_made_offline_from_a_kept_form_gets_its_own_id(live_server, context: BrowserContext) -> None:
    page = context.new_page()
    install_for_offline(page)
    context.set_offline(True)
    page.goto("/en/report")
    report_raid_in_e1(page)
    expect(page.locator("#report-status")).to_contain_text(SAVED)
    report_raid_in_e1(page)
    expect(page.locator("#report-status")).to_contain_text(SAVED)
    queued = page.evaluate(QUEUED)
    assert len({report["client_id"] for report in queued}) == 2

    context.set_offline(False)
    expect(page.locator("#report-status")).to_contain_text(SENT)
    wait_until(page, f"{QUEUED}.then(reports => reports.length === 0)")
    assert Report.objects.count() == 2


def test_an_invalid_saved_report_is_dropped_and_the_reporter_told_why(
    live_server, context: BrowserContext
) -> None:
    page = context.new_page()
    install_for_offline(page)
    context.set_offline(True)
    page.goto("/en/report")
    page.get_by_label("Raid", exact=True).tap()
    page.get_by_label("Where?").fill("ZZ9")  # no such place: only the server can tell
    page.get_by_role("button", name="Send report").tap()
    expect(page.locator("#report-status")).to_contain_text(SAVED)

    context.set_offline(False)
    status = page.locator("#report-status")
    expect(status).to_contain_text("could not be sent")
    expect(status).to_contain_text("ZZ9")
    wait_until(page, f"{QUEUED}.then(reports => reports.length === 0)")
    assert not Report.objects.exists()


def test_the_worker_sends_saved_reports_by_background_sync_with_no_report_page_open(
    live_server, context: BrowserContext
) -> None:
    page = context.new_page()
    install_for_offline(page)
    context.set_offline(True)
    page.goto("/en/report")
    report_raid_in_e1(page)
    expect(page.locator("#report-status")).to_contain_text(SAVED)
    # A rights page does not load the report script: only the worker can send now.
    page.goto("/en/rights/")
    context.set_offline(False)

    cdp = context.new_cdp_session(page)
    registrations: list[dict[str, str]] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"])
    )
    cdp.send("ServiceWorker.enable")
    # The registrations arrive as events, handled while the test waits on the page.
    for _ in range(100):
        if registrations:
            break
        page.evaluate("new Promise(resolve => setTimeout(resolve, 50))")
    [registration] = [found for found in registrations if not found.get("isDeleted")]
    cdp.send(
        "ServiceWorker.dispatchSyncEvent",
        {
            "origin": live_server.url,
            "registrationId": registration["registrationId"],
            "tag": "raidwatch-reports",
            "lastChance": False,
        },
    )
    wait_until(page, f"{QUEUED}.then(reports => reports.length === 1 && reports[0].state === 'sent')")
    assert Report.objects.count() == 1
    # What is left on the phone says only that it went, not what it said.
    assert set(page.evaluate(QUEUED)[0]) == {"client_id", "state"}

    page.goto("/en/report")
    expect(page.locator("#report-status")).to_contain_text(SENT)
    wait_until(page, f"{QUEUED}.then(reports => reports.length === 0)")


def test_the_worker_keeps_no_volunteer_api_or_token_pages(live_server, context: BrowserContext) -> None:
    page = context.new_page()
    install_for_offline(page)
    page.goto("/en/volunteer/")
    page.goto("/en/join/not-a-real-invitation")
    page.goto("/u/not-a-real-token")
    page.goto("/a/1")
    page.goto("/en/report")
    page.evaluate(
        """Promise.all(["/api/v1/incidents", "/api/v1/alerts", "/healthz"].map(url => fetch(url)))"""
    )
    # What the visits above would have kept is kept by now: the report page's own
    # visit came after them, and it is in the cache.
    wait_until(page, f"{KEPT_URLS}.then(urls => urls.includes('/en/report'))")

    kept = kept_urls(page)
    assert kept, "the worker kept nothing at all"
    refused = [
        url
        for url in kept
        if re.match(r"^/(?:[a-z-]+/)?(?:volunteer|join)(?:/|$)|^/(?:api|events|a|u)/", url)
    ]
    assert refused == []
    assert all(url.startswith(("/en/", "/static/", "/manifest.webmanifest")) for url in kept), kept


def test_the_form_still_posts_without_javascript(live_server, phone_page_nojs: Page) -> None:
    page = phone_page_nojs
    page.goto("/en/report")
    report_raid_in_e1(page)
    expect(page).to_have_url(re.compile(r"/en/report/thanks"))
    assert Report.objects.get().source == "web"
