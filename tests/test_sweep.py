"""eval/sweep.py: thresholds scored on stored figures give what the engine itself answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.sweep import Record, headlines, question_records, today
from index.engine import NewsEngine
from index.evaluate import EvalQuestion, read_questions, run_evaluation

EVAL = Path(__file__).resolve().parent.parent / "eval"


def _questions() -> list[EvalQuestion]:
    # The reader questions about the seed article and its out-of-scope ones (no answer).
    return [
        *read_questions(EVAL / "reader_seed.jsonl"),
        *read_questions(EVAL / "reader_out_of_scope.jsonl", lambda raw: raw["corpus"] == "seed"),
    ]


@pytest.fixture(scope="module")
def records(seed_engine: NewsEngine) -> list[Record]:
    return question_records("seed", [(q, seed_engine) for q in _questions()], answerable=None)


def test_at_todays_thresholds_the_sweep_is_what_the_reader_gets(
    seed_engine: NewsEngine, records: list[Record]
) -> None:
    # What `newsbot eval` measures, through its own engine over the same (unchanged) index.
    result = run_evaluation(_questions(), seed_engine.settings, seed_engine.embedders)
    swept = headlines(records, today(records))["seed"]
    assert set(today(records)) == {"en-en", "ru-en"}  # English and Russian questions, one story
    for half in ("tune", "report"):
        assert swept[half] == pytest.approx(result.report(half).right_share)
    answered = {o.question.qid for o in result.outcomes if o.found}
    by_question = {q.qid: r for q, r in zip(_questions(), records, strict=True)}
    assert {qid for qid, r in by_question.items() if r.answers(today(records))} == answered


def test_a_threshold_moves_only_its_own_pair(records: list[Record]) -> None:
    current = today(records)
    refuse_english = {**current, "en-en": 2.0}  # no score reaches it
    for record in records:
        expected = record.answers(current) and record.pair != "en-en"
        assert record.answers(refuse_english) is expected
    # Refusing everything: only the out-of-scope questions are right.
    nothing = headlines(records, dict.fromkeys(current, 2.0))["seed"]
    assert nothing["all"] == pytest.approx(sum(not r.answerable for r in records) / len(records))
