"""Study (issue 13): which FAISS index holds a million passage vectors within the targets.

Synthetic vectors, labelled as such: 384 dimensions (both spaces' size), drawn around random
topic centres, ``--per-topic`` vectors to a centre (a news archive is many stories of a few
paragraphs each, not uniform noise; the figures depend on this choice), L2-normalised;
questions are stored vectors moved by noise of the size that separates a question from its
paragraph in e5 (cosine about 0.85). Each index is measured in this one process, one after
another: build time, bytes on disk (``faiss.write_index``), the growth of the process's RSS once
it is built (what the index holds), one question at a time on one thread (the bot answers each
question on one: ``index.blas``) for p50 / p95, and recall@10 against the exact search.

    .venv/bin/python -m bench.faiss_scale                 # 1,000,000 vectors
    .venv/bin/python -m bench.faiss_scale --size 200000   # quicker

Not wired into the store yet: its output is the evidence for which index the store should build
for a big segment.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from bench.measure import current_rss_mb, peak_rss_mb, save_results, say, summarize_ms

DIMENSION = 384
QUESTIONS = 500
K = 10


def synthetic(size: int, per_topic: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``size`` stored vectors around ``size / per_topic`` centres and ``QUESTIONS`` questions
    near some of them."""
    rng = np.random.default_rng(seed)
    topics = max(1, size // per_topic)
    centres = rng.standard_normal((topics, DIMENSION), dtype=np.float32)
    vectors = np.empty((size, DIMENSION), dtype=np.float32)
    step = 100_000
    for start in range(0, size, step):
        n = min(step, size - start)
        topic = rng.integers(0, topics, n)
        chunk = centres[topic] + 0.9 * rng.standard_normal((n, DIMENSION), dtype=np.float32)
        vectors[start : start + n] = chunk / np.linalg.norm(chunk, axis=1, keepdims=True)
    picked = rng.choice(size, QUESTIONS, replace=False)
    questions = vectors[picked] + 0.034 * rng.standard_normal((QUESTIONS, DIMENSION), np.float32)
    questions /= np.linalg.norm(questions, axis=1, keepdims=True)
    return vectors, questions


def _measure(
    name: str,
    make: Callable[[], Any],
    questions: np.ndarray,
    exact: np.ndarray | None,
    tune: Callable[[Any, int], None] | None = None,
    settings: tuple[int, ...] = (0,),
) -> list[dict[str, Any]]:
    rss_before = current_rss_mb()
    started = time.perf_counter()
    index = make()
    build_s = time.perf_counter() - started
    rss_growth = current_rss_mb() - rss_before  # what the index holds, the vectors' copy aside
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "index.faiss"
        faiss.write_index(index, str(file))
        disk_mb = file.stat().st_size / 1e6
    rows = []
    faiss.omp_set_num_threads(1)
    for setting in settings:
        if tune is not None:
            tune(index, setting)
        index.search(questions[:20], K)  # warm
        latencies, found = [], []
        for question in questions:
            started = time.perf_counter()
            _, ids = index.search(question[None, :], K)
            latencies.append(time.perf_counter() - started)
            found.append(ids[0])
        found_ids = np.stack(found)
        recall = (
            1.0
            if exact is None
            else float(
                np.mean([len(set(a) & set(b)) / K for a, b in zip(found_ids, exact, strict=True)])
            )
        )
        timing = summarize_ms(latencies)
        rows.append(
            {
                "index": name,
                "setting": setting,
                "build_s": round(build_s, 1),
                "disk_mb": round(disk_mb),
                "rss_mb": round(rss_growth),
                "p50_ms": timing["p50_ms"],
                "p95_ms": timing["p95_ms"],
                "recall@10": round(recall, 4),
            }
        )
        say(json.dumps(rows[-1]))
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    del index
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--lists", type=int, default=4096, help="inverted lists (IVF)")
    parser.add_argument("--per-topic", type=int, default=20, help="vectors per topic centre")
    parser.add_argument("--hnsw", action="store_true", help="also HNSW (slow to build)")
    options = parser.parse_args(argv)
    vectors, questions = synthetic(options.size, options.per_topic)
    say(
        f"{options.size} synthetic vectors, {options.per_topic} per topic, "
        f"peak RSS {peak_rss_mb():.0f} MB"
    )
    results: list[dict[str, Any]] = []

    def flat() -> Any:
        index = faiss.IndexFlatIP(DIMENSION)
        index.add(vectors)
        return index

    exact_index = flat()
    exact = exact_index.search(questions, K)[1]
    del exact_index
    results += _measure("Flat (exact)", flat, questions, None)
    sample = vectors[np.random.default_rng(1).choice(len(vectors), 50 * options.lists)]

    def ivf(code: str) -> Callable[[], Any]:
        def make() -> Any:
            index = faiss.index_factory(
                DIMENSION, f"IVF{options.lists},{code}", faiss.METRIC_INNER_PRODUCT
            )
            index.train(sample)
            index.add(vectors)
            return index

        return make

    def nprobe(index: Any, value: int) -> None:
        index.nprobe = value

    for code in ("Flat", "SQ8"):
        name, probes = f"IVF{options.lists},{code}", (16, 32, 64, 128, 256)
        results += _measure(name, ivf(code), questions, exact, nprobe, probes)
    if options.hnsw:

        def hnsw() -> Any:
            index = faiss.IndexHNSWFlat(DIMENSION, 32, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = 40
            index.add(vectors)
            return index

        def ef_search(index: Any, value: int) -> None:
            index.hnsw.efSearch = value

        def hnsw_sq8() -> Any:
            index = faiss.index_factory(DIMENSION, "HNSW32,SQ8", faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = 40
            index.train(sample)
            index.add(vectors)
            return index

        for name, make in (("HNSW32,Flat", hnsw), ("HNSW32,SQ8", hnsw_sq8)):
            results += _measure(name, make, questions, exact, ef_search, (32, 64, 128, 256))
    save_results(f"faiss-scale-{options.size}-{options.per_topic}.json", results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
