"""Small measuring helpers shared by the workers and the studies: percentiles, peak memory, CPU
contention, and where a study writes its results."""

from __future__ import annotations

import json
import math
import os
import resource
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent.parent / "bench-results"


def say(line: str) -> None:
    """One line of a study's progress on stdout, at once."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def save_results(file_name: str, results: Any) -> Path:
    """Write a study's results as JSON under ``bench-results/`` and say where."""
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / file_name
    out.write_text(json.dumps(results, indent=1), encoding="utf-8")
    say(f"written to {out}")
    return out


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` in 0..1) of a non-empty sample."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def summarize_ms(samples_s: Sequence[float]) -> dict[str, float]:
    """p50/p95/max/mean in milliseconds of durations given in seconds."""
    if not samples_s:
        return {"n": 0}
    return {
        "n": len(samples_s),
        "p50_ms": round(percentile(samples_s, 0.50) * 1000, 2),
        "p95_ms": round(percentile(samples_s, 0.95) * 1000, 2),
        "max_ms": round(max(samples_s) * 1000, 2),
        "mean_ms": round(sum(samples_s) / len(samples_s) * 1000, 2),
    }


def peak_rss_mb() -> float:
    """This process's peak resident set size so far (Linux reports ru_maxrss in KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def current_rss_mb() -> float:
    """This process's resident set size now, from /proc."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return round(pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)


def busy_cores(window_s: float = 1.0) -> float:
    """Cores kept busy by *anything* during ``window_s`` (call it while the bench itself idles).

    The bench shares the machine; this is how much of it something else was using.
    """

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
        idle = fields[3] + fields[4]
        return sum(fields) - idle, sum(fields)

    busy0, total0 = sample()
    time.sleep(window_s)
    busy1, total1 = sample()
    cores = os.cpu_count() or 1
    return round(cores * (busy1 - busy0) / max(1, total1 - total0), 2)


class CpuWindow:
    """How many cores *other* processes used while a block ran: all busy CPU time on the
    machine minus this process's and its reaped children's CPU time."""

    def __init__(self) -> None:
        self._start = self._sample()

    @staticmethod
    def _sample() -> tuple[float, float, float]:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
        ticks = os.sysconf("SC_CLK_TCK")
        busy_s = (sum(fields) - fields[3] - fields[4]) / ticks
        ours = 0.0
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
            usage = resource.getrusage(who)
            ours += usage.ru_utime + usage.ru_stime
        return busy_s, ours, time.monotonic()

    def foreign_cores(self) -> float:
        """Average number of cores other processes kept busy since the window opened."""
        busy1, ours1, now1 = self._sample()
        busy0, ours0, now0 = self._start
        return round(max(0.0, (busy1 - busy0) - (ours1 - ours0)) / max(1e-6, now1 - now0), 2)
