"""Benchmarks run with `raidwatch bench NAME` (see docs/performance.md).

Each bench prints one JSON object per line with the keys of BENCH_KEYS. Benches
measure speed; the test suite checks only that they run and report correctly.
"""

from __future__ import annotations

# The output contract of every bench (ARCHITECTURE.md, `raidwatch bench NAME`).
BENCH_KEYS = ("bench", "goal", "metric", "value", "baseline", "ratio", "pass")
