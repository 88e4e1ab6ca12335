"""Keeping the running bot current: the folder watcher, feed rounds, index updates and notices.

Every way an article arrives ends the same way: ``LiveIndex.request_update`` starts at most one
background build at a time (requests made while one runs are merged into the next), the engine
swaps in the new snapshot when it is complete, and each subscribed chat is told about the new
articles once. The old index keeps answering until then.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Sequence
from itertools import groupby
from typing import Any

from telegram import Bot
from telegram.error import Forbidden, TelegramError
from telegram.ext import Application

from bot import formatting
from bot.rate_limit import DeliveryUncertainError
from bot.settings import BotSettings
from bot.subscriptions import Notice, SubscriptionStore
from index import BuildReport, NewsEngine, NewsIndexError
from index.intake import FolderWatcher, check_feeds

logger = logging.getLogger(__name__)

WATCH_INTERVAL_S = 0.5  # one scandir of the articles folder: milliseconds even for 10,000 files
WATCH_QUIET_S = 1.0  # a burst of writes (git pull, rsync) settles before one rebuild
FEED_FIRST_RUN_S = 5.0  # the first feed round, after start-up has settled
NOTICES_PER_MESSAGE = 10


class LiveIndex:
    """The running bot's link to new articles; one per application (``BotState.live``).

    Args:
        engine: the engine whose index is updated and hot-swapped.
        settings: the articles folder and the feeds (``settings.engine``), the allow-list and the
            subscriptions file.
    """

    def __init__(self, engine: NewsEngine, settings: BotSettings) -> None:
        self.engine = engine
        self.settings = settings
        self.watcher = FolderWatcher(settings.engine.articles_dir, quiet_s=WATCH_QUIET_S)
        self.subscriptions = _open_store(settings)
        self._reasons: list[str] = []
        self._runner: asyncio.Task[None] | None = None
        self._notice_lock = asyncio.Lock()

    @property
    def is_updating(self) -> bool:
        return self._runner is not None and not self._runner.done()

    def request_update(
        self, reason: str, application: Application[Any, Any, Any, Any, Any, Any]
    ) -> None:
        """Update the index in the background; a build already running is followed by one more."""
        self._reasons.append(reason)
        if not self.is_updating:
            self._runner = application.create_task(
                self._run_updates(application.bot), name="index-update"
            )

    async def _run_updates(self, bot: Bot) -> None:
        while self._reasons:
            reason = ", ".join(dict.fromkeys(self._reasons))
            self._reasons.clear()
            await self.update_index(reason, bot)

    async def update_index(self, reason: str, bot: Bot) -> BuildReport | None:
        """Build incrementally off the event loop, serve the result, then send the notices."""
        try:
            report = await asyncio.to_thread(self.engine.update_index)
        except NewsIndexError as exc:
            logger.warning(
                "Index update (%s) failed; the current index keeps serving: %s", reason, exc
            )
            return None
        _log_report(report, reason)
        if report.version is not None:
            await self.send_notices(bot)
        return report

    async def send_notices(self, bot: Bot) -> int:
        """Tell each subscribed chat about the articles it has not heard of; returns how many.

        The first call on a new subscriptions file only records what is already indexed.
        """
        if self.subscriptions is None:
            return 0
        async with self._notice_lock:  # two updates in a row must not both send one notice
            notices = await self._pending_notices()
            sent = 0
            for chat_id, group in groupby(notices, key=lambda n: n.chat_id):
                if not self._is_allowed(chat_id):
                    continue
                sent += await self._notify(bot, chat_id, list(group))
        return sent

    async def _pending_notices(self) -> list[Notice]:
        assert self.subscriptions is not None
        articles = self.engine.articles()
        try:
            notices = await asyncio.to_thread(self.subscriptions.pending_notices, articles)
        except sqlite3.Error as exc:
            logger.error("Cannot read the subscriptions (%s): %s", self.subscriptions.path, exc)
            return []
        return sorted(notices, key=lambda n: n.chat_id)  # groupby needs each chat's run together

    def _is_allowed(self, chat_id: int) -> bool:
        allowed = self.settings.allowed_chat_ids
        return allowed is None or chat_id in allowed

    async def _notify(self, bot: Bot, chat_id: int, notices: Sequence[Notice]) -> int:
        """Send one chat its notices, a few per message, marking each batch once delivered."""
        assert self.subscriptions is not None
        sent = 0
        for start in range(0, len(notices), NOTICES_PER_MESSAGE):
            batch = notices[start : start + NOTICES_PER_MESSAGE]
            texts = formatting.format_new_articles([(n.title, n.url) for n in batch])
            try:
                for text in texts:
                    await _send_once(bot, chat_id, text)
            except Forbidden as exc:
                logger.info(
                    "Chat %s blocked the bot or removed it; unsubscribing: %s", chat_id, exc
                )
                await asyncio.to_thread(self.subscriptions.unsubscribe, chat_id)
                return sent
            except TelegramError as exc:
                # Left pending: the store offers it again after the next update.
                logger.warning("Could not notify chat %s; will retry later: %s", chat_id, exc)
                return sent
            await asyncio.to_thread(_mark_sent, self.subscriptions, batch)
            sent += len(batch)
        return sent


async def _send_once(bot: Bot, chat_id: int, text: str) -> None:
    """Send a notice; one sent whose answer was lost counts as sent (offering it again after
    the next update could show it twice)."""
    try:
        await bot.send_message(chat_id, text)
    except DeliveryUncertainError as exc:
        logger.warning("%s", exc)


def _open_store(settings: BotSettings) -> SubscriptionStore | None:
    try:
        return SubscriptionStore(settings.subscriptions_path)
    except (OSError, sqlite3.Error) as exc:
        logger.error(
            "Subscriptions are off: cannot open %s (%s); check that its folder is writable",
            settings.subscriptions_path,
            exc,
        )
        return None


def _mark_sent(store: SubscriptionStore, notices: Sequence[Notice]) -> None:
    for notice in notices:
        store.mark_sent(notice)


def _log_report(report: BuildReport, reason: str) -> None:
    for problem in report.problems:
        logger.warning("Skipped %s: %s", problem.path.name, problem.reason)
    for article_id in report.kept_broken:
        logger.warning("Kept the last good version of %s; its file is broken", article_id)
    if report.version is None:
        logger.info("Index update (%s): nothing to change", reason)
        return
    logger.info(
        "Index update (%s): %d added, %d changed, %d removed; %d passages embedded in %.1f s; "
        "now serving %s",
        reason,
        len(report.added),
        len(report.changed),
        len(report.removed),
        report.embedded,
        report.seconds,
        report.version,
    )


# --- jobs ---------------------------------------------------------------------------------------


async def reload_index(live: LiveIndex, bot: Bot) -> None:
    """Hot reload: serve the index `newsbot index` wrote in another process, if it is newer."""
    if live.is_updating:
        # The build in progress swaps in its own snapshot (and any newer one) when it is done;
        # loading the same 10,000-passage snapshot twice at once would only slow both down.
        return
    try:
        swapped = await asyncio.to_thread(live.engine.reload_if_changed)
    except NewsIndexError as exc:
        logger.warning("Keeping the current index; the new one could not be loaded: %s", exc)
        return
    if swapped:
        info = live.engine.info()
        logger.info("Now serving index %s (%d articles)", info.version, info.articles)
        await live.send_notices(bot)


async def watch_folder(
    live: LiveIndex, application: Application[Any, Any, Any, Any, Any, Any]
) -> None:
    """One watcher step: when the folder has changed and settled, request an update."""
    changes = await asyncio.to_thread(live.watcher.poll)
    if changes is not None:
        logger.info("Articles folder changed: %s", changes)
        live.request_update(f"folder: {changes}", application)


async def check_feeds_round(
    live: LiveIndex, application: Application[Any, Any, Any, Any, Any, Any]
) -> None:
    """One feed round: save the new entries (off the event loop), then request an update."""
    try:
        report = await asyncio.to_thread(check_feeds, live.settings.engine)
    except NewsIndexError as exc:
        logger.warning("Feed round failed; trying again next round: %s", exc)
        return
    logger.info(
        "Feed round: %d new articles, %d of %d feeds failed",
        len(report.added),
        len(report.failed_feeds),
        len(report.feeds),
    )
    if report.added:
        live.request_update(f"feeds: {len(report.added)} new", application)
