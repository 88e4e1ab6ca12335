"""The Telegram application: wiring (handlers, send queues, jobs, menu) and the polling runner.

What the handlers and jobs do lives in ``bot.handlers``, ``bot.inline`` and ``bot.live``; the
per-chat send queues in ``bot.rate_limit``, the per-chat order of questions in
``bot.chat_order``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from typing import Any, TypeAlias

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import Conflict, InvalidToken, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    ExtBot,
    InlineQueryHandler,
    JobQueue,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import handlers, inline, live
from bot.chat_order import ChatOrderedProcessor
from bot.formatting import LANGUAGES, command_menu
from bot.handlers import BotState, NewsContext
from bot.rate_limit import ChatRateLimiter, SendLimits
from bot.settings import BotSettings
from index import NewsEngine

logger = logging.getLogger(__name__)

NewsApplication: TypeAlias = Application[
    ExtBot[Any], NewsContext, dict[Any, Any], dict[Any, Any], BotState, JobQueue[Any]
]
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "inline_query"]
EXIT_CONFLICT = 1
EXIT_STARTUP_FAILED = 1
# On the way out, replies still waiting for Telegram's flood limits get this long to leave.
STOP_GRACE_S = 3.0


def build_application(settings: BotSettings, engine: NewsEngine) -> NewsApplication:
    """The bot, ready to run: handlers, error handler, per-chat send queues and question order,
    command menu, and the jobs that keep the index current (hot reload, the folder watcher, feed
    rounds; see ``bot.live``).

    Args:
        settings: the bot token (required), API base URL, admins, allow-list, reload interval,
            send limits, and the engine's articles folder and feeds.
        engine: the loaded engine every handler asks.

    Returns:
        An application that is built but not initialised; run it with ``serve``.

    Raises:
        ConfigError: TELEGRAM_BOT_TOKEN is not set.
    """
    context_types = ContextTypes(context=NewsContext, bot_data=BotState)
    builder = (
        Application.builder()
        .token(settings.require_token())
        .context_types(context_types)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                allow_sending_without_reply=True,
            )
        )
        .rate_limiter(ChatRateLimiter(send_limits(settings)))
        .concurrent_updates(ChatOrderedProcessor())
        .post_init(_post_init)
    )
    if settings.telegram_api_base_url:
        base_url = settings.telegram_api_base_url
        builder = builder.base_url(base_url).base_file_url(_file_url(base_url))
    application: NewsApplication = builder.build()
    application.bot_data.attach(engine, settings)
    _add_handlers(application)
    if application.job_queue is not None:
        _add_jobs(application.job_queue, settings)
    return application


def send_limits(settings: BotSettings) -> SendLimits:
    """The send queues' pace and deadline, from the settings."""
    return SendLimits(
        chat_per_s=settings.chat_messages_per_s,
        chat_burst=settings.chat_burst,
        group_per_minute=settings.group_messages_per_min,
        overall_per_s=settings.messages_per_s,
        deadline_s=settings.send_deadline_s,
    )


def _add_jobs(job_queue: JobQueue[NewsContext], settings: BotSettings) -> None:
    """Hot reload, the folder watcher and, if FEEDS is set, the feed rounds."""
    job_queue.run_repeating(
        _reload_index,
        interval=settings.reload_interval_s,
        first=settings.reload_interval_s,
        name="hot-reload",
    )
    job_queue.run_repeating(
        _watch_folder, interval=live.WATCH_INTERVAL_S, first=live.WATCH_INTERVAL_S, name="watch"
    )
    if settings.engine.feeds:
        interval_s = settings.feed_interval_min * 60
        job_queue.run_repeating(
            _check_feeds,
            interval=interval_s,
            first=min(live.FEED_FIRST_RUN_S, interval_s),
            name="feeds",
        )


def _file_url(base_url: str) -> str:
    """The file URL that goes with a Bot API base URL (``.../bot`` -> ``.../file/bot``)."""
    head, sep, tail = base_url.rpartition("/bot")
    return f"{head}/file/bot{tail}" if sep else base_url


def _add_handlers(application: NewsApplication) -> None:
    private = filters.ChatType.PRIVATE
    groups = filters.ChatType.GROUPS
    messages = filters.UpdateType.MESSAGES  # new and edited messages, not channel posts
    application.add_handler(TypeHandler(Update, handlers.guard), group=-1)
    for name, callback in (
        ("start", handlers.start),
        ("help", handlers.help_command),
        ("sources", handlers.sources),
        ("ask", handlers.ask),
        ("reload", handlers.reload_command),
        ("stats", handlers.stats),
        ("subscribe", handlers.subscribe),
        ("unsubscribe", handlers.unsubscribe),
        ("new", handlers.new),
    ):
        application.add_handler(CommandHandler(name, callback, filters=messages))
    text = messages & filters.TEXT & ~filters.COMMAND
    application.add_handler(MessageHandler(text & private, handlers.private_text))
    application.add_handler(MessageHandler(text & groups, handlers.group_text))
    application.add_handler(
        MessageHandler(messages & private & filters.COMMAND, handlers.unknown_command)
    )
    application.add_handler(
        MessageHandler(filters.UpdateType.MESSAGE & private & ~filters.TEXT, handlers.non_text)
    )
    application.add_handler(CallbackQueryHandler(handlers.show_source))
    application.add_handler(InlineQueryHandler(inline.inline_answer))
    application.add_error_handler(handlers.on_error)


async def _post_init(application: NewsApplication) -> None:
    """Register the command menu (English and Russian) and log the one start-up line."""
    for language in LANGUAGES:
        commands = [BotCommand(name, description) for name, description in command_menu(language)]
        try:
            await application.bot.set_my_commands(
                commands, language_code=None if language == "en" else language
            )
        except TelegramError as exc:
            logger.warning("Could not register the %s command menu: %s", language, exc)
    info = application.bot_data.engine.info()
    logger.info(
        "Bot @%s is up: %d articles, %d passages (index %s)",
        application.bot.username,
        info.articles,
        info.passages,
        info.version,
    )
    # Records what is indexed now (so a new subscriptions file does not announce the archive),
    # and delivers notices that could not be sent before the last shutdown.
    await application.bot_data.live.send_notices(application.bot)


async def _reload_index(context: NewsContext) -> None:
    await live.reload_index(context.bot_data.live, context.bot)


async def _watch_folder(context: NewsContext) -> None:
    await live.watch_folder(context.bot_data.live, context.application)


async def _check_feeds(context: NewsContext) -> None:
    await live.check_feeds_round(context.bot_data.live, context.application)


async def serve(application: NewsApplication, stop: asyncio.Event, *, drop_pending: bool) -> int:
    """Poll for updates until ``stop`` is set; returns the process exit code.

    A 409 Conflict (another instance polling with the same token) is logged once and ends the
    loop with a non-zero code instead of retrying forever.
    """
    conflicts: list[Conflict] = []
    updater_logger = logging.getLogger("telegram.ext.Updater")

    def on_polling_error(exc: TelegramError) -> None:
        if isinstance(exc, Conflict):
            if not conflicts:
                logger.error(
                    "Another instance is polling with this bot token (409 Conflict); stopping. "
                    "Stop the other instance or give this one its own token."
                )
                # The updater's last getUpdates on the way out fails the same way; that second
                # report, with its traceback, would only bury the line above.
                updater_logger.addFilter(_drop_final_get_updates_error)
            conflicts.append(exc)
            stop.set()
        else:
            logger.warning("Polling for updates failed (%s); retrying", exc)

    try:
        await application.initialize()
    except InvalidToken:
        logger.error("Telegram rejected TELEGRAM_BOT_TOKEN; get a valid one from @BotFather.")
        return EXIT_STARTUP_FAILED
    except TelegramError as exc:
        logger.error("Could not reach the Telegram Bot API: %s", exc)
        return EXIT_STARTUP_FAILED
    try:
        if application.post_init is not None:
            await application.post_init(application)
        assert application.updater is not None
        await application.updater.start_polling(
            drop_pending_updates=drop_pending,
            allowed_updates=ALLOWED_UPDATES,
            error_callback=on_polling_error,
        )
        await application.start()
        await stop.wait()
    finally:
        await _stop(application)
        updater_logger.removeFilter(_drop_final_get_updates_error)
    return EXIT_CONFLICT if conflicts else 0


async def _stop(application: NewsApplication) -> None:
    # Stopping waits for every update in hand to be answered; the replies that would wait on a
    # paused chat for minutes are given up after a short grace instead (each logged once).
    limiter = application.bot.rate_limiter
    if isinstance(limiter, ChatRateLimiter):
        limiter.stop_waiting(STOP_GRACE_S)
    processor = application.update_processor
    if isinstance(processor, ChatOrderedProcessor):
        processor.stop_waiting(STOP_GRACE_S)
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
    await application.shutdown()
    await application.bot_data.aclose()


def _drop_final_get_updates_error(record: logging.LogRecord) -> bool:
    return "get_updates` one more time" not in record.getMessage()


def run_bot(settings: BotSettings, engine: NewsEngine | None = None) -> int:
    """Run the bot until SIGINT/SIGTERM or a 409 Conflict; returns the exit code.

    Args:
        settings: the configuration (TELEGRAM_BOT_TOKEN must be set).
        engine: an engine to reuse; by default the models and the index are loaded here.

    Returns:
        0 after a clean shutdown, 1 on a conflict or when Telegram cannot be reached.

    Raises:
        NewsIndexError: the index cannot be built or loaded.
    """
    protect_token(settings.require_token())
    # APScheduler logs two INFO lines per job run; the folder watcher runs twice a second.
    logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
    # Opt in to PTB's future behaviour (RetryAfter.retry_after as a timedelta) so every 429 does
    # not print a deprecation warning; nothing in newsbot reads that attribute.
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    if engine is None:
        engine = NewsEngine.open(settings.engine)
    application = build_application(settings, engine)
    return asyncio.run(_serve_until_signal(application, settings.drop_pending_updates))


async def _serve_until_signal(application: NewsApplication, drop_pending: bool) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    # Signal handlers can only be set in the main thread (tests run the bot in a worker thread).
    handle_signals = threading.current_thread() is threading.main_thread()
    if handle_signals:
        for sig in signals:
            loop.add_signal_handler(sig, _on_signal, sig, stop, loop)
    try:
        return await serve(application, stop, drop_pending=drop_pending)
    finally:
        if handle_signals:
            for sig in signals:
                loop.remove_signal_handler(sig)


def _on_signal(sig: signal.Signals, stop: asyncio.Event, loop: asyncio.AbstractEventLoop) -> None:
    logger.info("Received %s; shutting down", sig.name)
    stop.set()
    # A second Ctrl-C during shutdown falls back to Python's default and interrupts at once.
    loop.remove_signal_handler(sig)


class TokenRedactingFilter(logging.Filter):
    """Replaces the bot token in log records (message and traceback) with ``<token>``."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token in message:
            record.msg = message.replace(self.token, "<token>")
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and self.token in record.exc_text:
            record.exc_text = record.exc_text.replace(self.token, "<token>")
        return True


def protect_token(token: str) -> None:
    """Keep the token out of the logs: quiet httpx (its INFO lines carry request URLs, which
    contain the token) and redact it in every record that reaches a root handler.
    """
    logging.getLogger("httpx").setLevel(logging.WARNING)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, TokenRedactingFilter) for f in handler.filters):
            handler.addFilter(TokenRedactingFilter(token))
