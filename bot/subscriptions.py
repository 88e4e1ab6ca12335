"""Chats subscribed to new-article notices, and which notices were sent (a small SQLite file).

How the bot uses it (each call is a short blocking transaction; run it via ``asyncio.to_thread``)::

    store = SubscriptionStore(settings.subscriptions_path)
    store.subscribe(chat_id)                       # /subscribe; False if already subscribed
    store.unsubscribe(chat_id)                     # /unsubscribe; False if it was not
    for notice in store.pending_notices(engine.articles()):   # after every index update
        await bot.send_message(notice.chat_id, ...notice.title, notice.url...)
        store.mark_sent(notice)

The first ``pending_notices`` call on a new store only records the articles already indexed, so
starting the bot does not announce the whole archive. A chat is told only about articles that
appear after it subscribed, and about each one once: ``mark_sent`` is stored, so a restart does
not repeat a notice. A notice that fails to send stays pending and is offered again next time.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bot.sqlite_file import create, transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS subscribers (
    chat_id INTEGER PRIMARY KEY,
    subscribed_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS articles (
    article_id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    url TEXT,
    seen_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS notices (
    chat_id INTEGER NOT NULL,
    article_id TEXT NOT NULL,
    sent_at REAL NOT NULL,
    PRIMARY KEY (chat_id, article_id)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class ArticleLike(Protocol):
    """What a notice needs of an article (``ArticleInfo`` and ``Article`` both have it)."""

    @property
    def article_id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def url(self) -> str | None: ...


@dataclass(frozen=True)
class Notice:
    """Tell ``chat_id`` about one new article."""

    chat_id: int
    article_id: str
    title: str
    url: str | None


class SubscriptionStore:
    """Subscribers and sent notices in an SQLite file; safe to use from several threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        create(path, SCHEMA)

    def subscribe(self, chat_id: int, now: float | None = None) -> bool:
        """Subscribe a chat; False if it already was."""
        with transaction(self.path) as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO subscribers (chat_id, subscribed_at) VALUES (?, ?)",
                (chat_id, time.time() if now is None else now),
            )
            return cursor.rowcount == 1

    def unsubscribe(self, chat_id: int) -> bool:
        """Unsubscribe a chat; False if it was not subscribed."""
        with transaction(self.path) as db:
            cursor = db.execute("DELETE FROM subscribers WHERE chat_id = ?", (chat_id,))
            return cursor.rowcount == 1

    def pending_notices(
        self, articles: Iterable[ArticleLike], now: float | None = None
    ) -> list[Notice]:
        """Record newly indexed articles and return the notices not sent yet.

        Args:
            articles: every article the index serves now (``engine.articles()``).
            now: the time to record new articles at (for tests); default the clock.
        """
        now = time.time() if now is None else now
        with transaction(self.path) as db:
            baseline = db.execute("SELECT value FROM meta WHERE key = 'baseline'").fetchone()
            # A baseline article counts as seen long ago, so nobody is told about it.
            seen_at = now if baseline else 0.0
            db.executemany(
                "INSERT OR IGNORE INTO articles (article_id, title, url, seen_at) "
                "VALUES (?, ?, ?, ?)",
                [(a.article_id, a.title, a.url, seen_at) for a in articles],
            )
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('baseline', ?)", (now,))
            rows = db.execute(
                """
                SELECT s.chat_id, a.article_id, a.title, a.url
                FROM subscribers s JOIN articles a ON a.seen_at >= s.subscribed_at
                WHERE NOT EXISTS (
                    SELECT 1 FROM notices n
                    WHERE n.chat_id = s.chat_id AND n.article_id = a.article_id
                )
                ORDER BY a.seen_at, a.article_id, s.chat_id
                """
            ).fetchall()
        return [Notice(*row) for row in rows]

    def mark_sent(self, notice: Notice, now: float | None = None) -> None:
        """Record that ``notice`` was delivered, so it is never offered again."""
        with transaction(self.path) as db:
            db.execute(
                "INSERT OR IGNORE INTO notices (chat_id, article_id, sent_at) VALUES (?, ?, ?)",
                (notice.chat_id, notice.article_id, time.time() if now is None else now),
            )
