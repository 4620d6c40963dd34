"""G8: what a slow phone downloads to show a rights page (budget as for the report form)."""

from __future__ import annotations

import gzip

import pytest
from playwright.sync_api import Page, Response

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BUDGET_BYTES = 30_000


def compressed_size(body: bytes) -> int:
    # Level 6 is the usual server default; mtime=0 keeps the figure reproducible.
    return len(gzip.compress(body, compresslevel=6, mtime=0))


@pytest.mark.parametrize(
    "path",
    ["/en/rights/?jurisdiction=uk", "/en/rights/witness?jurisdiction=uk", "/en/rights/home?jurisdiction=us"],
)
def test_rights_page_first_view_fits_the_budget(live_server, phone_page: Page, path: str) -> None:
    responses: list[Response] = []
    phone_page.on("response", lambda response: responses.append(response))
    # networkidle, not load: anything fetched late still counts against the budget.
    phone_page.goto(f"{live_server.url}{path}", wait_until="networkidle")

    # A missing stylesheet would make the page look lighter than it is.
    assert all(response.ok for response in responses if not 300 <= response.status < 400), [
        (response.status, response.url) for response in responses
    ]
    sizes = {
        f"{response.request.resource_type} {response.url.removeprefix(live_server.url)}": compressed_size(
            response.body()
        )
        for response in responses
        if not 300 <= response.status < 400
    }
    total = sum(sizes.values())
    print(f"\n{path}, first view: {total} bytes gzipped (budget {BUDGET_BYTES})")
    for name, size in sizes.items():
        print(f"  {size:>6}  {name}")

    assert any(name.startswith("document ") for name in sizes)
    stylesheets = [name for name in sizes if name.startswith("stylesheet ")]
    assert any(name.endswith("/rights.css") for name in stylesheets), stylesheets
    assert total <= BUDGET_BYTES, sizes
