"""The articles-folder watcher: one report per settled burst, cheap scans, live re-indexing."""

from __future__ import annotations

import os
import time
from pathlib import Path

from index.engine import NewsEngine
from index.intake.watch import FolderChanges, FolderWatcher

MOON_BAKERY = (
    "Bakery opens on a research station near the lunar south pole\n\n"
    "The European Space Agency said its Shackleton research station now bakes rye bread in a "
    "low-gravity oven designed by the Danish baker Ingrid Holm, the first bakery off Earth.\n\n"
    "Loaves rise three times higher in lunar gravity, so the dough is proofed for only twelve "
    "minutes before baking.\n"
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _write(folder: Path, name: str, text: str = "Title\n\nText.\n") -> None:
    (folder / name).write_text(text, encoding="utf-8")


def test_a_burst_of_changes_is_reported_once_after_the_quiet_period(tmp_path: Path) -> None:
    _write(tmp_path, "old.txt")
    _write(tmp_path, "edited.txt")
    clock = FakeClock()
    watcher = FolderWatcher(tmp_path, quiet_s=2.0, clock=clock)
    polls = []

    for second in range(4):  # a git pull writing one file a second
        _write(tmp_path, f"new-{second}.md")
        polls.append(watcher.poll())
        clock.advance(1.0)
    _write(tmp_path, "edited.txt", "Title\n\nLonger text now.\n")
    (tmp_path / "old.txt").unlink()
    polls.append(watcher.poll())
    for _ in range(4):  # then quiet
        clock.advance(1.0)
        polls.append(watcher.poll())

    reports = [p for p in polls if p is not None]
    assert reports == [
        FolderChanges(
            added=("new-0.md", "new-1.md", "new-2.md", "new-3.md"),
            changed=("edited.txt",),
            removed=("old.txt",),
        )
    ]
    assert polls.index(reports[0]) == 6  # two quiet seconds after the last change (poll 4)


def test_hidden_temporary_and_other_files_are_ignored(tmp_path: Path) -> None:
    clock = FakeClock()
    watcher = FolderWatcher(tmp_path, quiet_s=1.0, clock=clock)

    _write(tmp_path, ".tmp-123.part")
    _write(tmp_path, ".story.txt.swp")
    _write(tmp_path, "notes.pdf")
    _write(tmp_path, "flash.txt")
    (tmp_path / "flash.txt").unlink()  # added and removed within the burst: nothing to do
    results = [watcher.poll()]
    for _ in range(3):
        clock.advance(1.0)
        results.append(watcher.poll())

    assert results == [None] * 4


def test_a_file_dropped_in_is_indexed_and_answered_without_a_restart(
    engine: NewsEngine,
) -> None:
    calls: list[FolderChanges] = []
    watcher = FolderWatcher(engine.settings.articles_dir, quiet_s=0.3)
    path = engine.settings.articles_dir / "moon-bakery.txt"
    path.write_text(MOON_BAKERY[:80], encoding="utf-8")  # written in two steps
    time.sleep(0.1)
    path.write_text(MOON_BAKERY, encoding="utf-8")
    os.utime(path)
    deadline = time.monotonic() + 30
    while not calls:  # what the bot's watch job does, every half second
        assert time.monotonic() < deadline
        changes = watcher.poll()
        if changes is not None:
            calls.append(changes)
            engine.update_index()
        time.sleep(0.05)

    assert calls == [FolderChanges(added=("moon-bakery.txt",))]
    answer = engine.ask("Who designed the oven of the bakery on the Moon?")
    assert answer.found
    assert answer.citations[0].article_id == "moon-bakery"
    assert any("Ingrid Holm" in c.text for c in answer.citations)
