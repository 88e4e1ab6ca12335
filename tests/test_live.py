"""Keeping the running bot current: hot reload, new articles dropped into the folder or published
in a feed, and the notices to subscribers."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from bot.formatting import format_answer
from index.build import build_index
from index.config import Settings
from index.embedders import Embedder
from index.engine import NewsEngine
from tests.articles import BEE_PARAGRAPHS, VOLCANO, VOLCANO_QUESTION, VOLCANO_TITLE
from tests.fake_bot_api import FakeBotApi, user_object
from tests.loopback import RSS, LoopbackSite, article_html, rss_feed
from tests.telegram import GIGACHAT, QUESTION, running_bot

pytestmark = pytest.mark.asyncio(loop_scope="session")

STORM = """Storm Closes Ports in Brittany

Gales of 150 km/h closed the ports of Brest and Roscoff on Thursday, stranding two ferries.
"""
BEES_TITLE = "Bees & truffles: Ljubljana beekeepers teach honeybees to sniff out truffles"
BEES = BEE_PARAGRAPHS[:2]
BEES_QUESTION = "How accurately did the trained honeybees find buried truffles?"
UPDATE_TIMEOUT_S = 60.0  # a build embeds with two real models; the machine may be busy


NOTICE = "<b>New articles</b> you can ask me about:\n"


def _is_notice(text: str) -> bool:
    return text.startswith(NOTICE)


async def _next_reply(
    api: FakeBotApi, user: dict[str, Any], since: int, timeout_s: float = 30.0
) -> str:
    """The first message to ``user`` after the first ``since`` that is not a notice."""

    def found() -> str | None:
        texts = _texts(api, user)[since:]
        return next((t for t in texts if not _is_notice(t)), None)

    text: str = await api.wait_for(found, timeout_s, "a reply")
    return text


async def _ask_until(api: FakeBotApi, user: dict[str, Any], question: str, expected: str) -> str:
    """Ask again until a reply contains ``expected``; returns that reply's text."""
    deadline = time.monotonic() + UPDATE_TIMEOUT_S
    while True:
        text = await _command(api, user, question)
        if expected in text:
            return text
        assert time.monotonic() < deadline, f"no reply contained {expected!r}; last: {text}"
        await asyncio.sleep(0.3)


async def _command(api: FakeBotApi, user: dict[str, Any], command: str) -> str:
    since = len(api.sent(user["id"]))
    api.send_text(user, command)
    return await _next_reply(api, user, since)


async def _notices(api: FakeBotApi, user: dict[str, Any], count: int) -> list[str]:
    def found() -> list[str] | None:
        notices = [t for t in _texts(api, user) if _is_notice(t)]
        return notices if len(notices) >= count else None

    notices: list[str] = await api.wait_for(found, UPDATE_TIMEOUT_S, f"{count} notices")
    return notices


def _texts(api: FakeBotApi, user: dict[str, Any]) -> list[str]:
    return [str(call.params["text"]) for call in api.sent(user["id"])]


def _subscribers(path: Path) -> list[int]:
    with sqlite3.connect(path) as db:
        return [row[0] for row in db.execute("SELECT chat_id FROM subscribers ORDER BY 1")]


def _messages(caplog: pytest.LogCaptureFixture, prefix: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith(prefix)]


async def test_file_dropped_into_the_folder_is_answered_without_a_restart(
    fake_api: FakeBotApi,
    engine: NewsEngine,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot.live")
    reader = user_object()
    async with running_bot(engine, fake_api):
        await _command(fake_api, reader, "/subscribe")
        (settings.articles_dir / "volcano.txt").write_text(VOLCANO, encoding="utf-8")
        (settings.articles_dir / "notes.json").write_text("{not json", encoding="utf-8")
        reply = await _ask_until(fake_api, reader, VOLCANO_QUESTION, f"{VOLCANO_TITLE}, paragraph")
        gigachat = await _command(fake_api, reader, QUESTION)  # the old article still answers
        assert await _notices(fake_api, reader, 1) == [f"{NOTICE}• {VOLCANO_TITLE}"]

        assert (await _command(fake_api, reader, "/unsubscribe")).startswith("Unsubscribed:")
        (settings.articles_dir / "storm.txt").write_text(STORM, encoding="utf-8")
        await fake_api.wait_for(
            lambda: any("storm" in a.article_id for a in engine.articles()),
            UPDATE_TIMEOUT_S,
            "the second article to be indexed",
        )
        await asyncio.sleep(0.5)  # notices go out right after the swap; give them the chance
    assert len([t for t in _texts(fake_api, reader) if _is_notice(t)]) == 1
    answer = engine.ask(VOLCANO_QUESTION)
    assert answer.found
    assert answer.citations[0].title == VOLCANO_TITLE
    assert "Grindavik" in reply
    assert [reply] == format_answer(answer, engine.articles(), "en")
    assert gigachat.startswith(GIGACHAT)
    skipped = _messages(caplog, "Skipped notes.json")  # at each rebuild while it is broken
    assert skipped
    assert all("invalid JSON" in message for message in skipped)
    assert {a.title for a in engine.articles()} >= {VOLCANO_TITLE}


async def test_a_broken_file_does_not_take_the_old_index_down(
    fake_api: FakeBotApi,
    engine: NewsEngine,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot.live")
    [seed_file] = settings.articles_dir.glob("*.txt")
    reader = user_object()
    async with running_bot(engine, fake_api):
        seed_file.write_bytes(b"\xff\xfe this editor saved garbage \xff")

        def rebuilt() -> list[str]:
            return _messages(caplog, "Index update (folder:")

        await fake_api.wait_for(rebuilt, UPDATE_TIMEOUT_S, "the rebuild after the change")
        fake_api.send_text(reader, QUESTION)
        [reply] = await fake_api.wait_for_replies(reader["id"])
    assert reply.params["text"].startswith(GIGACHAT)
    assert _messages(caplog, f"Skipped {seed_file.name}: not UTF-8 text")
    assert _messages(caplog, f"Kept the last good version of {seed_file.stem}")
    assert len(engine.articles()) == 1


async def test_a_feed_item_is_indexed_cited_and_announced_once_to_subscribers(
    fake_api: FakeBotApi,
    engine: NewsEngine,
    site: LoopbackSite,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot.live")
    page_url = site.url("/science/bees")
    site.page("/science/bees", article_html(BEES_TITLE, BEES, page_url, "2024-05-07"))
    feed_url = site.page("/rss.xml", rss_feed([]), content_type=RSS)
    subscriber, quitter, outsider = user_object(), user_object(), user_object(language_code="ru")
    changes = {
        "feeds": (feed_url,),
        "feed_interval_min": 0.02,  # a round every 1.2 s
        "allow_private_urls": True,
        "fetch_timeout_s": 5.0,
        "allowed_chat_ids": frozenset({subscriber["id"], quitter["id"]}),
    }

    async with running_bot(engine, fake_api, **changes):
        assert (await _command(fake_api, subscriber, "/subscribe")).startswith("Subscribed:")
        assert "already subscribed" in await _command(fake_api, subscriber, "/subscribe")
        assert (await _command(fake_api, quitter, "/subscribe")).startswith("Subscribed:")
        assert (await _command(fake_api, quitter, "/unsubscribe")).startswith("Unsubscribed:")
        refused = await _command(fake_api, outsider, "/subscribe")
        assert refused.startswith("Извините, бот недоступен в этом чате")
        site.page(
            "/rss.xml",
            rss_feed([{"title": BEES_TITLE, "link": page_url, "guid": "bees-1"}]),
            content_type=RSS,
        )
        [notice] = await _notices(fake_api, subscriber, 1)
        reply = await _ask_until(fake_api, subscriber, BEES_QUESTION, f'<a href="{page_url}">')

    assert notice == (
        f'{NOTICE}• <a href="{page_url}">Bees &amp; truffles: Ljubljana beekeepers teach '
        "honeybees to sniff out truffles</a>"
    )
    answer = engine.ask(BEES_QUESTION)
    assert answer.citations[0].url == page_url
    assert [reply] == format_answer(answer, engine.articles(), "en")
    assert len(fake_api.sent(quitter["id"])) == 2  # the two command replies, no notice
    assert len(fake_api.sent(outsider["id"])) == 1  # the refusal

    # A restart with the same subscriptions file does not repeat the notice.
    rounds = len(_messages(caplog, "Feed round"))
    async with running_bot(engine, fake_api, **changes):
        await fake_api.wait_for(
            lambda: len(_messages(caplog, "Feed round")) > rounds, 30, "a feed round"
        )
        assert "already subscribed" in await _command(fake_api, subscriber, "/subscribe")
    assert [t for t in _texts(fake_api, subscriber) if _is_notice(t)] == [notice]
    assert site.hits["/science/bees"] == 1


async def test_a_failed_notice_is_sent_after_the_next_update_and_a_blocked_chat_is_dropped(
    fake_api: FakeBotApi,
    engine: NewsEngine,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot.live")
    reader, blocker = user_object(), user_object()  # notices go out in chat id order
    async with running_bot(engine, fake_api) as bot:
        for user in (reader, blocker):
            await _command(fake_api, user, "/subscribe")
        store = bot.application.bot_data.live.subscriptions
        assert store is not None
        fake_api.fail_next("sendMessage", 4, status=500)  # the first try and every retry
        fake_api.fail_next("sendMessage", 1, status=403)  # "bot was blocked by the user"
        (settings.articles_dir / "volcano.txt").write_text(VOLCANO, encoding="utf-8")
        await fake_api.wait_for(
            lambda: blocker["id"] not in _subscribers(store.path), UPDATE_TIMEOUT_S, "the 403"
        )
        assert _messages(caplog, f"Could not notify chat {reader['id']}; will retry later")
        (settings.articles_dir / "storm.txt").write_text(STORM, encoding="utf-8")
        [notice] = await _notices(fake_api, reader, 1)
    assert notice == f"{NOTICE}• {VOLCANO_TITLE}\n• Storm Closes Ports in Brittany"
    assert [t for t in _texts(fake_api, blocker) if _is_notice(t)] == []


@pytest.mark.asyncio(loop_scope="session")
async def test_hot_reload_while_questions_are_answered(
    fake_api: FakeBotApi, engine: NewsEngine, settings: Settings, embedders: list[Embedder]
) -> None:
    """A new index built by another writer is served within 10 s; no question fails meanwhile."""
    askers = [user_object() for _ in range(3)]
    stop_asking = asyncio.Event()

    async def keep_asking(user: dict[str, object]) -> int:
        asked = 0
        while not stop_asking.is_set():
            fake_api.send_text(user, QUESTION)
            asked += 1
            await fake_api.wait_for_replies(int(str(user["id"])), asked)
        return asked

    async with running_bot(engine, fake_api, reload_interval_s=0.5):
        tasks = [asyncio.create_task(keep_asking(user)) for user in askers]
        (settings.articles_dir / "volcano.txt").write_text(VOLCANO, encoding="utf-8")
        report = await asyncio.to_thread(
            build_index, settings.articles_dir, settings.index_dir, embedders
        )
        built = time.monotonic()
        assert report.added == ("volcano",)
        reader = user_object()
        for attempt in range(1, 100):
            fake_api.send_text(reader, VOLCANO_QUESTION)
            [*_, reply] = await fake_api.wait_for_replies(reader["id"], attempt)
            # The new article shows up cited, or listed among the known ones: either way the
            # reply came from the new index.
            if "Volcano Erupts Near Reykjavik" in reply.params["text"]:
                break
            assert time.monotonic() - built < 10, "the new index was not served within 10 s"
            await asyncio.sleep(0.2)
        assert time.monotonic() - built < 10
        expected = format_answer(engine.ask(VOLCANO_QUESTION), engine.articles(), "en")
        assert [reply.params["text"]] == expected
        stop_asking.set()
        asked = await asyncio.gather(*tasks)
    assert sum(asked) >= 3
    for user in askers:
        texts = [call.params["text"] for call in fake_api.sent(user["id"])]
        assert all(text.startswith(GIGACHAT) for text in texts), texts
