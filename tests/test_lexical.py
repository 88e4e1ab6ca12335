"""BM25 and its tokeniser: stemming in English and Russian, scores on real text."""

from __future__ import annotations

import threading

import pytest

from index.lexical import BM25Index, TermCache, tokenize


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


def test_russian_question_words_are_stop_words_in_every_case() -> None:
    # Their English counterparts (which, whose, such, each, most) are stop words.
    assert tokenize("Какими и которой компании, в каком году, чьи самые крупные?") == [
        "компан",
        "год",
        "крупн",
    ]


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


def _ranked(index: BM25Index, question: str, top_k: int) -> list[tuple[int, float]]:
    """(row, share) of the ``top_k`` passages with a non-zero score, best first: what the
    retriever takes from ``scores`` and ``best_possible``."""
    words = list(dict.fromkeys(tokenize(question)))
    bound = index.best_possible(words)
    if bound <= 0:
        return []
    scores = index.scores(words)
    rows = sorted((r for r in range(index.size) if scores[r] > 0), key=lambda r: -scores[r])
    return [(row, float(scores[row]) / bound) for row in rows[:top_k]]


def test_the_passage_with_the_rare_words_scores_first() -> None:
    index = BM25Index(TEXTS)
    hits = _ranked(index, "Who developed GigaChat?", 3)
    assert [row for row, _ in hits] == [0]  # only passage 0 shares a word with the question
    assert 0 < hits[0][1] <= 1


def test_russian_question_finds_russian_passage_in_another_inflection() -> None:
    hits = _ranked(BM25Index(TEXTS), "Когда пройдут пресс-конференции президента?", 2)
    assert hits[0][0] == 2


def test_share_is_a_fraction_of_the_best_possible_score() -> None:
    index = BM25Index(TEXTS)
    full = _ranked(index, "Kremlin GigaChat Sberbank questions", 1)[0]
    partial = _ranked(index, "Kremlin GigaChat Sberbank questions elephants", 1)[0]
    assert full[0] == partial[0] == 0
    assert partial[1] < full[1] <= 1


def test_question_with_no_known_word_finds_nothing() -> None:
    assert _ranked(BM25Index(TEXTS), "What is the capital of France?", 3) == []
    assert _ranked(BM25Index([]), "GigaChat", 3) == []


def test_the_term_cache_reuses_texts_and_starts_afresh_when_full() -> None:
    terms = TermCache(max_texts=8)
    first = terms.vocabulary_for([])
    BM25Index(TEXTS, terms)
    assert len(first.texts) == 4
    again = BM25Index(TEXTS, terms)  # a reload: every text is known, none is tokenised again
    assert terms.vocabulary_for([]) is first
    assert len(first.texts) == 4
    # One article more: only the new text counts against the limit (4 known + 1 new <= 8),
    # as a hot reload after adding one article to a big index must not re-tokenise the rest.
    grown = BM25Index([*TEXTS, "Elephants"], terms)
    assert terms.vocabulary_for([]) is first
    assert len(first.texts) == 5
    new = [f"Story number {n}" for n in range(4)]
    bigger = BM25Index([*TEXTS, *new], terms)  # 5 known + 4 unseen texts: past the limit
    assert terms.vocabulary_for([]) is not first
    assert again.scores(tokenize("GigaChat"))[0] > 0
    assert grown.scores(tokenize("elephants")).tolist()[-1] > 0
    assert bigger.scores(tokenize("story")).tolist()[-1] > 0
