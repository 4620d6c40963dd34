"""G8: what a slow phone downloads to show a page on first view, gzipped."""

from __future__ import annotations

import gzip

from playwright.sync_api import Page, Response

BUDGET_BYTES = 30_000


def compressed_size(body: bytes) -> int:
    # Level 6 is the usual server default; mtime=0 keeps the figure reproducible.
    return len(gzip.compress(body, compresslevel=6, mtime=0))


def first_view(page: Page, base_url: str, path: str) -> dict[str, int]:
    """Every response the first view of ``path`` loads, as "type /url" → gzipped bytes.

    Fails if a response failed: a missing stylesheet or script would make the
    page look lighter than it is."""
    responses: list[Response] = []
    page.on("response", lambda response: responses.append(response))
    # networkidle, not load: anything fetched late still counts against the budget.
    page.goto(f"{base_url}{path}", wait_until="networkidle")
    loaded = [response for response in responses if not 300 <= response.status < 400]
    failed = [(response.status, response.url) for response in loaded if not response.ok]
    assert not failed, failed  # noqa: S101 - a test helper
    sizes = {
        f"{response.request.resource_type} {response.url.removeprefix(base_url)}": compressed_size(
            response.body()
        )
        for response in loaded
    }
    total = sum(sizes.values())
    print(f"\n{path}, first view: {total} bytes gzipped (budget {BUDGET_BYTES})")
    for name, size in sizes.items():
        print(f"  {size:>6}  {name}")
    return sizes
