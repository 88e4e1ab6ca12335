"""Answer sentences: chosen by the question's words and the kind of thing it asks for."""

from __future__ import annotations

import pytest

from index.answer import (
    MAX_ANSWER_CHARS,
    MAX_SENTENCES,
    answer_question,
    blended_scorer,
    lexical_scorer,
)
from index.models import Hit, Passage
from index.text import content_hash


def _hit(text: str, score: float, paragraph: int = 1) -> Hit:
    passage = Passage("a1", "Title", paragraph, 0, text, content_hash(text))
    return Hit(passage, score)


PARAGRAPH = (
    "Putin praised the AI tools used for his Q&A session. "
    "Last week, the Kremlin announced its intention to use GigaChat, a tool developed by Sberbank. "
    "The annual press conference will take place on December 19."
)


def test_sentence_with_the_question_words_is_quoted_alone() -> None:
    answer = answer_question("Who developed GigaChat?", [_hit(PARAGRAPH, 0.9)], min_score=0.5)
    assert answer.found
    assert answer.text == (
        "Last week, the Kremlin announced its intention to use GigaChat, a tool developed by "
        "Sberbank. [1]"
    )


def test_when_question_prefers_the_sentence_with_a_date() -> None:
    scorer = lexical_scorer("When will it take place?")
    undated, dated = scorer(["It will take place soon.", "It will take place on December 19."])
    assert dated > undated


def test_how_many_question_prefers_the_sentence_with_a_number() -> None:
    scorer = lexical_scorer("Сколько вопросов обработал GigaChat?")
    plain, counted = scorer(["GigaChat обработал вопросы.", "GigaChat обработал 2 млн вопросов."])
    assert counted > plain


def test_rare_words_weigh_more_than_common_ones() -> None:
    idf = {"putin": 0.1, "gigachat": 3.0}
    scorer = lexical_scorer("Putin GigaChat", lambda word: idf.get(word, 1.0))
    only_common, only_rare = scorer(["Putin spoke.", "GigaChat answered."])
    assert only_rare > only_common


def test_best_passage_below_min_score_is_not_found() -> None:
    answer = answer_question("Who developed GigaChat?", [_hit(PARAGRAPH, 0.4)], min_score=0.5)
    assert not answer.found
    assert answer.citations == ()
    assert answer.text == ""


def test_sentences_are_quoted_in_reading_order_with_their_citation() -> None:
    hits = [_hit("GigaChat answers questions. Sberbank built GigaChat.", 0.9), _hit("Other.", 0.8)]
    answer = answer_question("GigaChat Sberbank questions", hits, min_score=0.5)
    assert [s.text for s in answer.sentences] == [
        "GigaChat answers questions.",
        "Sberbank built GigaChat.",
    ]
    assert {s.citation for s in answer.sentences} == {1}
    assert [c.n for c in answer.citations] == [1, 2]


def test_answer_stays_short() -> None:
    long_sentences = " ".join(f"GigaChat fact number {i} is {'long ' * 30}." for i in range(8))
    answer = answer_question("GigaChat fact", [_hit(long_sentences, 0.9)], min_score=0.5)
    assert 1 <= len(answer.sentences) <= MAX_SENTENCES
    assert sum(len(s.text) for s in answer.sentences) <= MAX_ANSWER_CHARS


def test_blended_scorer_adds_weighted_similarity_and_floors_unknown_sentences() -> None:
    base = lexical_scorer("When is the press conference?")
    similarity = {"The press conference is on December 19.": 0.9, "Putin spoke.": 0.5}
    blended = blended_scorer(base, similarity, 2.0)
    sentences = ["The press conference is on December 19.", "Putin spoke.", "Unseen sentence."]
    plain, mixed = base(sentences), blended(sentences)
    assert mixed[0] == pytest.approx(plain[0] + 1.8)
    assert mixed[1] == pytest.approx(plain[1] + 1.0)
    assert mixed[2] == pytest.approx(plain[2] + 1.0)  # the least similar known sentence's value


def test_a_sentence_longer_than_an_answer_is_quoted_up_to_a_word() -> None:
    run_on = " ".join(["GigaChat was built by Sberbank"] + [f"and part{i}" for i in range(400)])
    (sentence,) = answer_question(
        "Who built GigaChat?", [_hit(run_on, 0.9)], min_score=0.5
    ).sentences
    assert len(sentence.text) <= MAX_ANSWER_CHARS
    assert sentence.text.endswith("…")
    assert run_on.startswith(sentence.text.removesuffix("…") + " ")  # cut between words


def test_of_a_long_sentence_the_stretch_that_answers_is_quoted() -> None:
    filler = [f"and part{i}" for i in range(400)]
    run_on = " ".join([*filler[:200], "GigaChat was built by Sberbank", *filler[200:]])
    (sentence,) = answer_question(
        "Who built GigaChat?", [_hit(run_on, 0.9)], min_score=0.5
    ).sentences
    assert len(sentence.text) <= MAX_ANSWER_CHARS
    assert "GigaChat was built by Sberbank" in sentence.text
    assert sentence.text.startswith("…")
    assert sentence.text.endswith("…")
    assert f" {sentence.text.strip('…')} " in f" {run_on} "  # whole words
