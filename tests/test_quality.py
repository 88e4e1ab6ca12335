"""Quality targets on the seed article (issue 5), with the real models and a real index.

The full xquad-dev evaluation is `make eval` (eval/run_eval.py); this pins the seed targets.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from index.engine import NewsEngine

SEED_QUESTIONS = Path(__file__).resolve().parent.parent / "eval" / "seed_questions.jsonl"
LINES = [json.loads(line) for line in SEED_QUESTIONS.read_text(encoding="utf-8").splitlines()]
ANSWERABLE = [pytest.param(q, id=q["id"]) for q in LINES if q["answers"]]
UNANSWERABLE = [pytest.param(q, id=q["id"]) for q in LINES if not q["answers"]]


def test_seed_file_has_both_languages_and_unanswerable_lines() -> None:
    assert {q["lang"] for q in LINES} == {"en", "ru"}
    assert len(ANSWERABLE) >= 10
    assert len(UNANSWERABLE) >= 2


@pytest.mark.parametrize("line", ANSWERABLE)
def test_gold_paragraph_is_ranked_first(seed_engine: NewsEngine, line: dict[str, Any]) -> None:
    top = seed_engine.retrieve(line["question"], 3).hits[0]
    assert top.passage.paragraph == line["paragraph"]
    assert any(answer.casefold() in top.passage.text.casefold() for answer in line["answers"])


@pytest.mark.parametrize("line", ANSWERABLE)
def test_answerable_question_is_answered(seed_engine: NewsEngine, line: dict[str, Any]) -> None:
    answer = seed_engine.ask(line["question"])
    assert answer.found
    assert answer.citations[0].paragraph == line["paragraph"]


@pytest.mark.parametrize("line", UNANSWERABLE)
def test_unanswerable_question_is_not_found(seed_engine: NewsEngine, line: dict[str, Any]) -> None:
    answer = seed_engine.ask(line["question"])
    assert not answer.found
    assert answer.citations == ()


def test_answer_text_quotes_a_gold_answer_for_nine_in_ten(seed_engine: NewsEngine) -> None:
    answerable = [q for q in LINES if q["answers"]]
    hits = [
        any(a.casefold() in seed_engine.ask(q["question"]).text.casefold() for a in q["answers"])
        for q in answerable
    ]
    assert sum(hits) / len(hits) >= 0.9


def test_answers_quote_sentences_not_whole_paragraphs(seed_engine: NewsEngine) -> None:
    answer = seed_engine.ask("Who developed GigaChat?")
    assert answer.text == (
        "Last week, the Kremlin announced its intention to utilize GigaChat, a tool developed by "
        "Sberbank, to manage questions submitted by the public. [1]"
    )
    answer = seed_engine.ask("Where did Putin speak about artificial intelligence?")
    assert "Moscow" in answer.text
    assert "He noted AI’s increasing integration" not in answer.text
