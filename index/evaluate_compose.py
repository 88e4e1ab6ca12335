"""How composed answers cite, on a question file (``newsbot eval FILE --compose``).

Each answerable question the engine answers is composed by the configured language model
(``index.compose``), and what it cites is compared with the gold answers: the citation precision
is the share of the composed sentences' citations whose passage holds a gold answer string (from
the gold article, when the question names one). The quoted (extractive) answers' precision is
measured the same way beside it. A citation of a passage that supports the sentence without
holding the gold string counts as imprecise, so both figures are lower bounds; what they are for
is comparing a model with the quoted answers, and one model with another.
"""

from __future__ import annotations

import asyncio
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from index.compose import Composer
from index.config import Settings
from index.embedders import Embedder
from index.engine import NewsEngine
from index.evaluate import EvalQuestion, holds_answer, read_questions
from index.models import Answer


@dataclass(frozen=True)
class ComposedOutcome:
    """One answered question: which cited passages hold a gold answer, quoted and composed."""

    question: EvalQuestion
    extractive: tuple[bool, ...]  # per citation the quoted answer quotes
    composed: tuple[bool, ...]  # per citation the composed sentences make (empty: not composed)
    failure: str | None
    kept: int  # composed sentences sent
    dropped: int  # composed sentences that failed the checks
    seconds: float


@dataclass(frozen=True)
class CompositionReport:
    """Composed answers' citations against the quoted ones', over the answered questions."""

    model: str
    answered: int
    composed: int
    citation_precision: float | None
    extractive_precision: float | None
    sentences_kept: float | None
    latency_p50_ms: float
    latency_p95_ms: float
    failures: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "answered": self.answered,
            "composed": self.composed,
            "citation_precision": self.citation_precision,
            "extractive_citation_precision": self.extractive_precision,
            "sentences_kept": self.sentences_kept,
            "latency_p50_ms": round(self.latency_p50_ms, 1),
            "latency_p95_ms": round(self.latency_p95_ms, 1),
            "failures": self.failures,
        }


def evaluate_composition(
    questions: Path | Sequence[EvalQuestion],
    settings: Settings,
    embedders: Sequence[Embedder] | None = None,
) -> CompositionReport:
    """Compose the answers to ``questions`` with the model ``settings`` name, and score their
    citations (see the module docstring).

    Raises:
        NewsIndexError: the questions or the index cannot be read or built.
        ValueError: no language model is configured (``Settings.composes``).
    """
    if isinstance(questions, Path):
        questions = read_questions(questions)
    engine = NewsEngine(settings, embedders)
    engine.update_index()
    composer = Composer(settings)
    outcomes = []
    with asyncio.Runner() as runner:
        try:
            for question in questions:
                answer = engine.ask(question.question)
                if question.is_answerable and answer.found:
                    outcomes.append(runner.run(_compose(composer, question, answer)))
        finally:
            runner.run(composer.aclose())
    return summarize_composition(composer.model, outcomes)


async def _compose(composer: Composer, question: EvalQuestion, answer: Answer) -> ComposedOutcome:
    composition = await composer.compose(answer)
    return ComposedOutcome(
        question,
        _gold_citations(question, answer),
        _gold_citations(question, composition.answer) if composition.composed else (),
        composition.failure,
        len(composition.answer.sentences) if composition.composed else 0,
        len(composition.dropped),
        composition.seconds,
    )


def _gold_citations(question: EvalQuestion, answer: Answer) -> tuple[bool, ...]:
    by_number = {c.n: c for c in answer.citations}
    numbers = [n for sentence in answer.sentences for n in sentence.citations]
    return tuple(
        holds_answer(question, by_number[n].article_id, by_number[n].text) for n in numbers
    )


def summarize_composition(model: str, outcomes: Sequence[ComposedOutcome]) -> CompositionReport:
    """The report over ``outcomes``."""
    composed = [flag for o in outcomes for flag in o.composed]
    extractive = [flag for o in outcomes for flag in o.extractive]
    sentences = sum(o.kept + o.dropped for o in outcomes)
    latencies = sorted(o.seconds * 1000 for o in outcomes) or [0.0]
    quantiles = (
        statistics.quantiles(latencies, n=100, method="inclusive")
        if len(latencies) > 1
        else latencies * 99
    )
    return CompositionReport(
        model=model,
        answered=len(outcomes),
        composed=sum(1 for o in outcomes if o.composed),
        citation_precision=sum(composed) / len(composed) if composed else None,
        extractive_precision=sum(extractive) / len(extractive) if extractive else None,
        sentences_kept=sum(o.kept for o in outcomes) / sentences if sentences else None,
        latency_p50_ms=quantiles[49],
        latency_p95_ms=quantiles[94],
        failures=dict(Counter(o.failure for o in outcomes if o.failure)),
    )
