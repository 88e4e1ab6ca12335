"""Retries: a 429 is waited out and a 5xx retried, and the reply still arrives."""

from __future__ import annotations

import pytest

from tests.fake_bot_api import user_object
from tests.telegram import QUESTION, RunningBot, expected_answer

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_429_with_retry_after_then_the_reply_arrives(bot: RunningBot) -> None:
    user = user_object()
    bot.api.fail_next("sendMessage", status=429, retry_after=1)
    bot.api.send_text(user, QUESTION)
    [reply] = await bot.api.wait_for_replies(user["id"], timeout_s=10)
    [refused] = bot.api.calls_of("sendMessage", ok=False)
    assert refused.status == 429
    assert reply.at - refused.at >= 1.0  # it waited retry_after before trying again
    assert [reply.params["text"]] == expected_answer(bot.engine, QUESTION)


async def test_500_then_the_reply_arrives(bot: RunningBot) -> None:
    user = user_object()
    bot.api.fail_next("sendMessage", times=2, status=500)
    bot.api.send_text(user, QUESTION)
    [reply] = await bot.api.wait_for_replies(user["id"], timeout_s=10)
    assert [c.status for c in bot.api.calls_of("sendMessage", ok=None)] == [500, 500, 200]
    assert [reply.params["text"]] == expected_answer(bot.engine, QUESTION)
