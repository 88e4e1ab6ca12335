"""Running the bot: hot reload under load, 409 Conflict, SIGINT, articles with links and markup."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.formatting import format_answer
from bot.telegram_app import run_bot
from index.build import build_index
from index.config import Settings
from index.embedders import Embedder
from index.engine import NewsEngine
from tests.articles import VOLCANO, VOLCANO_QUESTION
from tests.conftest import ROOT
from tests.fake_bot_api import BOT_USERNAME, TOKEN, FakeBotApi, user_object
from tests.test_telegram_bot import GIGACHAT, QUESTION, bot_settings, running_bot

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


@pytest.mark.asyncio(loop_scope="session")
async def test_conflict_is_one_clear_line_and_a_non_zero_exit(
    fake_api: FakeBotApi, seed_engine: NewsEngine, caplog: pytest.LogCaptureFixture
) -> None:
    fake_api.conflict_forever = True
    settings = bot_settings(seed_engine, fake_api)
    started = time.monotonic()
    code = await asyncio.wait_for(asyncio.to_thread(run_bot, settings, seed_engine), 15)
    assert code == 1
    assert time.monotonic() - started < 5
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors] == [
        "Another instance is polling with this bot token (409 Conflict); stopping. Stop the "
        "other instance or give this one its own token."
    ]
    assert len(fake_api.calls_of("getUpdates", ok=False)) <= 3  # it did not spin


def test_sigint_stops_the_bot_cleanly_and_the_token_never_shows(
    fake_api: FakeBotApi, seed_engine: NewsEngine, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": fake_api.base_url,
        "ARTICLES_DIR": str(seed_engine.settings.articles_dir),
        "INDEX_DIR": str(seed_engine.settings.index_dir),
        "LOG_LEVEL": "DEBUG",  # the most talkative setting: the token must not leak even here
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": str(ROOT),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        fake_api.wait_until(
            lambda: fake_api.calls_of("getUpdates", ok=None) or process.poll() is not None,
            timeout_s=90,
            what="the bot to start polling",
        )
        assert process.poll() is None, process.communicate()
        user = user_object()
        fake_api.send_text(user, QUESTION)
        fake_api.wait_until(lambda: fake_api.sent(user["id"]), what="the answer")
        process.send_signal(signal.SIGINT)
        started = time.monotonic()
        out, err = process.communicate(timeout=10)
        elapsed = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err[-2000:]
    assert elapsed < 10
    assert f"Bot @{BOT_USERNAME} is up: 1 articles, 10 passages" in err
    assert "Received SIGINT; shutting down" in err
    assert "TEST-TOKEN" not in out + err
    assert "<token>" in err  # PTB's own debug line with the API URL was redacted
