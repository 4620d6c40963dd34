"""The abuse gate: a per-source allowance, then proof-of-work (SECURITY.md R2, R12).

Every report (and subscription) request is counted in three buckets for the
current 10-minute window:

- its *source*: an HMAC of the client's ``X-Raidwatch-Token`` if it sends one,
  else of its /24 or /48 network prefix; allowance ``RAIDWATCH_REPORT_ALLOWANCE``;
- its *network* (the prefix, also when a token is sent, so that inventing a new
  token per request does not buy a new allowance): ``NETWORK_FACTOR`` times that;
- the whole *site* (so that a flood spread over many networks is still
  noticed): ``SITE_FACTOR`` times that.

Beyond any of them the request is slowed, never shut out: the answer is 429
with ``Retry-After`` and an ALTCHA challenge (a SHA-256 proof-of-work, made and
checked here, HMAC-signed, expiring, usable once). A solved challenge lets that
one request through. Difficulty doubles with every further allowance's worth of
excess, up to a cap a cheap phone still solves. A person without JavaScript
answers a small arithmetic question instead, whose answer stays in the database
and which the browser names only through a signed token.

Buckets are keyed under an hourly key in the key directory that is destroyed
when its hour is over, so a count cannot be linked to an address, nor to the
same source an hour later; the address itself is never stored or logged (R1).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, cast

from altcha import v1 as altcha
from django.conf import settings
from django.core import signing
from django.db import IntegrityError, connection, transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from raidwatch.intake.models import GateCount, OpenQuestion, SpentChallenge
from raidwatch.intake.sources import CLIENT_TOKEN_HEADER
from raidwatch.lib import crypto
from raidwatch.lib.keys import read_or_create_key

WINDOW_S = (
    600  # the contract's "per 10 minutes"; six windows to the hour, so key rotation falls on a boundary
)
NETWORK_FACTOR = 20  # a carrier's range holds many people: many tokens, one prefix
SITE_FACTOR = 100  # beyond this many requests per window from everyone, everyone solves
# ALTCHA's number range. 20,000 SHA-256 calls take well under a second in a
# phone's WebCrypto; the cap (about 250,000 on average) stays within some seconds.
MIN_DIFFICULTY = 20_000
MAX_DIFFICULTY = 500_000
CHALLENGE_TTL = timedelta(minutes=10)
QUESTION_TTL = timedelta(minutes=20)  # a person may need time to read, and to finish the report
ALGORITHM: Literal["SHA-256"] = "SHA-256"
MAX_SOLUTION_CHARS = 2_000
SOLUTION_HEADER = "X-Altcha"
SOLUTION_FIELD = "altcha"
_QUESTION_SALT = "raidwatch.intake.gate.question"

_key_lock = threading.Lock()
_hour_keys: dict[tuple[Path, int], bytes] = {}


class Scope(StrEnum):
    REPORTS = "reports"
    SUBSCRIPTIONS = "subscriptions"


class Problem(StrEnum):
    """Why a request was not let through."""

    REQUIRED = "required"  # over the allowance and no solution given
    INVALID = "invalid"  # forged, malformed, or for another scope
    EXPIRED = "expired"
    REPLAYED = "replayed"
    WRONG = "wrong"  # a question answered wrongly


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    problem: Problem | None = None
    difficulty: int = MIN_DIFFICULTY
    retry_after: int = 0
    scope: Scope = Scope.REPORTS
    # Whether the question for people without JavaScript may be offered and
    # answered: a bot can do sums, so it has an allowance of its own.
    question: bool = True

    def challenge(self) -> dict[str, Any]:
        return new_challenge(self.scope, self.difficulty)


PASSED = Verdict(allowed=True)


# --- keys and buckets -----------------------------------------------------------


def _key_dir() -> Path:
    return Path(settings.KEY_DIR) / "ratelimit"


def _destroy_keys_before(directory: Path, hour: int) -> None:
    for path in directory.glob("*.key"):
        try:
            period = int(path.stem)
        except ValueError:
            continue
        if period < hour:
            # Overwritten first, as crypto does for its expired keys.
            try:
                with path.open("r+b") as handle:
                    handle.write(os.urandom(path.stat().st_size))
                    handle.flush()
                    os.fsync(handle.fileno())
                path.unlink()
            except FileNotFoundError:
                pass  # another process destroyed it first


def hour_key(now: datetime) -> bytes:
    """This hour's rate-limit key; the first use of a new hour destroys the older ones."""
    directory = _key_dir()
    hour = int(now.timestamp() // 3600)
    with _key_lock:
        key = _hour_keys.get((directory, hour))
        if key is None:
            key = read_or_create_key(directory / f"{hour}.key")
            for cached in [entry for entry in _hour_keys if entry[0] == directory and entry[1] != hour]:
                del _hour_keys[cached]
            _hour_keys[(directory, hour)] = key
            _destroy_keys_before(directory, hour)
        return key


def _bucket(key: bytes, material: str) -> int:
    digest = hmac.new(key, material.encode("utf-8"), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def question_buckets(request: HttpRequest, scope: Scope, now: datetime) -> tuple[int, int]:
    """(network, site) buckets counting answers to the no-JavaScript question."""
    key = hour_key(now)
    prefix = crypto.network_prefix(request.META.get("REMOTE_ADDR") or "")
    return _bucket(key, f"{scope}|question-network|{prefix}"), _bucket(key, f"{scope}|question-site")


def buckets_for(request: HttpRequest, scope: Scope, now: datetime) -> tuple[int, int, int]:
    """(source, network, site) bucket ids for this request in this hour."""
    key = hour_key(now)
    token = request.META.get(CLIENT_TOKEN_HEADER, "").strip()[:200]
    # REMOTE_ADDR is read for its network prefix only; neither is kept (R1).
    prefix = crypto.network_prefix(request.META.get("REMOTE_ADDR") or "")
    source = f"{scope}|source|token:{token}" if token else f"{scope}|source|net:{prefix}"
    return (
        _bucket(key, source),
        _bucket(key, f"{scope}|network|{prefix}"),
        _bucket(key, f"{scope}|site"),
    )


# --- counting ---------------------------------------------------------------------


def _count(buckets: tuple[int, ...], period: int) -> dict[int, int]:
    """Add one to each bucket in one statement, returning the new counts.

    INSERT ... ON CONFLICT DO UPDATE ... RETURNING means the same on SQLite
    (3.35+) and PostgreSQL and is atomic on both, so concurrent processes never
    lose a count. Rows are taken in sorted order, so two requests cannot lock
    each other's rows the other way round.
    """
    table = connection.ops.quote_name(GateCount._meta.db_table)
    params: list[int] = []
    for bucket in sorted(set(buckets)):
        params += [bucket, period]
    rows = ", ".join(["(%s, %s, 1)"] * (len(params) // 2))
    sql = (
        f"INSERT INTO {table} (bucket, period, hits) VALUES {rows} "  # noqa: S608 - fixed names, values bound
        f"ON CONFLICT (bucket, period) DO UPDATE SET hits = {table}.hits + 1 RETURNING bucket, hits"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {int(bucket): int(hits) for bucket, hits in cursor.fetchall()}


def _sweep(period: int, now: datetime) -> None:
    """Forget past windows and spent records: run once per window, by its first request."""
    GateCount.objects.filter(period__lt=period).delete()
    SpentChallenge.objects.filter(expires_at__lt=now).delete()
    OpenQuestion.objects.filter(expires_at__lt=now).delete()


def purge(now: datetime | None = None) -> int:
    """Destroy what the gate no longer needs, whether or not requests come:
    rate-limit keys of past hours (with one of them, a seized database's bucket
    ids could be matched to the few million network prefixes by trying them
    all), counts of past windows and expired challenge records. Returns how
    many keys and rows went."""
    current = now or timezone.now()
    hour = int(current.timestamp() // 3600)
    directory = _key_dir()
    before = sorted(directory.glob("*.key")) if directory.exists() else []
    with _key_lock:
        for cached in [entry for entry in _hour_keys if entry[0] == directory and entry[1] != hour]:
            del _hour_keys[cached]
        _destroy_keys_before(directory, hour)
    keys = sum(1 for path in before if not path.exists())
    period = int(current.timestamp() // WINDOW_S)
    counts, _ = GateCount.objects.filter(period__lt=period).delete()
    spent, _ = SpentChallenge.objects.filter(expires_at__lt=current).delete()
    questions, _ = OpenQuestion.objects.filter(expires_at__lt=current).delete()
    return keys + counts + spent + questions


def allowance() -> int:
    return int(settings.RAIDWATCH_REPORT_ALLOWANCE)


def difficulty_for(hits: int, limit: int) -> int:
    """ALTCHA's max number for a bucket at ``hits`` against ``limit``: doubles per allowance of excess."""
    excess = hits - limit
    if excess <= 0:
        return 0
    level = (excess - 1) // limit
    return min(MAX_DIFFICULTY, MIN_DIFFICULTY << min(level, 20))


def check(
    request: HttpRequest,
    scope: Scope,
    *,
    solution: str | None = None,
    question_token: str | None = None,
    answer: str | None = None,
    now: datetime | None = None,
) -> Verdict:
    """Count this request and say whether it may go on.

    Under the allowance it passes whatever it carries (a solution sent anyway
    is neither checked nor spent). Over it, a valid unused solution, or a right
    answer to an open question, lets it through.
    """
    current = now or timezone.now()
    period = int(current.timestamp() // WINDOW_S)
    source, network, site = buckets_for(request, scope, current)
    counts = _count((source, network, site), period)
    if counts.get(site) == 1:
        _sweep(period, current)
    base = allowance()
    limits = {source: base, network: base * NETWORK_FACTOR, site: base * SITE_FACTOR}
    difficulty = max(difficulty_for(counts.get(bucket, 0), limit) for bucket, limit in limits.items())
    if difficulty == 0:
        return PASSED
    retry_after = max(1, (period + 1) * WINDOW_S - int(current.timestamp()))
    question_network, question_site = question_buckets(request, scope, current)
    question_limits = {question_network: base, question_site: base * NETWORK_FACTOR}
    problem = Problem.REQUIRED
    if solution:
        # The difficulty the client was last shown: this retry is itself counted
        # above, and must not make its own solution too easy.
        shown = max(difficulty_for(counts.get(bucket, 0) - 1, limit) for bucket, limit in limits.items())
        problem_or_none = spend_solution(solution, scope, current, shown)
        if problem_or_none is None:
            return PASSED
        problem = problem_or_none
    elif question_token:
        # Each answer is counted before it is looked at, right or wrong.
        answered = _count((question_network, question_site), period)
        if any(answered[bucket] > limit for bucket, limit in question_limits.items()):
            return Verdict(False, Problem.REQUIRED, difficulty, retry_after, scope, question=False)
        problem_or_none = answer_question(question_token, answer, current)
        if problem_or_none is None:
            return PASSED
        problem = problem_or_none
    seen = dict(
        GateCount.objects.filter(bucket__in=question_limits, period=period).values_list("bucket", "hits")
    )
    offer = all(seen.get(bucket, 0) < limit for bucket, limit in question_limits.items())
    return Verdict(False, problem, difficulty, retry_after, scope, question=offer)


# --- ALTCHA proof-of-work ------------------------------------------------------------


def _altcha_key() -> bytes:
    # Long-lived: a challenge holds a random salt, a difficulty and an expiry, nothing about anyone.
    return read_or_create_key(Path(settings.KEY_DIR) / "altcha.key")


def new_challenge(scope: Scope, difficulty: int, now: datetime | None = None) -> dict[str, Any]:
    """An ALTCHA challenge: find n ≤ maxnumber with SHA-256(salt + n) = challenge."""
    expires = (now or timezone.now()) + CHALLENGE_TTL
    made = altcha.create_challenge(
        altcha.ChallengeOptions(
            algorithm=ALGORITHM,
            max_number=max(MIN_DIFFICULTY, difficulty),
            hmac_key=_altcha_key(),
            expires=expires.astimezone(UTC),
            # Signed into the challenge, so a solution to an easy one collected
            # earlier cannot be spent once the source's difficulty has risen.
            params={"scope": str(scope), "difficulty": str(max(MIN_DIFFICULTY, difficulty))},
        )
    )
    return {
        "algorithm": made.algorithm,
        "challenge": made.challenge,
        "maxnumber": made.max_number,
        "salt": made.salt,
        "signature": made.signature,
    }


def _parse_solution(raw: str) -> dict[str, Any] | None:
    if len(raw) > MAX_SOLUTION_CHARS:
        return None
    try:
        data = json.loads(base64.b64decode(raw.strip(), validate=True).decode("utf-8"))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    texts = ("algorithm", "challenge", "salt", "signature")
    if not all(isinstance(data.get(name), str) for name in texts):
        return None
    number = data.get("number")
    if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number <= MAX_DIFFICULTY * 4:
        return None
    return data


def spend_solution(raw: str, scope: Scope, now: datetime, difficulty: int = MIN_DIFFICULTY) -> Problem | None:
    """None when ``raw`` solves a challenge of ours for this scope, unexpired and
    never used before (it is then spent); otherwise what is wrong with it."""
    data = _parse_solution(raw)
    if data is None or data["algorithm"] != ALGORITHM:
        return Problem.INVALID
    verified, _error = altcha.verify_solution(
        cast(altcha.PayloadType, data), _altcha_key(), check_expires=False
    )
    # The library compares with ==; check the signature again in constant time.
    expected = altcha.hmac_hex(ALGORITHM, data["challenge"].encode(), _altcha_key())
    if not verified or not hmac.compare_digest(expected, data["signature"]):
        return Problem.INVALID
    params = altcha.extract_params(cast(altcha.PayloadType, data))
    if params.get("scope") != [str(scope)]:
        return Problem.INVALID
    try:
        signed_difficulty = int(params["difficulty"][0])
    except (KeyError, IndexError, ValueError):
        return Problem.INVALID
    if signed_difficulty < difficulty:
        return Problem.EXPIRED  # too easy now: solve the new, harder challenge
    try:
        expires = datetime.fromtimestamp(int(params["expires"][0]), UTC)
    except (KeyError, IndexError, ValueError, OverflowError, OSError):
        return Problem.INVALID
    if expires < now:
        return Problem.EXPIRED
    digest = int.from_bytes(hashlib.sha256(data["signature"].encode()).digest()[:8], "big", signed=True)
    try:
        with transaction.atomic():
            SpentChallenge.objects.create(digest=digest, expires_at=expires)
    except IntegrityError:
        return Problem.REPLAYED
    return None


# --- the question for people without JavaScript -----------------------------------------


@dataclass(frozen=True)
class Question:
    token: str
    first: int
    second: int

    @property
    def text(self) -> str:
        return _("What is %(first)s plus %(second)s? Type the answer as a number.") % {
            "first": self.first,
            "second": self.second,
        }


def new_question(now: datetime | None = None) -> Question:
    first, second = secrets.randbelow(9) + 1, secrets.randbelow(9) + 1
    ident = secrets.randbits(62) + 1
    OpenQuestion.objects.create(
        id=ident, answer=first + second, expires_at=(now or timezone.now()) + QUESTION_TTL
    )
    return Question(signing.dumps(ident, salt=_QUESTION_SALT), first, second)


def answer_question(token: str, answer: str | None, now: datetime) -> Problem | None:
    """None for the right answer to an open question (which is then closed)."""
    try:
        ident = signing.loads(token[:200], salt=_QUESTION_SALT, max_age=QUESTION_TTL)
    except signing.SignatureExpired:
        return Problem.EXPIRED
    except signing.BadSignature:
        return Problem.INVALID
    if not isinstance(ident, int):
        return Problem.INVALID
    with transaction.atomic():
        open_question = OpenQuestion.objects.filter(id=ident, expires_at__gte=now).first()
        # Closed whatever the answer: one guess per question.
        if open_question is None or not OpenQuestion.objects.filter(id=ident).delete()[0]:
            return Problem.REPLAYED
    try:
        # int() reads every script's decimal digits (Arabic-Indic, Persian, Devanagari...).
        given = int((answer or "").strip()[:10])
    except ValueError:
        return Problem.WRONG
    return None if given == open_question.answer else Problem.WRONG


# --- the API's answer ---------------------------------------------------------------------


def api_messages() -> dict[Problem, tuple[int, str, str]]:
    hint = _("Solve the new challenge and send the request again with the solution in the X-Altcha header.")
    return {
        Problem.REQUIRED: (
            429,
            "proof_of_work_required",
            _("Many requests are coming from this source right now.") + " " + hint,
        ),
        Problem.INVALID: (
            400,
            "proof_of_work_invalid",
            _("The proof-of-work solution is not valid.") + " " + hint,
        ),
        Problem.EXPIRED: (
            400,
            "proof_of_work_expired",
            _("The proof-of-work challenge has expired.") + " " + hint,
        ),
        Problem.REPLAYED: (
            400,
            "proof_of_work_replayed",
            _("This proof-of-work solution has already been used.") + " " + hint,
        ),
        Problem.WRONG: (
            400,
            "proof_of_work_invalid",
            _("The proof-of-work solution is not valid.") + " " + hint,
        ),
    }


def api_refusal(verdict: Verdict) -> JsonResponse:
    """The contract's error shape, with a fresh challenge the client can solve to go on."""
    status, code, message = api_messages()[verdict.problem or Problem.REQUIRED]
    response = JsonResponse(
        {
            "error": {"code": code, "message": message, "field": None},
            "challenge": verdict.challenge(),
        },
        status=status,
    )
    response["Retry-After"] = str(verdict.retry_after)
    response["Cache-Control"] = "no-store"
    return response


def check_api(request: HttpRequest, scope: Scope) -> JsonResponse | None:
    """For an API view: None to go on, or the refusal to return."""
    verdict = check(request, scope, solution=request.headers.get(SOLUTION_HEADER))
    return None if verdict.allowed else api_refusal(verdict)
