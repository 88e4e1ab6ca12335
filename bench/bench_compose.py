"""What composing with a language model adds: latency with an instant model, and how soon the
extractive answer comes when the model stalls.

Run: .venv/bin/python -m bench.bench_compose [--rounds 10] [--timeout 2] [--json]

The model is the fake OpenAI-compatible server of the tests (tests/fake_llm_api.py) on
127.0.0.1, which answers at once: each question's reply is its own extractive answer, so every
sentence passes the checks and the whole path is timed (the HTTP request on loopback, reading the
answer, checking each sentence). The engine is the real one over the seed index; the extractive
path (``NewsEngine.ask``) is timed alongside for comparison. Then the fake stalls for 20 s and
the time until ``compose`` returns the extractive answer is measured against LLM_TIMEOUT_S.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bench.measure import summarize_ms  # noqa: E402
from index.compose import Composer  # noqa: E402
from index.config import Settings  # noqa: E402
from index.engine import NewsEngine  # noqa: E402
from tests.fake_llm_api import MODEL, FakeLlmApi, completion, stalled  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
GOAL_ADDED_MS = 20.0
GOAL_FALLBACK_MARGIN_S = 0.5
STALLS = 3


def _questions() -> list[str]:
    lines = (ROOT / "eval" / "seed_questions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


async def _added_latency(
    engine: NewsEngine, composer: Composer, fake: FakeLlmApi, rounds: int
) -> dict[str, object]:
    questions = [q for q in _questions() if engine.ask(q).found]
    extractive, added, composed = [], [], 0
    for _ in range(rounds):
        for question in questions:
            started = time.perf_counter()
            answer = engine.ask(question)
            asked = time.perf_counter()
            fake.reply(completion(answer.text))
            composition = await composer.compose(answer)
            extractive.append(asked - started)
            added.append(time.perf_counter() - asked)
            composed += composition.composed
    return {
        "questions": len(questions) * rounds,
        "composed": composed,
        "extractive_ask": summarize_ms(extractive),
        "added_by_composing": summarize_ms(added),
    }


async def _fallback_times(
    engine: NewsEngine, composer: Composer, fake: FakeLlmApi
) -> dict[str, object]:
    answer = engine.ask("Who developed GigaChat?")
    times = []
    for _ in range(STALLS):
        fake.reply(stalled(20))
        started = time.perf_counter()
        composition = await composer.compose(answer)
        times.append(time.perf_counter() - started)
        assert composition.failure == "timeout"
        assert composition.answer is answer
    return {"timeout_s": composer.timeout_s, "fallback_s": [round(t, 3) for t in times]}


async def _run(engine: NewsEngine, fake: FakeLlmApi, rounds: int, timeout_s: float) -> dict:
    def composer(timeout: float) -> Composer:
        settings = Settings(llm_base_url=fake.base_url, llm_model=MODEL, llm_timeout_s=timeout)
        return Composer(settings)

    instant = composer(10.0)
    stall = composer(timeout_s)
    try:
        latency = await _added_latency(engine, instant, fake, rounds)
        fallback = await _fallback_times(engine, stall, fake)
    finally:
        await instant.aclose()
        await stall.aclose()
    return {"instant_model": latency, "stalled_model": fallback}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="passes over the seed questions")
    parser.add_argument("--timeout", type=float, default=2.0, help="LLM_TIMEOUT_S for the stall")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-compose-") as folder:
        base = Path(folder)
        shutil.copytree(ROOT / "seeds", base / "articles")
        engine = NewsEngine.open(Settings(articles_dir=base / "articles", index_dir=base / "index"))
        with FakeLlmApi() as fake:
            report = asyncio.run(_run(engine, fake, args.rounds, args.timeout))
    added = report["instant_model"]["added_by_composing"]
    worst_fallback = max(report["stalled_model"]["fallback_s"])
    report["goals"] = {
        f"added p95 <= {GOAL_ADDED_MS} ms": added["p95_ms"] <= GOAL_ADDED_MS,
        f"fallback <= timeout + {GOAL_FALLBACK_MARGIN_S} s": worst_fallback
        <= args.timeout + GOAL_FALLBACK_MARGIN_S,
    }
    if args.json:
        print(json.dumps(report))  # noqa: T201 (the report is the output)
        return
    latency = report["instant_model"]
    print(  # noqa: T201
        f"{latency['questions']} questions, {latency['composed']} composed\n"
        f"extractive ask:      p50 {latency['extractive_ask']['p50_ms']} ms, "
        f"p95 {latency['extractive_ask']['p95_ms']} ms\n"
        f"added by composing:  p50 {added['p50_ms']} ms, p95 {added['p95_ms']} ms, "
        f"max {added['max_ms']} ms (instant fake model on loopback)\n"
        f"stalled model, LLM_TIMEOUT_S={args.timeout}: extractive answer after "
        f"{', '.join(f'{t:.3f}' for t in report['stalled_model']['fallback_s'])} s\n"
        f"goals: {report['goals']}"
    )


if __name__ == "__main__":
    main()
