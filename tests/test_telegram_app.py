"""The application and its runner: command menu, start-up, pending updates, 409 Conflict, SIGINT."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.telegram_app import run_bot
from index.engine import NewsEngine
from tests.conftest import ROOT
from tests.fake_bot_api import BOT_USERNAME, TOKEN, FakeBotApi, user_object
from tests.telegram import QUESTION, bot_settings, running_bot


async def test_command_menu_and_start_up_line(
    fake_api: FakeBotApi, seed_engine: NewsEngine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.telegram_app")
    async with running_bot(seed_engine, fake_api):
        pass
    assert [c["command"] for c in fake_api.commands[""]] == [
        "start",
        "help",
        "ask",
        "new",
        "sources",
        "subscribe",
        "unsubscribe",
    ]
    assert fake_api.commands["ru"][2] == {
        "command": "ask",
        "description": "Задать вопрос по статьям",
    }
    assert fake_api.commands["ru"][3]["description"] == "Новый разговор (забыть прежние вопросы)"
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.telegram_app"]
    assert f"Bot @{BOT_USERNAME} is up: 1 articles, 10 passages (index " in lines[0]


async def test_drops_pending_updates_on_start(
    fake_api: FakeBotApi, seed_engine: NewsEngine
) -> None:
    old, new = user_object(), user_object()
    fake_api.send_text(old, QUESTION)
    async with running_bot(seed_engine, fake_api):
        fake_api.send_text(new, QUESTION)
        await fake_api.wait_for_replies(new["id"])
    assert fake_api.sent(old["id"]) == []


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


def _run_bot_process(api: FakeBotApi, engine: NewsEngine, cwd: Path) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": api.base_url,
        "ARTICLES_DIR": str(engine.settings.articles_dir),
        "INDEX_DIR": str(engine.settings.index_dir),
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": str(ROOT),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    polls = len(api.calls_of("getUpdates", ok=None))
    api.wait_until(
        lambda: len(api.calls_of("getUpdates", ok=None)) > polls or process.poll() is not None,
        timeout_s=90,
        what="the bot to start polling",
    )
    assert process.poll() is None, process.communicate()
    return process


def _stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        _, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err[-2000:]


def test_a_conversation_survives_a_restart_of_the_bot(
    fake_api: FakeBotApi, engine: NewsEngine, tmp_path: Path
) -> None:
    user = user_object()
    first = _run_bot_process(fake_api, engine, tmp_path)
    try:
        fake_api.send_text(user, "What is GigaChat?")
        fake_api.wait_until(lambda: fake_api.sent(user["id"]), what="the first answer")
    finally:
        _stop(first)
    second = _run_bot_process(fake_api, engine, tmp_path)
    try:
        fake_api.send_text(user, "Who made it?")
        fake_api.wait_until(lambda: len(fake_api.sent(user["id"])) == 2, what="the follow-up")
    finally:
        _stop(second)
    follow_up = fake_api.sent(user["id"])[1].params["text"]
    assert follow_up.startswith("<i>About: GigaChat</i>")
    assert "Sberbank" in follow_up
