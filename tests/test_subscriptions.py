"""Subscriptions: stored across restarts, each subscriber told once about each new article."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.subscriptions import Notice, SubscriptionStore
from index.models import ArticleInfo

SEED = ArticleInfo("seed", "Putin calls for AI leadership", 10, None)
BEES = ArticleInfo("bees", "Bees sniff out truffles", 3, "https://herald.example/bees")
COMET = ArticleInfo("comet", "Green comet grazes the Moon", 2, "https://herald.example/comet")


def _subscribers(path: Path) -> list[int]:
    """The chats the store's file lists as subscribed."""
    with sqlite3.connect(path) as db:
        return [row[0] for row in db.execute("SELECT chat_id FROM subscribers ORDER BY 1")]


def test_subscriptions_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "subs.sqlite3"
    store = SubscriptionStore(path)

    assert store.subscribe(42) is True
    assert store.subscribe(42) is False
    assert store.subscribe(-1001) is True
    assert store.unsubscribe(7) is False

    reopened = SubscriptionStore(path)
    assert _subscribers(path) == [-1001, 42]
    assert reopened.unsubscribe(42) is True
    assert 42 not in _subscribers(path)
    assert _subscribers(SubscriptionStore(path).path) == [-1001]


def test_the_archive_is_not_announced_when_the_store_starts(tmp_path: Path) -> None:
    store = SubscriptionStore(tmp_path / "subs.sqlite3")
    store.subscribe(42, now=1.0)

    assert store.pending_notices([SEED, BEES], now=2.0) == []


def test_each_subscriber_is_notified_once_per_new_article(tmp_path: Path) -> None:
    path = tmp_path / "subs.sqlite3"
    store = SubscriptionStore(path)
    store.pending_notices([SEED], now=1.0)  # what was indexed at start-up
    store.subscribe(42, now=2.0)
    store.subscribe(43, now=2.0)

    notices = store.pending_notices([SEED, BEES], now=3.0)

    assert notices == [
        Notice(42, "bees", BEES.title, BEES.url),
        Notice(43, "bees", BEES.title, BEES.url),
    ]
    store.mark_sent(notices[0])
    # Chat 43's notice was not delivered (say the send failed): it is offered again, after a
    # restart too, and chat 42 is not told twice.
    reopened = SubscriptionStore(path)
    assert reopened.pending_notices([SEED, BEES], now=4.0) == [notices[1]]
    reopened.mark_sent(notices[1])
    assert reopened.pending_notices([SEED, BEES], now=5.0) == []


def test_a_late_subscriber_hears_only_about_later_articles(tmp_path: Path) -> None:
    store = SubscriptionStore(tmp_path / "subs.sqlite3")
    store.pending_notices([SEED], now=1.0)
    store.pending_notices([SEED, BEES], now=2.0)  # nobody subscribed yet
    store.subscribe(42, now=3.0)

    notices = store.pending_notices([SEED, BEES, COMET], now=4.0)

    assert [(n.chat_id, n.article_id) for n in notices] == [(42, "comet")]


def test_an_unsubscribed_chat_gets_no_notices(tmp_path: Path) -> None:
    store = SubscriptionStore(tmp_path / "subs.sqlite3")
    store.pending_notices([SEED], now=1.0)
    store.subscribe(42, now=2.0)
    store.unsubscribe(42)

    assert store.pending_notices([SEED, BEES], now=3.0) == []
