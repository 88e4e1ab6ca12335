"""Cold starts against the floor: ``newsbot ask`` and ``make run``, each in a fresh process.

The floor is ``bench/floor_cold.py``: plain sentence-transformers + ``faiss.IndexFlatIP`` loading
the bundled all-MiniLM-L6-v2 and an index of the same passages, then answering one question.
Measured in one loop, interleaved (the order rotates every repetition), on the same index:

- ``ask``: ``newsbot ask "QUESTION"``, a new process to the printed answer;
- ``make_run_chat``: ``make run`` with nothing changed and no token, to the terminal chat's
  prompt (stdin is empty, so the chat ends right after printing it);
- ``make_run_polling``: ``make run`` with a token, to the bot's first ``getUpdates`` on the fake
  Bot API (``tests/fake_bot_api.py``), then Ctrl-C.

Each figure is the median wall time with its min-max over the repetitions; the ratios are to the
floor's median, with the min-max of the ratio within each repetition (the noise of a shared
machine).

    .venv/bin/python -m bench.bench_cold [--repeats 7] [--articles 30] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.corpus import generate, write_articles
from bench.proc import ROOT, ChildRun, WorkerError, child_env, run_child

Args = dict[str, Any]
NEWSBOT = Path(sys.executable).parent / "newsbot"
QUESTION = "Who developed GigaChat?"
KINDS = ("floor", "ask", "make_run_chat", "make_run_polling")


class Corpus:
    """An articles folder, its newsbot index and the floor's index of the same passages."""

    def __init__(self, name: str, articles_dir: Path, index_dir: Path, work: Path) -> None:
        self.name, self.articles_dir, self.index_dir = name, articles_dir, index_dir
        self.floor_dir = work / f"floor-{name}"
        self.folders = {"ARTICLES_DIR": str(articles_dir), "INDEX_DIR": str(index_dir)}

    def prepare(self) -> int:
        """Bring the newsbot index up to date and write the floor's; the passage count."""
        _checked(run_child([str(NEWSBOT), "index"], env=self.folders), "newsbot index")
        from index.store import load_snapshot

        texts = [p.text for p in load_snapshot(self.index_dir).passages]
        texts_file = self.floor_dir.parent / f"texts-{self.name}.json"
        texts_file.write_text(json.dumps(texts), "utf-8")
        floor = [sys.executable, "-m", "bench.floor_cold", str(self.floor_dir), "--build"]
        _checked(run_child([*floor, str(texts_file)]), "floor build")
        return len(texts)


def _checked(run: ChildRun, what: str, expect: str | None = None) -> ChildRun:
    if run.returncode != 0 or (expect is not None and expect not in run.stdout):
        tail = (run.stderr or run.stdout)[-600:]
        raise WorkerError(f"{what} exited {run.returncode} (expected {expect!r}): {tail}")
    return run


def _floor(corpus: Corpus, api: Any) -> float:
    argv = [sys.executable, "-m", "bench.floor_cold", str(corpus.floor_dir), QUESTION]
    return _checked(run_child(argv), "floor", "score").wall_s


def _ask(corpus: Corpus, api: Any) -> float:
    argv = [str(NEWSBOT), "ask", QUESTION]
    argv += ["--articles", str(corpus.articles_dir), "--index", str(corpus.index_dir)]
    run = _checked(run_child(argv), "newsbot ask")
    if not run.stdout.strip():
        raise WorkerError("newsbot ask printed nothing")
    return run.wall_s


def _no_token_env(corpus: Corpus) -> dict[str, str]:
    env = child_env(corpus.folders)
    env.pop("TELEGRAM_BOT_TOKEN", None)
    env["TELEGRAM_BOT_TOKEN"] = ""  # and none from a .env either: the environment wins
    return env


def _make_run_chat(corpus: Corpus, api: Any) -> float:
    run = run_child(["make", "-s", "run"], env=_no_token_env(corpus))
    _checked(run, "make run (chat)", "Index up to date")
    if not run.stdout.rstrip().endswith("?"):
        raise WorkerError(f"make run did not reach the chat prompt: {run.stdout[-300:]}")
    return run.wall_s


def _make_run_polling(corpus: Corpus, api: Any) -> float:
    """``make run`` with a token to the first ``getUpdates``, then Ctrl-C to its process group."""
    from tests.fake_bot_api import TOKEN

    env = _no_token_env(corpus) | {"TELEGRAM_BOT_TOKEN": TOKEN}
    env["TELEGRAM_API_BASE_URL"] = api.base_url
    polls = len(api.calls_of("getUpdates", ok=None))
    with tempfile.TemporaryFile("w+") as out:
        started = time.perf_counter()
        process = subprocess.Popen(
            ["make", "-s", "run"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal's Ctrl-C reaches
        )
        try:
            api.wait_until(
                lambda: (
                    len(api.calls_of("getUpdates", ok=None)) > polls or process.poll() is not None
                ),
                timeout_s=120,
                what="the bot to poll",
            )
            wall = time.perf_counter() - started
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGINT)
            process.wait(timeout=30)
        out.seek(0)
        log = out.read()
    if "Index up to date" not in log or process.returncode not in (0, 2, -signal.SIGINT):
        raise WorkerError(f"make run (polling) exited {process.returncode}: {log[-600:]}")
    return wall


MEASURES: dict[str, Callable[[Corpus, Any], float]] = {
    "floor": _floor,
    "ask": _ask,
    "make_run_chat": _make_run_chat,
    "make_run_polling": _make_run_polling,
}


def _spread(values: list[float]) -> Args:
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
    }


def measure(corpora: list[Corpus], repeats: int, kinds: tuple[str, ...] = KINDS) -> Args:
    """Every kind on every corpus, ``repeats`` times, interleaved; medians, spreads, ratios."""
    api = None
    if "make_run_polling" in kinds:
        from tests.fake_bot_api import FakeBotApi

        api = FakeBotApi(flood_limits=False).start()
    try:
        result: Args = {"question": QUESTION, "repeats": repeats, "corpora": {}}
        for corpus in corpora:
            passages = corpus.prepare()
            walls: dict[str, list[float]] = {kind: [] for kind in kinds}
            for number in range(repeats):
                order = kinds[number % len(kinds) :] + kinds[: number % len(kinds)]
                for kind in order:
                    walls[kind].append(MEASURES[kind](corpus, api))
            result["corpora"][corpus.name] = _summary(passages, walls)
        return result
    finally:
        if api is not None:
            api.stop()


def _summary(passages: int, walls: dict[str, list[float]]) -> Args:
    floor = walls["floor"]
    figures: Args = {"passages": passages, "runs_s": walls}
    for kind, values in walls.items():
        figures[kind] = _spread(values)
        if kind != "floor":
            ratios = [value / base for value, base in zip(values, floor, strict=True)]
            figures[kind]["ratio_to_floor"] = round(
                statistics.median(values) / statistics.median(floor), 3
            )
            figures[kind]["ratio_spread"] = [round(min(ratios), 3), round(max(ratios), 3)]
    return figures


def render(result: Args) -> str:
    """One line per corpus and kind: median (min-max) and the ratio to the floor."""
    lines = [f"cold starts, {result['repeats']} runs each, interleaved; question {QUESTION!r}"]
    for name, figures in result["corpora"].items():
        lines.append(f"{name} ({figures['passages']} passages):")
        for kind in walls_order(figures):
            f = figures[kind]
            text = f"  {kind:<18} {f['median']:6.2f} s  ({f['min']:.2f}-{f['max']:.2f})"
            if "ratio_to_floor" in f:
                low, high = f["ratio_spread"]
                text += f"  {f['ratio_to_floor']:.3f}x floor ({low:.3f}-{high:.3f})"
            lines.append(text)
    return "\n".join(lines)


def walls_order(figures: Args) -> list[str]:
    return [kind for kind in KINDS if kind in figures]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_cold", description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--articles", type=int, default=30, help="10 passages each; 0: seed only")
    parser.add_argument("--no-polling", action="store_true", help="skip make run with a token")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args(argv)
    kinds = tuple(k for k in KINDS if k != "make_run_polling" or not options.no_polling)
    with tempfile.TemporaryDirectory(prefix="newsbot-cold-") as temp:
        work = Path(temp)
        shutil.copytree(ROOT / "seeds", work / "articles-seed")
        corpora = [Corpus("seed", work / "articles-seed", work / "index-seed", work)]
        if options.articles:
            folder = write_articles(generate(options.articles), work / "articles-sample")
            shutil.copytree(ROOT / "seeds", folder, dirs_exist_ok=True)  # GigaChat is in it
            corpora.append(Corpus("sample", folder, work / "index-sample", work))
        result = measure(corpora, options.repeats, kinds)
    sys.stdout.write((json.dumps(result) if options.json else render(result)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
