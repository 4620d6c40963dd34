"""R2 and R12: keyed rotating rate-limit buckets, then proof-of-work, for the API."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from altcha import v1 as altcha
from django.core.management import call_command
from django.db import connection
from django.test import Client, RequestFactory

from raidwatch.intake import gate
from raidwatch.intake.models import GateCount, Report, SpentChallenge

pytestmark = [pytest.mark.django_db, pytest.mark.dbsensitive]

URL = "/api/v1/reports"
ALLOWANCE = 3
ADDRESS = "203.0.113.77"


@pytest.fixture(autouse=True)
def small_allowance(settings: Any) -> None:
    settings.RAIDWATCH_REPORT_ALLOWANCE = ALLOWANCE


def report_body(number: int = 0) -> dict[str, object]:
    return {"kind": "van_sighting", "lat": 51.5155 + number * 0.0001, "lon": -0.0723}


def post(client: Client, body: object, **headers: Any):
    data = json.dumps(body).encode()
    return client.post(URL, data=data, content_type="application/json", REMOTE_ADDR=ADDRESS, **headers)


def solve(challenge: dict[str, Any]) -> str:
    solution = altcha.solve_challenge(
        challenge["challenge"], challenge["salt"], challenge["algorithm"], challenge["maxnumber"]
    )
    assert solution is not None
    payload = {
        "algorithm": challenge["algorithm"],
        "challenge": challenge["challenge"],
        "number": solution.number,
        "salt": challenge["salt"],
        "signature": challenge["signature"],
    }
    return base64.b64encode(json.dumps(payload).encode()).decode()


def use_up_allowance(client: Client, **headers: Any) -> None:
    for number in range(ALLOWANCE):
        assert post(client, report_body(number), **headers).status_code == 201


def test_over_the_allowance_the_answer_is_429_with_retry_after_and_a_challenge(client: Client) -> None:
    use_up_allowance(client)
    response = post(client, report_body(9))
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= gate.WINDOW_S
    body = response.json()
    assert body["error"]["code"] == "proof_of_work_required"
    assert "X-Altcha" in body["error"]["message"]
    assert set(body["challenge"]) == {"algorithm", "challenge", "maxnumber", "salt", "signature"}
    assert body["challenge"]["algorithm"] == "SHA-256"
    assert Report.objects.count() == ALLOWANCE


def test_a_solved_challenge_gets_the_same_report_through_once(client: Client) -> None:
    use_up_allowance(client)
    client_id = "0b5a3b2c-0000-4000-8000-000000000001"
    body = {**report_body(9), "client_id": client_id}
    challenge = post(client, body).json()["challenge"]
    solution = solve(challenge)
    response = post(client, body, HTTP_X_ALTCHA=solution)
    assert response.status_code == 201
    assert Report.objects.filter(client_id=client_id).count() == 1
    replayed = post(client, report_body(10), HTTP_X_ALTCHA=solution)
    assert replayed.status_code == 400
    assert replayed.json()["error"]["code"] == "proof_of_work_replayed"
    assert replayed.json()["challenge"]  # the client can go on with a new one


def test_a_forged_solution_is_a_clear_400(client: Client) -> None:
    use_up_allowance(client)
    challenge = post(client, report_body(9)).json()["challenge"]
    forged = dict(challenge, signature="0" * 64)
    response = post(client, report_body(9), HTTP_X_ALTCHA=solve(forged))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "proof_of_work_invalid"
    # A challenge made with another key (as any outsider could) is refused too.
    outsider = altcha.create_challenge(altcha.ChallengeOptions(max_number=100, hmac_key=b"guess"))
    payload = {
        "algorithm": outsider.algorithm,
        "challenge": outsider.challenge,
        "maxnumber": 100,
        "salt": outsider.salt,
        "signature": outsider.signature,
    }
    assert post(client, report_body(9), HTTP_X_ALTCHA=solve(payload)).status_code == 400


def test_a_challenge_for_subscriptions_does_not_pass_a_report(client: Client) -> None:
    use_up_allowance(client)
    other = gate.new_challenge(gate.Scope.SUBSCRIPTIONS, gate.MIN_DIFFICULTY)
    response = post(client, report_body(9), HTTP_X_ALTCHA=solve(other))
    assert response.json()["error"]["code"] == "proof_of_work_invalid"


@pytest.mark.parametrize(
    "solution",
    [
        "not base64 at all!",
        base64.b64encode(b"\xff\xfe").decode(),
        base64.b64encode(b"[1, 2]").decode(),
        base64.b64encode(b"42").decode(),
        base64.b64encode(json.dumps({"algorithm": "SHA-256", "number": "7"}).encode()).decode(),
        base64.b64encode(
            json.dumps(
                {"algorithm": "MD5", "challenge": "a", "number": 1, "salt": "b", "signature": "c"}
            ).encode()
        ).decode(),
        "A" * 5000,
    ],
)
def test_malformed_solutions_are_400_never_500(client: Client, solution: str) -> None:
    use_up_allowance(client)
    response = post(client, report_body(9), HTTP_X_ALTCHA=solution)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "proof_of_work_invalid"


def test_an_expired_solution_is_refused_as_expired(client: Client) -> None:
    use_up_allowance(client)
    challenge = post(client, report_body(9)).json()["challenge"]
    solution = solve(challenge)
    with time_machine.travel(datetime.now(UTC) + gate.CHALLENGE_TTL + timedelta(seconds=5)):
        # The next window: use the new allowance up first, so the gate looks at the solution.
        use_up_allowance(client)
        response = post(client, report_body(9), HTTP_X_ALTCHA=solution)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "proof_of_work_expired"


def test_under_the_allowance_a_solution_is_neither_checked_nor_spent(client: Client) -> None:
    response = post(client, report_body(), HTTP_X_ALTCHA="anything")
    assert response.status_code == 201
    assert not SpentChallenge.objects.exists()


def test_a_new_token_per_request_does_not_buy_a_new_allowance(client: Client) -> None:
    answers = [
        post(client, report_body(number), HTTP_X_RAIDWATCH_TOKEN=f"token-{number}").status_code
        for number in range(ALLOWANCE * gate.NETWORK_FACTOR + 2)
    ]
    assert answers[: ALLOWANCE * gate.NETWORK_FACTOR] == [201] * (ALLOWANCE * gate.NETWORK_FACTOR)
    assert answers[-1] == 429


def test_a_shared_network_is_slowed_not_shut_out(client: Client) -> None:
    """Everyone on one carrier range gets challenges, and every solved one gets through."""
    for number in range(ALLOWANCE * 4):
        response = post(client, report_body(number))
        if response.status_code == 429:
            response = post(client, report_body(number), HTTP_X_ALTCHA=solve(response.json()["challenge"]))
        assert response.status_code == 201
    assert Report.objects.count() == ALLOWANCE * 4


def test_difficulty_rises_with_the_excess() -> None:
    assert gate.difficulty_for(ALLOWANCE, ALLOWANCE) == 0
    assert gate.difficulty_for(ALLOWANCE + 1, ALLOWANCE) == gate.MIN_DIFFICULTY
    assert gate.difficulty_for(ALLOWANCE * 2 + 1, ALLOWANCE) == gate.MIN_DIFFICULTY * 2
    assert gate.difficulty_for(ALLOWANCE * 3 + 1, ALLOWANCE) == gate.MIN_DIFFICULTY * 4
    assert gate.difficulty_for(ALLOWANCE * 1000, ALLOWANCE) == gate.MAX_DIFFICULTY


def test_the_challenge_grows_harder_for_a_source_that_keeps_going(client: Client) -> None:
    use_up_allowance(client)
    first = post(client, report_body(9)).json()["challenge"]["maxnumber"]
    for _ in range(ALLOWANCE * 3):
        later = post(client, report_body(9)).json()["challenge"]["maxnumber"]
    assert later > first


def request_from(address: str, token: str = "") -> Any:
    extra: dict[str, Any] = {"HTTP_X_RAIDWATCH_TOKEN": token} if token else {}
    return RequestFactory().post(URL, REMOTE_ADDR=address, **extra)


def test_the_bucket_is_a_keyed_hash_that_changes_every_hour() -> None:
    now = datetime(2026, 3, 1, 10, 5, tzinfo=UTC)
    source, network, _site = gate.buckets_for(request_from(ADDRESS), gate.Scope.REPORTS, now)
    for plain in (ADDRESS, "203.0.113.0/24"):
        digest = hashlib.sha256(plain.encode()).digest()
        assert source != int.from_bytes(digest[:8], "big", signed=True)
        assert network != int.from_bytes(digest[:8], "big", signed=True)
    # The same /24 is the same source within the hour...
    same = gate.buckets_for(request_from("203.0.113.5"), gate.Scope.REPORTS, now + timedelta(minutes=50))
    assert same[0] == source
    # ...and not the next hour, whose key replaced (and destroyed) this one.
    later = gate.buckets_for(request_from(ADDRESS), gate.Scope.REPORTS, now + timedelta(hours=1))
    assert later[0] != source
    assert sorted(path.name for path in gate._key_dir().glob("*.key")) == [
        f"{int((now + timedelta(hours=1)).timestamp() // 3600)}.key"
    ]


def test_a_token_is_its_own_source_and_still_counts_for_its_network() -> None:
    now = datetime(2026, 3, 1, 10, 5, tzinfo=UTC)
    plain = gate.buckets_for(request_from(ADDRESS), gate.Scope.REPORTS, now)
    tokened = gate.buckets_for(request_from(ADDRESS, "a-random-token"), gate.Scope.REPORTS, now)
    assert tokened[0] != plain[0]
    assert tokened[1] == plain[1]
    assert tokened[2] == plain[2]


def test_past_windows_are_forgotten(client: Client) -> None:
    use_up_allowance(client)
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=gate.WINDOW_S)):
        assert post(client, report_body(1)).status_code == 201
        current = int(datetime.now(UTC).timestamp() // gate.WINDOW_S)
    assert set(GateCount.objects.values_list("period", flat=True)) == {current}


@pytest.mark.django_db(transaction=True)
def test_concurrent_counts_are_never_lost() -> None:
    """The upsert is atomic: threads (own connections, as processes would be) lose no count."""
    threads, each = 6, 25
    period = 123_456
    buckets = (11, 22, 33)
    errors: list[BaseException] = []

    def count() -> None:
        try:
            for _ in range(each):
                gate._count(buckets, period)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=count) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not errors
    assert dict(GateCount.objects.filter(period=period).values_list("bucket", "hits")) == dict.fromkeys(
        buckets, threads * each
    )


def test_past_hours_keys_and_past_windows_counts_are_destroyed_even_when_no_one_comes(settings: Any) -> None:
    start = datetime(2026, 11, 26, 12, 5, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as traveller:
        use_up_allowance(Client())
        assert post(Client(), report_body(99)).status_code == 429
        directory = gate._key_dir()
        assert list(directory.glob("*.key"))
        assert GateCount.objects.exists()
        # A quiet night: nobody reports, so no request rotates anything.
        traveller.shift(timedelta(hours=6))
        call_command("purge", "--only", "purge_gate_records", stdout=StringIO())
        assert list(directory.glob("*.key")) == []
        assert not GateCount.objects.exists()


def test_a_solution_to_an_easier_challenge_is_not_enough_once_difficulty_has_risen(client: Client) -> None:
    use_up_allowance(client)
    easy = post(client, report_body(10)).json()["challenge"]
    # The source keeps going: one allowance of excess later, challenges are harder.
    harder = easy
    for number in range(ALLOWANCE + 1):
        harder = post(client, report_body(20 + number)).json()["challenge"]
    assert harder["maxnumber"] > easy["maxnumber"]
    stale = post(client, report_body(30), HTTP_X_ALTCHA=solve(easy))
    assert stale.status_code == 400
    assert stale.json()["error"]["code"] == "proof_of_work_expired"
    fresh = post(client, report_body(31), HTTP_X_ALTCHA=solve(stale.json()["challenge"]))
    assert fresh.status_code == 201
