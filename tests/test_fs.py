"""File-system mechanics: atomic replacement, temporary files, the lock and folder signatures."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from index._fs import FileSignature, atomic_write, file_lock, scan_folder, write_temp

SUFFIXES = (".txt", ".md", ".json")


def test_atomic_write_replaces_the_file_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "state" / "CURRENT"
    atomic_write(path, "snap-1\n")
    atomic_write(path, "snap-2\n")
    assert path.read_text(encoding="utf-8") == "snap-2\n"
    assert os.listdir(path.parent) == ["CURRENT"]
    assert path.stat().st_mode & 0o777 == 0o644


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "feeds.json"
    atomic_write(path, "old")

    def refuse(*_: object) -> None:
        raise OSError("the disk is full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="the disk is full"):
        atomic_write(path, "new")
    assert path.read_text(encoding="utf-8") == "old"
    assert os.listdir(tmp_path) == ["feeds.json"]


def test_write_temp_is_hidden_and_an_ordinary_file(tmp_path: Path) -> None:
    temp = write_temp(tmp_path, "text", prefix=".tmp-", suffix=".part")
    assert temp.parent == tmp_path
    assert temp.name.startswith(".tmp-")
    assert temp.name.endswith(".part")
    assert temp.read_text(encoding="utf-8") == "text"
    assert temp.stat().st_mode & 0o777 == 0o644
    assert scan_folder(tmp_path, (".part",)) == {}  # hidden from every folder scan


def test_the_lock_lets_one_holder_in_at_a_time(tmp_path: Path) -> None:
    lock = tmp_path / "sub" / ".build.lock"
    inside: list[int] = []
    overlaps: list[int] = []

    def hold(number: int) -> None:
        with file_lock(lock):
            if inside:
                overlaps.append(number)
            inside.append(number)
            time.sleep(0.05)
            inside.remove(number)

    threads = [threading.Thread(target=hold, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == []
    assert lock.exists()


def test_a_holder_that_has_to_wait_is_told_so_once(tmp_path: Path) -> None:
    lock = tmp_path / ".build.lock"
    waits: list[str] = []
    with file_lock(lock, lambda: waits.append("first")):
        second = threading.Thread(target=_hold_briefly, args=(lock, waits))
        second.start()
        time.sleep(0.2)
        assert waits == ["second"]  # told before it waits, while the first still holds it
    second.join(5)
    assert waits == ["second"]


def _hold_briefly(lock: Path, waits: list[str]) -> None:
    with file_lock(lock, lambda: waits.append("second")):
        pass


def test_scan_lists_visible_files_with_the_suffixes_sorted(tmp_path: Path) -> None:
    for name in ("b.md", "A.TXT", "c.json", ".hidden.txt", "notes.pdf", ".tmp-1.part"):
        (tmp_path / name).write_text("x", encoding="utf-8")
    (tmp_path / "folder.txt").mkdir()
    scan = scan_folder(tmp_path, SUFFIXES)
    assert list(scan) == ["A.TXT", "b.md", "c.json"]
    stat = (tmp_path / "b.md").stat()
    assert scan["b.md"] == FileSignature(1, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)
    assert scan_folder(tmp_path / "missing", SUFFIXES) == {}


def test_links_leaving_the_folder_are_left_out_and_named(tmp_path: Path) -> None:
    folder, outside = tmp_path / "articles", tmp_path / "secret.txt"
    folder.mkdir()
    outside.write_text("Secret\n\nswordfish\n", encoding="utf-8")
    (folder / "a.txt").write_text("A\n\nText.\n", encoding="utf-8")
    (folder / "alias.txt").symlink_to(folder / "a.txt")  # stays inside: fine
    (folder / "p.txt").symlink_to(outside)
    (folder / "up.txt").symlink_to(Path("..") / "secret.txt")  # relative, still outside
    links_out: list[str] = []
    assert list(scan_folder(folder, (".txt",), links_out)) == ["a.txt", "alias.txt"]
    assert sorted(links_out) == ["p.txt", "up.txt"]


def test_a_same_size_edit_with_the_old_mtime_changes_the_signature(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("Title\n\nFirst.\n", encoding="utf-8")
    old = path.stat()
    os.utime(path, ns=(old.st_atime_ns, old.st_mtime_ns - 10_000_000_000))
    before = scan_folder(tmp_path, SUFFIXES)["a.txt"]
    time.sleep(0.01)
    path.write_text("Title\n\nFixed.\n", encoding="utf-8")
    os.utime(path, ns=(old.st_atime_ns, before.mtime_ns))
    after = scan_folder(tmp_path, SUFFIXES)["a.txt"]
    assert (after.size, after.mtime_ns) == (before.size, before.mtime_ns)
    assert after != before  # ctime tells


def test_scanning_10000_files_is_cheap(tmp_path: Path) -> None:
    for number in range(10_000):
        (tmp_path / f"{number:05d}.txt").touch()

    started = time.perf_counter()
    scan = scan_folder(tmp_path, SUFFIXES)
    elapsed = time.perf_counter() - started

    assert len(scan) == 10_000
    assert elapsed < 0.5  # about 15 ms on a laptop; generous for a loaded CI machine
