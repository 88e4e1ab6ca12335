"""Inline mode: answer cards for ``@bot question``, over the fake Bot API."""

from __future__ import annotations

import pytest

from tests.fake_bot_api import user_object
from tests.telegram import GIGACHAT, QUESTION, TITLE, RunningBot

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_inline_query_returns_answer_cards(bot: RunningBot) -> None:
    user = user_object()
    query_id = bot.api.inline_query(user, QUESTION)
    [call] = await bot.api.wait_for(lambda: bot.api.calls_of("answerInlineQuery"))
    assert call.params["inline_query_id"] == query_id
    results = call.params["results"]
    citations = bot.engine.ask(QUESTION).citations
    assert [r["title"] for r in results] == [
        "Answer",
        *(f"[{c.n}] {TITLE}, paragraph {c.paragraph}" for c in citations),
    ]
    assert results[1]["title"] == f"[1] {TITLE}, paragraph 9"
    assert results[0]["description"].startswith("Last week, the Kremlin announced")
    message = results[0]["input_message_content"]["message_text"]
    assert message.startswith(f"<b>{QUESTION}</b>\n\n{GIGACHAT} [1]")
    assert "<b>Sources:</b>" in message


async def test_inline_card_of_a_very_long_question_says_it_was_cut(bot: RunningBot) -> None:
    user = user_object()
    bot.api.inline_query(user, QUESTION + " " + "and also tell me more " * 60)
    [call] = await bot.api.wait_for(lambda: bot.api.calls_of("answerInlineQuery"))
    message = call.params["results"][0]["input_message_content"]["message_text"]
    assert "\n\n<i>Your message was long, so I used only its first 1000 characters.</i>\n\n" in (
        message
    )
