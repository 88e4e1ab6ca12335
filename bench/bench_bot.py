"""Bot latency and memory: questions through the fake Bot API, timed from getUpdates to sendMessage.

Run: .venv/bin/python -m bench.bench_bot [--questions 200] [--users 20] [--rate 10] [--json]

Each question is made available to ``getUpdates`` at a steady rate (open loop, spread over the
users), and its latency is the time from that moment to the arrival of the matching
``sendMessage`` at the fake server. The bot runs in this process with the real engine over the
seed index, so the peak RSS reported is the bot's (plus the small fake server). The fake enforces
Telegram's flood limits.

Then the burst: one reader sends ``BURST_QUESTIONS`` questions within ``BURST_SECONDS`` in a
private chat; the time until all their replies have arrived is measured (Telegram allows about one
message a second in a chat), and so is the latency of the questions other readers ask meanwhile
(they must not wait for the flooded chat).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import itertools
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("PTB_TIMEDELTA", "1")

from bot.formatting import LANGUAGES, text_for  # noqa: E402
from bot.settings import BotSettings  # noqa: E402
from bot.telegram_app import build_application, serve  # noqa: E402
from index.config import Settings  # noqa: E402
from index.engine import NewsEngine  # noqa: E402
from tests.fake_bot_api import (  # noqa: E402
    TOKEN,
    ApiCall,
    FakeBotApi,
    message_object,
    user_object,
)

ROOT = Path(__file__).resolve().parent.parent
GOAL_P95_MS = 150.0
GOAL_RSS_MB = 600.0
BURST_QUESTIONS = 30
BURST_SECONDS = 3.0
GOAL_BURST_S = 35.0  # all replies to the burst delivered
GOAL_OTHERS_P95_MS = 1000.0  # other chats' latency while it is delivered
OTHER_USERS = 5
OTHER_EVERY_S = 0.5  # one question from one of the other readers, in turn
WARM_UP_QUESTIONS = 5
_MESSAGE_IDS = itertools.count(1)


def _questions() -> list[str]:
    lines = (ROOT / "eval" / "seed_questions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


def _engine_alone(engine: NewsEngine, questions: list[str]) -> list[float]:
    """``engine.ask`` latencies in ms, one question at a time (the floor the bot adds to)."""
    for question in questions[:WARM_UP_QUESTIONS]:
        engine.ask(question)
    timings = []
    for question in questions:
        started = time.perf_counter()
        engine.ask(question)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _ask(api: FakeBotApi, user: dict[str, object], text: str) -> int:
    message = message_object(user, text)
    message["message_id"] = next(_MESSAGE_IDS)
    return api.enqueue({"message": message})


async def _latencies(api: FakeBotApi, sent: list[tuple[int, int]]) -> list[float]:
    """Milliseconds from each (chat id, update id) question to its chat's matching reply."""
    latencies = []
    for chat_id, replies in itertools.groupby(sorted(sent, key=lambda s: s[0]), lambda s: s[0]):
        updates = [update_id for _, update_id in replies]
        answers = await api.wait_for_replies(chat_id, len(updates), timeout_s=60)
        for update_id, answer in zip(updates, answers, strict=True):
            latencies.append((answer.at - api.available_at(update_id)) * 1000)
    return latencies


async def _burst(api: FakeBotApi, texts: list[str]) -> dict[str, float]:
    """One reader's burst; its delivery time and the other readers' latency meanwhile."""
    reader = user_object()
    questions = [f"{texts[n % len(texts)]} ({n + 1})" for n in range(BURST_QUESTIONS)]
    others = [user_object() for _ in range(OTHER_USERS)]
    started = time.perf_counter()
    for question in questions:
        _ask(api, reader, question)
        await asyncio.sleep(BURST_SECONDS / BURST_QUESTIONS)
    sent: list[tuple[int, int]] = []
    number = 0
    while not _answers(api, reader):
        if time.perf_counter() - started > 2 * GOAL_BURST_S:
            break
        other = others[number % OTHER_USERS]
        sent.append((int(str(other["id"])), _ask(api, other, texts[number % len(texts)])))
        number += 1
        await asyncio.sleep(OTHER_EVERY_S)
    answers = await api.wait_for(lambda: _answers(api, reader), 60, "the burst's answers")
    burst_s = answers[-1].at - started
    others_ms = await _latencies(api, sent)
    return {
        "burst_s": burst_s,
        "burst_messages": len(api.sent(int(str(reader["id"])))),
        "burst_refused": api.refused(chat_id=int(str(reader["id"]))),
        "others_questions": len(others_ms),
        "others_p50": statistics.median(others_ms),
        "others_p95": _percentile(others_ms, 0.95),
    }


def _answers(api: FakeBotApi, user: dict[str, object]) -> list[ApiCall] | None:
    """The replies to ``user`` but the "answering one by one" notice, once all have arrived."""
    notices = {text_for(language, "one_by_one") for language in LANGUAGES}
    answers = [c for c in api.sent(int(str(user["id"]))) if c.params["text"] not in notices]
    return answers if len(answers) >= BURST_QUESTIONS else None


def _build_index(workdir: Path) -> None:
    """Build the seed index in another process, as `newsbot index` would, so the peak RSS
    measured here is the running bot's and not the one-off build's.
    """
    shutil.copytree(ROOT / "seeds", workdir / "articles")
    command = [sys.executable, "-m", "bot", "index", "--articles", "articles", "--index", "index"]
    subprocess.run(command, check=True, capture_output=True, cwd=workdir)


async def _run(questions: int, users: int, rate: float, workdir: Path) -> dict[str, float]:
    api = FakeBotApi().start()
    settings = BotSettings(
        engine=Settings(articles_dir=workdir / "articles", index_dir=workdir / "index"),
        telegram_token=TOKEN,
        telegram_api_base_url=api.base_url,
    )
    load_started = time.perf_counter()
    engine = await asyncio.to_thread(NewsEngine.open, settings.engine, build_if_missing=False)
    load_s = time.perf_counter() - load_started
    rss_loaded = _peak_rss_mb()
    engine_ms = await asyncio.to_thread(_engine_alone, engine, _questions())
    application = build_application(dataclasses.replace(settings), engine)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(application, stop, drop_pending=True))
    try:
        await api.wait_until_polling()
        texts = _questions()
        warm = user_object()
        for text in texts[:WARM_UP_QUESTIONS]:
            _ask(api, warm, text)
        await api.wait_for_replies(warm["id"], WARM_UP_QUESTIONS, timeout_s=60)
        people = [user_object() for _ in range(users)]
        sent: list[tuple[int, int]] = []  # (chat id, update id)
        started = time.perf_counter()
        for number, text in zip(range(questions), itertools.cycle(texts), strict=False):
            delay = started + number / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            user = people[number % users]
            sent.append((int(str(user["id"])), _ask(api, user, text)))
        latencies = await _latencies(api, sent)
        wall_s = time.perf_counter() - started
        burst = await _burst(api, texts)
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
        api.stop()
    rejected = len(api.rejected())
    return {
        "questions": len(latencies),
        "users": users,
        "rate": rate,
        "wall_s": wall_s,
        "load_s": load_s,
        "p50": statistics.median(latencies),
        "p95": _percentile(latencies, 0.95),
        "max": max(latencies),
        "mean": statistics.fmean(latencies),
        "rss_loaded": rss_loaded,
        "rss_peak": _peak_rss_mb(),
        "rejected": rejected,
        "engine_p50": statistics.median(engine_ms),
        "engine_p95": _percentile(engine_ms, 0.95),
        "load_avg": os.getloadavg()[0],
        **burst,
    }


def _table(result: dict[str, float]) -> str:
    def verdict(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    p95_ok = result["p95"] <= GOAL_P95_MS
    rss_ok = result["rss_peak"] <= GOAL_RSS_MB
    burst_ok = result["burst_s"] <= GOAL_BURST_S
    others_ok = result["others_p95"] <= GOAL_OTHERS_P95_MS
    rows = [
        ("questions / users", f"{result['questions']:.0f} / {result['users']:.0f}"),
        ("arrival rate", f"{result['rate']:.1f} questions/s ({result['wall_s']:.1f} s)"),
        ("latency p50", f"{result['p50']:.1f} ms"),
        ("latency p95", f"{result['p95']:.1f} ms (goal <= {GOAL_P95_MS:.0f}: {verdict(p95_ok)})"),
        ("latency mean / max", f"{result['mean']:.1f} / {result['max']:.1f} ms"),
        ("engine.ask alone p50/95", f"{result['engine_p50']:.1f} / {result['engine_p95']:.1f} ms"),
        ("models + index load", f"{result['load_s']:.1f} s"),
        ("RSS after load", f"{result['rss_loaded']:.0f} MB"),
        ("peak RSS", f"{result['rss_peak']:.0f} MB (goal <= {GOAL_RSS_MB:.0f}: {verdict(rss_ok)})"),
        ("rejected API calls", f"{result['rejected']:.0f}"),
        (
            "burst, one chat",
            f"{BURST_QUESTIONS} questions in {BURST_SECONDS:.0f} s: all answered in "
            f"{result['burst_s']:.1f} s (goal <= {GOAL_BURST_S:.0f}: {verdict(burst_ok)}), "
            f"{result['burst_messages']:.0f} messages, {result['burst_refused']:.0f} refused",
        ),
        (
            "other chats meanwhile",
            f"{result['others_questions']:.0f} questions, p50 {result['others_p50']:.0f} ms, "
            f"p95 {result['others_p95']:.0f} ms "
            f"(goal <= {GOAL_OTHERS_P95_MS:.0f}: {verdict(others_ok)})",
        ),
        ("1-min load average", f"{result['load_avg']:.1f} on {os.cpu_count()} CPUs"),
    ]
    return "\n".join(f"{name:<22} {value}" for name, value in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--rate", type=float, default=10.0, help="questions per second")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-bot-") as workdir:
        _build_index(Path(workdir))
        result = asyncio.run(_run(args.questions, args.users, args.rate, Path(workdir)))
    print(json.dumps(result) if args.json else _table(result))  # noqa: T201 (a report)


if __name__ == "__main__":
    main()
