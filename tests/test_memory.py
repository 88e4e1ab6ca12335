"""Conversation memory: recent turns per chat (or per user in a group), kept in SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import memory as memory_module
from bot.memory import ChatMemory, Conversation
from index import Turn

SEED = "000_93de25b234f683de"


def _turn(question: str, paragraph: int = 9) -> Turn:
    return Turn(question, ((SEED, paragraph),))


def test_context_is_the_last_turns_oldest_first_and_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "conversations.sqlite3"
    memory = ChatMemory(path, max_turns=2)
    chat = Conversation(1)
    for number, question in enumerate(["first?", "second?", "third?"]):
        memory.remember(chat, _turn(question, number + 1), now=100.0 + number)
    restarted = ChatMemory(path, max_turns=2)
    assert restarted.context(chat, now=110.0) == [_turn("second?", 2), _turn("third?", 3)]


def test_old_turns_are_not_used(tmp_path: Path) -> None:
    memory = ChatMemory(tmp_path / "m.sqlite3", max_age_s=600)
    chat = Conversation(1)
    memory.remember(chat, _turn("long ago?"), now=1000.0)
    memory.remember(chat, _turn("just now?"), now=1700.0)
    assert memory.context(chat, now=1710.0) == [_turn("just now?")]
    assert memory.context(chat, now=2400.0) == []


def test_conversations_are_never_shared(tmp_path: Path) -> None:
    memory = ChatMemory(tmp_path / "m.sqlite3")
    alice, bob, other_chat = Conversation(-5, 1), Conversation(-5, 2), Conversation(7)
    memory.remember(alice, _turn("alice?"), now=10.0)
    memory.remember(bob, _turn("bob?"), now=11.0)
    assert memory.context(alice, now=12.0) == [_turn("alice?")]
    assert memory.context(bob, now=12.0) == [_turn("bob?")]
    assert memory.context(other_chat, now=12.0) == []


def test_forget_drops_one_conversation(tmp_path: Path) -> None:
    memory = ChatMemory(tmp_path / "m.sqlite3")
    mine, theirs = Conversation(1), Conversation(2)
    memory.remember(mine, _turn("mine?"), [501], now=10.0)
    memory.remember(theirs, _turn("theirs?"), now=10.0)
    assert memory.forget(mine) == 1
    assert memory.context(mine, now=11.0) == []
    assert memory.thread(1, 501) == []
    assert memory.context(theirs, now=11.0) == [_turn("theirs?")]


def test_a_reply_finds_the_thread_of_the_message_it_answers(tmp_path: Path) -> None:
    memory = ChatMemory(tmp_path / "m.sqlite3")
    group_user = Conversation(-5, 1)
    memory.remember(group_user, _turn("what is gigachat?", 9), [101, 102], now=10.0)
    memory.remember(group_user, _turn("where did he speak?", 2), [103], now=20.0)
    assert memory.thread(-5, 102) == [_turn("what is gigachat?", 9)]
    assert memory.thread(-5, 103) == [
        _turn("what is gigachat?", 9),
        _turn("where did he speak?", 2),
    ]
    assert memory.thread(-5, 999) == []
    assert memory.thread(-6, 101) == []  # message ids are per chat


def test_rows_older_than_the_retention_are_deleted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(memory_module, "CLEANUP_EVERY", 1)
    memory = ChatMemory(tmp_path / "m.sqlite3", max_age_s=10 * memory_module.RETENTION_S)
    chat = Conversation(1)
    memory.remember(chat, _turn("yesterday?"), [1], now=0.0)
    memory.remember(chat, _turn("today?"), [2], now=memory_module.RETENTION_S + 1)
    assert memory.context(chat, now=memory_module.RETENTION_S + 2) == [_turn("today?")]
    assert memory.thread(1, 1) == []


def test_only_the_most_recent_conversations_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(memory_module, "CLEANUP_EVERY", 1)
    monkeypatch.setattr(memory_module, "MAX_CONVERSATIONS", 2)
    memory = ChatMemory(tmp_path / "m.sqlite3")
    for chat_id in (1, 2, 3):
        memory.remember(Conversation(chat_id), _turn(f"chat {chat_id}?"), now=float(chat_id))
    assert memory.context(Conversation(1), now=4.0) == []  # the least recently used went
    assert memory.context(Conversation(3), now=4.0) == [_turn("chat 3?")]
