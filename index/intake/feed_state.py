"""What each feed round remembers: the entries already handled and each feed's last outcome.

A small JSON file beside the index (``Settings.feed_state_path``), replaced atomically. Losing it
costs one round of refetching; the articles folder's duplicate check keeps that harmless.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from index._fs import atomic_write

logger = logging.getLogger(__name__)

SEEN_KEPT = 5000  # per feed: far more than any feed lists at once, so nothing seen comes back


class FeedState:
    """Seen entry ids and failed-attempt counts, per feed URL."""

    def __init__(self, path: Path, feeds: dict[str, dict[str, Any]] | None = None) -> None:
        self.path = path
        self._feeds: dict[str, dict[str, Any]] = feeds or {}

    @classmethod
    def load(cls, path: Path) -> FeedState:
        """The state saved at ``path``; an empty one if there is none or it is unreadable."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            feeds = data["feeds"]
            if not isinstance(feeds, dict):
                raise TypeError("'feeds' is not an object")
        except FileNotFoundError:
            return cls(path)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.warning("Ignoring unreadable feed state %s (%s); starting afresh", path, exc)
            return cls(path)
        return cls(path, feeds)

    def _feed(self, url: str) -> dict[str, Any]:
        feed = self._feeds.setdefault(url, {})
        feed.setdefault("seen", [])
        feed.setdefault("attempts", {})
        return feed

    def is_seen(self, url: str, entry_id: str) -> bool:
        return entry_id in self._feed(url)["seen"]

    def mark_seen(self, url: str, entry_id: str) -> None:
        feed = self._feed(url)
        if entry_id not in feed["seen"]:
            feed["seen"] = (feed["seen"] + [entry_id])[-SEEN_KEPT:]
        feed["attempts"].pop(entry_id, None)

    def record_attempt(self, url: str, entry_id: str) -> int:
        """Count a failed attempt at an entry; returns the attempts so far."""
        attempts = self._feed(url)["attempts"]
        attempts[entry_id] = int(attempts.get(entry_id, 0)) + 1
        return int(attempts[entry_id])

    def record_round(self, url: str, error: str | None) -> None:
        """Note the feed's outcome this round (None: it was read)."""
        feed = self._feed(url)
        feed["last_checked"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        feed["last_error"] = error
        feed["failures_in_a_row"] = int(feed.get("failures_in_a_row", 0)) + 1 if error else 0

    def last_error(self, url: str) -> str | None:
        error = self._feeds.get(url, {}).get("last_error")
        return str(error) if error else None

    def save(self) -> None:
        """Write the state atomically (temporary file, then rename)."""
        text = json.dumps({"version": 1, "feeds": self._feeds}, ensure_ascii=False, indent=1)
        atomic_write(self.path, text)
