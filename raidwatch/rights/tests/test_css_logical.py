"""The rights stylesheets use logical properties only, so right-to-left pages need no second sheet."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

PHYSICAL = re.compile(
    r"(?<![-\w])("
    r"(margin|padding|border)-(left|right|top|bottom)(-[a-z]+)?"
    r"|left|right|top|bottom|float|clear"
    r"|(min-|max-)?(width|height)"
    r"|border-(top|bottom)-(left|right)-radius"
    r")\s*:"
    r"|text-align\s*:\s*(left|right)"
)


@pytest.mark.parametrize("name", ["rights.css", "print-card.css"])
def test_only_logical_properties(name: str) -> None:
    css = (Path(settings.BASE_DIR) / "static" / "css" / name).read_text(encoding="utf-8")
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.DOTALL)
    assert not PHYSICAL.search(css), PHYSICAL.search(css)


def test_the_card_is_two_a6_pages_in_print() -> None:
    css = (Path(settings.BASE_DIR) / "static" / "css" / "print-card.css").read_text(encoding="utf-8")
    assert re.search(r"@page\s*{[^}]*size:\s*105mm 148mm", css)  # A6
    assert re.search(r"\.card-side\s*{[^}]*break-after:\s*page", css)
