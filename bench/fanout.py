"""G2 and G3: one alert fanned out to N Web Push subscribers through the outbox.

Three processes, all on loopback:

1. the caller (``raidwatch bench fanout``), which only starts the next one and
   turns its result into the contract lines;
2. the measuring process (``python -m bench.fanout measure``): raidwatch on a
   fresh data directory and SQLite database, exactly as a worker runs it;
3. the push service (``python -m bench.fanout push-service``):
   ``raidwatch.testing.fake_push``, which checks every request's VAPID
   signature and decrypts every payload with the subscriber's private key, as a
   browser would. It runs in its own process so that its decryption does not
   compete with the sender for one interpreter lock.

The measuring process stores N active Web Push subscriptions whose area holds
one incident's cell, then:

* times Web Push encryption alone (pywebpush's RFC 8291 aes128gcm, the call the
  transport makes, on a 200-byte payload, one thread) for a few seconds: the
  G3 baseline. It does this before and after the fan-out and uses the mean,
  since the machine's speed drifts during a run;
* creates the alert for the incident (``alert_for_incident``, as a verifier's
  confirmation does), writes its deliveries (``fan_out``) and sends them
  (``outbox.send_due`` until nothing is due), which is what the worker's
  ``fan_out_task`` does;
* reads each delivery's ``sent_at``, the moment the push service had accepted
  it, against the alert's ``sent_at``: G2's latency from alert to hand-over.

The push service then reports what it accepted and decrypted. Every subscriber
must have had exactly one message that decrypts to the alert's JSON.

SSE does not exist yet, so G2's SSE part is not measured, and neither is ntfy.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, Any

from bench import BENCH_KEYS
from bench.loadgen import percentile

REPO_ROOT = Path(__file__).resolve().parent.parent

MIN_RATIO = 0.5  # G3: fan-out at least half the rate of encryption alone
MAX_SECONDS = 2.0  # G2: the alert fully handed to Web Push within 2 s
PAYLOAD_BYTES = 200
# Encrypt to this many distinct subscribers in turn, as a fan-out would.
ENCRYPT_SUBSCRIBERS = 64
# Where the incident and every subscriber's area are (Whitechapel).
PLACE = (51.5155, -0.0723)
AREA_RADIUS_KM = 2.0
PAYLOAD_FIELDS = frozenset({"title", "body", "url", "unsubscribe", "topic"})
# Reasons fake_push gives when a body does not decrypt (decrypt_aes128gcm).
DECRYPT_REASON_MARKERS = ("decrypt", "record", "aes128gcm header", "key id", "sender's public key")

SETUP_TIMEOUT_S = 300.0  # migrating, key generation, storing subscriptions
PUSH_START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 15.0
RESULT_FILE = "fanout-result.json"
PROFILE_FILE = "fanout-profile.txt"

Progress = Callable[[str], None]


class HarnessError(RuntimeError):
    """The bench could not measure (a process failed or ran out of time)."""


@dataclass(frozen=True)
class FanoutOptions:
    subscribers: int = 5000
    # The sending may take this long at most; what is unsent by then counts as undelivered.
    duration_limit_s: float = 300.0
    encrypt_seconds: float = 2.0
    profile: bool = False
    work_dir: Path | None = None


@dataclass(frozen=True)
class FanoutRun:
    lines: list[dict[str, Any]]
    result: dict[str, Any]
    work_dir: Path


# --- the caller's side -------------------------------------------------------------


def _measure_env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "raidwatch.settings",
            "RAIDWATCH_DATA_DIR": str(data_dir),
            "RAIDWATCH_ENV": "embedded",
            "RAIDWATCH_DEBUG": "0",  # DEBUG keeps every query in memory
            # The fake push service listens on 127.0.0.1.
            "RAIDWATCH_ALLOW_PRIVATE_ENDPOINTS": "1",
        }
    )
    # A fresh embedded SQLite database, whatever the caller's shell points at.
    for name in ("DATABASE_URL", "DATABASE_URL_FILE"):
        env.pop(name, None)
    return env


def _forward(stream: IO[bytes], progress: Progress) -> None:
    for raw in stream:
        progress(raw.decode("utf-8", "replace").rstrip("\n"))


def _run_measure(options: FanoutOptions, work: Path, progress: Progress) -> dict[str, Any]:
    data_dir = work / "raidwatch"
    # Fresh every time, also in a kept --work-dir: an earlier run's subscribers
    # would be alerted too, at a push service that is gone.
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir()
    out = work / RESULT_FILE
    argv = [sys.executable, "-m", "bench.fanout", "measure", "--subscribers", str(options.subscribers)]
    argv += [
        "--duration-limit",
        str(options.duration_limit_s),
        "--encrypt-seconds",
        str(options.encrypt_seconds),
    ]
    argv += ["--out", str(out)]
    if options.profile:
        argv += ["--profile", str(work / PROFILE_FILE)]
    timeout = SETUP_TIMEOUT_S + options.duration_limit_s + 4 * options.encrypt_seconds + 60
    process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        argv, cwd=REPO_ROOT, env=_measure_env(data_dir), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert process.stderr is not None  # noqa: S101 - for the type checker: stderr=PIPE
    reader = threading.Thread(target=_forward, args=(process.stderr, progress), daemon=True)
    reader.start()
    try:
        status = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise HarnessError(f"the measuring process ran past {timeout:.0f} s and was stopped") from None
    finally:
        reader.join(timeout=5)
    if status != 0:
        raise HarnessError(f"the measuring process failed with status {status} (see the lines above)")
    try:
        result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise HarnessError(f"the measuring process left no result: {exc}") from None
    return result


def _line(
    goal: str, metric: str, value: float | None, baseline: float | None, ratio: float | None, passed: bool
) -> dict[str, Any]:
    return dict(zip(BENCH_KEYS, ("fanout", goal, metric, value, baseline, ratio, passed), strict=True))


def result_lines(result: dict[str, Any]) -> list[dict[str, Any]]:
    subscribers = result["subscribers"]
    push = result["push"]
    delivered = push["decrypted_subscribers"]
    all_delivered = delivered == subscribers and push["duplicates"] == 0 and push["bad_payloads"] == 0
    encrypt = result["encrypt_per_s"]
    if not encrypt:
        raise HarnessError("the encrypt-only baseline measured nothing")
    rate = result["deliveries_per_s"]
    ratio = rate / encrypt
    lines = [
        _line(
            "G3",
            "deliveries_per_s",
            round(rate, 1),
            round(encrypt, 1),
            round(ratio, 4),
            ratio >= MIN_RATIO and all_delivered,
        )
    ]
    for metric, seconds in (
        ("total_s_to_push", result["total_s"]),
        ("p99_s_to_push", result["latency_p99_s"]),
    ):
        # None when not everything (total) or nothing (p99) was handed over in
        # time: there is no figure to give, and the line fails.
        if seconds is None:
            lines.append(_line("G2", metric, None, MAX_SECONDS, None, False))
        else:
            passed = seconds <= MAX_SECONDS and all_delivered
            lines.append(
                _line("G2", metric, round(seconds, 3), MAX_SECONDS, round(seconds / MAX_SECONDS, 4), passed)
            )
    return [
        *lines,
        _line("G3", "delivered", delivered, subscribers, round(delivered / subscribers, 4), all_delivered),
        # Bounds of zero: a ratio to them means nothing.
        _line("G3", "decrypt_failures", push["decrypt_failures"], 0, None, push["decrypt_failures"] == 0),
        _line("G3", "push_rejections", push["rejections"], 0, None, push["rejections"] == 0),
    ]


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} s"


def _describe(result: dict[str, Any]) -> list[str]:
    push = result["push"]
    rounds = ", ".join(f"{rate:.0f}" for rate in result["encrypt_rounds"])
    return [
        f"encrypt only: {result['encrypt_per_s']:.0f} messages/s (rounds: {rounds};"
        f" CPU-time rate {result['encrypt_per_cpu_s']:.0f}/s)",
        f"fan-out: {result['created']} deliveries written in {result['fan_out_s']:.2f} s, sent in"
        f" {result['send_s']:.2f} s = {result['deliveries_per_s']:.0f}/s"
        f" ({result['deliveries_per_s'] / result['encrypt_per_s']:.3f} of encryption alone);"
        f" sender CPU {result['sender_cpu_ms_per_delivery']:.2f} ms per delivery",
        f"alert → push service: p50 {_seconds(result['latency_p50_s'])},"
        f" p99 {_seconds(result['latency_p99_s'])}, all {_seconds(result['total_s'])}"
        f" (by the outbox's sent_at: p99 {_seconds(result['recorded_p99_s'])},"
        f" last {_seconds(result['recorded_last_s'])}); delivery statuses {result['statuses']}",
        f"push service: {push['accepted']} accepted, {push['decrypted_subscribers']} subscribers decrypted,"
        f" {push['rejections']} rejected ({push['decrypt_failures']} not decrypting), {push['duplicates']}"
        f" duplicates, payload {push['payload_bytes_mean']:.0f} bytes,"
        f" CPU {push['cpu_ms_per_request']:.2f} ms per request; rejection reasons {push['reasons']}",
        "not measured: G2's SSE and ntfy hand-over (no SSE endpoint exists yet)",
    ]


def run_fanout(options: FanoutOptions, progress: Progress) -> FanoutRun:
    """Run the measuring process and return the contract lines."""
    if options.subscribers < 1 or options.duration_limit_s <= 0 or options.encrypt_seconds <= 0:
        raise HarnessError("subscribers must be at least 1 and the time limits positive")
    with contextlib.ExitStack() as stack:
        if options.work_dir is not None:
            work = options.work_dir.resolve()
            work.mkdir(parents=True, exist_ok=True)
        else:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="raidwatch-bench-")))
        progress(f"fanout: {options.subscribers} Web Push subscribers on a fresh database in {work}")
        result = _run_measure(options, work, progress)
        for text in _describe(result):
            progress(text)
        return FanoutRun(result_lines(result), result, work)
    raise AssertionError("unreachable")  # pragma: no cover - ExitStack does not swallow exceptions


# --- the push service process --------------------------------------------------------


class _TimedList(list[Any]):
    """``FakePushService.received`` that also notes when each message was accepted:
    the moment raidwatch has handed it to Web Push (G2)."""

    def __init__(self) -> None:
        super().__init__()
        self.accepted_at: list[float] = []

    def append(self, item: Any) -> None:
        # Called under the service's lock, so both lists stay in step.
        self.accepted_at.append(time.time())
        super().append(item)


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _push_stats(service: Any, cpu_at_ready: float) -> dict[str, Any]:
    received = list(service.received)
    accepted_at = list(service.received.accepted_at)[: len(received)]
    rejected = list(service.rejected)
    per_subscriber = Counter(message.subscription_id for message in received)
    bad = 0
    for message in received:
        try:
            fields = message.json()
        except ValueError:
            fields = None
        if not isinstance(fields, dict) or set(fields) != PAYLOAD_FIELDS:
            bad += 1
    first: dict[str, float] = {}
    for message, at in zip(received, accepted_at, strict=True):
        first.setdefault(message.subscription_id, at)
    requests_seen = len(received) + len(rejected)
    # Since the subscriptions were made: key generation and imports are not serving.
    cpu_s = _cpu_s() - cpu_at_ready
    return {
        "accepted": len(received),
        "decrypted_subscribers": len(per_subscriber),
        "duplicates": sum(count - 1 for count in per_subscriber.values()),
        "bad_payloads": bad,
        "rejections": len(rejected),
        "decrypt_failures": sum(
            any(marker in rejection.reason for marker in DECRYPT_REASON_MARKERS) for rejection in rejected
        ),
        "reasons": dict(Counter(rejection.reason for rejection in rejected).most_common(5)),
        "payload_bytes_mean": statistics.fmean(len(m.payload) for m in received) if received else 0.0,
        "cpu_s": cpu_s,
        "cpu_ms_per_request": cpu_s * 1000 / requests_seen if requests_seen else 0.0,
        # When each subscriber's first message was accepted (wall clock, seconds).
        "first_accepted_at": list(first.values()),
    }


def serve_push(count: int, application_server_key: str, max_seconds: float) -> None:
    """Create ``count`` subscriptions, print them, then answer "stats" and "stop" on stdin."""
    from raidwatch.testing.fake_push import FakePushService

    # Stop by ourselves whatever happens to the process that started us.
    watchdog = threading.Timer(max_seconds, os._exit, args=(3,))
    watchdog.daemon = True
    watchdog.start()
    with FakePushService() as service:
        service.received = _TimedList()
        subscriptions = [service.new_subscription(application_server_key) for _ in range(count)]
        cpu_at_ready = _cpu_s()
        print(json.dumps({"url": service.url, "subscriptions": subscriptions}), flush=True)
        for line in sys.stdin:
            command = line.strip()
            if command == "stats":
                print(json.dumps(_push_stats(service, cpu_at_ready)), flush=True)
            elif command == "stop":
                break


class _PushProcess:
    """The push-service process, from the measuring process's side."""

    def __init__(self, count: int, application_server_key: str, max_seconds: float) -> None:
        argv = [sys.executable, "-m", "bench.fanout", "push-service", "--subscriptions", str(count)]
        argv += ["--application-server-key", application_server_key, "--max-seconds", str(max_seconds)]
        self.process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
            argv, cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        self.subscriptions: list[dict[str, Any]] = self._read()["subscriptions"]

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None  # noqa: S101 - stdout=PIPE
        line = self.process.stdout.readline()
        if not line:
            raise HarnessError(f"the push service exited with status {self.process.wait()}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def stats(self) -> dict[str, Any]:
        assert self.process.stdin is not None  # noqa: S101 - stdin=PIPE
        self.process.stdin.write(b"stats\n")
        self.process.stdin.flush()
        return self._read()

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                assert self.process.stdin is not None  # noqa: S101 - stdin=PIPE
                self.process.stdin.write(b"stop\n")
                self.process.stdin.close()
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def _push_service(count: int, application_server_key: str, max_seconds: float) -> Iterator[_PushProcess]:
    push = _PushProcess(count, application_server_key, max_seconds)
    try:
        yield push
    finally:
        push.stop()


# --- the measuring process ---------------------------------------------------------


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def encrypt_rate(subscriptions: list[dict[str, Any]], seconds: float) -> tuple[float, float]:
    """(messages per wall second, per CPU second) of pywebpush's aes128gcm encryption alone."""
    from pywebpush import WebPusher  # type: ignore[import-untyped]

    pushers = [WebPusher(info) for info in subscriptions[:ENCRYPT_SUBSCRIBERS]]
    payload = b"x" * PAYLOAD_BYTES
    for pusher in pushers[:8]:  # warm-up: first-call costs are not the steady rate
        pusher.encode(payload, "aes128gcm")
    count = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    while True:
        for pusher in pushers:
            pusher.encode(payload, "aes128gcm")
        count += len(pushers)
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            break
    cpu = time.process_time() - cpu_started
    return count / elapsed, count / cpu if cpu else 0.0


def _store_subscriptions(subscriptions: list[dict[str, Any]]) -> None:
    """Active Web Push subscriptions as ``subscribe()`` stores them, in bulk."""
    from django.db import transaction
    from django.utils import timezone

    from raidwatch.channels.registry import transport
    from raidwatch.lib import crypto
    from raidwatch.subscriptions.areas import resolve_area
    from raidwatch.subscriptions.models import Level, Subscription, SubscriptionCell, SubscriptionStatus

    area = resolve_area({"lat": PLACE[0], "lon": PLACE[1], "radius_km": AREA_RADIUS_KM})
    webpush = transport("webpush")
    now = timezone.now()
    for start in range(0, len(subscriptions), 500):
        rows = []
        for info in subscriptions[start : start + 500]:
            contact = {"endpoint": info["endpoint"], "keys": info["keys"]}
            rows.append(
                Subscription(
                    channel="webpush",
                    language="en",
                    level=Level.VERIFIED,
                    status=SubscriptionStatus.ACTIVE,
                    area_kind=area.kind,
                    area_label=area.label,
                    contact_sealed=crypto.seal_contact(contact),
                    contact_lookup=crypto.contact_lookup("webpush", webpush.normalise_address(contact)),
                    created_at=now,
                )
            )
        with transaction.atomic():
            Subscription.objects.bulk_create(rows)
            SubscriptionCell.objects.bulk_create(
                SubscriptionCell(cell=cell, subscription=row) for row in rows for cell in area.cells
            )


class _Sampler(threading.Thread):
    """A small all-thread stack sampler (cProfile sees only the thread it runs
    in, and the outbox sends from a pool). Every few ms it notes each thread's
    innermost frame (self time) and every function on its stack (inclusive)."""

    def __init__(self, interval_s: float = 0.005) -> None:
        super().__init__(name="bench-sampler", daemon=True)
        self.interval_s = interval_s
        self.leaf: Counter[str] = Counter()
        self.inclusive: Counter[str] = Counter()
        self.threads: Counter[str] = Counter()
        self.samples = 0
        self._stop_event = threading.Event()

    @staticmethod
    def _where(frame: FrameType) -> str:
        code = frame.f_code
        path = code.co_filename
        short = (
            path.split("site-packages/")[-1]
            if "site-packages/" in path
            else path.replace(str(REPO_ROOT) + "/", "")
        )
        return f"{short}:{code.co_name}"

    def run(self) -> None:
        names = {}
        while not self._stop_event.wait(self.interval_s):
            names = {thread.ident: thread.name for thread in threading.enumerate()}
            for ident, frame in sys._current_frames().items():
                if ident == self.ident:
                    continue
                self.samples += 1
                self.threads[names.get(ident, "?").rsplit("_", 1)[0]] += 1
                self.leaf[self._where(frame)] += 1
                seen = set()
                current: FrameType | None = frame
                while current is not None:
                    seen.add(self._where(current))
                    current = current.f_back
                self.inclusive.update(seen)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)

    def report(self) -> str:
        total = max(self.samples, 1)
        every = f"{self.interval_s * 1000:g} ms"
        lines = [f"{self.samples} wall-clock samples of every thread, idle ones too, each {every}"]
        lines.append(f"by thread: {dict(self.threads)}")
        for title, counter in (
            ("innermost frame (self)", self.leaf),
            ("on the stack (inclusive)", self.inclusive),
        ):
            lines.append(f"\n--- {title}, share of all thread samples ---")
            lines += [f"{count * 100 / total:6.1f} %  {where}" for where, count in counter.most_common(45)]
        return "\n".join(lines) + "\n"


def _fan_out(duration_limit_s: float, profile_path: Path | None) -> dict[str, Any]:
    """One alert through the outbox, as the worker's fan_out_task runs it."""
    import gc

    from django.db import transaction
    from django.utils import timezone

    from raidwatch.alerts import outbox
    from raidwatch.alerts.actions import alert_for_incident, fan_out
    from raidwatch.alerts.models import Delivery, DeliveryStatus, Event
    from raidwatch.incidents.models import Incident, Kind, Status
    from raidwatch.lib import geo

    now = timezone.now()
    incident = Incident.objects.create(
        status=Status.CONFIRMED,
        kind=Kind.VAN_SIGHTING,
        cell=geo.point_to_cell(*PLACE),
        place="Bench Street market",
        opened_at=now,
        updated_at=now,
        last_report_at=now,
        report_count=1,
        corroborations=1,
    )
    sampler = _Sampler() if profile_path else None
    gc.collect()
    if sampler:
        sampler.start()
    cpu_started, started = time.process_time(), time.perf_counter()
    with transaction.atomic():
        alert = alert_for_incident(incident, Event.CONFIRMED)
    created = fan_out(alert.pk)
    fanned = time.perf_counter()
    deadline = fanned + duration_limit_s
    sent = 0
    while time.perf_counter() < deadline:
        totals = outbox.send_due()
        sent += totals["sent"]
        if sent >= created or not any(totals.values()):
            break
    finished = time.perf_counter()
    cpu = time.process_time() - cpu_started
    if sampler and profile_path:
        sampler.stop()
        profile_path.write_text(sampler.report(), encoding="utf-8")
    alert.refresh_from_db()
    deliveries = Delivery.objects.filter(alert=alert)
    # When the outbox recorded each as sent: after its whole batch, so later
    # than the hand-over the push service saw; kept to show the difference.
    recorded = sorted(
        (sent_at - alert.sent_at).total_seconds()
        for sent_at in deliveries.filter(status=DeliveryStatus.SENT).values_list("sent_at", flat=True)
        if sent_at is not None
    )
    return {
        "created": created,
        "sent": len(recorded),
        "statuses": dict(Counter(deliveries.values_list("status", flat=True))),
        "error_samples": list(deliveries.exclude(last_error="").values_list("last_error", flat=True)[:3]),
        "alert_sent_at": alert.sent_at.timestamp(),
        "fan_out_s": fanned - started,  # the alert and its delivery rows
        "send_s": finished - fanned,
        "sender_cpu_s": cpu,
        "recorded_p99_s": percentile(recorded, 0.99) if recorded else None,
        "recorded_last_s": recorded[-1] if recorded else None,
    }


def _step_costs(subscriptions: int, sample: int = 200) -> dict[str, tuple[float, float]]:
    """Single-threaded cost of each step the outbox takes per delivery, (wall, CPU)
    in ms, over ``sample`` of the subscriptions just alerted (for --profile)."""
    from raidwatch.alerts.models import Alert, Delivery
    from raidwatch.alerts.text import render
    from raidwatch.channels.base import OutboundMessage
    from raidwatch.channels.registry import transport
    from raidwatch.lib import crypto
    from raidwatch.subscriptions.actions import manage_token
    from raidwatch.subscriptions.models import Subscription

    alert = Alert.objects.order_by("-id").first()
    assert alert is not None  # noqa: S101 - the fan-out just made one
    rows = list(Subscription.objects.all()[: min(sample, subscriptions)])
    webpush = transport("webpush")
    costs: dict[str, tuple[float, float]] = {}

    def timed(name: str, step: Callable[[Subscription], object]) -> list[object]:
        started, cpu_started = time.perf_counter(), time.thread_time()
        results = [step(row) for row in rows]
        wall, cpu = time.perf_counter() - started, time.thread_time() - cpu_started
        costs[name] = (wall * 1000 / len(rows), cpu * 1000 / len(rows))
        return results

    contacts = timed(
        "open_contact (sealed contact → push subscription)",
        lambda row: crypto.open_contact(bytes(row.contact_sealed)),
    )
    base = render(alert, "en", unsubscribe_url="")
    messages = timed(
        "render + manage_token (the message per subscriber)",
        lambda row: OutboundMessage(
            text=base.text,
            title=base.title,
            url=base.url,
            unsubscribe_url=manage_token(row.pk),
            topic=base.topic,
        ),
    )
    pairs = iter(zip(contacts, messages, strict=True))
    timed("transport.send (encrypt, POST, push service answers)", lambda row: webpush.send(*next(pairs)))  # type: ignore[arg-type]
    delivery_ids = list(Delivery.objects.filter(alert=alert).values_list("id", flat=True)[: len(rows)])
    ids = iter(delivery_ids)
    timed(
        "one UPDATE of a delivery row (as _finish does)",
        lambda row: Delivery.objects.filter(pk=next(ids)).update(last_error=""),
    )
    return costs


def measure(
    count: int, duration_limit_s: float, encrypt_seconds: float, out: Path, profile: Path | None
) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    from raidwatch.channels.webpush import vapid

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    _say(f"measure: fresh database migrated in {time.perf_counter() - started:.1f} s")
    # The push service must outlive everything that follows, and no more.
    lifetime = SETUP_TIMEOUT_S + duration_limit_s + 4 * encrypt_seconds
    with _push_service(count, vapid.public_key_b64url(), lifetime) as push:
        _store_subscriptions(push.subscriptions)
        _say(f"measure: {count} subscriptions stored; timing encryption alone for {encrypt_seconds:g} s")
        before = encrypt_rate(push.subscriptions, encrypt_seconds)
        _say(f"measure: alert → fan_out → send_due, at most {duration_limit_s:g} s of sending")
        result = _fan_out(duration_limit_s, profile)
        after = encrypt_rate(push.subscriptions, encrypt_seconds)
        push_stats = push.stats()
        if profile:
            # After the stats: these sends reach the push service too.
            costs = _step_costs(count)
            with profile.open("a", encoding="utf-8") as text:
                text.write("\n--- single-threaded cost per delivery of each step: wall ms, CPU ms ---\n")
                text.writelines(f"{wall:8.3f} {cpu:8.3f}  {step}\n" for step, (wall, cpu) in costs.items())
                encrypt_ms = 1000 / statistics.fmean([before[1], after[1]])
                text.write(f"{encrypt_ms:8.3f} {encrypt_ms:8.3f}  encryption alone (the G3 baseline)\n")
    # G2's clock: from the alert's creation to the push service accepting each
    # subscriber's message (both wall clocks of this machine).
    handed = sorted(at - result["alert_sent_at"] for at in push_stats.pop("first_accepted_at"))
    send_s = result["send_s"]
    result.update(
        subscribers=count,
        encrypt_rounds=[before[0], after[0]],
        encrypt_per_s=statistics.fmean([before[0], after[0]]),
        encrypt_per_cpu_s=statistics.fmean([before[1], after[1]]),
        deliveries_per_s=result["sent"] / send_s if send_s else 0.0,
        sender_cpu_ms_per_delivery=result["sender_cpu_s"] * 1000 / max(result["sent"], 1),
        latency_p50_s=percentile(handed, 0.5) if handed else None,
        latency_p99_s=percentile(handed, 0.99) if handed else None,
        # Only meaningful once every subscriber has had the alert.
        total_s=handed[-1] if len(handed) == count else None,
        push=push_stats,
    )
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fanout", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("measure", help="the measuring process (needs the environment run_fanout sets)")
    run.add_argument("--subscribers", type=int, required=True)
    run.add_argument("--duration-limit", type=float, required=True)
    run.add_argument("--encrypt-seconds", type=float, required=True)
    run.add_argument("--out", type=Path, required=True)
    run.add_argument("--profile", type=Path, default=None, help="write an all-thread stack profile here")
    push = commands.add_parser("push-service", help="the fake push service process")
    push.add_argument("--subscriptions", type=int, required=True)
    push.add_argument("--application-server-key", required=True)
    push.add_argument("--max-seconds", type=float, required=True)
    args = parser.parse_args(argv)
    if args.command == "measure":
        measure(args.subscribers, args.duration_limit, args.encrypt_seconds, args.out, args.profile)
    else:
        serve_push(args.subscriptions, args.application_server_key, args.max_seconds)


if __name__ == "__main__":
    main()
