"""The fanout bench runs end to end with a few subscribers and reports correctly:
every subscriber's message really reached the push service and decrypted there.
Speed is not checked here."""

from __future__ import annotations

import json
import sqlite3
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from bench import BENCH_KEYS
from bench.fanout import result_lines

SUBSCRIBERS = 50


def test_fanout_bench_reports_the_contract_lines_and_every_message_decrypts(tmp_path: Path) -> None:
    out, err = StringIO(), StringIO()
    call_command(
        "bench",
        "fanout",
        "--subscribers",
        str(SUBSCRIBERS),
        "--encrypt-seconds",
        "0.3",
        "--duration-limit",
        "60",
        "--work-dir",
        str(tmp_path),
        "--profile",
        stdout=out,
        stderr=err,
    )
    lines = [json.loads(text) for text in out.getvalue().splitlines()]
    assert all(tuple(line) == BENCH_KEYS for line in lines)
    assert {line["bench"] for line in lines} == {"fanout"}
    by_metric = {line["metric"]: line for line in lines}
    assert set(by_metric) == {
        "deliveries_per_s",
        "total_s_to_push",
        "p99_s_to_push",
        "delivered",
        "decrypt_failures",
        "push_rejections",
    }
    assert {by_metric[m]["goal"] for m in ("total_s_to_push", "p99_s_to_push")} == {"G2"}
    assert by_metric["deliveries_per_s"]["goal"] == "G3"
    assert all(isinstance(line["pass"], bool) for line in lines)

    main = by_metric["deliveries_per_s"]
    assert main["value"] > 0
    assert main["baseline"] > 0  # the encrypt-only rate of the same run
    assert main["ratio"] == pytest.approx(main["value"] / main["baseline"], abs=1e-3)
    for metric in ("total_s_to_push", "p99_s_to_push"):
        assert by_metric[metric]["baseline"] == 2.0
        assert by_metric[metric]["value"] > 0
    assert by_metric["p99_s_to_push"]["value"] <= by_metric["total_s_to_push"]["value"]

    # Correctness: every subscriber got exactly one message that decrypted to the alert.
    assert by_metric["delivered"]["value"] == by_metric["delivered"]["baseline"] == SUBSCRIBERS
    assert by_metric["delivered"]["pass"] is True
    assert by_metric["decrypt_failures"]["value"] == 0
    assert by_metric["push_rejections"]["value"] == 0

    result = json.loads((tmp_path / "fanout-result.json").read_text())
    assert result["created"] == result["sent"] == SUBSCRIBERS
    assert result["statuses"] == {"sent": SUBSCRIBERS}
    assert result["push"]["accepted"] == SUBSCRIBERS
    assert result["push"]["duplicates"] == result["push"]["bad_payloads"] == 0
    assert len(result["encrypt_rounds"]) == 2
    with sqlite3.connect(tmp_path / "raidwatch" / "raidwatch.sqlite3") as connection:
        (sent,) = connection.execute("SELECT COUNT(*) FROM alerts_delivery WHERE status = 'sent'").fetchone()
    assert sent == SUBSCRIBERS
    profile = (tmp_path / "fanout-profile.txt").read_text()
    assert "transport.send" in profile
    assert "SSE" in err.getvalue()  # says what it does not measure


def _result(**changes: object) -> dict[str, object]:
    result: dict[str, object] = {
        "subscribers": 10,
        "encrypt_per_s": 1000.0,
        "deliveries_per_s": 600.0,
        "latency_p99_s": 1.0,
        "total_s": 1.5,
        "push": {
            "decrypted_subscribers": 10,
            "duplicates": 0,
            "bad_payloads": 0,
            "decrypt_failures": 0,
            "rejections": 0,
        },
    }
    result.update(changes)
    return result


def test_a_missed_delivery_fails_every_speed_line_however_fast() -> None:
    fine = {line["metric"]: line["pass"] for line in result_lines(_result())}
    assert all(fine.values())
    push = {
        "decrypted_subscribers": 9,
        "duplicates": 0,
        "bad_payloads": 0,
        "decrypt_failures": 1,
        "rejections": 1,
    }
    missed = {line["metric"]: line for line in result_lines(_result(push=push, total_s=None))}
    assert not any(line["pass"] for line in missed.values())
    # Nothing to give as the time to hand over all of them: null, never Infinity (not JSON).
    assert missed["total_s_to_push"]["value"] is None
    assert missed["total_s_to_push"]["ratio"] is None
