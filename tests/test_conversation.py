"""Follow-up questions read in the context of the chat's last turns (the real models)."""

from __future__ import annotations

import pytest

from index.conversation import Turn, leans_on_context
from index.engine import CONTEXT_LENIENCY, NewsEngine
from index.lexical import tokenize

SEED = "000_93de25b234f683de"


@pytest.mark.parametrize(
    ("question", "leans"),
    [
        pytest.param("Who made it?", True, id="pronoun"),
        pytest.param("and when?", True, id="ellipsis"),
        pytest.param("what about foreign markets", True, id="what-about"),
        pytest.param("А когда?", True, id="ru-ellipsis"),
        pytest.param("Кто его сделал?", True, id="ru-pronoun"),
        pytest.param("why?", True, id="short"),
        pytest.param("Which bank developed the GigaChat tool for the Kremlin?", False, id="alone"),
        pytest.param("Где проходила конференция по искусственному интеллекту?", False, id="ru"),
    ],
)
def test_questions_that_point_back_lean_on_the_context(question: str, leans: bool) -> None:
    assert leans_on_context(question, tokenize(question)) is leans


def _turn(engine: NewsEngine, question: str) -> Turn:
    answer = engine.ask(question)
    return Turn(question, tuple((c.article_id, c.paragraph) for c in answer.citations))


def test_a_follow_up_is_answered_from_the_previous_turn(seed_engine: NewsEngine) -> None:
    context = [_turn(seed_engine, "What is GigaChat?")]
    alone = seed_engine.ask("Who made it?")
    answer = seed_engine.ask("Who made it?", context=context)
    assert answer.found
    assert answer.citations[0].paragraph == 9
    assert "Sberbank" in answer.text
    assert answer.about == ("GigaChat",)  # what it understood, for the reply
    assert alone.about == ()


def test_a_russian_follow_up_about_an_english_article(seed_engine: NewsEngine) -> None:
    context = [_turn(seed_engine, "Где Путин выступал про искусственный интеллект?")]
    answer = seed_engine.ask("А в какой день?", context=context)
    assert answer.found
    assert answer.citations[0].paragraph == 2  # Moscow, on Wednesday
    assert "Wednesday" in answer.text


def test_a_follow_up_read_in_context_is_cut_a_little_lower(seed_engine: NewsEngine) -> None:
    # Read with the previous question, the press-conference paragraph scores a little under the
    # cut for a question standing alone (two questions' vectors mixed match any passage less
    # closely): the follow-up is answered, and the same score alone would not be.
    context = [Turn("whats it actually called", ((SEED, 2),))]
    retrieval = seed_engine.retrieve("and when is the event itself", context=context)
    assert retrieval.about
    best = retrieval.hits[0]
    cut = retrieval.retriever.min_score("en", "en")
    assert cut - CONTEXT_LENIENCY <= best.score < cut
    answer = seed_engine.answer(retrieval)
    assert answer.found
    assert answer.citations[0].paragraph == 10
    assert "December 19" in answer.text


def test_a_topic_switch_is_not_dragged_into_the_old_context(seed_engine: NewsEngine) -> None:
    context = [_turn(seed_engine, "What is GigaChat?")]
    answer = seed_engine.ask("Will it rain in Paris tomorrow?", context=context)
    assert not answer.found
    assert answer.unknown == ("Paris",)


def test_a_new_subject_in_lower_case_is_not_answered_from_the_old_context(
    seed_engine: NewsEngine,
) -> None:
    # "it" points back, but no article holds rain, paris or tomorrow: the previous question's
    # subject must not answer it (read with it, the GigaChat paragraph scores above the cut).
    context = [_turn(seed_engine, "who built the chatbot the kremlin will use for questions")]
    answer = seed_engine.ask("will it rain in paris tomorrow", context=context)
    assert not answer.found
    assert answer.about == ()


def test_a_question_standing_on_its_own_ignores_the_context(seed_engine: NewsEngine) -> None:
    context = [_turn(seed_engine, "What is GigaChat?")]
    question = "When is the annual press conference this year?"
    with_context = seed_engine.ask(question, context=context)
    assert with_context == seed_engine.ask(question)
    assert "December 19" in with_context.text
