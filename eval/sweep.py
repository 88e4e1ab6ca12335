"""Try "not found" thresholds without asking again: what ``make eval`` would show at each.

The "not found" cut depends on the thresholds only through one comparison per question (the
best passage's score, less the answer-kind penalty, against the threshold of its pair of
languages; ``index.engine.Cut``), so the questions are asked once (``collect``: the question
sets of ``make eval`` that are not conversations, the ``-nf`` ones of indexes rebuilt without
the gold article) and any thresholds are then scored from the stored figures in a second
(``sweep``). At today's thresholds the sweep gives ``make eval``'s headline on every row.

    .venv/bin/python -m eval.sweep collect data/eval/cut.json [--only xq-en,xq-en-nf]
    .venv/bin/python -m eval.sweep sweep data/eval/cut.json en-en=0.87 ru-en=0.82
    .venv/bin/python -m eval.sweep sweep data/eval/cut.json --match   # today's "not found"

Pairs are question language - best passage's language (``en-en``, ``ru-ru``, ``ru-en``);
``--match`` raises or lowers each pair's threshold in steps of 0.0025 to the lowest that keeps
the tune half's "not found" share of its xquad-dev ``-nf`` row at today's, the rule the
thresholds were first chosen by (report the report halves).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

# First: eval.run_eval sets the offline environment before anything loads a model.
from eval.run_eval import DATA, RUNS, Run, corpus_folder
from index.config import Settings
from index.embedders import Embedder
from index.engine import NewsEngine, load_embedders
from index.evaluate import (
    MRR_DEPTH,
    EvalQuestion,
    engines_without,
    holds_answer,
    read_questions,
)

# The -nf row whose tune half sets each pair's threshold under --match.
MATCHED_BY = {"en-en": "xq-en-nf", "ru-ru": "xq-ru-nf", "ru-en": "xq-ru2en-nf"}
STEP = 0.0025


@dataclass(frozen=True)
class Record:
    """One question as the cut saw it."""

    run: str
    split: str | None
    answerable: bool  # False for out-of-scope questions and every -nf question
    right: bool  # the best passage holds the gold answer (what the first citation would be)
    unknown: bool  # names or numbers no article mentions: refused at any threshold
    score: float | None
    min_score: float
    pair: str  # question language - best passage's language

    def answers(self, thresholds: Mapping[str, float]) -> bool:
        threshold = thresholds.get(self.pair, self.min_score)
        return not self.unknown and self.score is not None and self.score >= threshold

    def is_right(self, thresholds: Mapping[str, float]) -> bool:
        """Answered right, or refused when it has no answer (``make eval``'s headline)."""
        answers = self.answers(thresholds)
        return answers and self.right if self.answerable else not answers


def collect(runs: Sequence[Run], embedders: list[Embedder]) -> list[Record]:
    folders = {corpus: corpus_folder(corpus) for corpus in {run.corpus for run in runs}}
    records: list[Record] = []
    for run in runs:
        sys.stderr.write(f"collecting {run.name} ...\n")
        settings = Settings(
            articles_dir=folders[run.corpus], index_dir=DATA / f"index-{run.corpus}"
        )
        questions = read_questions(run.questions, run.select)
        engine = NewsEngine(settings, embedders)
        engine.update_index()
        if not run.exclude_gold_article:
            records += question_records(run.name, [(q, engine) for q in questions], answerable=None)
            continue
        with tempfile.TemporaryDirectory(prefix="newsbot-sweep-") as tmp:
            engines = engines_without(settings, embedders, questions, Path(tmp))
            asked = [(q, engines[q.article or ""]) for q in questions]
            records += question_records(run.name, asked, answerable=False)
    return records


def question_records(
    run: str, asked: Iterable[tuple[EvalQuestion, NewsEngine]], answerable: bool | None
) -> list[Record]:
    """Each question asked of its engine; ``answerable``: None to take the question's own (the
    out-of-scope lines have no answer)."""
    records = []
    for question, engine in asked:
        retrieval = engine.retrieve(question.question, MRR_DEPTH)
        cut = engine.cut(retrieval)
        best = retrieval.hits[0].passage if retrieval.hits else None
        has_answer = question.is_answerable if answerable is None else answerable
        records.append(
            Record(
                run=run,
                split=question.split,
                answerable=has_answer,
                right=has_answer
                and best is not None
                and holds_answer(question, best.article_id, best.text),
                unknown=bool(cut.unknown),
                score=cut.score,
                min_score=cut.min_score,
                pair=f"{cut.question_language}-{cut.passage_language}",
            )
        )
    return records


def headlines(
    records: Sequence[Record], thresholds: Mapping[str, float]
) -> dict[str, dict[str, float]]:
    """Run -> half ("tune", "report", "all") -> the share right at these thresholds."""
    tally: dict[str, dict[str, list[bool]]] = {}
    for record in records:
        halves = tally.setdefault(record.run, {})
        right = record.is_right(thresholds)
        for half in ("all", record.split):
            if half:
                halves.setdefault(half, []).append(right)
    return {
        run: {half: sum(marks) / len(marks) for half, marks in halves.items()}
        for run, halves in tally.items()
    }


def today(records: Sequence[Record]) -> dict[str, float]:
    """Each pair's threshold as the records were collected."""
    return {record.pair: record.min_score for record in records}


def matched(records: Sequence[Record]) -> dict[str, float]:
    """Each pair's lowest threshold (in STEPs) at which the tune half of its -nf row refuses as
    many as at today's thresholds."""
    current = today(records)
    before = headlines(records, current)
    chosen = dict(current)
    for pair, run in MATCHED_BY.items():
        if pair not in current or "tune" not in before.get(run, {}):
            continue
        goal = before[run]["tune"]
        candidate = current[pair] - 40 * STEP
        while candidate < current[pair] + 40 * STEP:
            trial = {**chosen, pair: round(candidate, 4)}
            if headlines(records, trial)[run]["tune"] >= goal - 1e-9:
                chosen = trial
                break
            candidate += STEP
    return chosen


def format_rows(results: Mapping[str, Mapping[str, float]]) -> str:
    def num(value: float | None) -> str:
        return "   - " if value is None else f"{value:.3f}"

    lines = [f"{'run':<13} {'tune':>5} {'report':>6} {'all':>5}"]
    for run, halves in results.items():
        lines.append(
            f"{run:<13} {num(halves.get('tune'))} {num(halves.get('report')):>6} "
            f"{num(halves.get('all'))}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    gather = commands.add_parser("collect", help="ask the questions once, store the figures")
    gather.add_argument("file", type=Path)
    gather.add_argument("--only", help="comma-separated run names (default: all question runs)")
    sweep = commands.add_parser("sweep", help="score thresholds on stored figures")
    sweep.add_argument("file", type=Path)
    sweep.add_argument("thresholds", nargs="*", help="pair=threshold, e.g. ru-en=0.82")
    sweep.add_argument("--match", action="store_true", help="today's 'not found' on tune halves")
    options = parser.parse_args(argv)
    if options.command == "collect":
        wanted = set(options.only.split(",")) if options.only else None
        runs = [
            run for run in RUNS if not run.conversations and (wanted is None or run.name in wanted)
        ]
        records = collect(runs, load_embedders(Settings()))
        options.file.parent.mkdir(parents=True, exist_ok=True)
        options.file.write_text(json.dumps([asdict(r) for r in records]), encoding="utf-8")
        sys.stdout.write(f"{len(records)} questions -> {options.file}\n")
        return 0
    records = [Record(**raw) for raw in json.loads(options.file.read_text(encoding="utf-8"))]
    thresholds = matched(records) if options.match else today(records)
    for item in options.thresholds:
        pair, _, value = item.partition("=")
        thresholds[pair] = float(value)
    shown = ", ".join(f"{pair} {value:g}" for pair, value in sorted(thresholds.items()))
    sys.stdout.write(f"thresholds: {shown}\n{format_rows(headlines(records, thresholds))}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
