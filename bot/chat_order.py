"""Questions in one chat are handled one at a time, in the order they were asked.

``ChatOrderedProcessor`` is the application's update processor
(``Application.builder().concurrent_updates(...)``): messages (new and edited) from one chat wait
for the one before them to be answered, so the replies leave the chat's send queue
(``bot.rate_limit``) in the order of the questions. Different chats, button presses and inline
queries are handled concurrently, as with PTB's ``SimpleUpdateProcessor``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

logger = logging.getLogger(__name__)

# Updates being handled at once, all chats together. Messages waiting for their chat's turn hold
# a slot too (PTB takes it before the processor sees the update), so there is room for many.
MAX_CONCURRENT_UPDATES = 1024


@dataclass
class _ChatTurns:
    turn: asyncio.Lock = field(default_factory=asyncio.Lock)  # wakes waiters in arrival order
    waiting: int = 0  # messages waiting for their turn or being handled
    announced: bool = False  # the reader was told this busy spell's questions wait their turn


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Handles the messages of one chat one at a time, in arrival order; everything else at once.

    Args:
        max_concurrent_updates: updates handled (or waiting for their chat's turn) at once.
    """

    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates)
        self._chats: dict[int, _ChatTurns] = {}
        self._stop_at: float | None = None
        self._dropped = 0

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Report the messages that were not handled because the bot stopped."""
        if self._dropped:
            logger.warning(
                "Stopped with %d questions not answered (they waited for their chat's turn)",
                self._dropped,
            )
        self._dropped = 0

    def stop_waiting(self, grace_s: float) -> None:
        """The bot is stopping: messages whose turn comes after ``grace_s`` are not handled."""
        self._stop_at = time.monotonic() + grace_s

    def backlog(self, chat_id: int) -> int:
        """Messages from a chat waiting behind the one being handled."""
        turns = self._chats.get(chat_id)
        return max(0, turns.waiting - 1) if turns is not None else 0

    def take_backlog_notice(self, chat_id: int, at_least: int) -> bool:
        """True once per busy spell of a chat, when ``at_least`` messages wait behind the one
        being handled (the reader may be told they are answered one by one)."""
        turns = self._chats.get(chat_id)
        if turns is None or turns.announced or self.backlog(chat_id) < at_least:
            return False
        turns.announced = True
        return True

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Await ``coroutine`` (PTB's handling of ``update``) in its chat's turn."""
        chat_id = _ordered_chat(update)
        if chat_id is None:
            await coroutine
            return
        turns = self._chats.setdefault(chat_id, _ChatTurns())
        turns.waiting += 1
        try:
            async with turns.turn:
                if self._stop_at is not None and time.monotonic() > self._stop_at:
                    self._dropped += 1
                    _close(coroutine)
                    return
                await coroutine
        finally:
            turns.waiting -= 1
            if not turns.waiting:  # the busy spell is over: forget the chat
                del self._chats[chat_id]


def _ordered_chat(update: object) -> int | None:
    """The chat whose messages ``update`` must wait for, or None if it need not wait."""
    if not isinstance(update, Update) or update.effective_chat is None:
        return None
    if update.message is None and update.edited_message is None:
        return None
    return update.effective_chat.id


def _close(coroutine: Awaitable[Any]) -> None:
    close = getattr(coroutine, "close", None)
    if close is not None:  # a coroutine never started: closing it keeps Python from warning
        close()
