"""The running bot for the Telegram tests: real PTB polling the fake Bot API, the real engine."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.formatting import format_answer
from bot.memory import ChatMemory
from bot.settings import BotSettings
from bot.telegram_app import NewsApplication, build_application, serve
from index.engine import NewsEngine
from tests.fake_bot_api import TOKEN, FakeBotApi

ADMIN_ID = 4242

QUESTION = "Who developed GigaChat?"

GIGACHAT = (
    "Last week, the Kremlin announced its intention to utilize GigaChat, a tool developed by "
    "Sberbank, to manage questions submitted by the public."
)

TITLE = "Putin Calls for Russia to Lead the World in AI"


@dataclass
class RunningBot:
    api: FakeBotApi
    application: NewsApplication
    engine: NewsEngine


def bot_settings(engine: NewsEngine, api: FakeBotApi, **changes: Any) -> BotSettings:
    """The engine's settings and the fake's Telegram ones; ``changes`` may name either."""
    bot_fields = {f.name for f in dataclasses.fields(BotSettings)}
    engine_changes = {k: v for k, v in changes.items() if k not in bot_fields}
    return BotSettings(
        engine=dataclasses.replace(engine.settings, **engine_changes),
        telegram_token=TOKEN,
        telegram_api_base_url=api.base_url,
        admin_ids=frozenset({ADMIN_ID}),
        **{k: v for k, v in changes.items() if k in bot_fields},
    )


@contextlib.asynccontextmanager
async def running_bot(
    engine: NewsEngine, api: FakeBotApi, **changes: Any
) -> AsyncIterator[RunningBot]:
    """The bot polling the fake; on exit it must stop cleanly and have sent nothing invalid."""
    settings = bot_settings(engine, api, **changes)
    application = build_application(settings, engine)
    # Each test its own conversations: the session's engine (and so the file beside its index)
    # is shared, and the fake numbers messages from 1000 again for every test.
    memories = tempfile.TemporaryDirectory(prefix="newsbot-memory-")
    if application.bot_data.memory is not None:
        application.bot_data.memory = ChatMemory(
            Path(memories.name) / "conversations.sqlite3",
            max_turns=settings.context_turns,
            max_age_s=settings.context_minutes * 60,
        )
    stop = asyncio.Event()
    task = asyncio.create_task(serve(application, stop, drop_pending=True))
    await api.wait_until_polling()
    try:
        yield RunningBot(api, application, engine)
    finally:
        stop.set()
        assert await asyncio.wait_for(task, 10) == 0
        memories.cleanup()
    assert [(c.method, c.error) for c in api.rejected()] == []


def expected_answer(engine: NewsEngine, question: str, language: str = "en") -> list[str]:
    answer = engine.ask(question)
    return format_answer(answer, engine.articles(), language)
