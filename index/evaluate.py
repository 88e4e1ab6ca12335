"""Answer quality as a reader sees it, on a question file (the format of ``eval/``).

A question is answered right only when the engine answers (not "not found") AND its first
citation holds the gold answer: that user-facing accuracy is the headline. Recall before the "not
found" cut, MRR and the rest are diagnostics. A question without answers must be refused.

Question files may split their questions into a ``tune`` half (what thresholds and weights were
chosen on) and a ``report`` half (what is quoted): a line's ``split`` field, or for questions that
name their article, a hash of the article's file name (every question of an article in one half).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from index.config import Settings
from index.conversation import Turn
from index.embedders import Embedder
from index.engine import NewsEngine
from index.errors import NewsIndexError
from index.models import Answer, Hit

T = TypeVar("T")
RANKS = (1, 3, 5)
MRR_DEPTH = 10
SPLITS = ("tune", "report")
CONTEXT_TURNS = 3  # what a chat keeps: the bot's default
Ask = Callable[[str], tuple[Sequence[Hit], Answer]]


def article_split(article_file: str) -> str:
    """The half an article's questions belong to: ``tune`` or ``report``, by a hash of its name."""
    return "tune" if int(hashlib.sha1(article_file.encode()).hexdigest(), 16) % 2 == 0 else "report"


@dataclass(frozen=True)
class EvalQuestion:
    """One line of a question file: gold answers, and optionally the gold article and the half."""

    qid: str
    question: str
    answers: tuple[str, ...]
    article: str | None = None  # article id (file stem), when the file names it
    split: str | None = None  # "tune" or "report", when the file splits its questions

    @property
    def is_answerable(self) -> bool:
        return bool(self.answers)


@dataclass(frozen=True)
class Outcome:
    """What one question got."""

    question: EvalQuestion
    found: bool
    right: bool  # found, and the first citation holds a gold answer (answerable questions)
    rank: int | None  # rank of the first gold passage before the "not found" cut, if in the top 10
    answer_hit: bool  # the quoted answer holds a gold answer string
    latency_ms: float


@dataclass(frozen=True)
class EvalReport:
    """Metrics over some questions; ``None`` where no question of that kind was asked."""

    questions: int
    answerable: int
    unanswerable: int
    accuracy: float | None  # user-facing: answered and the first citation is right
    found_rate: float | None  # answerable questions answered at all (right or wrong)
    recall: dict[int, float | None]  # before the "not found" cut
    mrr: float | None
    answer_hit: float | None
    not_found_accuracy: float | None  # unanswerable questions refused
    latency_p50_ms: float
    latency_p95_ms: float
    misses: tuple[str, ...]  # ids of questions the reader got wrong

    @property
    def right_share(self) -> float | None:
        """What a reader sees over every question: answered right, or refused when the articles
        do not answer it (``accuracy`` and ``not_found_accuracy`` together)."""
        return 1 - len(self.misses) / self.questions if self.questions else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "accuracy": self.accuracy,
            "found_rate": self.found_rate,
            **{f"recall@{k}": v for k, v in self.recall.items()},
            f"mrr@{MRR_DEPTH}": self.mrr,
            "answer_hit": self.answer_hit,
            "not_found_accuracy": self.not_found_accuracy,
            "right_share": self.right_share,
            "questions": self.questions,
            "answerable": self.answerable,
            "unanswerable": self.unanswerable,
            "latency_p50_ms": round(self.latency_p50_ms, 1),
            "latency_p95_ms": round(self.latency_p95_ms, 1),
            "misses": list(self.misses),
        }


@dataclass(frozen=True)
class EvalResult:
    """Every question's outcome, summarised over all of them or over one half."""

    outcomes: tuple[Outcome, ...]

    @property
    def splits(self) -> tuple[str, ...]:
        present = {o.question.split for o in self.outcomes}
        return tuple(s for s in SPLITS if s in present)

    def report(self, split: str | None = None) -> EvalReport:
        """The metrics over all questions, or over the ``tune`` or ``report`` half."""
        return summarize([o for o in self.outcomes if split is None or o.question.split == split])

    def to_dict(self) -> dict[str, Any]:
        return {
            "all": self.report().to_dict(),
            **{s: self.report(s).to_dict() for s in self.splits},
        }


def read_questions(
    path: Path, select: Callable[[Mapping[str, Any]], bool] | None = None
) -> list[EvalQuestion]:
    """Read a JSONL question file (``id``, ``question``, ``answers``, optional ``article`` and
    ``split``); ``select`` keeps only the lines it accepts.

    Raises:
        NewsIndexError: the file is missing or a line is not a question object.
    """
    return _read_jsonl(path, select, _question, "a question object")


def _read_jsonl(
    path: Path,
    select: Callable[[Mapping[str, Any]], bool] | None,
    parse: Callable[[Mapping[str, Any], int], T],
    what: str,
) -> list[T]:
    """``parse(line, line number)`` of each JSON line ``select`` accepts (blank lines skipped);
    a line that is not ``what`` is a NewsIndexError naming the file and line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise NewsIndexError(f"Cannot read {path}: {exc.strerror or exc}") from exc
    parsed = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            if select is not None and not select(raw):
                continue
            parsed.append(parse(raw, number))
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise NewsIndexError(f"{path}:{number}: not {what} ({exc})") from exc
    return parsed


def _question(raw: Mapping[str, Any], number: int) -> EvalQuestion:
    article = raw.get("article")
    split = raw.get("split") or (article_split(str(article)) if article else None)
    return EvalQuestion(
        qid=str(raw.get("id", number)),
        question=str(raw["question"]),
        answers=tuple(str(a) for a in raw.get("answers") or ()),
        article=Path(article).stem if article else None,
        split=str(split) if split else None,
    )


def is_gold(question: EvalQuestion, hit: Hit) -> bool:
    """A hit is gold when it contains a gold answer string (and is from the gold article, when
    the question names one)."""
    return _holds_answer(question, hit.passage.article_id, hit.passage.text)


def holds_answer(question: EvalQuestion, article_id: str, text: str) -> bool:
    """Whether a passage's ``text`` holds a gold answer string (and is from the gold article,
    when the question names one)."""
    return _holds_answer(question, article_id, text)


def _holds_answer(question: EvalQuestion, article_id: str, text: str) -> bool:
    if question.article and article_id != question.article:
        return False
    folded = text.casefold()
    return any(answer.casefold() in folded for answer in question.answers)


def evaluate(questions: Iterable[EvalQuestion], ask: Ask) -> EvalResult:
    """Run every question through ``ask`` (ranked hits at depth >= 10, and the final answer)."""
    return EvalResult(tuple(_outcome(question, ask) for question in questions))


def _outcome(question: EvalQuestion, ask: Ask) -> Outcome:
    started = time.perf_counter()
    hits, answer = ask(question.question)
    return _scored(question, hits, answer, (time.perf_counter() - started) * 1000)


def _scored(
    question: EvalQuestion, hits: Sequence[Hit], answer: Answer, latency_ms: float
) -> Outcome:
    if not question.is_answerable:
        return Outcome(question, answer.found, False, None, False, latency_ms)
    rank = next((i for i, hit in enumerate(hits[:MRR_DEPTH], 1) if is_gold(question, hit)), None)
    first = answer.citations[0] if answer.found and answer.citations else None
    right = first is not None and _holds_answer(question, first.article_id, first.text)
    answer_text = answer.text.casefold()
    answer_hit = answer.found and any(a.casefold() in answer_text for a in question.answers)
    return Outcome(question, answer.found, right, rank, answer_hit, latency_ms)


def summarize(outcomes: Sequence[Outcome]) -> EvalReport:
    """The metrics over ``outcomes``."""
    answerable = [o for o in outcomes if o.question.is_answerable]
    unanswerable = [o for o in outcomes if not o.question.is_answerable]
    ranks = [o.rank for o in answerable]
    latencies = [o.latency_ms for o in outcomes]
    wrong = [o.question.qid for o in answerable if not o.right]
    wrong += [o.question.qid for o in unanswerable if o.found]
    return EvalReport(
        questions=len(outcomes),
        answerable=len(answerable),
        unanswerable=len(unanswerable),
        accuracy=_mean([o.right for o in answerable]),
        found_rate=_mean([o.found for o in answerable]),
        recall={k: _mean([r is not None and r <= k for r in ranks]) for k in RANKS},
        mrr=_mean([1 / r if r else 0.0 for r in ranks]),
        answer_hit=_mean([o.answer_hit for o in answerable]),
        not_found_accuracy=_mean([not o.found for o in unanswerable]),
        latency_p50_ms=_percentile(latencies, 50),
        latency_p95_ms=_percentile(latencies, 95),
        misses=tuple(wrong),
    )


def _mean(values: Sequence[bool] | Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _percentile(values: Sequence[float], percent: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


def run_evaluation(
    questions: Path | Sequence[EvalQuestion],
    settings: Settings,
    embedders: Sequence[Embedder] | None = None,
    *,
    exclude_gold_article: bool = False,
) -> EvalResult:
    """Evaluate questions (a file, or read ones) against the index in ``settings``, brought up to
    date first, with ``embedders`` (by default the configured models are loaded).

    With ``exclude_gold_article`` every question becomes unanswerable and is asked of a copy of
    the index rebuilt without its gold article (vectors are reused, nothing is re-embedded).

    Raises:
        NewsIndexError: the questions or the index cannot be read or built.
    """
    if isinstance(questions, Path):
        questions = read_questions(questions)
    engine = NewsEngine(settings, embedders)
    engine.update_index()  # incremental: embeds only what changed since the last build
    if not exclude_gold_article:
        return evaluate(questions, partial(_retrieve_and_answer, engine))
    with tempfile.TemporaryDirectory(prefix="newsbot-eval-") as tmp:
        engines = engines_without(settings, engine.embedders, questions, Path(tmp))
        by_question = {q.question: engines[q.article or ""] for q in questions}
        unanswerable = [dataclasses.replace(q, answers=()) for q in questions]
        return evaluate(
            unanswerable, lambda text: _retrieve_and_answer(by_question.get(text, engine), text)
        )


def _retrieve_and_answer(engine: NewsEngine, question: str) -> tuple[Sequence[Hit], Answer]:
    retrieval = engine.retrieve(question, MRR_DEPTH)
    return retrieval.hits, engine.answer(retrieval)


def engines_without(
    settings: Settings, embedders: Sequence[Embedder], questions: Sequence[EvalQuestion], tmp: Path
) -> dict[str, NewsEngine]:
    """One engine per gold article, over the articles folder minus that article."""
    engines: dict[str, NewsEngine] = {}
    files = [p for p in settings.articles_dir.iterdir() if p.is_file()]
    for article in sorted({q.article or "" for q in questions}):
        folder = tmp / f"articles-{len(engines)}"
        folder.mkdir()
        for file in files:
            if file.stem != article:
                _link_or_copy(file, folder / file.name)
        index_copy = tmp / f"index-{len(engines)}"
        shutil.copytree(settings.index_dir, index_copy)
        without = dataclasses.replace(settings, articles_dir=folder, index_dir=index_copy)
        engines[article] = NewsEngine(without, embedders)
        engines[article].update_index()
    return engines


def _link_or_copy(source: Path, target: Path) -> None:
    # A hard link, not a symlink: the articles folder does not follow links that leave it.
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


@dataclass(frozen=True)
class Conversation:
    """A line of a conversation file: questions asked one after another in one chat."""

    cid: str
    kind: str  # "followup": every later turn leans on the earlier ones; "topic_switch": the last
    # turn changes the subject and must be refused or answered as a question of its own
    split: str | None
    turns: tuple[EvalQuestion, ...]


def read_conversations(
    path: Path, select: Callable[[Mapping[str, Any]], bool] | None = None
) -> list[Conversation]:
    """Read a JSONL conversation file (``id``, ``kind``, ``split``, ``turns`` of questions).

    Raises:
        NewsIndexError: the file is missing or a line is not a conversation.
    """
    return _read_jsonl(path, select, _conversation, "a conversation")


def _conversation(raw: Mapping[str, Any], number: int) -> Conversation:
    cid = str(raw.get("id", number))
    turns = tuple(
        dataclasses.replace(_question(turn, number), qid=f"{cid}/{i}", split=raw["split"])
        for i, turn in enumerate(raw["turns"], start=1)
    )
    return Conversation(cid, str(raw["kind"]), raw.get("split"), turns)


def evaluate_conversations(
    conversations: Iterable[Conversation], engine: NewsEngine, *, with_context: bool = True
) -> EvalResult:
    """Ask each conversation's turns in order, each with the earlier turns as its context (the
    engine's own answers: what it cited), and score the turns that lean on them: every later turn
    of a follow-up conversation, and the last turn of a topic switch, which is right when it is
    refused or answered right on its own terms."""
    outcomes = []
    for conversation in conversations:
        context: list[Turn] = []
        for number, turn in enumerate(conversation.turns):
            started = time.perf_counter()
            retrieval = engine.retrieve(turn.question, MRR_DEPTH, context if with_context else ())
            answer = engine.answer(retrieval)
            latency_ms = (time.perf_counter() - started) * 1000
            cited = tuple((c.article_id, c.paragraph) for c in answer.citations)
            context = [*context, Turn(turn.question, cited)][-CONTEXT_TURNS:]
            is_last = number == len(conversation.turns) - 1
            if number == 0 or (conversation.kind == "topic_switch" and not is_last):
                continue
            outcome = _scored(turn, retrieval.hits, answer, latency_ms)
            if conversation.kind == "topic_switch" and turn.is_answerable and not answer.found:
                outcome = dataclasses.replace(outcome, right=True)  # refused a new subject: fine
            outcomes.append(outcome)
    return EvalResult(tuple(outcomes))
