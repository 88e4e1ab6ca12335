"""Watch the articles folder by polling, and report changes once they have settled.

No inotify and no extra dependency: each ``poll`` is one ``os.scandir`` pass that records each
article file's signature (size, mtime, ctime, inode; under 0.1 s for 10,000 files). When the
folder differs from the last reported state and has then stayed the same for ``quiet_s``, the
changes are reported once, so a burst (``git pull``, ``rsync``, an editor saving twice) gives one
rebuild, not fifty.

The bot steps it from PTB's job queue (``bot.live.watch_folder``):
``changes = await asyncio.to_thread(watcher.poll)``; if ``changes`` is not None, it updates the
index.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from index._fs import FileSignature, scan_folder
from index.articles import ARTICLE_SUFFIXES


@dataclass(frozen=True)
class FolderChanges:
    """Article files added, changed and removed since the last report (names, sorted)."""

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def __str__(self) -> str:
        return f"{len(self.added)} added, {len(self.changed)} changed, {len(self.removed)} removed"


def diff_scans(old: Mapping[str, FileSignature], new: Mapping[str, FileSignature]) -> FolderChanges:
    """What changed between two scans."""
    return FolderChanges(
        added=tuple(sorted(new.keys() - old.keys())),
        changed=tuple(sorted(n for n in new.keys() & old.keys() if new[n] != old[n])),
        removed=tuple(sorted(old.keys() - new.keys())),
    )


class FolderWatcher:
    """Polls ``folder`` and reports settled changes.

    Args:
        folder: the articles folder.
        quiet_s: how long the folder must stay unchanged before changes are reported.
        clock: a monotonic clock (tests pass a fake one).
    """

    def __init__(
        self,
        folder: Path,
        *,
        quiet_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.folder = folder
        self.quiet_s = quiet_s
        self._clock = clock
        # The state the index was last brought up to.
        self._reported = scan_folder(folder, ARTICLE_SUFFIXES)
        self._last_scan = self._reported
        self._last_change_at: float | None = None

    def poll(self) -> FolderChanges | None:
        """Scan once; return the changes if they have settled for ``quiet_s``, else None."""
        now = self._clock()
        scan = scan_folder(self.folder, ARTICLE_SUFFIXES)
        if scan != self._last_scan:
            self._last_scan = scan
            self._last_change_at = now
            return None
        if self._last_change_at is None or now - self._last_change_at < self.quiet_s:
            return None
        self._last_change_at = None
        changes = diff_scans(self._reported, scan)
        self._reported = scan
        return changes or None  # a file added and removed again within the burst is no change
