"""The shipped content files: well-formed, complete, and free of items still waiting for a check."""

from __future__ import annotations

import re

import pytest

from raidwatch.rights import content
from raidwatch.rights.card import card_sides
from raidwatch.rights.markup import render_markdown

TOPICS = ["street", "work", "home", "detained", "witness", "after"]

# Facts from RIGHTS-SOURCES.md marked [FLAG] or [UNVERIFIED]: they stay out of
# the published text until a reviewer checks them (content/rights/README.md lists
# them all). Each pattern is a tell-tale of one such item.
HELD_BACK = {
    "BID advice line number (check current number and hours)": r"020\s*7456\s*9750|020\s*7247\s*3590",
    "MigraWatch hotline": r"877\s*877|migrawatch",
    "UK stop powers from the replaced EIG chapter 31": r"reasonable suspicion|equality act|singh v hammond",
    "ARN: no need to give name or address": r"give your name",
    "obstruction offence details (police powers not checked)": r"26\(1\)\(g\)|borders act",
    "filming Home Office officers, Terrorism Act exception": r"58a|terrorism act",
    "ICE memo on forced entry with I-205": r"forced entry|force entry|final removal order|lyons",
    "phone PIN instead of biometrics": r"\bpin\b|biometric",
    "all-party consent to record audio": r"all[- ]party|consent to record",
    "ICIBI finding on AD letters, retrospective consent": r"icibi|chief inspector|retrospective",
    "how the 2025 warrants guidance modified AD letters": r"modified",
    "detention centres and camera phones (2012 bust card)": r"camera phone|sim card",
    "car stops (state rules on giving a name)": r"driver|licence and registration|license and registration",
}


def test_every_content_file_parses_and_lies_where_its_front_matter_says() -> None:
    files = content.all_files()
    assert files, "no content files found"
    for path in files:
        content.read_text(path)  # raises ContentError, naming the file


@pytest.mark.parametrize("jurisdiction", content.JURISDICTIONS)
def test_english_has_every_topic_and_a_card(jurisdiction: str) -> None:
    assert content.topic_keys(jurisdiction) == TOPICS
    assert content.card("en", jurisdiction) is not None


def test_every_translation_answers_to_an_english_file() -> None:
    for path in content.all_files():
        text = content.read_text(path)
        assert content.shown_text(text.key, text.language, text.jurisdiction) is not None, path


def test_every_file_has_a_review_status_sources_and_a_title() -> None:
    for path in content.all_files():
        text = content.read_text(path)
        assert text.status in content.STATUSES
        assert text.sources, f"{path}: name the source organisations"
        if text.key != content.CARD_KEY:
            assert text.summary, f"{path}: the topic list shows a summary"


def test_english_written_here_is_marked_as_not_yet_reviewed_by_a_lawyer() -> None:
    # Only a lawyer's check may change this; the change then needs reviewed_on.
    for path in content.all_files():
        text = content.read_text(path)
        if text.language == "en":
            assert text.status in ("drafted", "reviewed"), path


def test_every_card_has_exactly_two_sides() -> None:
    for path in content.all_files():
        text = content.read_text(path)
        if text.key == content.CARD_KEY:
            assert len(card_sides(text.body, text.language)) == 2, path


def test_topic_bodies_use_only_second_level_headings_and_allowed_links() -> None:
    for path in content.all_files():
        text = content.read_text(path)
        assert not re.search(r"^# ", text.body, re.MULTILINE), f"{path}: the title is the page's only h1"
        html = render_markdown(text.body, text.language)
        # Every link the author wrote became a link: a refused one would show as raw brackets.
        assert "](" not in html, f"{path}: a link was refused (only https:, tel: and /site paths)"


@pytest.mark.parametrize("item", sorted(HELD_BACK))
def test_items_waiting_for_a_check_stay_out_of_the_published_text(item: str) -> None:
    pattern = re.compile(HELD_BACK[item], re.IGNORECASE)
    for path in content.all_files():
        assert not pattern.search(path.read_text(encoding="utf-8")), f"{path}: {item}"
