"""G8: what a slow phone downloads to show the report form."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from raidwatch.testing.pageweight import BUDGET_BYTES, first_view

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_report_form_first_view_fits_the_budget(live_server, phone_page: Page) -> None:
    sizes = first_view(phone_page, live_server.url, "/en/report")
    assert any(name.startswith("document ") for name in sizes)
    assert any(name.startswith("stylesheet ") for name in sizes)
    assert any(name.startswith("script ") for name in sizes)
    assert sum(sizes.values()) <= BUDGET_BYTES, sizes
