"""Checking a page in the browser with axe-core against WCAG 2.x A and AA.

axe-core 4.14.1, vendored from the npm registry (`npm pack axe-core@4.14.1`,
https://registry.npmjs.org/axe-core/-/axe-core-4.14.1.tgz) under
raidwatch/testing/vendor/axe-core/ with its licence; see the README there for
hashes and how to update. It is only ever injected by Playwright into a page
under test: no user is served it and no test fetches it from anywhere.

The pages' Content Security Policy allows scripts from 'self' and with the page's
nonce only, so Playwright's ``add_script_tag(path=...)`` (an inline script) is
refused, as it should be. Instead the test answers a same-origin script URL
itself, from the vendored file, with ``page.route``: the live server never sees
the request, the CSP stays as users get it, and nothing leaves the origin.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Page

AXE_VERSION = "4.14.1"
# A path the site never serves; only page.route below answers it.
AXE_URL_PATH = "/__test-only__/axe-core/axe.min.js"
AXE_SCRIPT = Path(__file__).resolve().parents[2] / "testing" / "vendor" / "axe-core" / "axe.min.js"
# Every rule axe files under WCAG 2.0, 2.1 and 2.2 at levels A and AA.
WCAG_AA_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Run axe's WCAG A and AA rules on the page as it is now; its violations."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.route(f"**{AXE_URL_PATH}", lambda route: route.fulfill(path=AXE_SCRIPT))
        page.add_script_tag(url=AXE_URL_PATH)
    assert page.evaluate("() => window.axe.version") == AXE_VERSION
    result: dict[str, Any] = page.evaluate(
        "tags => window.axe.run(document,"
        " {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        WCAG_AA_TAGS,
    )
    return list(result["violations"])


def describe_violations(url: str, violations: list[dict[str, Any]]) -> str:
    """One line per failing element: rule id, impact, where, and what to do."""
    lines = [f"{url}: {len(violations)} axe violation(s)"]
    for violation in violations:
        for node in violation["nodes"]:
            lines.append(
                f"  {violation['id']} [{violation['impact']}] {' > '.join(map(str, node['target']))}: "
                f"{violation['help']} ({violation['helpUrl']})"
            )
            if summary := node.get("failureSummary"):
                lines.extend(f"      {line}" for line in summary.splitlines())
    return "\n".join(lines)
