"""BM25 and its tokeniser: stemming in English and Russian, scores on real text."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from index.lexical import BM25Index, Postings, PostingsError, tokenize


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


MORE = [
    "Sberbank said GigaChat answers questions in Russian; Sberbank built it in 2023.",
    "Elephants were seen near the conference hall in Moscow.",
    "Президент Путин ответил на вопросы о GigaChat и Сбербанке.",
]
QUESTIONS = [
    "Who developed GigaChat?",
    "Когда пройдёт пресс-конференция президента?",
    "Sberbank GigaChat Moscow conference",
    "elephants in Moscow",
    "What is the capital of France?",
]


def _per_row(postings: Postings) -> list[dict[str, int]]:
    rows: list[dict[str, int]] = [{} for _ in range(len(postings))]
    for number, word in enumerate(postings.words):
        span = slice(postings.starts[number], postings.starts[number + 1])
        for row, count in zip(postings.rows[span], postings.counts[span], strict=True):
            rows[int(row)][word] = int(count)
    return rows


def _same_scores(index: BM25Index, expected: BM25Index) -> None:
    assert index.size == expected.size
    for question in QUESTIONS:
        words = list(dict.fromkeys(tokenize(question)))
        assert index.best_possible(words) == pytest.approx(expected.best_possible(words))
        assert np.allclose(index.scores(words), expected.scores(words), rtol=1e-5, atol=1e-6)
        assert [index.idf(w) for w in words] == pytest.approx([expected.idf(w) for w in words])


def test_bm25_over_segments_with_deleted_rows_scores_as_one_index_of_the_live_texts() -> None:
    first, second = Postings.of_texts(TEXTS), Postings.of_texts(MORE)
    # Rows 1 of the first segment and 0 of the second deleted: places of the live rows.
    places_first = np.array([0, -1, 1, 2])
    places_second = np.array([-1, 0, 1])
    index = BM25Index.over([(first, places_first), (second, places_second)])
    live = [TEXTS[0], TEXTS[2], TEXTS[3], MORE[1], MORE[2]]
    _same_scores(index, BM25Index(live))
    # The deleted rows count nowhere: their words are unknown unless a live row has them.
    assert index.idf(tokenize("annual")[0]) == 0
    assert BM25Index(TEXTS).idf(tokenize("annual")[0]) > 0


def test_merged_postings_are_those_of_the_kept_texts_tokenised_again() -> None:
    first, second = Postings.of_texts(TEXTS), Postings.of_texts(MORE)
    # Row 1 of each deleted: each kept row's place among its part's live rows, -1 if deleted.
    merged = Postings.merged([(first, np.array([0, -1, 1, 2])), (second, np.array([0, -1, 1]))])
    kept = Postings.of_texts([TEXTS[0], TEXTS[2], TEXTS[3], MORE[0], MORE[2]])
    assert _per_row(merged) == _per_row(kept)
    assert merged.lengths.tolist() == kept.lengths.tolist()
    assert _per_row(kept)[3][tokenize("Sberbank")[0]] == 2  # counts, not only presence
    _same_scores(BM25Index.over([(merged, None)]), BM25Index.over([(kept, None)]))


def test_postings_survive_saving_and_a_damaged_file_is_reported(tmp_path: Path) -> None:
    postings = Postings.of_texts([*TEXTS, *MORE])
    assert Postings.load(tmp_path, len(TEXTS) + len(MORE)) is None  # none saved: an old segment
    postings.save(tmp_path)
    loaded = Postings.load(tmp_path, len(TEXTS) + len(MORE))
    assert loaded is not None
    assert _per_row(loaded) == _per_row(postings)
    _same_scores(BM25Index.over([(loaded, None)]), BM25Index([*TEXTS, *MORE]))
    with pytest.raises(PostingsError, match="do not fit"):
        Postings.load(tmp_path, len(TEXTS))
    (tmp_path / "bm25-words.json").write_text("[1, 2", encoding="utf-8")
    with pytest.raises(PostingsError):
        Postings.load(tmp_path, len(TEXTS) + len(MORE))
