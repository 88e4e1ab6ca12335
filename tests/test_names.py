"""The names an index mentions, and names matched across Latin and Cyrillic."""

from __future__ import annotations

import numpy as np
import pytest

from index.models import Article
from index.names import (
    NameIndex,
    article_names,
    common_english_words,
    joined_pairs,
    spelled_alike,
)


@pytest.mark.parametrize(
    ("question_word", "index_name"),
    [
        pytest.param("Путина", "putin", id="case-ending"),
        pytest.param("Сбербанку", "sberbank", id="dative"),
        pytest.param("ГигаЧат", "gigachat", id="camel"),
        pytest.param("Джареда", "jared", id="dzh-j"),
        pytest.param("Лютером", "luther", id="th"),
        pytest.param("Кремль", "kremlin", id="prefix"),
        pytest.param("Sber", "sberbank", id="short-form"),
        pytest.param("Sentanta", "setanta", id="typo"),
        pytest.param("Москве", "moscow", id="moscow"),
    ],
)
def test_one_name_in_two_spellings_is_matched(question_word: str, index_name: str) -> None:
    assert spelled_alike(question_word, index_name)


@pytest.mark.parametrize(
    ("question_word", "index_name"),
    [
        pytest.param("Греф", "briffa", id="gref"),
        pytest.param("Macron", "moscow", id="macron"),
        pytest.param("Яндекс", "jean", id="yandex"),
        pytest.param("ChatGPT", "gigachat", id="chatgpt"),
    ],
)
def test_different_names_are_not_matched(question_word: str, index_name: str) -> None:
    assert not spelled_alike(question_word, index_name)


def test_article_names_are_words_the_article_never_writes_in_lower_case() -> None:
    article = Article(
        article_id="a",
        title="Putin Calls for Russia to Lead",
        paragraphs=(
            "President Vladimir Putin spoke in Moscow. The president said AI matters.",
            "Hobson argued otherwise. Last week the Super Bowl was played; GigaChat watched.",
            "But after that, Both teams left. Before the game it rained.",
        ),
    )
    names = article_names(article)
    assert {"vladimir", "putin", "moscow", "hobson", "gigachat", "superbowl", "ai"} <= set(names)
    assert not {"president", "the", "calls", "lead"} & set(names)  # lower case, or title only
    assert not {"but", "both", "before"} & set(names)  # stop words opening a sentence
    # A common word capitalised only where a sentence opens is no name ("Last week").
    with_lexicon = article_names(article, common_english_words())
    assert set(names) - set(with_lexicon) == {"last"}


def test_name_similarity_compares_with_names_in_the_other_script_only() -> None:
    vectors = np.eye(3, dtype=np.float32)  # france, франция, putin
    index = NameIndex(["france", "франция", "putin"], vectors)
    assert index.similarity(np.array([0, 1, 0], np.float32), cyrillic=False) == 0.0
    assert index.similarity(np.array([1, 0, 0], np.float32), cyrillic=False) == 1.0
    assert index.similarity(np.array([0, 1, 0], np.float32), cyrillic=True) == 1.0
    assert NameIndex(["putin"]).similarity(np.ones(3, np.float32), cyrillic=False) == 0.0


def test_has_spelling_of_looks_across_scripts() -> None:
    index = NameIndex(["putin", "sberbank", "moscow"])
    assert index.has_spelling_of("Путина")
    assert index.has_spelling_of("Сбербанк")
    assert not index.has_spelling_of("Песков")


def test_adjacent_names_may_be_one_word() -> None:
    assert list(joined_pairs(["Giga", "Chat", "Putin"], "who made Giga Chat for Putin")) == [
        (0, "GigaChat")
    ]
