"""New article to answer: how long from a file appearing in the articles folder to the running bot
answering from it, over a 10-passage and a 10,000-passage index.

Run: .venv/bin/python -m bench.bench_ingest [--rounds 3] [--sizes 10,10000]

The bot runs in this process against the fake Bot API (tests/fake_bot_api.py), with the real
engine, the folder watcher and the hot swap. Each round writes one new article into the folder
(atomically: a temporary name, then a rename) and asks about it every 0.1 s until a reply cites
it. The time runs from the rename to the arrival of that reply at the fake server. Each round's
build is timed too, so the table shows where the time went: the watcher's quiet period, the
incremental build (embedding the new passages with both models, rewriting the snapshot), the swap
and the answer.

The 10,000-passage index is the one ``bench.run_bench`` caches (``bench.corpus.generate(1000)``,
MiniLM + multilingual-e5) under ``data/bench/corpus-<hash>/index``. If it is missing or not
complete it is built there, 200 articles per saved step, so a stopped run keeps its progress
(this takes a long time on a small machine; a complete cache makes the bench take a few minutes).
Results: a table on stdout and ``bench-results/ingest.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("PTB_TIMEDELTA", "1")

from bench.corpus import PASSAGES_PER_ARTICLE, corpus_hash, generate, write_articles  # noqa: E402
from bot.settings import BotSettings  # noqa: E402
from bot.telegram_app import build_application, serve  # noqa: E402
from index.build import BuildReport, Progress  # noqa: E402
from index.config import Settings  # noqa: E402
from index.embedders import Embedder  # noqa: E402
from index.engine import NewsEngine, load_embedders  # noqa: E402
from index.errors import NewsIndexError  # noqa: E402
from index.store import load_snapshot  # noqa: E402
from tests.fake_bot_api import TOKEN, FakeBotApi, user_object  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS_FILE = ROOT / "bench-results" / "ingest.json"
CACHE_DIR = ROOT / "data" / "bench"
BIG_ARTICLES = 1000  # x 10 passages = the 10,000-passage index
BUILD_STEP_ARTICLES = 200
GOAL_S = 5.0
ASK_EVERY_S = 0.1
PLACEHOLDER_NOTE = (
    "the 10,000 old passages have placeholder vectors (the real cache was incomplete); the new "
    "article is embedded with the real models; see PlaceholderEmbedder"
)
ROUND_TIMEOUT_S = 300.0

# Articles unlike anything in the seed or the xquad-derived corpus, so a citation of one can
# only come from the new file. Each: (file stem, title, paragraphs, question).
NEW_ARTICLES = [
    (
        "bench-new-glacier",
        "Glacier Lake Bursts in the Karakoram, Cutting the Hunza Road",
        [
            "A glacial lake above the village of Hassanabad in the Karakoram burst its ice dam "
            "on Saturday, sending a torrent of meltwater down the Hunza valley.",
            "The flood washed away forty metres of the Karakoram Highway and a footbridge, and "
            "cut off the town of Karimabad from Gilgit for three days.",
            "Engineers of the Frontier Works Organisation built a temporary steel bridge, which "
            "opened to light traffic on Tuesday evening.",
            "Shisper glacier, which feeds the lake, has surged by almost a kilometre since 2018, "
            "according to the regional disaster management authority.",
        ],
        "Which organisation built the temporary bridge after the Hassanabad flood?",
    ),
    (
        "bench-new-chess",
        "Teenager from Ulaanbaatar Wins the Asian Blitz Chess Title",
        [
            "Fifteen-year-old Temuulen Bat-Erdene of Ulaanbaatar won the Asian blitz chess "
            "championship in Tashkent, finishing half a point ahead of two grandmasters.",
            "She scored nine and a half points from eleven games, losing only to the top seed "
            "in the sixth round after a blunder in time trouble.",
            "The Mongolian Chess Federation said she will receive a state scholarship and a "
            "place on the national team for the next Olympiad in Samarkand.",
        ],
        "How many points did Temuulen Bat-Erdene score at the Asian blitz championship?",
    ),
    (
        "bench-new-tram",
        "Tampere Extends Its Tram Line to the Lielahti District",
        [
            "The Finnish city of Tampere opened a four-kilometre extension of its tram line to "
            "the western district of Lielahti on Monday, eight months ahead of schedule.",
            "The extension has six new stops and cost 77 million euros, shared between the city "
            "and the state transport agency Väylävirasto.",
            "Ridership on the first section has exceeded forecasts by a third since it opened, "
            "the transport authority Nysse said.",
        ],
        "How much did the Lielahti tram extension in Tampere cost?",
    ),
]


def _log(message: str) -> None:
    sys.stderr.write(f"[bench-ingest {time.strftime('%H:%M:%S')}] {message}\n")


class _Wrapped:
    """Passes everything but the embedding through to a real embedder: the index must see the
    same space (name, dimension, window, language reach) as the real model gives."""

    def __init__(self, real: Embedder) -> None:
        self.real = real

    @property
    def name(self) -> str:
        return self.real.name

    @property
    def dimension(self) -> int:
        return self.real.dimension

    @property
    def multilingual(self) -> bool:
        return self.real.multilingual

    def fits(self, text: str) -> bool:
        return self.real.fits(text)

    def embed_queries(self, texts: Sequence[str], *, bulk: bool = False) -> np.ndarray:
        return self.real.embed_queries(texts, bulk=bulk)


class TimedEmbedder(_Wrapped):
    """A real embedder that adds up the time spent embedding passages (not questions)."""

    def __init__(self, real: Embedder) -> None:
        super().__init__(real)
        self.passage_seconds = 0.0

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        started = time.perf_counter()
        try:
            return self.real.embed_passages(texts)
        finally:
            self.passage_seconds += time.perf_counter() - started

    def embed_query(self, text: str) -> np.ndarray:
        return self.real.embed_query(text)


class TimedEngine(NewsEngine):
    """The real engine, keeping each ``update_index`` call's report and timings."""

    def __init__(self, settings: Settings, embedders: list[Embedder]) -> None:
        self.timed = [TimedEmbedder(e) for e in embedders]
        super().__init__(settings, self.timed)
        self.updates: list[dict[str, Any]] = []

    def update_index(self, *, full: bool = False, progress: Progress | None = None) -> BuildReport:
        started = time.perf_counter()
        embedding_before = sum(e.passage_seconds for e in self.timed)
        report = super().update_index(full=full, progress=progress)
        self.updates.append(
            {
                "started": started,
                "build_s": report.seconds,
                "embed_s": sum(e.passage_seconds for e in self.timed) - embedding_before,
                "total_s": time.perf_counter() - started,  # the build, then the swap
                "embedded": report.embedded,
                "passages": report.passages,
                "version": report.version,
            }
        )
        return report


# --- the indexes --------------------------------------------------------------------------------


def small_index(work: Path, embedders: list[Embedder]) -> Settings:
    """The seed article (10 passages), built fresh."""
    settings = Settings(articles_dir=work / "articles", index_dir=work / "index")
    shutil.copytree(ROOT / "seeds", settings.articles_dir)
    NewsEngine(settings, embedders).update_index()
    return settings


def big_index(work: Path, embedders: list[Embedder], *, build_real: bool) -> tuple[Settings, str]:
    """A copy of a 10,000-passage index, and which kind it is (``real`` or ``placeholder``).

    The real one is ``bench.run_bench``'s cache. If it is incomplete and ``build_real`` is off,
    the old passages get placeholder vectors instead (see ``PlaceholderEmbedder``).
    """
    corpus = generate(BIG_ARTICLES)
    real = CACHE_DIR / f"corpus-{corpus_hash(corpus)}" / "index"
    passages = _cached_passages(real)
    if passages >= BIG_ARTICLES * PASSAGES_PER_ARTICLE:
        kind, cache = "real", real
    elif build_real:
        _log(f"{real} holds {passages} passages; building the rest (saved every step)")
        _build_in_steps(corpus, work / "articles-steps", real, embedders)
        kind, cache = "real", real
    else:
        kind = "placeholder"
        cache = CACHE_DIR / f"placeholder-corpus-{corpus_hash(corpus)}" / "index"
        _log(f"{real} holds {passages} passages; using placeholder vectors in {cache}")
        if _cached_passages(cache) < BIG_ARTICLES * PASSAGES_PER_ARTICLE:
            placeholders: list[Embedder] = [PlaceholderEmbedder(e) for e in embedders]
            _build_in_steps(corpus, work / "articles-steps", cache, placeholders)
    settings = Settings(articles_dir=work / "articles", index_dir=work / "index")
    write_articles(corpus, settings.articles_dir)
    shutil.copytree(cache, settings.index_dir, ignore=shutil.ignore_patterns(".build.lock"))
    check = NewsEngine(settings, embedders).update_index()  # the copy matches its articles
    if check.embedded:
        _log(f"warning: the cached index was not up to date ({check.embedded} embedded)")
    return settings, kind


def _build_in_steps(
    corpus: list[Any], folder: Path, index_dir: Path, embedders: list[Embedder]
) -> None:
    """Build ``index_dir`` from ``corpus``, saving a snapshot every BUILD_STEP_ARTICLES.

    Steps start past what the cache already holds (a prefix of the corpus): a smaller first step
    would drop the vectors of the articles beyond it, and they would be embedded again.
    """
    done = _cached_passages(index_dir) // PASSAGES_PER_ARTICLE
    ends = [*range(BUILD_STEP_ARTICLES, len(corpus), BUILD_STEP_ARTICLES), len(corpus)]
    for end in [e for e in ends if e > done] or ends[-1:]:
        write_articles(corpus[:end], folder)
        builder = NewsEngine(Settings(articles_dir=folder, index_dir=index_dir), embedders)
        built = builder.update_index()
        _log(f"  {built.passages} passages ({built.embedded} embedded, {built.seconds:.0f} s)")


class PlaceholderEmbedder(_Wrapped):
    """Stands in for a real model when building the old passages of the 10,000-passage index.

    Same name, dimension and length limit as the model it wraps, so the bot's incremental build
    reuses these vectors and embeds only the new article, with the real model. Each text gets a
    fixed pseudo-random unit vector: retrieval over the old passages is meaningless, but the
    size of everything the update reads, writes, swaps and searches is the real one. Used only
    when the real cache (hours to build on a busy two-core machine) is not there; the table and
    the JSON say so.
    """

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.stack([self._vector(text) for text in texts])
        return vectors.astype(np.float32)

    def embed_queries(self, texts: Sequence[str], *, bulk: bool = False) -> np.ndarray:
        return self.embed_passages(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector(text)

    def _vector(self, text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha1(text.encode("utf-8")).digest()[:8], "little")
        vector = np.random.default_rng(seed).standard_normal(self.dimension)
        return (vector / np.linalg.norm(vector)).astype(np.float32)


def _cached_passages(index_dir: Path) -> int:
    try:
        return len(load_snapshot(index_dir).passages)
    except NewsIndexError:  # no cache, or a broken one: either way it is (re)built
        return 0


# --- one size -----------------------------------------------------------------------------------


async def measure(settings: Settings, embedders: list[Embedder], rounds: int) -> dict[str, Any]:
    """Run the bot over ``settings`` and time ``rounds`` new articles, one after another."""
    api = FakeBotApi().start()
    engine = TimedEngine(settings, embedders)
    await asyncio.to_thread(engine.reload)
    bot_settings = BotSettings(
        engine=settings, telegram_token=TOKEN, telegram_api_base_url=api.base_url
    )
    application = build_application(bot_settings, engine)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(application, stop, drop_pending=True))
    reader = user_object()
    results = []
    try:
        await api.wait_until_polling(timeout_s=60)
        await _ask(api, reader, "What is this news about?")  # warm: the first ask loads lazily
        for stem, title, paragraphs, question in NEW_ARTICLES[:rounds]:
            results.append(
                await _one_round(api, engine, reader, (stem, title, paragraphs, question))
            )
            _log(f"  {title[:40]}…: {results[-1]['seconds_to_answer']:.2f} s")
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)
        api.stop()
    return {
        "passages_before": len(engine.retriever.snapshot.passages)
        - sum(r["new_passages"] for r in results),
        "rounds": results,
        "median_s": statistics.median(r["seconds_to_answer"] for r in results),
        "max_s": max(r["seconds_to_answer"] for r in results),
    }


async def _one_round(
    api: FakeBotApi, engine: TimedEngine, reader: dict[str, Any], article: tuple[Any, ...]
) -> dict[str, Any]:
    stem, title, paragraphs, question = article
    folder = engine.settings.articles_dir
    temporary = folder / f".{stem}.tmp"  # hidden: the watcher ignores it until the rename
    temporary.write_text(f"{title}\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
    updates_before = len(engine.updates)
    os.replace(temporary, folder / f"{stem}.txt")
    appeared = time.perf_counter()
    asks = 0
    while True:
        asks += 1
        text, arrived = await _ask(api, reader, question)
        if f"{title}</a>, paragraph" in text or f"{title}, paragraph" in text:
            break
        if time.perf_counter() - appeared > ROUND_TIMEOUT_S:
            raise RuntimeError(f"no reply cited {title!r} within {ROUND_TIMEOUT_S} s")
        await asyncio.sleep(ASK_EVERY_S)
    update = next(u for u in engine.updates[updates_before:] if u["embedded"])
    return {
        "article": stem,
        "new_passages": update["embedded"] // len(engine.embedders),
        "seconds_to_answer": round(arrived - appeared, 3),
        "watcher_s": round(update["started"] - appeared, 3),
        "build_s": round(update["build_s"], 3),
        "embed_s": round(update["embed_s"], 3),  # part of build_s: both models, new passages
        "swap_s": round(update["total_s"] - update["build_s"], 3),
        "asks": asks,
    }


async def _ask(api: FakeBotApi, user: dict[str, Any], question: str) -> tuple[str, float]:
    """Send a question; the reply's text and when it reached the fake server."""
    count = len(api.sent(user["id"])) + 1
    api.send_text(user, question)
    [*_, reply] = await api.wait_for_replies(user["id"], count, timeout_s=60)
    return str(reply.params["text"]), reply.at


# --- main ---------------------------------------------------------------------------------------


def render_table(results: dict[str, Any]) -> str:
    rows: list[tuple[str, ...]] = [
        ("index", "file -> cited answer", "watcher", "build", "(embed)", "swap", "goal")
    ]
    for name, size in results["sizes"].items():
        for r in size["rounds"]:
            rows.append(
                (
                    f"{name} ({size['passages_before']} passages)",
                    f"{r['seconds_to_answer']:.2f} s",
                    f"{r['watcher_s']:.2f} s",
                    f"{r['build_s']:.2f} s",
                    f"{r['embed_s']:.2f} s",
                    f"{r['swap_s']:.2f} s",
                    "meets" if r["seconds_to_answer"] <= GOAL_S else "MISSES",
                )
            )
        rows.append(
            ("  median / max", f"{size['median_s']:.2f} / {size['max_s']:.2f} s", *[""] * 5)
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_ingest", description=__doc__)
    parser.add_argument("--rounds", type=int, default=3, choices=range(1, len(NEW_ARTICLES) + 1))
    parser.add_argument(
        "--sizes", default="10,10000", choices=["10", "10000", "10,10000"], help="which indexes"
    )
    parser.add_argument(
        "--build-real",
        action="store_true",
        help="build the real 10,000-passage cache if it is incomplete (hours on 2 busy cores) "
        "instead of using placeholder vectors for the old passages",
    )
    parser.add_argument("--output", type=Path, default=RESULTS_FILE)
    options = parser.parse_args(argv)
    started = time.perf_counter()
    _log("loading the models")
    embedders = load_embedders(Settings())
    results: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_avg_1m_at_start": round(os.getloadavg()[0], 2),
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        },
        "goal_s": GOAL_S,
        "sizes": {},
    }
    with tempfile.TemporaryDirectory(prefix="newsbot-bench-ingest-") as temp:
        for size in options.sizes.split(","):
            work = Path(temp) / size.strip()
            _log(f"preparing the {size}-passage index")
            if size.strip() == "10":
                name, settings = "small", small_index(work, embedders)
            else:
                settings, kind = big_index(work, embedders, build_real=options.build_real)
                name = f"10k-{kind}"
            _log(f"timing {options.rounds} new articles over the {name} index")
            results["sizes"][name] = asyncio.run(measure(settings, embedders, options.rounds))
            if name == "10k-placeholder":
                results["sizes"][name]["note"] = PLACEHOLDER_NOTE
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(results, indent=2), encoding="utf-8")
    sys.stdout.write(render_table(results) + f"\nJSON: {options.output}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
