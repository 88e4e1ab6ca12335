"""The send queues under Telegram's flood limits (enforced by the fake Bot API): bursts answered
completely and in order, a 429 pausing one chat only, nothing lost or sent twice in a storm, no
resend after a read timeout, connection failures retried, a deadline that gives up once.

Everything runs through real PTB polling the fake over HTTP, with the real engine.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Sequence

import pytest
from telegram.ext import ExtBot

from bot.formatting import text_for
from bot.rate_limit import ChatRateLimiter, SendLimits
from index.engine import NewsEngine
from tests.conftest import SEED_QUESTIONS
from tests.fake_bot_api import BOT_USERNAME, TOKEN, FakeBotApi, group_chat, user_object
from tests.telegram import QUESTION, RunningBot, expected_answer, running_bot

pytestmark = pytest.mark.asyncio(loop_scope="session")

ONE_BY_ONE = text_for("en", "one_by_one")


def _questions(count: int) -> list[str]:
    """Distinct questions: the seed's English ones, then numbered ones the article does not
    cover (their "not found" replies repeat them, so every reply can be told apart)."""
    lines = SEED_QUESTIONS.read_text(encoding="utf-8").splitlines()
    seeded = [q["question"] for q in map(json.loads, lines) if q["lang"] == "en" and q["answers"]]
    numbered = [f"What did the harbour master of Brest say on day {n}?" for n in range(count)]
    return (seeded + numbered)[:count]


@pytest.fixture
async def bot(fake_api: FakeBotApi, seed_engine: NewsEngine) -> AsyncIterator[RunningBot]:
    """The bot with every question standing alone (CONTEXT_TURNS=0): what is checked here is
    delivery, so each reply is ``engine.ask``'s, not a follow-up's (tests/test_handlers.py)."""
    async with running_bot(seed_engine, fake_api, context_turns=0) as running:
        yield running


def _expected(engine: NewsEngine, questions: Sequence[str]) -> list[str]:
    return [text for question in questions for text in expected_answer(engine, question)]


async def _ask_over(
    api: FakeBotApi,
    user: dict[str, object],
    texts: Sequence[str],
    seconds: float = 3.0,
    chat: dict[str, object] | None = None,
) -> None:
    """Send ``texts`` spread evenly over ``seconds``."""
    for text in texts:
        api.send_text(user, text, chat=chat)
        await asyncio.sleep(seconds / len(texts))


def _no_tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Log lines with a traceback or at ERROR (there should be none)."""
    return [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


def _answers_only(texts: Sequence[str]) -> list[str]:
    return [t for t in texts if t != ONE_BY_ONE]


# --- what was there: a 429 or a 5xx is waited out ------------------------------------------------


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


# --- bursts --------------------------------------------------------------------------------------


async def test_a_burst_of_30_questions_gets_30_replies_in_order_within_35_s(
    bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    user, questions = user_object(), _questions(30)
    expected = _expected(bot.engine, questions)
    started = time.monotonic()
    await _ask_over(bot.api, user, questions, seconds=3.0)
    texts = await bot.api.wait_for_texts(user["id"], len(expected) + 1, timeout_s=40)
    elapsed_s = time.monotonic() - started
    assert _answers_only(texts) == expected  # every reply, in the order asked
    assert texts.count(ONE_BY_ONE) == 1  # told once that they are answered one by one
    assert elapsed_s <= 35, elapsed_s
    # Paced, not refused: no 429 at all (typing indicators included), and no traceback.
    assert bot.api.refused(chat_id=user["id"]) == 0
    assert _no_tracebacks(caplog) == []


async def test_a_group_burst_stays_within_20_messages_a_minute(
    bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    user, chat = user_object(), group_chat(-100777)
    questions = _questions(21)
    expected = _expected(bot.engine, questions)
    await _ask_over(bot.api, user, [f"@{BOT_USERNAME} {q}" for q in questions], chat=chat)
    replies = await bot.api.wait_for_replies(chat["id"], len(expected) + 1, timeout_s=90)
    texts = [r.params["text"] for r in replies]
    assert _answers_only(texts) == expected
    assert texts.count(ONE_BY_ONE) == 1
    # Whatever the fake counts for the group (typing included): 20 at the chat's pace, then
    # never more than 20 in a minute.
    sent = [c for c in bot.api.calls if c.ok and c.params.get("chat_id") == chat["id"]]
    assert sent[19].at - sent[0].at < 25
    assert all(b.at - a.at >= 60 for a, b in zip(sent, sent[20:], strict=False))
    assert bot.api.refused(chat_id=chat["id"]) == 0
    assert _no_tracebacks(caplog) == []


# --- one chat flooded, the others not ------------------------------------------------------------


async def test_a_60_s_storm_loses_nothing_sends_nothing_twice_and_other_chats_keep_pace(
    bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    flooded, other = user_object(), user_object()
    questions = _questions(5)
    expected = _expected(bot.engine, questions)
    bot.api.storm(flooded["id"], 60)
    await _ask_over(bot.api, flooded, questions, seconds=5.0)
    latencies = []
    for number in range(8):  # every 6 s while the storm lasts
        asked_at = time.perf_counter()  # the clock of the fake's ApiCall.at
        bot.api.send_text(other, QUESTION)
        [*_, reply] = await bot.api.wait_for_replies(other["id"], number + 1, timeout_s=5)
        latencies.append(reply.at - asked_at)
        await asyncio.sleep(6.0)
    assert max(latencies) < 1.0, latencies
    # All of them, each once, in order (never more than 3 waited behind the one in hand, too
    # few for the "one by one" notice).
    texts = await bot.api.wait_for_texts(flooded["id"], len(expected), timeout_s=30)
    assert texts == expected
    await asyncio.sleep(1.0)
    assert bot.api.sent_texts(flooded["id"]) == texts  # and nothing more came
    # The pause was waited out, not hammered: one refusal ends the chat's turn until it is over.
    assert bot.api.refused(chat_id=flooded["id"]) <= 2
    assert bot.api.refused(chat_id=other["id"]) == 0
    assert _no_tracebacks(caplog) == []


async def test_past_the_deadline_a_reply_is_given_up_in_one_line(
    fake_api: FakeBotApi, seed_engine: NewsEngine, caplog: pytest.LogCaptureFixture
) -> None:
    user = user_object()
    async with running_bot(seed_engine, fake_api, send_deadline_s=2.0) as bot:
        bot.api.storm(user["id"], 30)
        bot.api.send_text(user, QUESTION)
        await bot.api.wait_for(lambda: _given_up(caplog), 10, "the reply to be given up")
        await asyncio.sleep(0.5)
    [line] = _given_up(caplog)
    assert "would keep it waiting longer than SEND_DEADLINE_S (2 s)" in line.getMessage()
    assert QUESTION in line.getMessage()  # with the update
    assert line.exc_info is None
    assert _no_tracebacks(caplog) == []
    assert bot.api.sent_texts(user["id"]) == []  # and no apology tried into the flooded chat
    assert bot.api.refused(chat_id=user["id"]) <= 2  # the pause was not hammered


def _given_up(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "Gave up sending" in r.getMessage()]


# --- network errors ------------------------------------------------------------------------------


async def test_a_read_timeout_after_delivery_sends_nothing_twice(
    bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    user = user_object()
    bot.api.slow_response("sendMessage", 7.0)  # delivered, answered after PTB's 5 s read timeout
    bot.api.send_text(user, QUESTION)
    await bot.api.wait_for(lambda: _not_resent(caplog), 10, "the read timeout")
    await asyncio.sleep(1.0)
    assert bot.api.sent_texts(user["id"]) == expected_answer(bot.engine, QUESTION)  # once
    assert len(bot.api.calls_of("sendMessage", ok=None)) == 1  # no resend, no apology
    [line] = _not_resent(caplog)
    assert "sendMessage to chat" in line.getMessage()
    assert line.exc_info is None
    bot.api.send_text(user, "/sources")  # the chat is not stuck
    await bot.api.wait_for_replies(user["id"], 2)
    assert _no_tracebacks(caplog) == []


def _not_resent(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "not sent again" in r.getMessage()]


async def test_a_refused_connection_is_retried_until_the_message_is_delivered() -> None:
    with socket.socket() as probe:  # a free port, where nothing listens yet
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    api = FakeBotApi(flood_limits=False)
    bot = ExtBot(
        TOKEN,
        base_url=f"http://127.0.0.1:{port}/bot",
        rate_limiter=ChatRateLimiter(SendLimits(deadline_s=30)),
    )
    asyncio.get_running_loop().call_later(1.2, api.start, port)  # the API comes back
    try:
        started = time.monotonic()
        message = await bot.send_message(7, "hello")
        assert time.monotonic() - started >= 1.2
        assert message.text == "hello"
        assert api.sent_texts(7) == ["hello"]  # delivered once
        assert [c.status for c in api.calls_of("sendMessage", ok=None)] == [200]
    finally:
        await bot.request.shutdown()  # never initialized, so bot.shutdown() would skip it
        api.stop()
