"""What axe cannot judge, checked by behaviour: a report sent with the keyboard
alone, a visible focus ring on every stop, 44 px tap targets, no sideways
scrolling at 320 px (400 % zoom of a 1280 px window), and a mirrored layout in
Arabic."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import FloatRect, Page, ViewportSize, expect

from raidwatch.intake.models import Report
from raidwatch.testing.browser import PhoneContextFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The project's tap-target size: WCAG 2.5.5's 44 CSS px, stricter than 2.5.8's 24.
TAP_TARGET_PX = 44
# WCAG 1.4.10 Reflow: content at 320 CSS px wide, the width of 1280 px at 400 % zoom.
NARROW_VIEWPORT: ViewportSize = {"width": 320, "height": 640}
# What a person can Tab to or tap.
INTERACTIVE = "a[href], button, input:not([type=hidden]), select, textarea, summary"


def active(page: Page) -> dict[str, Any]:
    """Which element has focus: tag, type, name, value, id and accessible-ish text."""
    description: dict[str, Any] = page.evaluate(
        """() => {
            const el = document.activeElement;
            return {tag: el.tagName.toLowerCase(), type: el.type || '', name: el.name || '',
                    value: el.value ?? '', id: el.id, text: el.textContent.trim(), checked: !!el.checked};
        }"""
    )
    return description


def press_until(page: Page, key: str, selector: str, *, limit: int = 25) -> None:
    """Press ``key`` until the focused element matches ``selector``."""
    for _ in range(limit):
        page.keyboard.press(key)
        if page.evaluate("selector => document.activeElement.matches(selector)", selector):
            return
    pytest.fail(f"{limit} presses of {key} never reached {selector}; stopped on {active(page)}")


def test_a_report_can_be_made_with_the_keyboard_alone(live_server, phone_page: Page) -> None:
    page = phone_page
    page.goto("/en/report")

    # The first Tab stop skips the header and the language menu.
    page.keyboard.press("Tab")
    assert active(page)["text"] == "Skip to main content"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert active(page) | {"checked": None} == {
        "tag": "input",
        "type": "radio",
        "name": "kind",
        "value": "van_sighting",
        "id": "id_kind_0",
        "text": "",
        "checked": None,
    }
    # In a radio group the arrow keys move and choose; Space chooses the focused one.
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Space")
    expect(page.locator("#id_kind_0")).to_be_checked()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_label("Raid", exact=True)).to_be_checked()

    page.keyboard.press("Tab")
    assert active(page)["name"] == "place"
    page.keyboard.type("E1")
    press_until(page, "Tab", "select[name=when]")
    page.keyboard.press("ArrowDown")
    expect(page.get_by_label("When?")).to_have_value("10")
    page.keyboard.press("Tab")
    assert active(page)["name"] == "description"
    page.keyboard.type("Two vans by the market")
    # Back and forth: Shift+Tab returns to the previous field with nothing lost.
    page.keyboard.press("Shift+Tab")
    assert active(page)["name"] == "when"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert active(page) | {"id": None} == {
        "tag": "button",
        "type": "submit",
        "name": "",
        "value": "",
        "id": None,
        "text": "Send report",
        "checked": False,
    }
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/en/report/thanks"))
    report = Report.objects.get()
    assert (report.kind, report.place_label) == ("raid", "E1")


# The look of a focus indicator: outline, ring (box-shadow), border and fill.
FOCUS_LOOK_JS = """el => {
    const style = getComputedStyle(el);
    return {outline: style.outlineStyle === 'none' ? 'none'
                     : [style.outlineStyle, style.outlineWidth, style.outlineColor].join(' '),
            outlineWidth: parseFloat(style.outlineWidth) || 0,
            outlineColor: style.outlineColor,
            boxShadow: style.boxShadow, border: style.borderColor, background: style.backgroundColor};
}"""


def relative_luminance(css_colour: str) -> float:
    red, green, blue = (int(part) / 255 for part in re.findall(r"\d+", css_colour)[:3])

    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.03928 else ((channel + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)


def contrast(first: str, second: str) -> float:
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_every_focus_stop_on_the_report_form_shows_a_visible_ring(live_server, phone_page: Page) -> None:
    page = phone_page
    page.goto("/en/report")
    # Every element a keyboard user can reach, and how each looks unfocused.
    page.evaluate(
        """([selector, look]) => {
            const lookOf = eval(look);
            window.__unfocused = new Map();
            for (const el of document.querySelectorAll(selector)) {
                const box = el.getBoundingClientRect();
                const shown = el.classList.contains('skip-link') || (box.width > 1 && box.height > 1);
                if (shown && !el.closest('details:not([open]) > :not(summary)') && el.tabIndex >= 0) {
                    window.__unfocused.set(el, lookOf(el));
                }
            }
        }""",
        [INTERACTIVE, FOCUS_LOOK_JS],
    )
    reachable = page.evaluate("() => window.__unfocused.size")
    page_background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")

    seen: dict[str, dict[str, Any]] = {}

    def record() -> str:
        stop = page.evaluate(
            """look => {
                const el = document.activeElement;
                const box = el.getBoundingClientRect();
                const key = el.id || (el.name && el.name + '=' + el.value) || el.textContent.trim();
                return {key: key || el.tagName,
                        known: window.__unfocused.has(el),
                        before: window.__unfocused.get(el), after: eval(look)(el),
                        visible: box.width > 1 && box.height > 1};
            }""",
            FOCUS_LOOK_JS,
        )
        seen[stop["key"]] = stop
        return str(stop["key"])

    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement === document.body"):
            break
        key = record()
        # A radio group is one Tab stop; the arrow keys reach the others.
        if key.startswith("id_kind_"):
            for _ in range(page.locator("input[name=kind]").count() - 1):
                page.keyboard.press("ArrowDown")
                record()
    assert len(seen) == reachable, f"Tab reached {sorted(seen)}, {reachable} are focusable"

    for key, stop in seen.items():
        assert stop["known"], f"{key} takes focus but was not counted as reachable"
        assert stop["visible"], f"{key} is invisible while it has focus"
        assert stop["after"] != stop["before"], f"{key} looks the same focused and unfocused"
        assert stop["after"]["outlineWidth"] >= 2, f"{key}: focus outline thinner than 2 px: {stop['after']}"
        # WCAG 1.4.11: the ring stands out 3:1 from the page around it.
        ring = contrast(stop["after"]["outlineColor"], page_background)
        assert ring >= 3, f"{key}: focus ring contrast {ring:.2f}:1 against the page"


# Sizes of every visible control; for a radio or checkbox, the label that wraps it
# (tapping the label chooses it). A link inside a sentence is exempt (WCAG 2.5.8).
TARGETS_JS = """selector => {
    const found = [];
    for (const el of document.querySelectorAll(selector)) {
        const style = getComputedStyle(el);
        const own = el.getBoundingClientRect();
        if (own.width <= 1 || own.height <= 1 || style.visibility === 'hidden') continue;
        const target = (el.type === 'radio' || el.type === 'checkbox') && el.closest('label') || el;
        const box = target.getBoundingClientRect();
        let inSentence = false;
        if (el.tagName === 'A' && style.display === 'inline') {
            const block = el.closest('p, li, dd, td');
            const rest = block ? block.textContent.replace(el.textContent, '') : '';
            inSentence = /\\p{L}{2,}/u.test(rest);
        }
        const name = el.id || el.name || el.textContent.trim().slice(0, 40);
        const what = el.tagName.toLowerCase() + ' ' + name;
        found.push({what, width: box.width, height: box.height, inSentence});
    }
    return found;
}"""


@pytest.mark.parametrize(
    "url",
    [
        "/en/report",
        "/en/rights/?jurisdiction=uk",
        "/ar/rights/?jurisdiction=us",
        "/en/volunteer/account/login/",
        "/en/no-such-page",
    ],
)
def test_every_control_is_a_44px_tap_target(live_server, phone_page: Page, url: str) -> None:
    page = phone_page
    page.goto(url)
    # The language menu's links count too: open it.
    page.locator(".language-switcher summary").click()
    targets = page.evaluate(TARGETS_JS, INTERACTIVE)
    assert len(targets) > 10
    small = [
        f"{target['what']}: {target['width']:.0f}×{target['height']:.0f}"
        for target in targets
        if not target["inSentence"] and min(target["width"], target["height"]) < TAP_TARGET_PX - 0.5
    ]
    assert not small, f"smaller than {TAP_TARGET_PX}×{TAP_TARGET_PX} px on {url}: {small}"


# Elements that reach past either side of the viewport, or whose content is cut off
# by their own box. Visually hidden text (1 px, clipped on purpose) does not count.
CLIPPED_JS = """() => {
    const width = window.innerWidth;
    const found = [];
    for (const el of document.body.querySelectorAll('*')) {
        const box = el.getBoundingClientRect();
        const style = getComputedStyle(el);
        if (box.width <= 1 || box.height <= 1 || style.visibility === 'hidden') continue;
        const what = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
                     + (el.className ? '.' + el.className : '');
        if (box.left < -0.5 || box.right > width + 0.5) {
            found.push(`${what} spans ${Math.round(box.left)}–${Math.round(box.right)} px`);
        }
        const cuts = [style.overflowX, style.overflowY].some(value => value === 'hidden' || value === 'clip');
        if (cuts && !el.matches('input, select, textarea') &&
            (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1)) {
            found.push(`${what} cuts off its content`);
        }
    }
    return found;
}"""


@pytest.mark.parametrize(
    "url",
    [
        "/en/report",
        "/en/rights/?jurisdiction=uk",
        "/en/rights/home?jurisdiction=us",
        "/ar/report",
        "/ar/rights/?jurisdiction=uk",
        "/ar/rights/street?jurisdiction=uk",
    ],
)
def test_nothing_scrolls_sideways_or_is_cut_off_at_320px(
    live_server, phone_context: PhoneContextFactory, url: str
) -> None:
    page = phone_context().new_page()
    page.set_viewport_size(NARROW_VIEWPORT)
    response = page.goto(url)
    assert response is not None
    assert response.status == 200
    for menu in ("closed", "open"):
        scroll_width, inner_width = page.evaluate(
            "() => [document.documentElement.scrollWidth, window.innerWidth]"
        )
        assert scroll_width <= inner_width, (
            f"{url} ({menu} menu) scrolls sideways: {scroll_width} > {inner_width}"
        )
        assert page.evaluate(CLIPPED_JS) == [], f"{url} ({menu} menu)"
        page.locator(".language-switcher summary").click()


def test_arabic_rights_page_is_laid_out_right_to_left(
    live_server, phone_page: Page, pytestconfig: pytest.Config
) -> None:
    page = phone_page
    page.goto("/ar/rights/?jurisdiction=uk")
    artefacts = Path(pytestconfig.rootpath) / "test-results"
    artefacts.mkdir(exist_ok=True)
    page.screenshot(path=artefacts / "rights-index-ar-rtl.png", full_page=True)

    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("html")).to_have_attribute("lang", "ar")
    width = page.viewport_size["width"] if page.viewport_size else 0

    def box(selector: str) -> FloatRect:
        found = page.locator(selector).first.bounding_box()
        assert found is not None, selector
        return found

    # The brand starts the header at the inline start, which in Arabic is the right;
    # the language menu sits at the other end.
    brand, switcher = box(".brand"), box(".language-switcher summary")
    assert width - (brand["x"] + brand["width"]) <= 24
    assert switcher["x"] <= 24
    # "Rights in:" comes first, so on the right of the country links.
    label, first_link = box(".jurisdiction-switch span"), box(".jurisdiction-switch a")
    assert label["x"] > first_link["x"]
    # The side rules and indents are on the right.
    sides = page.locator(".not-advice").evaluate(
        "el => { const s = getComputedStyle(el);"
        " return [s.borderRightWidth, s.borderLeftWidth, s.paddingRight, s.paddingLeft, s.textAlign]; }"
    )
    assert sides[:2] == ["4px", "0px"]
    assert float(sides[2].removesuffix("px")) > float(sides[3].removesuffix("px"))
    # Text starts at the right: the lead's first line ends flush with the content's right edge.
    first_line_right, content_right = page.locator("main .lead").evaluate(
        """el => {
            const range = document.createRange();
            range.selectNodeContents(el);
            const main = el.closest('main');
            const style = getComputedStyle(main);
            return [range.getClientRects()[0].right,
                    main.getBoundingClientRect().right - parseFloat(style.paddingRight)];
        }"""
    )
    assert abs(first_line_right - content_right) <= 2
