"""Quality on the seed article, with the real models and a real index: the first seed questions,
and floors on the reader-style questions (issue 11).

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


# --- reader-style questions (eval/reader_*.jsonl, written before tuning) -----------------------

EVAL = SEED_QUESTIONS.parent
READER = [json.loads(line) for line in (EVAL / "reader_seed.jsonl").read_text("utf-8").splitlines()]
OUT_OF_SCOPE = [
    q
    for q in map(json.loads, (EVAL / "reader_out_of_scope.jsonl").read_text("utf-8").splitlines())
    if q["corpus"] == "seed"
]


def _right(engine: NewsEngine, line: dict[str, Any]) -> bool:
    answer = engine.ask(line["question"])
    return (
        answer.found
        and answer.citations[0].paragraph == line["paragraph"]
        and any(a.casefold() in answer.citations[0].text.casefold() for a in line["answers"])
    )


@pytest.mark.parametrize(("language", "floor"), [("en", 0.75), ("ru", 0.85)])
def test_reader_questions_are_answered_right_at_least_as_often_as_measured(
    seed_engine: NewsEngine, language: str, floor: float
) -> None:
    # A regression floor, not the goal: issue 11 asks for 0.95 and the method reaches 0.80 (en)
    # and 0.875 (ru; 0.775 before its words were read in English) on these 40 + 40 questions
    # (`make eval`); see eval/README.md.
    lines = [q for q in READER if q["lang"] == language]
    assert sum(_right(seed_engine, q) for q in lines) / len(lines) >= floor


def test_out_of_scope_reader_questions_are_refused_at_least_as_often_as_measured(
    seed_engine: NewsEngine,
) -> None:
    # Measured 0.714 of 28 (0.39 before names, numbers and answer kinds were checked; 0.75 before
    # Russian words were read in English, which answers one more Russian near miss).
    refused = [not seed_engine.ask(q["question"]).found for q in OUT_OF_SCOPE]
    assert sum(refused) / len(refused) >= 0.70


@pytest.mark.parametrize(
    ("question", "unknown"),
    [
        pytest.param("What did Putin say about Gemini?", ("Gemini",), id="product"),
        pytest.param("Что Путин сказал про Alibaba?", ("Alibaba",), id="latin-in-russian"),
        pytest.param("What did Medvedev say about GigaChat?", ("Medvedev",), id="person"),
        pytest.param("Что сказал Медведев про ИИ?", ("Медведев",), id="cyrillic-person"),
        pytest.param("What did Putin say about AI in 2031?", ("2031",), id="figure"),
    ],
)
def test_a_question_naming_what_no_article_mentions_is_not_found(
    seed_engine: NewsEngine, question: str, unknown: tuple[str, ...]
) -> None:
    answer = seed_engine.ask(question)
    assert not answer.found
    assert answer.unknown == unknown
    assert answer.to_dict()["unknown"] == list(unknown)


@pytest.mark.parametrize(
    "question",
    [
        pytest.param("Кто разработал ГигаЧат?", id="transliterated"),
        pytest.param("Что Путин сказал о Сбербанке?", id="inflected"),
        pytest.param("Where did Vladimir Putin speak?", id="latin"),
        pytest.param("Выступал ли Путин в Москве?", id="russian-place"),
    ],
)
def test_names_the_article_mentions_in_either_script_are_known(
    seed_engine: NewsEngine, question: str
) -> None:
    retrieval = seed_engine.retrieve(question)
    assert retrieval.query.facts.names
    assert retrieval.retriever.unknown_names(retrieval.query) == ()


@pytest.mark.parametrize(
    "question",
    [
        pytest.param("When is the strategy session on AI going to be held?", id="no-date"),
        pytest.param("How many companies did Putin praise?", id="no-number"),
        pytest.param("Сколько компаний похвалил Путин?", id="ru-no-number"),
    ],
)
def test_a_best_passage_without_the_kind_of_answer_asked_for_does_not_answer(
    seed_engine: NewsEngine, question: str
) -> None:
    # Paragraph 7 proposes the session but gives no date, paragraph 6 no number: each scores
    # KIND_PENALTY less for the "not found" cut, which they then miss. (A penalty, not a veto:
    # "Where is the press conference held?" matches paragraph 10 so well that it still answers.)
    retrieval = seed_engine.retrieve(question)
    assert retrieval.query.facts.asks is not None
    assert not seed_engine.answer(retrieval).found


def test_the_kind_of_answer_is_there_so_the_question_is_answered(seed_engine: NewsEngine) -> None:
    answer = seed_engine.ask("When is the annual press conference this year?")
    assert answer.found
    assert "December 19" in answer.text


LUNAR_BAKERY = (
    "Bakery opens on a research station near the lunar south pole\n\n"
    "The research station now bakes rye bread in a low-gravity oven designed by the Danish "
    "baker Ingrid Holm, the first bakery off Earth.\n"
)


@pytest.mark.parametrize(
    ("question", "unknown"),
    [
        pytest.param("Who designed the oven of the bakery on the Moon?", (), id="moon-lunar"),
        pytest.param("Which baker from Denmark designed the oven?", (), id="denmark-danish"),
        pytest.param("Which baker from France designed the oven?", ("France",), id="france"),
    ],
)
def test_a_name_the_best_passage_says_in_another_word_is_known(
    engine: NewsEngine, question: str, unknown: tuple[str, ...]
) -> None:
    (engine.settings.articles_dir / "lunar-bakery.txt").write_text(LUNAR_BAKERY, encoding="utf-8")
    engine.update_index()
    answer = engine.ask(question)
    assert answer.unknown == unknown
    assert answer.found == (not unknown)
    if answer.found:
        assert "Ingrid Holm" in answer.citations[0].text
