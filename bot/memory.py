"""What each conversation remembers: its last few questions and what their answers cited.

A conversation is a private chat, or one user in a group (two people in a group never share a
context). A reply to one of the bot's messages continues the thread of that message instead: its
question and citations. Turns older than ``max_age_s`` or beyond the last ``max_turns`` are not
used; ``/new`` forgets a conversation. Everything lives in a small SQLite file beside the
subscriptions (``BotSettings.conversations_path``), so a restart loses nothing; rows older than
``RETENTION_S`` are deleted, and at most ``MAX_CONVERSATIONS`` conversations are kept (the ones
least recently used go first). Each call is one short blocking transaction: run it with
``asyncio.to_thread``.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.sqlite_file import create, transaction
from index import Turn

RETENTION_S = 24 * 3600  # a day: follow-ups come within minutes; nothing is kept longer
MAX_CONVERSATIONS = 10_000
CLEANUP_EVERY = 50  # turns between two deletions of old rows (reads skip them meanwhile)
SCHEMA = """
CREATE TABLE IF NOT EXISTS turns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,       -- 0 in a private chat: the chat is the conversation
    question TEXT NOT NULL,
    cited TEXT NOT NULL,            -- JSON [[article id, paragraph], ...], best first
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS turns_by_conversation ON turns (chat_id, user_id, at);
CREATE TABLE IF NOT EXISTS replies (
    chat_id INTEGER NOT NULL,
    message_id INTEGER NOT NULL,    -- a message the bot sent as (part of) a turn's answer
    turn_id INTEGER NOT NULL,
    PRIMARY KEY (chat_id, message_id)
);
"""


@dataclass(frozen=True)
class Conversation:
    """Who talks: a private chat (``user_id`` 0) or one user of a group."""

    chat_id: int
    user_id: int = 0


class ChatMemory:
    """The turns of every conversation, in an SQLite file; safe to use from several threads.

    Args:
        path: the SQLite file.
        max_turns: how many earlier turns a question is read with.
        max_age_s: turns older than this are not used.
    """

    def __init__(self, path: Path, *, max_turns: int = 3, max_age_s: float = 600.0) -> None:
        self.path = path
        self.max_turns = max_turns
        self.max_age_s = max_age_s
        create(path, SCHEMA)

    def context(self, who: Conversation, now: float | None = None) -> list[Turn]:
        """The conversation's recent turns, oldest first."""
        since = (time.time() if now is None else now) - self.max_age_s
        with transaction(self.path) as db:
            rows = db.execute(
                "SELECT question, cited FROM turns WHERE chat_id = ? AND user_id = ? AND at >= ? "
                "ORDER BY at DESC, id DESC LIMIT ?",
                (who.chat_id, who.user_id, since, self.max_turns),
            ).fetchall()
        return [_turn(question, cited) for question, cited in reversed(rows)]

    def thread(self, chat_id: int, message_id: int) -> list[Turn]:
        """The turn whose answer was message ``message_id`` (a reply to it continues it), and the
        turns of its conversation before it within ``max_age_s``; empty if unknown."""
        with transaction(self.path) as db:
            row = db.execute(
                "SELECT t.user_id, t.at, t.id FROM replies r JOIN turns t ON t.id = r.turn_id "
                "WHERE r.chat_id = ? AND r.message_id = ?",
                (chat_id, message_id),
            ).fetchone()
            if row is None:
                return []
            user_id, at, turn_id = row
            rows = db.execute(
                "SELECT question, cited FROM turns WHERE chat_id = ? AND user_id = ? "
                "AND at >= ? AND id <= ? ORDER BY at DESC, id DESC LIMIT ?",
                (chat_id, user_id, at - self.max_age_s, turn_id, self.max_turns),
            ).fetchall()
        return [_turn(question, cited) for question, cited in reversed(rows)]

    def remember(
        self,
        who: Conversation,
        turn: Turn,
        message_ids: Sequence[int] = (),
        now: float | None = None,
    ) -> None:
        """Add a turn and the ids of the messages that answered it; drop what is too old."""
        now = time.time() if now is None else now
        with transaction(self.path) as db:
            cursor = db.execute(
                "INSERT INTO turns (chat_id, user_id, question, cited, at) VALUES (?, ?, ?, ?, ?)",
                (who.chat_id, who.user_id, turn.question, json.dumps(turn.cited), now),
            )
            db.executemany(
                "INSERT OR REPLACE INTO replies (chat_id, message_id, turn_id) VALUES (?, ?, ?)",
                [(who.chat_id, message_id, cursor.lastrowid) for message_id in message_ids],
            )
            if (cursor.lastrowid or 0) % CLEANUP_EVERY == 0:
                _forget_old(db, now)

    def forget(self, who: Conversation) -> int:
        """Forget a conversation (``/new``); returns how many turns were dropped."""
        with transaction(self.path) as db:
            db.execute(
                "DELETE FROM replies WHERE turn_id IN "
                "(SELECT id FROM turns WHERE chat_id = ? AND user_id = ?)",
                (who.chat_id, who.user_id),
            )
            cursor = db.execute(
                "DELETE FROM turns WHERE chat_id = ? AND user_id = ?", (who.chat_id, who.user_id)
            )
            return cursor.rowcount


def _turn(question: str, cited: str) -> Turn:
    return Turn(question, tuple((str(a), int(p)) for a, p in json.loads(cited)))


def _forget_old(db: sqlite3.Connection, now: float) -> None:
    db.execute("DELETE FROM turns WHERE at < ?", (now - RETENTION_S,))
    # The least recently used conversations beyond MAX_CONVERSATIONS go.
    db.execute(
        "DELETE FROM turns WHERE (chat_id, user_id) IN ("
        " SELECT chat_id, user_id FROM turns GROUP BY chat_id, user_id"
        " ORDER BY MAX(at) DESC LIMIT -1 OFFSET ?)",
        (MAX_CONVERSATIONS,),
    )
    db.execute("DELETE FROM replies WHERE turn_id NOT IN (SELECT id FROM turns)")
