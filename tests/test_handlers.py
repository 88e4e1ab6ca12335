"""The Telegram handlers end to end: real PTB, real HTTP to the fake Bot API, the real engine."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Sequence

import pytest

from bot import handlers
from bot.formatting import format_answer, source_button_data
from index.config import Settings
from index.conversation import Turn
from index.engine import NewsEngine
from index.models import Answer
from tests.fake_bot_api import BOT_USERNAME, ApiCall, FakeBotApi, group_chat, user_object
from tests.fake_llm_api import (
    API_KEY,
    MODEL,
    FakeLlmApi,
    Reply,
    completion,
    malformed,
    stalled,
    status,
    streamed,
)
from tests.telegram import (
    ADMIN_ID,
    GIGACHAT,
    QUESTION,
    TITLE,
    RunningBot,
    expected_answer,
    running_bot,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _buttons(call: ApiCall) -> list[tuple[str, str]]:
    markup = call.params.get("reply_markup") or {"inline_keyboard": []}
    return [(b["text"], b["callback_data"]) for row in markup["inline_keyboard"] for b in row]


async def test_start_lists_articles_and_three_examples(bot: RunningBot) -> None:
    user = user_object()
    bot.api.send_text(user, "/start")
    [reply] = await bot.api.wait_for_replies(user["id"])
    text = reply.params["text"]
    assert text.startswith("Hi! I answer questions about the news articles")
    assert f"I know about:\n• {TITLE}" in text
    assert text.count("• <code>") == 3
    assert reply.params["parse_mode"] == "HTML"


async def test_help_explains_private_and_group_use(bot: RunningBot) -> None:
    user = user_object()
    bot.api.send_text(user, "/help")
    [reply] = await bot.api.wait_for_replies(user["id"])
    assert "In a private chat, just send me your question." in reply.params["text"]
    assert f"mention me (@{BOT_USERNAME} your question)" in reply.params["text"]


async def test_sources_lists_the_articles(bot: RunningBot) -> None:
    user = user_object()
    bot.api.send_text(user, "/sources")
    [reply] = await bot.api.wait_for_replies(user["id"])
    assert reply.params["text"] == f"<b>Articles I know (1)</b>\n\n1. {TITLE}"


async def test_private_text_gets_cited_answer_with_buttons(bot: RunningBot) -> None:
    user = user_object()
    bot.api.send_text(user, QUESTION)
    [reply] = await bot.api.wait_for_replies(user["id"])
    assert [reply.params["text"]] == expected_answer(bot.engine, QUESTION)
    assert reply.params["text"].startswith(f"{GIGACHAT} [1]\n\n<b>Sources:</b>\n[1] {TITLE}")
    citations = bot.engine.ask(QUESTION).citations
    assert [label for label, _ in _buttons(reply)] == [f"[{c.n}]" for c in citations]
    assert _buttons(reply)[0][1] == source_button_data(citations[0])
    assert "reply_parameters" not in reply.params  # no quoting in private chats
    typing = bot.api.calls_of("sendChatAction")
    assert [(c.params["chat_id"], c.params["action"]) for c in typing] == [(user["id"], "typing")]
    assert typing[0].at < reply.at


async def test_ask_command_with_question(bot: RunningBot) -> None:
    user = user_object()
    bot.api.send_text(user, f"/ask {QUESTION}")
    [reply] = await bot.api.wait_for_replies(user["id"])
    assert [reply.params["text"]] == expected_answer(bot.engine, QUESTION)


async def test_bare_ask_explains_usage(bot: RunningBot) -> None:
    user = user_object()
    bot.api.send_text(user, "/ask")
    [reply] = await bot.api.wait_for_replies(user["id"])
    assert reply.params["text"].startswith("Write your question after the command, e.g. <code>")


async def test_group_answers_only_ask_mentions_and_replies(bot: RunningBot) -> None:
    user, chat = user_object(), group_chat()
    api = bot.api
    api.send_text(user, "what a day, GigaChat is everywhere", chat=chat)
    api.send_text(user, "/ask@some_other_bot who developed GigaChat?", chat=chat)
    asked = api.send_text(user, f"/ask@{BOT_USERNAME} {QUESTION}", chat=chat)
    [first] = await api.wait_for_replies(chat["id"])
    assert first.params["reply_parameters"]["message_id"] == asked["message_id"]
    mention = api.send_text(user, f"@{BOT_USERNAME} {QUESTION}", chat=chat)
    replies = await api.wait_for_replies(chat["id"], 2)
    assert replies[1].params["reply_parameters"]["message_id"] == mention["message_id"]
    assert replies[1].params["text"] == first.params["text"]
    bot_message = api.sent_message(replies[1])
    api.send_text(user, "When is the annual press conference?", chat=chat, reply_to=bot_message)
    replies = await api.wait_for_replies(chat["id"], 3)
    assert "December 19" in replies[2].params["text"]
    api.send_text(user, "/help@" + BOT_USERNAME, chat=chat)
    replies = await api.wait_for_replies(chat["id"], 4)
    assert replies[3].params["text"].startswith("<b>How to ask</b>")
    await asyncio.sleep(0.3)
    assert len(api.sent(chat["id"])) == 4  # the chatter and the other bot's command: silence


async def test_source_button_shows_the_full_paragraph(bot: RunningBot) -> None:
    user = user_object()
    bot.api.send_text(user, QUESTION)
    [answer] = await bot.api.wait_for_replies(user["id"])
    label, data = _buttons(answer)[0]
    query_id = bot.api.press_button(user, bot.api.sent_message(answer), data)
    replies = await bot.api.wait_for_replies(user["id"], 2)
    assert replies[1].params["text"] == (
        f"<b>[1]</b> {TITLE}, paragraph 9\n\n<blockquote>{GIGACHAT}</blockquote>"
    )
    [answered] = bot.api.calls_of("answerCallbackQuery")
    assert answered.params == {"callback_query_id": query_id}


@pytest.mark.parametrize(
    "data",
    [
        pytest.param("cite|1|no-such-article|9|2f0721dd", id="unknown-article"),
        pytest.param("cite|1|000_93de25b234f683de|99|2f0721dd", id="unknown-paragraph"),
        pytest.param("cite|1|000_93de25b234f683de|9|00000000", id="edited-paragraph"),
        pytest.param("something from an older version", id="garbage"),
    ],
)
async def test_stale_button_gets_a_short_notice(bot: RunningBot, data: str) -> None:
    user = user_object()
    bot.api.send_text(user, QUESTION)
    [answer] = await bot.api.wait_for_replies(user["id"])
    bot.api.press_button(user, bot.api.sent_message(answer), data)
    [notice] = await bot.api.wait_for(lambda: bot.api.calls_of("answerCallbackQuery"))
    assert notice.params["text"] == (
        "That source is no longer available; ask again for a fresh answer."
    )
    assert len(bot.api.sent(user["id"])) == 1


async def test_sticker_gets_a_hint(bot: RunningBot) -> None:
    user = user_object()
    bot.api.send_sticker(user)
    [reply] = await bot.api.wait_for_replies(user["id"])
    assert reply.params["text"] == "I can only read text. Send me your question as a message."


async def test_edited_question_is_answered_again(bot: RunningBot) -> None:
    user = user_object()
    original = bot.api.send_text(user, "Where did Putin speak?")
    await bot.api.wait_for_replies(user["id"])
    bot.api.send_text(user, QUESTION, edit_of=original)
    replies = await bot.api.wait_for_replies(user["id"], 2)
    assert [replies[1].params["text"]] == expected_answer(bot.engine, QUESTION)


async def test_very_long_question_is_cut_with_a_note(bot: RunningBot) -> None:
    user = user_object()
    question = QUESTION + " " + "and also tell me more " * 230
    assert len(question) >= 5000
    bot.api.send_text(user, question)
    [reply] = await bot.api.wait_for_replies(user["id"])
    assert reply.params["text"].startswith(
        "<i>Your message was long, so I used only its first 1000 characters.</i>\n\n"
    )


async def test_html_like_user_text_is_escaped(bot: RunningBot) -> None:
    user = user_object()
    bot.api.send_text(user, "<b>x</b> & y <script>")
    [reply] = await bot.api.wait_for_replies(user["id"])
    assert "<b>x</b>" not in reply.params["text"]
    answer: Answer = bot.engine.ask("<b>x</b> & y <script>")
    if not answer.found:
        assert "“&lt;b&gt;x&lt;/b&gt; &amp; y &lt;script&gt;”" in reply.params["text"]
    assert [reply.params["text"]] == format_answer(answer, bot.engine.articles(), "en")


async def test_unknown_private_command_shows_help(bot: RunningBot) -> None:
    user = user_object()
    bot.api.send_text(user, "/frobnicate")
    [reply] = await bot.api.wait_for_replies(user["id"])
    assert reply.params["text"].startswith("<b>How to ask</b>")


async def test_several_users_at_once_each_get_their_answer(bot: RunningBot) -> None:
    questions = [
        QUESTION,
        "When is the annual press conference?",
        "Where did Putin speak about artificial intelligence?",
        "What did Putin say about AI leadership?",
    ] * 3
    users = [user_object() for _ in questions]
    for user, question in zip(users, questions, strict=True):
        bot.api.send_text(user, question)
    for user, question in zip(users, questions, strict=True):
        [reply] = await bot.api.wait_for_replies(user["id"], timeout_s=20)
        assert [reply.params["text"]] == expected_answer(bot.engine, question)


@pytest.fixture
def broken_engine(seed_engine: NewsEngine) -> NewsEngine:
    engine = _BrokenEngine(seed_engine.settings, seed_engine.embedders)
    engine.reload()
    return engine


async def test_a_failing_handler_is_logged_and_the_user_told(
    fake_api: FakeBotApi, broken_engine: NewsEngine, caplog: pytest.LogCaptureFixture
) -> None:
    user = user_object()
    async with running_bot(broken_engine, fake_api) as bot:
        bot.api.send_text(user, QUESTION)
        [reply] = await bot.api.wait_for_replies(user["id"])
        assert reply.params["text"] == "Sorry, something went wrong; it has been logged."
        bot.api.send_text(user, "/sources")  # the bot keeps serving
        await bot.api.wait_for_replies(user["id"], 2)
    [record] = [r for r in caplog.records if r.name == "bot.handlers" and r.levelname == "ERROR"]
    assert record.exc_info is not None
    assert "the disk is on fire" in str(record.exc_info[1])
    assert QUESTION in record.getMessage()  # the update is in the log


async def test_the_error_handler_sends_nothing_into_a_chat_telegram_has_paused(
    fake_api: FakeBotApi, broken_engine: NewsEngine, caplog: pytest.LogCaptureFixture
) -> None:
    user = user_object()
    async with running_bot(broken_engine, fake_api) as bot:
        bot.api.storm(user["id"], 2)  # the typing indicator meets it: the chat is paused
        bot.api.send_text(user, QUESTION)
        await bot.api.wait_for(lambda: _errors(caplog), 10, "the error to be logged")
        await asyncio.sleep(3.0)  # an apology queued behind the pause would have gone by now
    [record] = _errors(caplog)  # logged once, with the update
    assert QUESTION in record.getMessage()
    assert bot.api.refused("sendChatAction", user["id"]) == 1
    assert bot.api.calls_of("sendMessage", ok=None) == []  # no apology, not even a refused one


def _errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "bot.handlers" and r.levelno >= logging.WARNING]


class _BrokenEngine(NewsEngine):
    """An engine whose retrieval fails, to exercise the error handler."""

    def ask(self, question: str, top_k: int | None = None, context: Sequence[Turn] = ()) -> Answer:
        raise OSError("the disk is on fire")


async def test_allow_list_refuses_other_chats_politely(
    fake_api: FakeBotApi, seed_engine: NewsEngine
) -> None:
    allowed, stranger = user_object(), user_object()
    async with running_bot(seed_engine, fake_api, allowed_chat_ids=frozenset({allowed["id"]})):
        fake_api.send_text(stranger, QUESTION)
        fake_api.send_text(allowed, QUESTION)
        [refusal] = await fake_api.wait_for_replies(stranger["id"])
        [answer] = await fake_api.wait_for_replies(allowed["id"])
        outsiders = group_chat(-555)
        fake_api.send_text(stranger, "just chatting", chat=outsiders)
        fake_api.send_text(stranger, f"/ask {QUESTION}", chat=outsiders)
        [group_refusal] = await fake_api.wait_for_replies(-555)
        await asyncio.sleep(0.3)
        assert len(fake_api.sent(-555)) == 1
    assert refusal.params["text"] == (
        f"Sorry, this bot is not available in this chat (id {stranger['id']})."
    )
    assert group_refusal.params["text"] == (
        "Sorry, this bot is not available in this chat (id -555)."
    )
    assert answer.params["text"].startswith(GIGACHAT)


async def test_admin_commands(bot: RunningBot) -> None:
    admin, reader = user_object(ADMIN_ID), user_object()
    bot.api.send_text(reader, "/stats")
    bot.api.send_text(reader, "/reload")
    refusals = await bot.api.wait_for_replies(reader["id"], 2)
    assert sorted(r.params["text"] for r in refusals) == [
        "Sorry, /reload is for admins only.",
        "Sorry, /stats is for admins only.",
    ]
    bot.api.send_text(admin, QUESTION)
    bot.api.send_text(admin, "What is the weather on Mars?")
    await bot.api.wait_for_replies(admin["id"], 2)
    bot.api.send_text(admin, "/stats")
    stats = (await bot.api.wait_for_replies(admin["id"], 3))[2]
    info = bot.engine.info()
    found = bot.engine.ask("What is the weather on Mars?").found
    assert stats.params["text"].startswith(
        f"<b>Stats</b>\nQuestions served: 2\nNot found: {0 if found else 1} "
    )
    assert f"Articles: 1\nPassages: 10\nIndex built: {info.built_at}\n" in stats.params["text"]
    bot.api.send_text(admin, "/reload")
    reloaded = (await bot.api.wait_for_replies(admin["id"], 4))[3]
    assert reloaded.params["text"] == (
        f"Index reloaded. Articles: 1, passages: 10 (built {info.built_at})."
    )


async def test_russian_interface(bot: RunningBot) -> None:
    russian = user_object(language_code="ru")
    bot.api.send_text(russian, "/start")
    [start] = await bot.api.wait_for_replies(russian["id"])
    assert start.params["text"].startswith("Привет! Я отвечаю на вопросы")
    assert "Попробуйте спросить:" in start.params["text"]
    english_ui = user_object(language_code="en")
    bot.api.send_text(english_ui, "Кто разработал GigaChat?")
    [answer] = await bot.api.wait_for_replies(english_ui["id"])
    assert "<b>Источники:</b>" in answer.params["text"]
    assert "абзац 9" in answer.params["text"]


async def test_update_log_is_json() -> None:
    from telegram import Update

    from bot.handlers import describe_update

    update = Update.de_json({"update_id": 5, "message": None}, None)
    assert json.loads(describe_update(update).removeprefix("update ")) == {"update_id": 5}
    assert describe_update(None) == "no update (NoneType)"


MARKUP_ARTICLE = {
    "title": "AT&T <b>agrees</b> to buy Time Warner",
    "url": "https://example.com/deals?id=1&src=<feed>",
    "published": "2024-12-01",
    "paragraphs": [
        "AT&T agreed to buy Time Warner for <$85 billion> in cash & stock, the companies said.",
        "Regulators at the Justice Department will review the deal before it closes next year.",
    ],
}


@pytest.mark.asyncio(loop_scope="session")
async def test_article_links_dates_and_markup_are_escaped(
    fake_api: FakeBotApi, engine: NewsEngine, settings: Settings
) -> None:
    (settings.articles_dir / "att.json").write_text(json.dumps(MARKUP_ARTICLE), encoding="utf-8")
    engine.update_index()
    user = user_object()
    link = '<a href="https://example.com/deals?id=1&amp;src=&lt;feed&gt;">'
    title = "AT&amp;T &lt;b&gt;agrees&lt;/b&gt; to buy Time Warner"
    async with running_bot(engine, fake_api) as bot:
        bot.api.send_text(user, "/sources")
        [sources] = await bot.api.wait_for_replies(user["id"])
        bot.api.send_text(user, "How much did AT&T pay for Time Warner?")
        [_, answer] = await bot.api.wait_for_replies(user["id"], 2)
        button = answer.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        bot.api.press_button(user, bot.api.sent_message(answer), button)
        [*_, paragraph] = await bot.api.wait_for_replies(user["id"], 3)
    assert f"{link}{title}</a> — 2024-12-01" in sources.params["text"]
    assert answer.params["text"].startswith(
        "AT&amp;T agreed to buy Time Warner for &lt;$85 billion&gt; in cash &amp; stock"
    )
    assert f"[1] {link}{title}</a>, paragraph 1" in answer.params["text"]
    assert paragraph.params["text"] == (
        f"<b>[1]</b> {link}{title}</a>, paragraph 1\n\n<blockquote>AT&amp;T agreed to buy Time "
        "Warner for &lt;$85 billion&gt; in cash &amp; stock, the companies said.</blockquote>"
    )


# --- conversations: follow-ups read with the earlier turns ------------------------------------


async def test_a_private_follow_up_is_answered_from_the_previous_question(
    bot: RunningBot,
) -> None:
    user = user_object()
    bot.api.send_text(user, "What is GigaChat?")
    await bot.api.wait_for_replies(user["id"])
    bot.api.send_text(user, "Who made it?")
    replies = await bot.api.wait_for_replies(user["id"], 2)
    text = replies[1].params["text"]
    assert text.startswith("<i>About: GigaChat</i>\n\n")  # what it understood
    assert "Sberbank" in text
    assert "paragraph 9" in text


async def test_new_forgets_the_conversation(bot: RunningBot) -> None:
    user = user_object(language_code="ru")
    bot.api.send_text(user, "What is GigaChat?")
    await bot.api.wait_for_replies(user["id"])
    bot.api.send_text(user, "/new")
    replies = await bot.api.wait_for_replies(user["id"], 2)
    assert replies[1].params["text"].startswith("Новый разговор: прежние вопросы забыты")
    bot.api.send_text(user, "Who made it?")
    replies = await bot.api.wait_for_replies(user["id"], 3)
    assert "About:" not in replies[2].params["text"]
    assert "О чём:" not in replies[2].params["text"]


async def test_two_users_in_a_group_keep_separate_contexts(bot: RunningBot) -> None:
    alice, bob, chat = user_object(), user_object(), group_chat(-700)
    mention = f"@{BOT_USERNAME}"
    bot.api.send_text(alice, f"{mention} What is GigaChat?", chat=chat)
    await bot.api.wait_for_replies(chat["id"], 1)
    bot.api.send_text(bob, f"{mention} Where did Putin speak about AI?", chat=chat)
    await bot.api.wait_for_replies(chat["id"], 2)
    bot.api.send_text(alice, f"{mention} who made it?", chat=chat)
    replies = await bot.api.wait_for_replies(chat["id"], 3)
    assert replies[2].params["text"].startswith("<i>About: GigaChat</i>")
    assert "Sberbank" in replies[2].params["text"]
    bot.api.send_text(bob, f"{mention} and on which day?", chat=chat)
    replies = await bot.api.wait_for_replies(chat["id"], 4)
    assert "About: GigaChat" not in replies[3].params["text"]  # Bob's own thread
    assert "Wednesday" in replies[3].params["text"]


async def test_a_reply_to_a_bot_message_continues_that_messages_thread(bot: RunningBot) -> None:
    user, chat = user_object(), group_chat(-800)
    mention = f"@{BOT_USERNAME}"
    bot.api.send_text(user, f"{mention} What is GigaChat?", chat=chat)
    [gigachat] = await bot.api.wait_for_replies(chat["id"], 1)
    bot.api.send_text(user, f"{mention} Where did Putin speak about AI?", chat=chat)
    await bot.api.wait_for_replies(chat["id"], 2)
    # Replying to the GigaChat answer: the thread of that message, not the latest question.
    bot.api.send_text(user, "who made it?", chat=chat, reply_to=bot.api.sent_message(gigachat))
    replies = await bot.api.wait_for_replies(chat["id"], 3)
    assert replies[2].params["text"].startswith("<i>About: GigaChat</i>")
    assert "Sberbank" in replies[2].params["text"]


async def test_a_question_naming_what_no_article_mentions_says_so(bot: RunningBot) -> None:
    user = user_object()
    bot.api.send_text(user, "What did Putin say about Gemini?")
    [reply] = await bot.api.wait_for_replies(user["id"])
    assert "None of them mentions Gemini." in reply.params["text"]


# --- composed answers: a language model on loopback (tests/fake_llm_api.py) --------------------

RU_QUESTION = "Кто разработал GigaChat?"
RU_COMPOSED = "GigaChat разработал Сбербанк для Кремля [1]."


def _with_model(api: FakeLlmApi, timeout_s: float = 5.0) -> dict[str, object]:
    return {
        "llm_base_url": api.base_url,
        "llm_model": MODEL,
        "llm_api_key": API_KEY,
        "llm_timeout_s": timeout_s,
    }


async def test_a_composed_russian_answer_cites_the_english_source(
    fake_api: FakeBotApi,
    fake_llm: FakeLlmApi,
    seed_engine: NewsEngine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake_llm.reply(completion(RU_COMPOSED))
    reader = user_object(language_code="ru")
    async with running_bot(seed_engine, fake_api, **_with_model(fake_llm)):
        fake_api.send_text(reader, RU_QUESTION)
        [reply] = await fake_api.wait_for_replies(reader["id"])
    assert reply.params["text"] == (
        "GigaChat разработал Сбербанк для Кремля. [1]\n\n"
        "<i>Составлено по источникам ниже.</i>\n\n"
        f"<b>Источники:</b>\n[1] {TITLE}, абзац 9"
    )
    assert [label for label, _ in _buttons(reply)] == ["[1]"]
    assert GIGACHAT in fake_llm.requests[0].user_text
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    assert API_KEY not in logged


FAILURES = {
    "cites-4": completion("GigaChat разработал Сбербанк [4]."),
    "number": completion("GigaChat разработал Сбербанк в 2021 году [1]."),
    "500": status(500),
    "malformed": malformed(),
    "empty": completion(""),
}


async def test_a_failing_model_sends_the_extractive_answer(
    fake_api: FakeBotApi, fake_llm: FakeLlmApi, seed_engine: NewsEngine
) -> None:
    expected = expected_answer(seed_engine, RU_QUESTION, "ru")
    async with running_bot(seed_engine, fake_api, **_with_model(fake_llm, 3.0)):
        for scenario, reply in FAILURES.items():  # one bot for all: each a reader of their own
            fake_llm.reply(reply)
            asked = len(fake_llm.requests)
            reader = user_object(language_code="ru")
            fake_api.send_text(reader, RU_QUESTION)
            [sent] = await fake_api.wait_for_replies(reader["id"])
            assert [sent.params["text"]] == expected, scenario
            assert "Составлено" not in sent.params["text"], scenario
            assert len(fake_llm.requests) > asked, scenario  # the model was asked


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(streamed(["GigaChat разработал ", "Сбербанк для ", "Кремля [1]."]), id="sse"),
        pytest.param(status(429, retry_after_s=0.2), id="429-then-success"),
    ],
)
async def test_a_streamed_or_retried_answer_arrives_composed(
    fake_api: FakeBotApi, fake_llm: FakeLlmApi, seed_engine: NewsEngine, reply: Reply
) -> None:
    fake_llm.reply(reply, completion(RU_COMPOSED))
    reader = user_object(language_code="ru")
    async with running_bot(seed_engine, fake_api, **_with_model(fake_llm)):
        fake_api.send_text(reader, RU_QUESTION)
        [sent] = await fake_api.wait_for_replies(reader["id"])
    assert sent.params["text"].startswith(
        "GigaChat разработал Сбербанк для Кремля. [1]\n\n<i>Составлено по источникам ниже.</i>"
    )


async def test_a_stalled_model_falls_back_within_the_timeout_typing_meanwhile(
    fake_api: FakeBotApi,
    fake_llm: FakeLlmApi,
    seed_engine: NewsEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(handlers, "TYPING_REFRESH_S", 0.5)
    fake_llm.reply(stalled(20))
    reader = user_object()
    async with running_bot(seed_engine, fake_api, **_with_model(fake_llm, 1.5)):
        started = time.perf_counter()
        fake_api.send_text(reader, QUESTION)
        [sent] = await fake_api.wait_for_replies(reader["id"], timeout_s=5)
    assert sent.at - started < 1.5 + 0.5
    assert [sent.params["text"]] == expected_answer(seed_engine, QUESTION)
    typing = [c for c in fake_api.calls_of("sendChatAction") if c.at < sent.at]
    assert len(typing) >= 2  # sent again while the model was awaited


async def test_stats_count_composed_and_extractive_answers_and_model_failures(
    fake_api: FakeBotApi, fake_llm: FakeLlmApi, seed_engine: NewsEngine
) -> None:
    fake_llm.reply(completion(RU_COMPOSED), status(500))
    admin = user_object(ADMIN_ID)
    async with running_bot(seed_engine, fake_api, **_with_model(fake_llm)):
        fake_api.send_text(admin, RU_QUESTION)
        await fake_api.wait_for_replies(admin["id"], 1)
        fake_api.send_text(admin, RU_QUESTION)
        await fake_api.wait_for_replies(admin["id"], 2)
        fake_api.send_text(admin, "/stats")
        stats = (await fake_api.wait_for_replies(admin["id"], 3))[2]
    assert stats.params["text"].endswith(
        f"\nLanguage model: {MODEL}\nAnswers composed: 1, extractive: 1\n"
        "Model failures: 1 (http 500 1)"
    )
