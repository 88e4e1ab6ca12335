"""Child processes: run a bench worker or a command, timed, with that child's own peak memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULT_MARK = "BENCH-RESULT "
# Every child sees the same quiet, offline environment; OMP_NUM_THREADS only where a check sets it.
BASE_ENV = {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONUNBUFFERED": "1"}


class WorkerError(RuntimeError):
    """A bench worker exited with an error or printed no result."""


@dataclass(frozen=True)
class ChildRun:
    """A finished child process: exit code, wall time, peak RSS and its output."""

    returncode: int
    wall_s: float
    peak_rss_mb: float
    stdout: str
    stderr: str


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    env.update(BASE_ENV)
    env.update(extra or {})
    return env


def run_child(
    argv: list[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout_s: float = 1800,
    show_stderr: bool = False,
) -> ChildRun:
    """Run ``argv`` to completion; wall time and peak RSS come from ``wait4`` on that one child.

    Output goes to temporary files rather than pipes so that the child can never block on a full
    pipe while we sit in ``wait4``. ``show_stderr`` passes the child's stderr (progress) through.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=child_env(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=None if show_stderr else err,
        )
        deadline = started + timeout_s
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.005)
        wall_s = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return ChildRun(
            process.returncode, wall_s, round(usage.ru_maxrss / 1024, 1), out.read(), err.read()
        )


def run_worker(
    task: str,
    args: Mapping[str, Any],
    *,
    env: Mapping[str, str] | None = None,
    show_stderr: bool = False,
) -> Any:
    """Run ``python -m bench.worker TASK ARGS`` in a fresh process and return its JSON result.

    The result gains ``child_wall_s`` and ``child_peak_rss_mb`` when it is a dict.
    """
    argv = [sys.executable, "-m", "bench.worker", task, json.dumps(dict(args))]
    run = run_child(argv, env=env, show_stderr=show_stderr)
    lines = [line for line in run.stdout.splitlines() if line.startswith(RESULT_MARK)]
    if run.returncode != 0 or not lines:
        tail = "\n".join(run.stderr.strip().splitlines()[-8:])
        raise WorkerError(f"worker {task} failed (exit {run.returncode}):\n{tail}")
    result = json.loads(lines[-1][len(RESULT_MARK) :])
    if isinstance(result, dict):
        result["child_wall_s"] = round(run.wall_s, 2)
        result["child_peak_rss_mb"] = run.peak_rss_mb
    return result


@contextmanager
def busy_core() -> Iterator[int]:
    """Keep one core busy with a pure-Python spin loop for the duration of the block."""
    process = subprocess.Popen(
        [sys.executable, "-c", "while True:\n    pass"], stdin=subprocess.DEVNULL
    )
    try:
        time.sleep(0.3)  # let it get scheduled before measuring
        yield process.pid
    finally:
        process.kill()
        process.wait()
