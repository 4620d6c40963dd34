"""R12 on the report form: beyond the allowance, a challenge for the script and a
question a person without JavaScript can answer, in their language."""

from __future__ import annotations

import html
import json
import re
import uuid
from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from raidwatch.intake import gate, views
from raidwatch.intake.models import OpenQuestion, Report

pytestmark = [pytest.mark.django_db, pytest.mark.dbsensitive]

URL = "/en/report"
ALLOWANCE = 2


@pytest.fixture(autouse=True)
def small_allowance(settings: Any) -> None:
    settings.RAIDWATCH_REPORT_ALLOWANCE = ALLOWANCE


def form(**extra: str) -> dict[str, str]:
    return {"kind": "van_sighting", "place": "E1", "when": "0", "client_id": str(uuid.uuid4()), **extra}


def use_up_allowance(client: Client) -> None:
    for _ in range(ALLOWANCE):
        assert client.post(URL, form()).status_code == 302


def question_of(page: str) -> tuple[str, int]:
    token = re.search(r'name="check_token" value="([^"]+)"', page)
    sums = re.search(r"What is (\d) plus (\d)\?", page)
    assert token
    assert sums
    return token.group(1), int(sums.group(1)) + int(sums.group(2))


def test_over_the_allowance_the_form_comes_back_with_a_question_and_a_challenge(client: Client) -> None:
    use_up_allowance(client)
    response = client.post(URL, form(description="two white vans"))
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= gate.WINDOW_S
    page = response.content.decode()
    assert "Many reports are coming from your network right now." in page
    assert "two white vans" in page  # what the witness wrote is kept
    assert 'data-altcha="{' in page
    assert "js/pow.js" in page  # the solver loads only now
    question_of(page)
    assert Report.objects.count() == ALLOWANCE


def test_the_first_view_loads_no_solver(client: Client) -> None:
    page = client.get(URL).content.decode()
    assert 'js/pow.js"' not in page.replace('data-pow="/static/js/pow.js"', "")
    assert "data-altcha" not in page


def test_the_right_answer_sends_the_report(client: Client) -> None:
    use_up_allowance(client)
    token, answer = question_of(client.post(URL, form()).content.decode())
    response = client.post(URL, form(check_token=token, check_answer=str(answer)))
    assert response.status_code == 302
    assert Report.objects.count() == ALLOWANCE + 1
    assert not OpenQuestion.objects.exists()  # answered, so closed
    # One answer per question: the same token again is refused, with a new question.
    again = client.post(URL, form(check_token=token, check_answer=str(answer)))
    assert again.status_code == 400
    assert "could not be used" in again.content.decode()


def test_an_answer_in_another_script_counts(client: Client) -> None:
    use_up_allowance(client)
    token, answer = question_of(client.post(URL, form()).content.decode())
    arabic_indic = "".join(chr(0x0660 + int(digit)) for digit in str(answer))
    assert client.post(URL, form(check_token=token, check_answer=arabic_indic)).status_code == 302


def test_a_wrong_answer_gets_a_new_question(client: Client) -> None:
    use_up_allowance(client)
    token, answer = question_of(client.post(URL, form()).content.decode())
    response = client.post(URL, form(check_token=token, check_answer=str(answer + 1)))
    assert response.status_code == 400
    page = response.content.decode()
    assert "That answer was not right." in page
    assert question_of(page)[0] != token
    assert "data-auto" not in page  # after a failed try the script never sends by itself


@pytest.mark.parametrize("token", ["forged", "a" * 500, "1:2:3"])
def test_a_forged_question_token_is_a_clear_400(client: Client, token: str) -> None:
    use_up_allowance(client)
    response = client.post(URL, form(check_token=token, check_answer="4"))
    assert response.status_code == 400
    assert "could not be used" in response.content.decode()


def test_a_solved_challenge_in_the_altcha_field_sends_the_report(client: Client) -> None:
    from raidwatch.intake.tests.test_gate import solve

    use_up_allowance(client)
    page = client.post(URL, form()).content.decode()
    challenge = json.loads(html.unescape(re.search(r'data-altcha="([^"]+)"', page).group(1)))  # type: ignore[union-attr]
    assert client.post(URL, form(altcha=solve(challenge))).status_code == 302


def test_the_check_speaks_the_reporters_language(client: Client) -> None:
    use_up_allowance(client)
    page = client.post("/es/report", form()).content.decode()
    with translation.override("es"):
        message = views._gate_message(gate.Problem.REQUIRED)
        question = gate.Question("t", 3, 4).text.split("3")[0]
    assert html.escape(message) in page
    assert html.escape(question) in page


def test_an_invalid_report_is_refused_without_counting(client: Client) -> None:
    for _ in range(ALLOWANCE * 3):
        assert client.post(URL, {"kind": "", "place": ""}).status_code == 422
    assert client.post(URL, form()).status_code == 302


def test_a_bot_that_does_sums_gets_only_the_question_allowance(client: Client) -> None:
    """The question is for people; past its own allowance per network, only the
    proof-of-work (or waiting) lets a report through."""
    use_up_allowance(client)
    page = client.post(URL, form()).content.decode()
    passed = 0
    for _ in range(ALLOWANCE * 3):
        token, answer = question_of(page)
        response = client.post(URL, form(check_token=token, check_answer=str(answer)))
        if response.status_code == 302:
            passed += 1
            page = client.post(URL, form()).content.decode()
            if 'name="check_token"' not in page:
                break
        else:
            page = response.content.decode()
            break
    assert passed == ALLOWANCE
    assert Report.objects.count() == ALLOWANCE * 2
    assert 'name="check_token"' not in page
    assert "try again in a few minutes" in page
    assert 'data-altcha="{' in page  # the script's way stays open
