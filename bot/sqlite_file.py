"""The bot's small SQLite files (subscriptions, conversations): one short connection per call."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path


def create(path: Path, schema: str) -> None:
    """Make the file (and its folder) with ``schema`` if it has not got it yet."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with transaction(path) as db:
        db.executescript(schema)


@contextlib.contextmanager
def transaction(path: Path) -> Iterator[sqlite3.Connection]:
    """A connection for one transaction (committed on success, rolled back on error), closed
    after it: no connection crosses threads, so the stores are safe to use from several."""
    db = sqlite3.connect(path, timeout=10)
    try:
        with db:
            yield db
    finally:
        db.close()
