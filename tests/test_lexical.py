"""BM25 and its tokeniser: stemming in English and Russian, scores on real text."""

from __future__ import annotations

import threading

import pytest

from index.lexical import BM25Index, tokenize


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param("конференция", "конференции", id="ru-case"),
        pytest.param("пресс-конференцию", "пресс-конференция", id="ru-hyphenated"),
        pytest.param("Путин выступал", "Путину выступали", id="ru-verb-and-name"),
        pytest.param("ёлка", "елки", id="ru-yo-folded"),
        pytest.param("developed", "developing", id="en-verb"),
        pytest.param("Companies", "company", id="en-plural-and-case"),
    ],
)
def test_inflections_share_stems(first: str, second: str) -> None:
    assert tokenize(first) == tokenize(second)
    assert tokenize(first)


def test_stop_words_and_punctuation_are_dropped() -> None:
    assert tokenize("What is the capital of France?") == ["capit", "franc"]
    assert tokenize("Где и когда это было?") == []


def test_numbers_and_mixed_scripts_are_kept() -> None:
    assert tokenize("GigaChat от Сбербанка, 19 декабря 2024") == [
        "gigachat",
        "сбербанк",
        "19",
        "декабр",
        "2024",
    ]


def test_tokenize_is_safe_across_threads() -> None:
    expected = tokenize("Сбербанк разработал GigaChat для обработки вопросов")
    results: list[list[str]] = []

    def work() -> None:
        results.extend(
            tokenize("Сбербанк разработал GigaChat для обработки вопросов") for _ in range(200)
        )

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 800
    assert all(result == expected for result in results)


TEXTS = [
    "The Kremlin will use GigaChat, a tool developed by Sberbank, to manage questions.",
    "The annual press conference will take place on December 19.",
    "Пресс-конференция президента состоится девятнадцатого декабря.",
    "Putin spoke at an international AI conference in Moscow.",
]


def test_search_ranks_the_passage_with_the_rare_words_first() -> None:
    index = BM25Index(TEXTS)
    hits = index.search("Who developed GigaChat?", 3)
    assert [hit.row for hit in hits] == [0]  # only passage 0 shares a word with the question
    assert 0 < hits[0].share <= 1


def test_russian_question_finds_russian_passage_in_another_inflection() -> None:
    hits = BM25Index(TEXTS).search("Когда пройдут пресс-конференции президента?", 2)
    assert hits[0].row == 2


def test_share_is_a_fraction_of_the_best_possible_score() -> None:
    index = BM25Index(TEXTS)
    full = index.search("Kremlin GigaChat Sberbank questions", 1)[0]
    partial = index.search("Kremlin GigaChat Sberbank questions elephants", 1)[0]
    assert full.row == partial.row == 0
    assert partial.share < full.share <= 1


def test_question_with_no_known_word_finds_nothing() -> None:
    assert BM25Index(TEXTS).search("What is the capital of France?", 3) == []
    assert BM25Index([]).search("GigaChat", 3) == []
