"""Study (issue 13): what adding one 10-paragraph article costs as the index grows.

For each size, an index of that many passages is built with stand-in embedders that carry the
real models' names and sizes but make vectors from a hash of the text (synthetic vectors, so
that 100,000 passages take minutes, not days); then the real models add one new real article
(`bench.corpus` text), as a running bot would, and the update is timed: the whole
``update_index`` (build and hot swap, BM25 included), the part spent in the real models, and
the rest (hashing every article, names and words, writing the snapshot, serving it). As in a
running bot, the engine has read the folder once before (its reader keeps the parses of unchanged
files).

    .venv/bin/python -m bench.update_scale                      # 1,000 / 10,000 / 100,000
    .venv/bin/python -m bench.update_scale --sizes 1000,10000   # quicker
    .venv/bin/python -m bench.update_scale --repeat 6           # six updates per size
    .venv/bin/python -m bench.update_scale --asks 120           # and warm questions at each size

With ``--repeat N`` each size adds N articles one after another and reports the median and the
range of each time (the machine's speed drifts: the models' share varied 0.7-1.4 s in one day).
With ``--asks N`` a fresh engine with the real models then answers N reader questions
(``eval/reader_xquad.jsonl``, half of them Russian) after 5 to warm up, one at a time: what a
question costs at that size (the answers themselves mean nothing over synthetic vectors).

With the segmented store an update writes one small segment and a manifest (``written_mb``), so
what is left to grow with the archive is what the engine does per update over all passages
(reading the articles folder, hashing, BM25, the new snapshot's bookkeeping).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.corpus import generate, write_articles
from bench.measure import save_results, say, summarize_ms
from index.articles import RACY_NS
from index.build import build_index
from index.config import Settings
from index.embedders import Embedder
from index.engine import NewsEngine, load_embedders


class _HashVectors:
    """An embedder with a real one's name and size whose vectors come from a hash of the text."""

    def __init__(self, real: Embedder) -> None:
        self.name, self.dimension, self.multilingual = real.name, real.dimension, real.multilingual

    def fits(self, text: str) -> bool:
        return True

    def _vectors(self, texts: Sequence[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
            vector = np.random.default_rng(seed).standard_normal(self.dimension)
            out[row] = vector / np.linalg.norm(vector)
        return out

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._vectors(texts)

    def embed_queries(self, texts: Sequence[str], *, bulk: bool = False) -> np.ndarray:
        return self._vectors(texts)

    def embed_query(self, text: str) -> np.ndarray:
        vector: np.ndarray = self._vectors([text])[0]
        return vector


class _Timed:
    """A real embedder that adds up the seconds spent in it."""

    def __init__(self, real: Embedder) -> None:
        self._real = real
        self.seconds = 0.0
        self.name, self.dimension, self.multilingual = real.name, real.dimension, real.multilingual

    def fits(self, text: str) -> bool:
        return self._real.fits(text)

    def _timed(self, method: str, texts: Any, **options: Any) -> np.ndarray:
        started = time.perf_counter()
        try:
            return np.asarray(getattr(self._real, method)(texts, **options))
        finally:
            self.seconds += time.perf_counter() - started

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._timed("embed_passages", texts)

    def embed_queries(self, texts: Sequence[str], *, bulk: bool = False) -> np.ndarray:
        return self._timed("embed_queries", texts, bulk=bulk)

    def embed_query(self, text: str) -> np.ndarray:
        return self._timed("embed_query", text)


def _disk_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6


READER_QUESTIONS = Path(__file__).resolve().parent.parent / "eval" / "reader_xquad.jsonl"


def measure(
    size: int, real: list[Embedder], new_article_seed: int, repeat: int = 1, asks: int = 0
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="newsbot-update-") as tmp:
        articles_dir, index_dir = Path(tmp) / "articles", Path(tmp) / "index"
        write_articles(generate(size // 10), articles_dir)
        written = started = time.perf_counter()
        build_index(articles_dir, index_dir, [_HashVectors(e) for e in real])
        synthetic_build_s = time.perf_counter() - started
        timed = [_Timed(e) for e in real]
        engine = NewsEngine(Settings(articles_dir=articles_dir, index_dir=index_dir), timed)
        started = time.perf_counter()
        engine.reload()
        reload_s = time.perf_counter() - started
        # As in a running bot, whose start-up update has read every file: the engine's reader
        # keeps the parses of files older than its racy window, so they wait it out first.
        time.sleep(max(0.0, RACY_NS / 1e9 + 0.1 - (time.perf_counter() - written)))
        engine.update_index()
        runs: list[tuple[float, float]] = []  # (update, models) seconds
        for number in range(repeat):
            # A new story: its paragraphs, with a dateline, are in no article yet (the generator
            # recombines the same sources, so a bare paragraph may repeat one already indexed).
            new = generate(1, seed=new_article_seed + 1000 * number, prefix=f"new{number}-")[0]
            dated = tuple(f"REYKJAVIK, day {i}: {text}" for i, text in enumerate(new.passages, 1))
            write_articles([dataclasses.replace(new, passages=dated)], articles_dir)
            for embedder in timed:
                embedder.seconds = 0.0
            wall = time.time()
            started = time.perf_counter()
            report = engine.update_index()
            runs.append((time.perf_counter() - started, sum(e.seconds for e in timed)))
        written_bytes = sum(
            f.stat().st_size
            for f in index_dir.rglob("*")
            if f.is_file() and f.stat().st_mtime >= wall
        )
        questions = _warm_asks(NewsEngine(engine.settings, real), asks) if asks else {}
        return {
            "passages": size,
            "vectors": "synthetic (hash of the text); the new article's real",
            "synthetic_build_s": round(synthetic_build_s, 1),
            "reload_s": round(reload_s, 2),
            "updates": repeat,
            "update_s": _spread([update for update, _ in runs]),
            "embedding_s": _spread([models for _, models in runs]),
            "rest_s": _spread([update - models for update, models in runs]),
            "passages_embedded": report.embedded,
            "written_mb": round(written_bytes / 1e6, 2),  # by the last update
            "segments": len(engine.retriever.snapshot.parts),
            "snapshot_mb": round(_disk_mb(index_dir), 1),
            "served_passages": len(engine.retriever.snapshot.passages),
            **questions,
        }


def _warm_asks(engine: NewsEngine, asks: int) -> dict[str, Any]:
    """Latency of ``asks`` reader questions, one at a time, after five to warm up."""
    engine.reload()
    lines = READER_QUESTIONS.read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["question"] for line in lines if line.strip()]
    for question in questions[:5]:
        engine.ask(question)
    seconds = []
    for number in range(asks):
        started = time.perf_counter()
        engine.ask(questions[number % len(questions)])
        seconds.append(time.perf_counter() - started)
    return {"asks": summarize_ms(seconds)}


def _spread(seconds: list[float]) -> float | dict[str, float]:
    """One time as it is; several as their median and range."""
    if len(seconds) == 1:
        return round(seconds[0], 2)
    return {
        "median": round(float(np.median(seconds)), 2),
        "min": round(min(seconds), 2),
        "max": round(max(seconds), 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="passages, comma-separated")
    parser.add_argument("--repeat", type=int, default=1, help="updates per size (default 1)")
    parser.add_argument("--asks", type=int, default=0, help="warm questions per size (default 0)")
    options = parser.parse_args(argv)
    real = load_embedders(Settings())
    for embedder in real:  # load the models (torch for passages) before anything is timed
        embedder.embed_passages(["A warm-up paragraph for the models."])
        embedder.embed_queries(["warm-up"])
    rows = []
    for number, size in enumerate(int(s) for s in options.sizes.split(",")):
        rows.append(measure(size, real, 100 + number, repeat=options.repeat, asks=options.asks))
        say(json.dumps(rows[-1]))
    save_results("update-scale.json", rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
