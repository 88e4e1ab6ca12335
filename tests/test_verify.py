"""Checking composed sentences against the passages they cite (index.verify)."""

from __future__ import annotations

import pytest

from index.models import Citation
from index.verify import check_composition, composed_sentences, numbers_stated

GIGACHAT = (
    "Last week, the Kremlin announced its intention to utilize GigaChat, a tool developed by "
    "Sberbank, to manage questions submitted by the public."
)
PRESS = "This year’s annual press conference will take place on December 19."
MOSCOW = (
    "President Vladimir Putin highlighted the impact of artificial intelligence during an "
    "international AI conference in Moscow on Wednesday."
)
CITATIONS = [
    Citation(1, "a", "Putin", 9, None, GIGACHAT, 0.7),
    Citation(2, "a", "Putin", 10, None, PRESS, 0.6),
    Citation(3, "a", "Putin", 2, None, MOSCOW, 0.5),
]


def _kept(text: str) -> list[str]:
    return [s.marked for s in check_composition(text, CITATIONS).sentences]


def _reasons(text: str) -> list[str]:
    return [d.reason for d in check_composition(text, CITATIONS).dropped]


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        pytest.param(
            "GigaChat разработал Сбербанк [1].",
            ["GigaChat разработал Сбербанк. [1]"],
            id="ru-names",
        ),
        pytest.param(
            "Кремль будет использовать GigaChat от Сбербанка [1].",
            ["Кремль будет использовать GigaChat от Сбербанка. [1]"],
            id="ru-inflected",
        ),
        pytest.param(
            "Пресс-конференция пройдёт 19 декабря. [2]",
            ["Пресс-конференция пройдёт 19 декабря. [2]"],
            id="marker-after-full-stop",
        ),
        pytest.param(
            "Путин выступил в Москве в среду [3]. Кремль выбрал GigaChat [1][2].",
            ["Путин выступил в Москве в среду. [3]", "Кремль выбрал GigaChat. [1][2]"],
            id="two-sentences",
        ),
        pytest.param(
            "**GigaChat** was developed by `Sberbank` [1].",
            ["GigaChat was developed by Sberbank. [1]"],
            id="markdown",
        ),
        pytest.param(
            "- GigaChat was developed by Sberbank [1, 3].",
            ["GigaChat was developed by Sberbank. [1][3]"],
            id="bullet-and-list-marker",
        ),
    ],
)
def test_sentences_the_passages_bear_out_are_kept(text: str, kept: list[str]) -> None:
    assert _kept(text) == kept


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("GigaChat was developed by Sberbank.", "no [n] marker", id="no-marker"),
        pytest.param(
            "Sberbank made it [4].", "cites [4], which is not one of the 3 passages", id="beyond"
        ),
        pytest.param("Sberbank made it [0].", "cites [0], which", id="zero"),
        pytest.param(
            "The press conference is on December 20 [2].",
            "not in the passages it cites: 20",
            id="number",
        ),
        pytest.param(
            "Пресс-конференция пройдёт 19 ноября [2].",
            "not in the passages it cites: ноября",
            id="month",
        ),
        pytest.param(
            "Putin spoke in Moscow on Friday [3].", "not in the passages it cites: Friday", id="day"
        ),
        pytest.param(
            "It is also used by Yandex [1].", "not in the passages it cites: Yandex", id="name"
        ),
        pytest.param(
            "Путин выступал в Москве [1].",
            "not in the passages it cites: Москве",
            id="name-in-another-passage",
        ),
        pytest.param(
            "The Kremlin spent 2 billion rubles on GigaChat [1].",
            "not in the passages it cites: 2, billion",
            id="amount",
        ),
        pytest.param(
            "The Kremlin will use three tools [1].",
            "not in the passages it cites: three",
            id="number-word",
        ),
    ],
)
def test_a_sentence_the_passages_do_not_bear_out_is_dropped(text: str, reason: str) -> None:
    assert _kept(text) == []
    [dropped] = _reasons(text)
    assert dropped.startswith(reason)


def test_only_the_failing_sentence_is_dropped() -> None:
    text = "GigaChat was developed by Sberbank [1]. It was launched in 2021 [1]."
    assert _kept(text) == ["GigaChat was developed by Sberbank. [1]"]
    assert _reasons(text) == ["not in the passages it cites: 2021"]


@pytest.mark.parametrize(
    ("passage", "sentence"),
    [
        pytest.param("It cost 1,500 dollars.", "Это стоило 1 500 долларов [1].", id="thousands"),
        pytest.param("Growth was 2.5 percent.", "Рост составил 2,5 процента [1].", id="decimal"),
        pytest.param("It cost $2 billion.", "Это стоило 2 млрд долларов [1].", id="scale"),
        pytest.param("It cost $2 billion.", "It cost $2,000,000,000 [1].", id="scaled-digits"),
        pytest.param("Three companies bid.", "Заявки подали 3 компании [1].", id="word-digit"),
        pytest.param("Заявки подали три компании.", "Three companies bid [1].", id="ru-word"),
        pytest.param("It opens in December.", "Открытие в декабре [1].", id="month-en-ru"),
        pytest.param("Открытие 19 декабря.", "It opens on December 19 [1].", id="month-ru-en"),
    ],
)
def test_numbers_and_dates_may_be_written_another_way(passage: str, sentence: str) -> None:
    citations = [Citation(1, "a", "t", 1, None, passage, 0.5)]
    checked = check_composition(sentence, citations)
    assert checked.dropped == ()
    assert len(checked.sentences) == 1


def test_numbers_stated_are_canonical() -> None:
    assert numbers_stated("1,500 and 1 500, 2.50 or 2,5; 2 billion") == {
        "1500",
        "2.5",
        "2",
        "2000000000",
    }


def test_markers_after_the_full_stop_belong_to_the_sentence_before() -> None:
    assert composed_sentences("Sberbank made it. [1] The Kremlin uses it. [1][2]") == [
        "Sberbank made it [1].",
        "The Kremlin uses it [1][2].",
    ]
