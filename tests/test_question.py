"""Reading questions with rules: the kind of answer asked for, names and numbers."""

from __future__ import annotations

import pytest

from index.question import holds_kind, numbers_in, question_names, read_question


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        pytest.param("When is the annual press conference?", "date", id="when"),
        pytest.param("what day did he give the talk", "date", id="what-day"),
        pytest.param("Когда будет пресс-конференция?", "date", id="ru-when"),
        pytest.param("What time does it start?", "time", id="time"),
        pytest.param("Во сколько начнётся прямая линия?", "time", id="ru-time"),
        pytest.param("How many people came?", "number", id="how-many"),
        pytest.param("Сколько человек пришло?", "number", id="ru-how-many"),
        pytest.param("How old was Manning when he played in Super Bowl 50?", "number", id="first"),
        pytest.param("How much money will Russia spend on AI?", "money", id="money"),
        pytest.param("Сколько денег выделят на ИИ?", "money", id="ru-money"),
        pytest.param("What's the price of bitcoin?", "money", id="price"),
        pytest.param("Who developed GigaChat?", "name", id="who"),
        pytest.param("Где выступал Путин?", "name", id="ru-where"),
        pytest.param("What did Putin say about AI?", None, id="what"),
        pytest.param("Why does he want Russia to lead?", None, id="why"),
    ],
)
def test_the_first_question_word_says_what_is_asked_for(question: str, kind: str | None) -> None:
    assert read_question(question).asks == kind


def test_names_are_capitalised_words_that_do_not_open_a_sentence() -> None:
    assert question_names("What did Putin say about ChatGPT and OpenAI?") == (
        "Putin",
        "ChatGPT",
        "OpenAI",
    )
    assert question_names("Which bank is behind it? Sberbank?") == ()  # each opens a sentence
    assert question_names("lol did the AI thing for his Q&A actually work") == ()
    assert question_names("was putin's plan about gigachat") == ()  # typed in lower case


def test_latin_words_in_a_cyrillic_question_are_names_and_possessives_are_dropped() -> None:
    assert question_names("Будет ли Кремль использовать yandexgpt?") == ("Кремль", "yandexgpt")
    assert question_names("Did they read Putin's speech?") == ("Putin",)
    assert question_names("Кто был последним премьер-министром ГДР?") == ()  # short acronym


def test_numbers_are_read_without_separators() -> None:
    assert numbers_in("Who sang at Super Bowl 51 in 2017 before 1,500 fans?") == (
        "51",
        "2017",
        "1500",
    )
    assert read_question("Where did he speak?").numbers == ()


@pytest.mark.parametrize(
    ("text", "kind", "holds"),
    [
        pytest.param("in Moscow on Wednesday.", "date", True, id="weekday"),
        pytest.param("Last week, the Kremlin announced it.", "date", True, id="last-week"),
        pytest.param("It will take place on December 19.", "date", True, id="month"),
        pytest.param("Он выступил в среду в Москве.", "date", True, id="ru-weekday"),
        pytest.param("He proposed a strategic session in Russia.", "date", False, id="no-date"),
        pytest.param("It will take place on December 19.", "time", False, id="no-time"),
        pytest.param("It starts at 12:00 in Moscow.", "time", True, id="clock"),
        pytest.param("There were 308 points.", "number", True, id="digits"),
        pytest.param("Twelve people came.", "number", True, id="number-word"),
        pytest.param("It cost $5 million.", "money", True, id="dollars"),
        pytest.param("It will take place on December 19.", "name", False, id="month-no-name"),
        pytest.param("a tool developed by Sberbank.", "name", True, id="name"),
    ],
)
def test_passages_hold_the_kind_of_answer(text: str, kind: str, holds: bool) -> None:
    assert holds_kind(text, kind) is holds


def test_an_unknown_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown answer kind"):
        holds_kind("text", "colour")
