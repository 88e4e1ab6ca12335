"""Questions in one chat are answered in the order asked, one at a time; other chats do not wait."""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest

from index.conversation import Turn
from index.engine import NewsEngine
from index.models import Answer
from tests.fake_bot_api import FakeBotApi, user_object
from tests.telegram import QUESTION, expected_answer, running_bot

pytestmark = pytest.mark.asyncio(loop_scope="session")

SLOW_QUESTION = "When is the annual press conference?"
SLOW_S = 1.5


class _SlowEngine(NewsEngine):
    """Takes ``SLOW_S`` over one question, as a long retrieval on a busy machine would."""

    def ask(self, question: str, top_k: int | None = None, context: Sequence[Turn] = ()) -> Answer:
        if question == SLOW_QUESTION:
            time.sleep(SLOW_S)
        return super().ask(question, top_k, context)


async def test_a_slow_question_is_answered_before_the_next_and_other_chats_do_not_wait(
    fake_api: FakeBotApi, seed_engine: NewsEngine
) -> None:
    engine = _SlowEngine(seed_engine.settings, seed_engine.embedders)
    engine.reload()
    reader, other = user_object(), user_object()
    async with running_bot(engine, fake_api) as bot:
        bot.api.send_text(reader, SLOW_QUESTION)
        bot.api.send_text(reader, QUESTION)  # quick to answer, but asked second
        bot.api.send_text(other, QUESTION)
        replies = await bot.api.wait_for_replies(reader["id"], 2, timeout_s=10)
        [elsewhere] = bot.api.sent(other["id"])
    texts = [r.params["text"] for r in replies]
    assert texts == expected_answer(engine, SLOW_QUESTION) + expected_answer(engine, QUESTION)
    assert elsewhere.at < replies[0].at  # the other chat did not wait for the slow question
