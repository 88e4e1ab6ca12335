"""Russian words matched to the English words of an index (``index.word_map``), and BM25 over
them: what lets a Russian question find an English paragraph by its words."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from index.config import Settings
from index.embedders import Embedder
from index.engine import NewsEngine
from index.word_map import WordMap, WordVectorCache, english_words, russian_words

VULKAN = """Извержение вулкана на полуострове Рейкьянес

Вулкан на полуострове Рейкьянес начал извергаться в понедельник вечером.

Власти эвакуировали рыбацкий город Гриндавик; пострадавших нет.
"""


def _e5(embedders: list[Embedder]) -> Embedder:
    return next(e for e in embedders if e.multilingual)


def test_english_words_are_the_latin_content_words_of_three_letters_or_more() -> None:
    text = "The companies' AI-powered bots, 3 of them, in Moscow: Москва и 2024 bots."
    assert english_words(text) == {"companies", "powered", "bots", "moscow"}


def test_russian_words_are_the_question_s_cyrillic_content_words_once_each() -> None:
    assert russian_words("Какие компании и какие рынки ИИ? Компании из GigaChat") == [
        "компании",
        "рынки",
    ]


def test_each_vector_maps_to_its_nearest_word_in_use_above_the_bar() -> None:
    words = ["companies", "company", "markets", "weather"]
    vectors = np.eye(4, dtype=np.float16)
    in_use = {"compani", "market"}  # "weather" was in a removed article
    index = WordMap(words, vectors, lambda stem: stem in in_use)
    close_to_markets = np.array([0.0, 0.0, 0.95, 0.31], np.float32)
    unrelated = np.array([0.5, 0.5, 0.5, 0.5], np.float32)
    only_weather = np.array([0.0, 0.0, 0.0, 1.0], np.float32)
    assert index.stems(np.stack([close_to_markets, unrelated, only_weather])) == [
        "market",
        None,  # cosine 0.5 to each: no translation
        None,  # "weather" is no longer in any passage
    ]


def test_an_index_without_word_vectors_maps_nothing() -> None:
    index = WordMap(["markets"], None, lambda stem: True)
    assert not index
    assert index.stems(np.ones((2, 4), np.float32)) == [None, None]


def test_russian_words_find_their_english_translations(embedders: list[Embedder]) -> None:
    words = ["companies", "markets", "president", "weather", "volcano", "bank"]
    e5 = _e5(embedders)
    index = WordMap(words, e5.embed_queries(words), lambda stem: True)
    russian = ["компаний", "рынки", "президент", "вулкан", "банк"]
    assert index.stems(e5.embed_queries(russian)) == [
        "compani",
        "market",
        "presid",
        "volcano",
        "bank",
    ]
    assert index.stems(e5.embed_queries(["футбол", "зарплаты"])) == [None, None]


def test_a_russian_question_is_searched_with_the_english_words_it_means(
    seed_engine: NewsEngine,
) -> None:
    retrieval = seed_engine.retrieve("Какой банк разработал чат-бот?")  # English passages
    # The article names the bank and the chatbot: "... GigaChat, developed by Sberbank".
    assert {"sberbank", "gigachat"} <= set(retrieval.query.cross_words)
    assert retrieval.hits[0].passage.paragraph == 9
    assert seed_engine.answer(retrieval).found
    english = seed_engine.retrieve("Who developed GigaChat?").query
    assert english.cross_words == ()  # nothing to translate


def test_a_russian_question_about_russian_passages_is_not_translated(
    engine: NewsEngine, settings: Settings
) -> None:
    (settings.articles_dir / "vulkan.txt").write_text(VULKAN, encoding="utf-8")
    engine.update_index()
    retrieval = engine.retrieve("Какой город эвакуировали из-за извержения?")
    assert retrieval.hits[0].passage.article_id == "vulkan"
    assert retrieval.query.cross_words == ()  # no e5 call for its words


def test_word_vectors_are_embedded_once_and_the_least_recent_dropped() -> None:
    calls: list[list[str]] = []

    def embed(words: Sequence[str]) -> np.ndarray:
        calls.append(list(words))
        return np.array([[len(w), 1.0] for w in words], np.float32)

    cache = WordVectorCache(embed, size=2)
    np.testing.assert_array_equal(cache(["рынки", "банк", "рынки"])[:, 0], [5, 4, 5])
    cache(["банк", "вулкан"])  # "рынки" is now the least recently used: dropped
    cache(["рынки", "вулкан"])
    assert calls == [["рынки", "банк"], ["вулкан"], ["рынки"]]
