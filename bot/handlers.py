"""Async python-telegram-bot callbacks: read the update, ask the engine off the event loop, reply.

The engine, the settings and the counters reach every callback through ``context.bot_data``
(a ``BotState``, see ``NewsContext``), never through module globals.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatAction, ChatType
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, CallbackContext, ExtBot

from bot import formatting
from bot.chat_order import ChatOrderedProcessor
from bot.formatting import SourceRef, pick_language, text_for
from bot.live import LiveIndex
from bot.memory import ChatMemory, Conversation
from bot.rate_limit import ChatRateLimiter, DeliveryUncertainError, SendAbandonedError
from bot.settings import BotSettings
from index import Answer, Citation, Composer, Composition, NewsEngine, NewsIndexError, Turn

logger = logging.getLogger(__name__)

MAX_LOGGED_UPDATE_CHARS = 2000
# Questions waiting behind the one being answered before the reader is told, once, that they are
# answered one by one (Telegram lets a bot send about one message a second to a chat).
BACKLOG_NOTICE_AT = 4
# Telegram shows a typing indicator for about 5 s: while the language model composes, it is sent
# again this often.
TYPING_REFRESH_S = 4.5


@dataclass
class Stats:
    """What /stats reports; only touched from the event loop, so no lock."""

    questions: int = 0
    not_found: int = 0
    started_at: float = field(default_factory=time.monotonic)
    # With a language model: found answers sent composed / extractive, and why it failed.
    composed: int = 0
    extractive: int = 0
    model_failures: Counter[str] = field(default_factory=Counter)

    def record(self, answer: Answer) -> None:
        self.questions += 1
        self.not_found += 0 if answer.found else 1

    def record_composition(self, composition: Composition) -> None:
        if composition.composed:
            self.composed += 1
        else:
            self.extractive += 1
        if composition.failure:
            self.model_failures[composition.failure] += 1


class BotState:
    """What every callback shares (``application.bot_data``): engine, settings, counters and
    the live index (watcher, feeds, subscriptions)."""

    def __init__(self) -> None:
        self._engine: NewsEngine | None = None
        self._live: LiveIndex | None = None
        self.settings = BotSettings()
        self.stats = Stats()
        self.memory: ChatMemory | None = None  # None: every question stands alone
        self.composer: Composer | None = None  # None: extractive answers only

    def attach(self, engine: NewsEngine, settings: BotSettings) -> None:
        self._engine = engine
        self.settings = settings
        self._live = LiveIndex(engine, settings)
        self.memory = _open_memory(settings)
        self.composer = Composer(settings.engine) if settings.engine.composes else None

    async def aclose(self) -> None:
        """Close what holds connections (the language model's HTTP client)."""
        if self.composer is not None:
            await self.composer.aclose()

    @property
    def engine(self) -> NewsEngine:
        if self._engine is None:
            raise RuntimeError("BotState.attach(engine, settings) was not called")
        return self._engine

    @property
    def live(self) -> LiveIndex:
        if self._live is None:
            raise RuntimeError("BotState.attach(engine, settings) was not called")
        return self._live


def _open_memory(settings: BotSettings) -> ChatMemory | None:
    if not settings.context_turns:
        return None
    try:
        return ChatMemory(
            settings.conversations_path,
            max_turns=settings.context_turns,
            max_age_s=settings.context_minutes * 60,
        )
    except (OSError, sqlite3.Error) as exc:
        logger.error(
            "Follow-ups are off: cannot open %s (%s); check that its folder is writable",
            settings.conversations_path,
            exc,
        )
        return None


class NewsContext(CallbackContext[ExtBot[Any], dict[Any, Any], dict[Any, Any], BotState]):
    """The callback context: ``context.state`` is the shared ``BotState``."""

    @property
    def state(self) -> BotState:
        return self.bot_data


# --- commands -----------------------------------------------------------------------------------


async def start(update: Update, context: NewsContext) -> None:
    """/start: what the bot knows and three example questions."""
    articles = context.state.engine.articles()
    await _reply(update, formatting.format_start(articles, _language(update)))


async def help_command(update: Update, context: NewsContext) -> None:
    """/help: how to ask in private chats, groups and inline."""
    await _reply(update, formatting.format_help(context.bot.username, _language(update)))


async def sources(update: Update, context: NewsContext) -> None:
    """/sources: the articles with title, date and link."""
    articles = context.state.engine.articles()
    await _reply(update, formatting.format_sources(articles, _language(update)))


async def ask(update: Update, context: NewsContext) -> None:
    """/ask QUESTION, in any chat."""
    question = " ".join(context.args or [])
    if not question.strip():
        articles = context.state.engine.articles()
        await _reply(update, [formatting.format_ask_usage(articles, _language(update))])
        return
    await _answer(update, context, _text_after_command(update) or question)


async def private_text(update: Update, context: NewsContext) -> None:
    """Any text in a private chat is a question."""
    message = update.effective_message
    if message is not None and message.text:
        await _answer(update, context, message.text)


async def group_text(update: Update, context: NewsContext) -> None:
    """Group text: answer mentions of the bot and replies to it; ignore other chatter."""
    message = update.effective_message
    if message is None:
        return
    question = addressed_question(message, context.bot.username, context.bot.id)
    if question is not None:
        await _answer(update, context, question)


async def non_text(update: Update, context: NewsContext) -> None:
    """Stickers, photos, voice and the like in a private chat: a one-line hint."""
    await _reply(update, [text_for(_language(update), "non_text")])


async def unknown_command(update: Update, context: NewsContext) -> None:
    """An unknown /command in a private chat: show the help."""
    await help_command(update, context)


async def reload_command(update: Update, context: NewsContext) -> None:
    """/reload (admins): serve the newest index on disk now."""
    language = _language(update)
    if not _is_admin(update, context.state):
        await _reply(update, [text_for(language, "admins_only", command="/reload")])
        return
    engine = context.state.engine
    try:
        await asyncio.to_thread(engine.reload)
    except NewsIndexError as exc:
        await _reply(update, formatting.split_message(escape(str(exc))))
        return
    info = engine.info()
    text = text_for(
        language,
        "reloaded",
        articles=info.articles,
        passages=info.passages,
        built_at=escape(info.built_at),
    )
    await _reply(update, [text])
    await context.state.live.send_notices(context.bot)


async def new(update: Update, context: NewsContext) -> None:
    """/new: forget this conversation's earlier questions; the next one stands alone."""
    memory, who = context.state.memory, _conversation(update)
    if memory is not None and who is not None:
        await asyncio.to_thread(memory.forget, who)
    await _reply(update, [text_for(_language(update), "new_conversation")])


async def subscribe(update: Update, context: NewsContext) -> None:
    """/subscribe: the chat is told the title and link of each new article once indexed."""
    await _set_subscription(update, context, subscribe=True)


async def unsubscribe(update: Update, context: NewsContext) -> None:
    """/unsubscribe: no more new-article notices for this chat."""
    await _set_subscription(update, context, subscribe=False)


async def _set_subscription(update: Update, context: NewsContext, *, subscribe: bool) -> None:
    chat = update.effective_chat
    store = context.state.live.subscriptions
    language = _language(update)
    if chat is None:
        return
    if store is None:
        await _reply(update, [text_for(language, "subscriptions_off")])
        return
    if subscribe:
        changed = await asyncio.to_thread(store.subscribe, chat.id)
        key = "subscribed" if changed else "already_subscribed"
    else:
        changed = await asyncio.to_thread(store.unsubscribe, chat.id)
        key = "unsubscribed" if changed else "not_subscribed"
    await _reply(update, [text_for(language, key)])


async def stats(update: Update, context: NewsContext) -> None:
    """/stats (admins): questions served, not-found rate, index size and age."""
    language = _language(update)
    state = context.state
    if not _is_admin(update, state):
        await _reply(update, [text_for(language, "admins_only", command="/stats")])
        return
    info = state.engine.info()
    view = formatting.StatsView(
        questions=state.stats.questions,
        not_found=state.stats.not_found,
        articles=info.articles,
        passages=info.passages,
        built_at=info.built_at,
        version=info.version,
        uptime_s=time.monotonic() - state.stats.started_at,
        model=state.composer.model if state.composer else None,
        composed=state.stats.composed,
        extractive=state.stats.extractive,
        model_failures=tuple(sorted(state.stats.model_failures.items())),
    )
    await _reply(update, [formatting.format_stats(view, language)])


# --- buttons --------------------------------------------------------------------


async def show_source(update: Update, context: NewsContext) -> None:
    """A [n] button: show the full cited paragraph, or a short notice if the data is stale."""
    query = update.callback_query
    if query is None:
        return
    language = pick_language(query.from_user.language_code)
    ref = formatting.parse_source_button(query.data)
    found = None
    if ref is not None:
        found = await asyncio.to_thread(cited_paragraph, context.state.engine, ref)
    if found is None:
        await query.answer(text_for(language, "stale_button"))
        return
    if not isinstance(query.message, Message):  # an inline message, or one too old to reach
        await query.answer(formatting.alert_text(found.text), show_alert=True)
        return
    await query.answer()
    texts = formatting.format_paragraph(found, found.text, language)
    for number, text in enumerate(texts):
        await query.message.reply_text(text, do_quote=number == 0)


def cited_paragraph(engine: NewsEngine, ref: SourceRef) -> Citation | None:
    """The whole paragraph a button points at, or None if it is gone or has changed since."""
    # Per article, not per passage: a long article id reaches the button as a hash of it.
    article_id = next(
        (a.article_id for a in engine.articles() if ref.matches_article(a.article_id)), None
    )
    paragraph = engine.paragraph(article_id, ref.paragraph) if article_id is not None else None
    if paragraph is None or not ref.matches_text(paragraph):
        return None
    return paragraph.citation(ref.n)


# --- the allow-list and errors ------------------------------------------------------------------


async def guard(update: Update, context: NewsContext) -> None:
    """Refuse politely in chats outside ALLOWED_CHAT_IDS and stop handling the update."""
    allowed = context.state.settings.allowed_chat_ids
    if allowed is None:
        return
    chat = update.effective_chat
    user = update.effective_user
    chat_id = chat.id if chat is not None else user.id if user is not None else None
    if chat_id in allowed:
        return
    text = text_for(_language(update), "not_allowed", chat_id=chat_id)
    if update.callback_query is not None:
        await update.callback_query.answer(formatting.alert_text(text))
    elif update.inline_query is not None:
        await update.inline_query.answer([], cache_time=0)
    elif _is_talking_to_bot(update, context.bot):
        await _reply(update, [text])
    raise ApplicationHandlerStop


async def on_error(update: object, context: NewsContext) -> None:
    """Log every error once, with its update, then tell the user politely unless their chat is
    rate-limited or the error is a reply that could not be sent; never raise."""
    error = context.error
    if isinstance(error, SendAbandonedError | DeliveryUncertainError):
        # Expected outcomes of Telegram's limits and timeouts: one line, no traceback, and no
        # apology, which would only join the queue or duplicate what has arrived.
        logger.warning("%s; while handling %s", error, describe_update(update))
        return
    # Log the error before we do anything else, so we can see it even if something breaks.
    logger.error("Error while handling %s", describe_update(update), exc_info=error)
    if not isinstance(update, Update) or _is_paused(update, context.bot):
        return
    text = text_for(_language(update), "error")
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text)
        elif update.effective_message is not None and update.inline_query is None:
            await update.effective_message.reply_text(text, parse_mode=None)
    except TelegramError as exc:  # the error itself is logged above
        logger.debug("Could not tell the user about the error: %s", exc)


def _is_paused(update: Update, bot: Bot) -> bool:
    """Whether Telegram has asked the bot to wait before sending more to the update's chat."""
    limiter = bot.rate_limiter if isinstance(bot, ExtBot) else None
    chat = update.effective_chat
    return isinstance(limiter, ChatRateLimiter) and chat is not None and limiter.is_paused(chat.id)


def describe_update(update: object) -> str:
    """The update as compact JSON (cut to a readable length) for the error log."""
    if not isinstance(update, Update):
        return f"no update ({type(update).__name__})"
    data = json.dumps(update.to_dict(), ensure_ascii=False, separators=(",", ":"))
    if len(data) > MAX_LOGGED_UPDATE_CHARS:
        data = data[:MAX_LOGGED_UPDATE_CHARS] + "…"
    return f"update {data}"


# --- helpers ------------------------------------------------------------------------------------


async def _answer(update: Update, context: NewsContext, text: str) -> None:
    """Answer one question: typing indicator, retrieval off the loop, HTML reply with buttons."""
    chat = update.effective_chat
    language = _language(update, text)
    question, was_cut = formatting.cut_question(text)
    engine = context.state.engine
    if not question:
        await _reply(update, [formatting.format_ask_usage(engine.articles(), language)])
        return
    if chat is not None and _has_backlog(context, chat.id):
        await _reply(update, [text_for(language, "one_by_one")])
    typing = asyncio.create_task(_send_typing(context.bot, chat.id if chat else None))
    # Taken before asking: a "not found" reply then never lists an article from an index
    # swapped in after the question was searched.
    known = engine.articles()
    memory, who = context.state.memory, _conversation(update)
    try:
        earlier = await _earlier_turns(update, memory, who)
        answer = await asyncio.to_thread(engine.ask, question, None, earlier)
        answer = await _compose(context, chat.id if chat else None, answer, earlier)
    finally:
        await _finish_typing(typing)
    context.state.stats.record(answer)
    articles = () if answer.found else known
    texts = formatting.format_answer(answer, articles, language, was_cut=was_cut)
    # Buttons in the order the sources are listed: the quoted ones, then "see also".
    buttons = _keyboard(answer.cited + answer.see_also) if answer.found else None
    sent = await _reply(update, texts, buttons)
    if memory is not None and who is not None:
        cited = tuple((c.article_id, c.paragraph) for c in answer.cited)
        await asyncio.to_thread(memory.remember, who, Turn(question, cited), sent)


async def _compose(
    context: NewsContext, chat_id: int | None, answer: Answer, earlier: Sequence[Turn]
) -> Answer:
    """The answer composed by the language model when one is configured and the answer was
    found (else, or when the model fails, the extractive one); the typing indicator is kept up
    meanwhile."""
    composer = context.state.composer
    if composer is None or not answer.found:
        return answer
    typing = asyncio.create_task(_keep_typing(context.bot, chat_id))
    try:
        composition = await composer.compose(answer, earlier)
    finally:
        typing.cancel()
        await asyncio.gather(typing, return_exceptions=True)
    context.state.stats.record_composition(composition)
    return composition.answer


async def _keep_typing(bot: Bot, chat_id: int | None) -> None:
    while True:
        await asyncio.sleep(TYPING_REFRESH_S)
        await _send_typing(bot, chat_id)


def _conversation(update: Update) -> Conversation | None:
    """Whose context a message belongs to: the private chat, or one user in a group. An edited
    question belongs to none: it is answered again on its own and not remembered twice."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or update.edited_message is not None:
        return None
    if chat.type == ChatType.PRIVATE:
        return Conversation(chat.id)
    return Conversation(chat.id, user.id if user is not None else 0)


async def _earlier_turns(
    update: Update, memory: ChatMemory | None, who: Conversation | None
) -> list[Turn]:
    """The turns a question is read with: the thread of the bot's message it replies to, else
    its conversation's recent ones."""
    if memory is None or who is None:
        return []
    message = update.effective_message
    replied = message.reply_to_message if message is not None else None
    if replied is not None and replied.from_user is not None and replied.from_user.is_bot:
        thread = await asyncio.to_thread(memory.thread, who.chat_id, replied.message_id)
        if thread:
            return thread
    return await asyncio.to_thread(memory.context, who)


def _has_backlog(context: NewsContext, chat_id: int) -> bool:
    """True once per busy spell, when enough of a chat's questions wait to be answered."""
    processor = context.application.update_processor
    return isinstance(processor, ChatOrderedProcessor) and processor.take_backlog_notice(
        chat_id, BACKLOG_NOTICE_AT
    )


async def _send_typing(bot: Bot, chat_id: int | None) -> None:
    if chat_id is None:
        return
    try:
        await bot.send_chat_action(chat_id, ChatAction.TYPING)
    except TelegramError as exc:
        logger.debug("Could not show the typing indicator: %s", exc)


async def _finish_typing(typing: asyncio.Task[None]) -> None:
    """Let the typing indicator land before the reply, but never wait on its retries."""
    if not typing.done():
        await asyncio.wait([typing], timeout=0.5)
    if not typing.done():
        typing.cancel()
    await asyncio.gather(typing, return_exceptions=True)


def _keyboard(citations: Sequence[Citation]) -> InlineKeyboardMarkup | None:
    rows = formatting.source_buttons(citations)
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


async def _reply(
    update: Update, texts: Sequence[str], markup: InlineKeyboardMarkup | None = None
) -> list[int]:
    """Send ``texts`` in order as replies; the keyboard goes under the last one. Returns the ids
    of the messages sent (a reply to one of them continues its thread)."""
    message = update.effective_message
    if message is None:
        return []
    quote = message.chat.type != ChatType.PRIVATE
    sent = []
    for number, text in enumerate(texts):
        is_last = number == len(texts) - 1
        try:
            reply = await message.reply_text(
                text,
                do_quote=quote and number == 0,
                reply_markup=markup if is_last else None,
            )
            sent.append(reply.message_id)
        except DeliveryUncertainError as exc:
            # Most likely delivered: the rest of the reply follows it, and nothing is resent.
            logger.warning("%s", exc)
    return sent


def _language(update: Update, text: str = "") -> str:
    user = update.effective_user
    message = update.effective_message
    sample = text or (message.text or "" if message is not None else "")
    return pick_language(user.language_code if user else None, sample)


def _is_admin(update: Update, state: BotState) -> bool:
    user = update.effective_user
    return user is not None and user.id in state.settings.admin_ids


def _text_after_command(update: Update) -> str | None:
    """The raw text after ``/ask`` (keeps line breaks that ``context.args`` would lose)."""
    message = update.effective_message
    if message is None or not message.text:
        return None
    parts = message.text.split(maxsplit=1)
    return parts[1] if len(parts) == 2 else None


def addressed_question(message: Message, bot_username: str, bot_id: int) -> str | None:
    """The question in a group message meant for the bot, or None if it is not meant for it.

    A message is meant for the bot when it mentions it (``@bot``, or a text mention) or replies
    to one of its messages. The mention itself is removed from the question.
    """
    text = message.text or ""
    mentions = message.parse_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION])
    ours = [
        value
        for entity, value in mentions.items()
        if (entity.type == MessageEntity.MENTION and value.lower() == f"@{bot_username.lower()}")
        or (entity.user is not None and entity.user.id == bot_id)
    ]
    replied = message.reply_to_message
    author = replied.from_user if replied is not None else None
    if not ours and (author is None or author.id != bot_id):
        return None
    for value in ours:
        text = text.replace(value, " ")
    return " ".join(text.split())


def _is_talking_to_bot(update: Update, bot: Bot) -> bool:
    """Whether the user addressed the bot (so a refusal is due), rather than chatting nearby."""
    message = update.effective_message
    if message is None:
        return False
    if message.chat.type == ChatType.PRIVATE:
        return True
    text = message.text or ""
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0]
        return "@" not in command or command.lower().endswith(f"@{bot.username.lower()}")
    return addressed_question(message, bot.username, bot.id) is not None
