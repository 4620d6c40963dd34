"""G8: what a slow phone downloads to show a rights page (budget as for the report form)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from raidwatch.testing.pageweight import BUDGET_BYTES, first_view

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(
    "path",
    ["/en/rights/?jurisdiction=uk", "/en/rights/witness?jurisdiction=uk", "/en/rights/home?jurisdiction=us"],
)
def test_rights_page_first_view_fits_the_budget(live_server, phone_page: Page, path: str) -> None:
    sizes = first_view(phone_page, live_server.url, path)
    assert any(name.startswith("document ") for name in sizes)
    stylesheets = [name for name in sizes if name.startswith("stylesheet ")]
    assert any(name.endswith("/rights.css") for name in stylesheets), stylesheets
    assert sum(sizes.values()) <= BUDGET_BYTES, sizes
