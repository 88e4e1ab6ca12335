"""File-system mechanics the engine and the intake share, one copy of each: atomic writes, fsync,
file locks and folder signatures."""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from stat import S_ISREG
from typing import NamedTuple

FILE_MODE = 0o644  # mkstemp makes files 0600; what we write is an ordinary file


class FileSignature(NamedTuple):
    """What tells that a file changed without reading it (compare two with ``==``)."""

    size: int
    mtime_ns: int
    # An edit that keeps the size and puts the old mtime back (``cp -p``, ``touch -r``, a
    # checkout) still changes these.
    ctime_ns: int
    inode: int


def scan_folder(
    folder: Path, suffixes: tuple[str, ...], links_out: list[str] | None = None
) -> dict[str, FileSignature]:
    """Each visible file in ``folder`` whose name ends in one of ``suffixes`` (any case), by name
    in sorted order, with its signature; empty if the folder does not exist.

    Dot-files (the temporary files of editors, rsync and ``write_temp``) are left out, and so is a
    file removed or unreadable between the listing and its stat. So is a symbolic link to a file
    outside ``folder`` (``ln -s /etc/passwd seeds/p.txt`` must not be served); its name is added
    to ``links_out`` if given. One ``os.scandir`` pass: under 0.1 s for 10,000 files.
    """
    found: dict[str, FileSignature] = {}
    real_folder: str | None = None
    with contextlib.suppress(FileNotFoundError), os.scandir(folder) as entries:
        for entry in entries:
            name = entry.name
            if name.startswith(".") or not name.lower().endswith(suffixes):
                continue
            if entry.is_symlink():
                real_folder = real_folder or os.path.realpath(folder)
                if not _is_inside(os.path.realpath(entry.path), real_folder):
                    if links_out is not None:
                        links_out.append(name)
                    continue
            try:  # try/except, not contextlib.suppress: this loop runs once per file
                stat = entry.stat()
            except OSError:
                continue
            if S_ISREG(stat.st_mode):
                found[name] = FileSignature(
                    stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino
                )
    return dict(sorted(found.items()))


def _is_inside(path: str, folder: str) -> bool:
    return os.path.commonpath([path, folder]) == folder


def write_temp(folder: Path, text: str, *, prefix: str, suffix: str = "") -> Path:
    """Write ``text`` to a new hidden file in ``folder``, flushed to disk; the caller renames or
    links it into place (and removes it if that fails)."""
    handle, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=folder)
    temp = Path(name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp, FILE_MODE)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


def atomic_write(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically: readers see the old file or the new one, whole,
    and the new one survives a crash once this returns."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = write_temp(path.parent, text, prefix=f".{path.name}.")
    try:
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (names created, renamed or removed in it) to disk."""
    with contextlib.suppress(OSError):  # some file systems cannot fsync a directory
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def fsync_tree(folder: Path) -> None:
    """Flush every file directly in ``folder``, then the folder itself."""
    for file in folder.iterdir():
        with file.open("rb") as handle:
            os.fsync(handle.fileno())
    fsync_dir(folder)


@contextlib.contextmanager
def file_lock(path: Path, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing) for the block: the processes that
    take the same lock run the block one at a time. ``on_wait`` is called once if another
    process holds it, before waiting."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
