"""Retrieval and answer quality on a question file (the format of ``eval/``)."""

from __future__ import annotations

import dataclasses
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from index.config import Settings
from index.embedders import Embedder
from index.engine import NewsEngine
from index.errors import NewsIndexError
from index.models import Answer, Hit

RANKS = (1, 3, 5)
MRR_DEPTH = 10


@dataclass(frozen=True)
class EvalQuestion:
    """One line of a question file: gold answers, and optionally the gold article/paragraph."""

    qid: str
    question: str
    answers: tuple[str, ...]
    article: str | None = None  # article id (file stem), when the file names it

    @property
    def is_answerable(self) -> bool:
        return bool(self.answers)


@dataclass(frozen=True)
class EvalReport:
    """Metrics over a question file; ``None`` where no question of that kind was asked."""

    questions: int
    answerable: int
    unanswerable: int
    recall: dict[int, float | None]
    mrr: float | None
    answer_hit: float | None
    found_rate: float | None  # share of answerable questions answered (not "not found")
    not_found_accuracy: float | None
    latency_p50_ms: float
    latency_p95_ms: float
    misses: tuple[str, ...]  # ids of answerable questions whose gold was not at rank 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "questions": self.questions,
            "answerable": self.answerable,
            "unanswerable": self.unanswerable,
            **{f"recall@{k}": v for k, v in self.recall.items()},
            f"mrr@{MRR_DEPTH}": self.mrr,
            "answer_hit": self.answer_hit,
            "found_rate": self.found_rate,
            "not_found_accuracy": self.not_found_accuracy,
            "latency_p50_ms": round(self.latency_p50_ms, 1),
            "latency_p95_ms": round(self.latency_p95_ms, 1),
            "misses": list(self.misses),
        }


def read_questions(path: Path) -> list[EvalQuestion]:
    """Read a JSONL question file.

    Raises:
        NewsIndexError: the file is missing or a line is not a question object.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise NewsIndexError(f"Cannot read {path}: {exc.strerror or exc}") from exc
    questions = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            article = raw.get("article")
            questions.append(
                EvalQuestion(
                    qid=str(raw.get("id", number)),
                    question=str(raw["question"]),
                    answers=tuple(str(a) for a in raw.get("answers") or ()),
                    article=Path(article).stem if article else None,
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise NewsIndexError(f"{path}:{number}: not a question object ({exc})") from exc
    return questions


def is_gold(question: EvalQuestion, hit: Hit) -> bool:
    """A hit is gold when it contains a gold answer string (and is from the gold article, when
    the question names one)."""
    if question.article and hit.passage.article_id != question.article:
        return False
    text = hit.passage.text.casefold()
    return any(answer.casefold() in text for answer in question.answers)


def evaluate(
    questions: Iterable[EvalQuestion],
    ask: Callable[[str], tuple[Sequence[Hit], Answer]],
) -> EvalReport:
    """Run every question through ``ask`` (ranked hits at depth >= 10, and the final answer)."""
    ranks: list[int | None] = []
    answer_hits: list[bool] = []
    found: list[bool] = []
    refused: list[bool] = []
    latencies: list[float] = []
    misses: list[str] = []
    for question in questions:
        started = time.perf_counter()
        hits, answer = ask(question.question)
        latencies.append((time.perf_counter() - started) * 1000)
        if not question.is_answerable:
            refused.append(not answer.found)
            continue
        rank = next(
            (i for i, hit in enumerate(hits[:MRR_DEPTH], 1) if is_gold(question, hit)), None
        )
        ranks.append(rank)
        if rank != 1:
            misses.append(question.qid)
        found.append(answer.found)
        answer_text = answer.text.casefold()
        answer_hits.append(any(a.casefold() in answer_text for a in question.answers))
    return EvalReport(
        questions=len(latencies),
        answerable=len(ranks),
        unanswerable=len(refused),
        recall={k: _mean([r is not None and r <= k for r in ranks]) for k in RANKS},
        mrr=_mean([1 / r if r else 0.0 for r in ranks]),
        answer_hit=_mean(answer_hits),
        found_rate=_mean(found),
        not_found_accuracy=_mean(refused),
        latency_p50_ms=_percentile(latencies, 50),
        latency_p95_ms=_percentile(latencies, 95),
        misses=tuple(misses),
    )


def _mean(values: Sequence[bool] | Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _percentile(values: Sequence[float], percent: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


def run_evaluation(
    questions_file: Path,
    settings: Settings,
    embedders: Sequence[Embedder] | None = None,
    *,
    exclude_gold_article: bool = False,
) -> EvalReport:
    """Evaluate a question file against the index in ``settings`` (brought up to date first),
    with ``embedders`` (by default the configured models are loaded).

    With ``exclude_gold_article`` every question becomes unanswerable and is asked of a copy of
    the index rebuilt without its gold article (vectors are reused, nothing is re-embedded).

    Raises:
        NewsIndexError: the questions or the index cannot be read or built.
    """
    questions = read_questions(questions_file)
    engine = NewsEngine(settings, embedders)
    engine.update_index()  # incremental: embeds only what changed since the last build
    if not exclude_gold_article:
        return evaluate(questions, partial(_retrieve_and_answer, engine))
    with tempfile.TemporaryDirectory(prefix="newsbot-eval-") as tmp:
        engines = _engines_without(settings, engine.embedders, questions, Path(tmp))
        by_question = {q.question: engines[q.article or ""] for q in questions}
        unanswerable = [dataclasses.replace(q, answers=()) for q in questions]
        return evaluate(
            unanswerable, lambda text: _retrieve_and_answer(by_question.get(text, engine), text)
        )


def _retrieve_and_answer(engine: NewsEngine, question: str) -> tuple[Any, Any]:
    retrieval = engine.retrieve(question, 10)
    return retrieval.hits, engine.answer(retrieval)


def _engines_without(
    settings: Settings, embedders: Sequence[Embedder], questions: Sequence[Any], tmp: Path
) -> dict[str, NewsEngine]:
    """One engine per gold article, over the articles folder minus that article."""
    engines: dict[str, NewsEngine] = {}
    files = [p for p in settings.articles_dir.iterdir() if p.is_file()]
    for article in sorted({q.article or "" for q in questions}):
        folder = tmp / f"articles-{len(engines)}"
        folder.mkdir()
        for file in files:
            if file.stem != article:
                (folder / file.name).symlink_to(file.resolve())
        index_copy = tmp / f"index-{len(engines)}"
        shutil.copytree(settings.index_dir, index_copy)
        without = dataclasses.replace(settings, articles_dir=folder, index_dir=index_copy)
        engines[article] = NewsEngine(without, embedders)
        engines[article].update_index()
    return engines
