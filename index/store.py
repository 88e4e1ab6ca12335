"""The index on disk: immutable segments and the snapshots that list them, swapped atomically.

Layout of the index folder::

    CURRENT              name of the snapshot in service (replaced atomically)
    snap-<time>-<id>/    manifest.json: the vector spaces, and the live segments with the rows
                         deleted from each (format 3)
    segments/            the segments (``index.segments``): passages and their articles' entries,
                         FAISS files, sentence, name and word vectors, BM25's postings, each
                         folder written once and never changed
    .build.lock          held while a build writes (one writer at a time)

A build writes its new segment, then a new snapshot under a temporary name, renames it, then
swaps ``CURRENT``; a build that crashes or is killed leaves ``CURRENT`` pointing at the previous,
complete snapshot (a segment it wrote that no snapshot lists is removed by the next build). An
update adds one segment and marks the old rows of edited or removed articles deleted, so what it
writes follows the article, not the archive; trailing segments of one size class are merged as
they accumulate (``MERGE_FACTOR``). An article's entry (title, url, hash, names) is kept in the
segment with its passages, so the manifest does not grow with the archive: the live articles are
those with live rows. A snapshot of format 1 (an older newsbot: one folder with every file) is
read as one segment, and one of format 2 lists the articles in its manifest; the next build
writes either anew.

In memory a ``Snapshot`` numbers the live passages of its segments one after another (rows);
searches run per segment and are merged.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import logging
import shutil
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from index._fs import atomic_write, file_lock, fsync_tree
from index.errors import (
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    IndexWriteError,
)
from index.lexical import Postings
from index.models import ArticleInfo, IndexInfo, Paragraph, Passage
from index.segments import (
    SEGMENTS_DIR,
    Segment,
    SegmentError,
    SentenceVectors,
    articles_problem,
    join_sentences,
    read_segment,
    write_segment,
)

logger = logging.getLogger(__name__)

FORMAT_VERSION = 3
# format 1: one folder per snapshot, read as one segment; 2: the articles in the manifest
READS_FORMATS = (1, 2, 3)
CURRENT_FILE = "CURRENT"
LOCK_FILE = ".build.lock"
SNAPSHOTS_KEPT = 2  # the one in service and the one before it, for readers that are mid-load
REBUILD_HINT = "run `newsbot index --full` to rebuild it"
# A damaged snapshot is never reused by a build, so a plain `newsbot index` rebuilds it.
CORRUPT_HINT = "run `newsbot index` to rebuild it"


@dataclass(frozen=True)
class Part:
    """A segment as one snapshot uses it: the segment, and its rows deleted since it was
    written (sorted)."""

    segment: Segment
    deleted: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @functools.cached_property
    def live(self) -> np.ndarray:
        """The local rows still in the index, ascending."""
        if not len(self.deleted):
            return np.arange(len(self.segment), dtype=np.int64)
        keep = np.ones(len(self.segment), dtype=bool)
        keep[self.deleted] = False
        return np.flatnonzero(keep)

    @functools.cached_property
    def to_global(self) -> np.ndarray:
        """Each local row's place among the part's live rows (-1 if deleted); add the part's
        start in the snapshot for its row there."""
        places = np.full(len(self.segment), -1, dtype=np.int64)
        places[self.live] = np.arange(len(self.live))
        return places


class SentenceTable:
    """The sentence vectors of one space across a snapshot's segments, by snapshot row."""

    def __init__(self, snapshot: Snapshot, space: str) -> None:
        self._snapshot = snapshot
        self._parts = [part.segment.sentence_spaces[space] for part in snapshot.parts]

    @property
    def dtype(self) -> np.dtype[Any]:
        return self._parts[0].dtype if self._parts else np.dtype(np.float16)

    @property
    def count(self) -> int:
        """How many sentence vectors the snapshot's passages have."""
        return sum(
            int((sentences.offsets[part.live + 1] - sentences.offsets[part.live]).sum())
            for part, sentences in zip(self._snapshot.parts, self._parts, strict=True)
        )

    def of(self, row: int) -> np.ndarray:
        """The sentence vectors of the passage at ``row``."""
        parts, local = self._snapshot.locate(np.array([row]))
        return self._parts[int(parts[0])].of(int(local[0]))

    def best(self, rows: np.ndarray, query: np.ndarray) -> np.ndarray:
        """For each passage row, the highest similarity of one of its sentences to ``query``."""
        out = np.zeros(len(rows), dtype=np.float32)
        for part, mask, local in self._snapshot.by_part(rows):
            out[mask] = self._parts[part].best(local, query)
        return out

    def gather(self, rows: np.ndarray) -> SentenceVectors:
        """The sentence vectors of these passages, in this order (a copy)."""
        rows = np.asarray(rows, dtype=np.int64)
        groups = list(self._snapshot.by_part(rows))
        if len(groups) == 1:
            part, _, local = groups[0]
            return self._parts[part].gather(local)
        dimension = self._parts[0].vectors.shape[1] if self._parts else 0
        joined = join_sentences([self._parts[p].gather(local) for p, _, local in groups], dimension)
        # joined holds the rows part by part; put them back in the order asked for
        place = np.empty(len(rows), dtype=np.int64)
        for start, (_, mask, _) in zip(
            np.cumsum([0, *(int(m.sum()) for _, m, _ in groups)]).tolist(), groups, strict=False
        ):
            place[np.flatnonzero(mask)] = np.arange(start, start + int(mask.sum()))
        return joined.gather(place)


@dataclass(frozen=True)
class Snapshot:
    """A loaded, immutable index: its live passages in row order, segment after segment."""

    path: Path
    manifest: dict[str, Any]
    parts: tuple[Part, ...]

    @property
    def version(self) -> str:
        return self.path.name

    @functools.cached_property
    def spaces(self) -> dict[str, int]:
        """Embedder name -> dimension, in the order the embedders were configured."""
        return {s["name"]: int(s["dimension"]) for s in self.manifest["spaces"]}

    @functools.cached_property
    def article_meta(self) -> dict[str, dict[str, Any]]:
        """Article id -> its entry (title, url, published, file, hash, passages, names), for
        the articles in the index, segment after segment."""
        if "articles" in self.manifest:  # format 1 or 2
            articles: dict[str, dict[str, Any]] = self.manifest["articles"]
            return articles
        return {key: meta for part in self.parts for key, meta in live_articles(part)}

    @functools.cached_property
    def passages(self) -> tuple[Passage, ...]:
        live: list[Passage] = []
        for part in self.parts:
            passages = part.segment.passages
            live.extend(passages if not len(part.deleted) else map(passages.__getitem__, part.live))
        return tuple(live)

    @functools.cached_property
    def _starts(self) -> np.ndarray:
        """Each part's first row in the snapshot, and the row count last."""
        return np.concatenate([[0], np.cumsum([len(p.live) for p in self.parts])]).astype(np.int64)

    def locate(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For snapshot rows, their part and their local row in its segment."""
        rows = np.asarray(rows, dtype=np.int64)
        parts = np.searchsorted(self._starts, rows, side="right") - 1
        local = np.empty(len(rows), dtype=np.int64)
        for part in np.unique(parts).tolist():
            mask = parts == part
            local[mask] = self.parts[part].live[rows[mask] - self._starts[part]]
        return parts, local

    def by_part(self, rows: np.ndarray) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """For the parts that hold some of ``rows``: the part, which of ``rows`` it holds (a
        mask), and their local rows."""
        rows = np.asarray(rows, dtype=np.int64)
        if len(self.parts) == 1:
            part = self.parts[0]
            yield (
                0,
                np.ones(len(rows), dtype=bool),
                rows if not len(part.deleted) else part.live[rows],
            )
            return
        parts, local = self.locate(rows)
        for part in np.unique(parts).tolist():
            mask = parts == part
            yield part, mask, local[mask]

    def info(self) -> IndexInfo:
        return IndexInfo(
            articles=len(self.article_meta),
            passages=len(self.passages),
            built_at=self.manifest["built_at"],
            version=self.version,
            embedders=tuple(self.spaces),
        )

    def articles(self) -> tuple[ArticleInfo, ...]:
        """The articles, in index order (read from the manifest once)."""
        return self._articles

    @functools.cached_property
    def _articles(self) -> tuple[ArticleInfo, ...]:
        return tuple(
            ArticleInfo(
                article_id=article_id,
                title=meta["title"],
                passages=meta["passages"],
                url=meta.get("url"),
                published=meta.get("published"),
            )
            for article_id, meta in self.article_meta.items()
        )

    def paragraph(self, article_id: str, number: int) -> Paragraph | None:
        """The whole paragraph ``number`` of an article, or None if the index has no such one."""
        pieces = self._pieces.get((article_id, number))
        if not pieces:
            return None
        first = pieces[0]
        return Paragraph(
            article_id=first.article_id,
            title=first.title,
            paragraph=first.paragraph,
            url=first.url,
            text=" ".join(p.text for p in pieces),
            content_hashes=tuple(p.content_hash for p in pieces),
        )

    @functools.cached_property
    def _pieces(self) -> dict[tuple[str, int], list[Passage]]:
        # Built at the first lookup, then each one is a dict access (not a scan of every passage).
        pieces: dict[tuple[str, int], list[Passage]] = {}
        for passage in self.passages:
            pieces.setdefault((passage.article_id, passage.paragraph), []).append(passage)
        for group in pieces.values():
            group.sort(key=lambda p: p.piece)
        return pieces

    def article_hashes(self) -> dict[str, str]:
        return {article_id: meta["hash"] for article_id, meta in self.article_meta.items()}

    def vectors(self, space: str, rows: np.ndarray | None = None) -> np.ndarray:
        """The passage vectors of one space at ``rows`` (all of them if None), as a copy."""
        if rows is None:
            rows = np.arange(len(self.passages))
        out = np.empty((len(rows), self.spaces[space]), dtype=np.float32)
        for part, mask, local in self.by_part(rows):
            out[mask] = self.parts[part].segment.vectors(space)[local]
        return out

    def rows_of(self, content_hashes: Sequence[str]) -> np.ndarray:
        """The row of a passage with each content hash (-1 where none is live)."""
        rows = np.full(len(content_hashes), -1, dtype=np.int64)
        for part, start in zip(self.parts, self._starts.tolist(), strict=False):
            known, places = part.segment.rows_by_hash, part.to_global
            for i, key in enumerate(content_hashes):
                local = known.get(key)
                if local is not None and rows[i] < 0 and places[local] >= 0:
                    rows[i] = start + places[local]
        return rows

    def rows_of_articles(self, article_ids: Sequence[str]) -> dict[int, list[int]]:
        """Part number -> the local rows (live ones) of these articles' passages."""
        found: dict[int, list[int]] = {}
        for number, part in enumerate(self.parts):
            places = part.to_global
            for article_id in article_ids:
                rows = part.segment.rows_by_article.get(article_id, ())
                found.setdefault(number, []).extend(r for r in rows if places[r] >= 0)
        return {number: rows for number, rows in found.items() if rows}

    def sentences(self, space: str) -> SentenceTable | None:
        """The sentence vectors of a space, or None if the index has none for it."""
        if not all(space in part.segment.sentence_spaces for part in self.parts):
            return None
        return SentenceTable(self, space)

    @functools.cached_property
    def _live_names(self) -> np.ndarray:
        """Which of the segments' names (one after another) some article still mentions."""
        mentioned = {n for meta in self.article_meta.values() for n in meta.get("names", ())}
        every = [name for part in self.parts for name in part.segment.names]
        return np.fromiter((name in mentioned for name in every), dtype=bool, count=len(every))

    @functools.cached_property
    def names(self) -> tuple[str, ...]:
        """The names the articles mention (lower-cased), one vector each (``name_vectors``)."""
        every = [name for part in self.parts for name in part.segment.names]
        return tuple(name for name, live in zip(every, self._live_names, strict=True) if live)

    @functools.cached_property
    def words(self) -> tuple[str, ...]:
        """The English words of the passages (``index.word_map``), one vector each."""
        return tuple(word for part in self.parts for word in part.segment.words)

    def known_terms(self) -> tuple[frozenset[str], frozenset[str]]:
        """Every name and word some segment keeps a vector of (live or not)."""
        return self._known_terms

    @functools.cached_property
    def _known_terms(self) -> tuple[frozenset[str], frozenset[str]]:
        names = frozenset(name for part in self.parts for name in part.segment.names)
        return names, frozenset(self.words)

    def name_vectors(self, space: str) -> np.ndarray | None:
        """One vector per name in ``names`` (float16), or None if the space keeps none."""
        vectors = self._terms(space, "name_spaces")
        if vectors is None or self._live_names.all():
            return vectors
        live: np.ndarray = vectors[self._live_names]
        return live

    def word_vectors(self, space: str) -> np.ndarray | None:
        """One vector per word in ``words`` (float16), or None if the space keeps none."""
        return self._terms(space, "word_spaces")

    def _terms(self, space: str, kind: str) -> np.ndarray | None:
        tables = [getattr(part.segment, kind).get(space) for part in self.parts]
        if not tables or any(table is None for table in tables):
            return None
        return tables[0] if len(tables) == 1 else np.concatenate(tables)

    def search(self, space: str, query: np.ndarray, top_k: int) -> list[tuple[int, float]]:
        """Rows and inner-product scores of the ``top_k`` nearest passages in one space."""
        rows, scores = [], []
        for part, start in zip(self.parts, self._starts.tolist(), strict=False):
            # Deleted rows may be among the nearest: ask for as many more.
            local, found = part.segment.search(space, query, top_k + len(part.deleted))
            places = part.to_global[local]
            rows.append(places[places >= 0] + start)
            scores.append(found[places >= 0])
        if not rows:
            return []
        all_rows, all_scores = np.concatenate(rows), np.concatenate(scores)
        order = np.argsort(-all_scores, kind="stable")[:top_k]
        return [(int(all_rows[i]), float(all_scores[i])) for i in order]

    def check_embedders(self, names: Sequence[str]) -> None:
        """Raise IndexMismatchError unless the index was built with exactly these embedders."""
        built = list(self.spaces)
        if sorted(built) != sorted(names):
            raise IndexMismatchError(
                f"The index in {self.path.parent} was built with {', '.join(built) or 'no model'}, "
                f"but the configured models are {', '.join(names)}; {REBUILD_HINT}."
            )

    @property
    def is_legacy(self) -> bool:
        """Whether it is a snapshot of an older format (1: its folder holds its one segment;
        2: its manifest lists the articles), which the next build writes anew."""
        return int(self.manifest.get("format_version", FORMAT_VERSION)) < FORMAT_VERSION


def live_articles(part: Part) -> Iterator[tuple[str, dict[str, Any]]]:
    """The entries of a part's segment for the articles that still have live rows in it."""
    segment = part.segment
    if not len(part.deleted):
        yield from segment.articles.items()
        return
    places = part.to_global
    for article_id, meta in segment.articles.items():
        if any(places[row] >= 0 for row in segment.rows_by_article.get(article_id, ())):
            yield article_id, meta


def current_version(index_dir: Path) -> str | None:
    """The name of the snapshot in service, or None if no index was built yet."""
    try:
        name = (index_dir / CURRENT_FILE).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _corrupt(f"Cannot read {index_dir / CURRENT_FILE}: {exc}") from exc
    return name or None


def load_snapshot(index_dir: Path, loaded: Snapshot | None = None) -> Snapshot:
    """Load the snapshot in service; the segments of ``loaded`` (a snapshot already in memory)
    that it lists are reused, not read again.

    Raises:
        IndexNotFoundError: nothing was built in ``index_dir`` yet.
        IndexCorruptError: the files are unreadable or disagree with each other.
    """
    for _ in range(3):  # a concurrent build may prune the snapshot between the two reads
        name = current_version(index_dir)
        if name is None:
            raise IndexNotFoundError(f"No index in {index_dir} yet; build it with `newsbot index`.")
        path = index_dir / name
        try:
            if path.is_dir():
                return _read_snapshot(path, loaded)
        except IndexCorruptError:
            if current_version(index_dir) == name:
                raise
            continue  # pruned while it was read: read the new one
        time.sleep(0.05)
    raise _corrupt(f"{index_dir / CURRENT_FILE} names a missing snapshot")


def _read_snapshot(path: Path, loaded: Snapshot | None) -> Snapshot:
    reuse = {p.segment.name: p.segment for p in loaded.parts} if loaded is not None else {}
    try:
        manifest = _read_manifest(path)
        if manifest["format_version"] == 1:
            parts: tuple[Part, ...] = (Part(read_segment(path, manifest["spaces"])),)
        else:
            parts = tuple(_read_part(path, entry, reuse) for entry in manifest["segments"])
        spaces = {s["name"]: s["dimension"] for s in manifest["spaces"]}
        for part in parts:
            segment = part.segment
            if {name: index.d for name, index in segment.spaces.items()} != spaces:
                raise _corrupt(
                    f"{segment.path} does not hold the spaces of {path / 'manifest.json'}"
                )
        if "articles" not in manifest:  # format 3: each segment has its articles' entries
            for part in parts:
                missing = part.segment.rows_by_article.keys() - part.segment.articles.keys()
                if missing:
                    raise _corrupt(
                        f"{part.segment.path} has passages of {len(missing)} article(s) its "
                        f"articles.json does not describe (e.g. {sorted(missing)[0]!r})"
                    )
        snapshot = Snapshot(path=path, manifest=manifest, parts=parts)
        expected = manifest.get("passage_count", len(snapshot.passages))
        if len(snapshot.passages) != expected:
            raise _corrupt(
                f"{path} lists {expected} passages, its segments hold {len(snapshot.passages)}"
            )
    except (SegmentError, OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise _corrupt(f"Cannot read the index in {path}: {exc}") from exc
    return snapshot


def _read_part(path: Path, entry: dict[str, Any], reuse: dict[str, Segment]) -> Part:
    name = entry["name"]
    segment = reuse.get(name) or read_segment(path.parent / SEGMENTS_DIR / name)
    deleted = np.asarray(entry["deleted"], dtype=np.int64)
    if len(deleted) and (
        deleted.min() < 0 or deleted.max() >= len(segment) or (np.diff(deleted) <= 0).any()
    ):
        raise _corrupt(f"{path / 'manifest.json'} deletes rows segment {name} does not have")
    return Part(segment, deleted)


def _corrupt(problem: str) -> IndexCorruptError:
    return IndexCorruptError(f"{problem}; {CORRUPT_HINT}.", problem=problem)


def _read_manifest(path: Path) -> dict[str, Any]:
    """The snapshot's manifest, if it has the shape this newsbot writes."""
    file = path / "manifest.json"
    manifest = json.loads(file.read_text(encoding="utf-8"))
    if not isinstance(manifest, dict):
        raise _corrupt(f"{file} is not a JSON object")
    if manifest.get("format_version") not in READS_FORMATS:
        raise _corrupt(
            f"The index in {path.parent} has format {manifest.get('format_version')}, "
            f"this newsbot reads formats {', '.join(map(str, READS_FORMATS))}"
        )
    problem = _manifest_problem(manifest)
    if problem is not None:
        raise _corrupt(f"{file}: {problem}")
    return manifest


def _manifest_problem(manifest: dict[str, Any]) -> str | None:
    """What is wrong with a manifest's shape (keys and types), or None."""
    if not isinstance(manifest.get("built_at"), str):
        return "'built_at' is missing or not a string"
    spaces = manifest.get("spaces")
    if not isinstance(spaces, list) or not all(isinstance(s, dict) for s in spaces):
        return "'spaces' is missing or not a list of objects"
    if not all(
        isinstance(s.get("name"), str) and isinstance(s.get("dimension"), int) for s in spaces
    ):
        return "a space has no 'name' or 'dimension'"
    if manifest["format_version"] != 1:
        segments = manifest.get("segments")
        if not isinstance(segments, list) or not all(
            isinstance(s, dict)
            and isinstance(s.get("name"), str)
            and isinstance(s.get("deleted"), list)
            for s in segments
        ):
            return "'segments' is missing or not a list of segments"
    if manifest["format_version"] < 3:
        return articles_problem(manifest.get("articles"))
    return None


@contextlib.contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Hold the index folder's write lock: builds from several processes run one at a time.

    Raises:
        IndexWriteError: the folder cannot be written (read-only, not ours, disk full); the
            message says what to do. Raised by writes within the block too.
    """

    def waiting() -> None:
        logger.warning("Another build of the index in %s is running; waiting for it", index_dir)

    try:
        with file_lock(index_dir / LOCK_FILE, waiting):
            yield
    except OSError as exc:
        raise _not_writable(index_dir, exc) from exc


def _not_writable(index_dir: Path, exc: OSError) -> IndexWriteError:
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return IndexWriteError(
            f"The index folder {index_dir} is not writable ({reason}); make it writable "
            f"(chmod -R u+w {index_dir}) or set INDEX_DIR (or --index) to a folder you can "
            "write to."
        )
    return IndexWriteError(f"Cannot write the index in {index_dir}: {reason} ({exc.filename}).")


def write_snapshot(
    index_dir: Path,
    passages: Sequence[Passage],
    vectors: dict[str, np.ndarray],
    manifest: dict[str, Any],
    articles: dict[str, dict[str, Any]],
    sentences: dict[str, SentenceVectors] | None = None,
    names: Sequence[str] = (),
    name_vectors: dict[str, np.ndarray] | None = None,
    words: Sequence[str] = (),
    word_vectors: dict[str, np.ndarray] | None = None,
) -> Snapshot:
    """Write a whole index as one segment and put it in service; call under ``build_lock``.

    Args:
        index_dir: the index folder.
        passages: the passages, in row order.
        vectors: embedder name -> array of shape (len(passages), dimension).
        sentences: embedder name -> sentence vectors, for the spaces that keep them.
        manifest: the build facts; spaces, segments, counts and format are added here.
        articles: article id -> its entry (title, url, file, hash, passages, names).
        names: the names the articles mention.
        name_vectors: embedder name -> one vector per name, for the spaces that keep them.
        words: the English words of the passages.
        word_vectors: embedder name -> one vector per word, likewise.

    Returns:
        The new snapshot, loaded (the FAISS indexes written are the ones it searches).
    """
    remove_abandoned_builds(index_dir)
    segment = write_segment(
        index_dir,
        passages,
        vectors,
        sentences,
        names,
        name_vectors,
        words,
        word_vectors,
        articles=articles,
    )
    spaces = [{"name": name, "dimension": int(array.shape[1])} for name, array in vectors.items()]
    return commit_snapshot(index_dir, manifest, spaces, (Part(segment),))


def commit_snapshot(
    index_dir: Path,
    manifest: dict[str, Any],
    spaces: list[dict[str, Any]],
    parts: Sequence[Part],
) -> Snapshot:
    """Write a snapshot of ``parts`` (segments already written) and put it in service
    atomically; call under ``build_lock``. ``manifest``: the build facts."""
    tmp = index_dir / f".tmp-{uuid.uuid4().hex}"
    tmp.mkdir(parents=True)
    final = index_dir / f"snap-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    full_manifest: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        **manifest,
        "spaces": spaces,
        "segments": [
            {"name": part.segment.name, "deleted": part.deleted.tolist()} for part in parts
        ],
        "passage_count": sum(len(part.live) for part in parts),
    }
    snapshot = Snapshot(path=final, manifest=full_manifest, parts=tuple(parts))
    # Counted from the snapshot served, whose article entries are then made once.
    full_manifest["article_count"] = len(snapshot.article_meta)
    # No indent: json's C encoder is used only without one (the deleted rows can be many).
    (tmp / "manifest.json").write_text(
        json.dumps(full_manifest, ensure_ascii=False), encoding="utf-8"
    )
    fsync_tree(tmp)
    tmp.rename(final)
    _LISTED[final] = frozenset(part.segment.name for part in parts)
    atomic_write(index_dir / CURRENT_FILE, final.name + "\n")
    _prune_snapshots(index_dir, keep=final.name)
    return snapshot


def remove_abandoned_builds(index_dir: Path) -> None:
    """Remove what dead builds left: temporary folders, and segments no snapshot lists (call
    under ``build_lock``: then no other build is writing)."""
    for leftover in [*index_dir.glob(".tmp-*"), *(index_dir / SEGMENTS_DIR).glob(".tmp-*")]:
        shutil.rmtree(leftover, ignore_errors=True)
    _remove_unlisted_segments(index_dir)


def _prune_snapshots(index_dir: Path, keep: str) -> None:
    snapshots = sorted(
        (p for p in index_dir.glob("snap-*") if p.is_dir() and p.name != keep),
        key=lambda p: p.stat().st_mtime,
    )
    for old in snapshots[: max(0, len(snapshots) - (SNAPSHOTS_KEPT - 1))]:
        shutil.rmtree(old, ignore_errors=True)
    _remove_unlisted_segments(index_dir)


def _remove_unlisted_segments(index_dir: Path) -> None:
    folder = index_dir / SEGMENTS_DIR
    if not folder.is_dir():
        return
    listed: set[str] = set()
    for snapshot in index_dir.glob("snap-*"):
        listed.update(_listed_segments(snapshot))
    for segment in folder.glob("seg-*"):
        if segment.name not in listed:
            shutil.rmtree(segment, ignore_errors=True)


# A snapshot folder is written once under a name never used again, so what it lists is read once
# per process (reading the manifests of 10,000 articles took 0.5 s of every update); a build
# records its own snapshot's as it commits it.
_LISTED: dict[Path, frozenset[str]] = {}


def _listed_segments(snapshot: Path) -> frozenset[str]:
    listed = _LISTED.get(snapshot)
    if listed is None:
        try:
            manifest = json.loads((snapshot / "manifest.json").read_text(encoding="utf-8"))
            listed = frozenset(entry["name"] for entry in manifest.get("segments", ()))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return frozenset()  # a damaged snapshot is never served: what it listed may go
        if len(_LISTED) >= 64:
            _LISTED.clear()
        _LISTED[snapshot] = listed
    return listed


def merge_segments(index_dir: Path, parts: Sequence[Part], spaces: list[dict[str, Any]]) -> Segment:
    """One new segment holding the live passages of ``parts`` (in order), their vectors, and
    the names and words the parts' segments keep; call under ``build_lock``."""
    view = Snapshot(path=index_dir, manifest={"spaces": spaces}, parts=tuple(parts))
    rows = np.arange(len(view.passages))
    sentences = {}
    for space in view.spaces:
        table = view.sentences(space)
        if table is not None:
            sentences[space] = table.gather(rows)
    names = [name for part in parts for name in part.segment.names]
    return write_segment(
        index_dir,
        view.passages,
        {space: view.vectors(space) for space in view.spaces},
        sentences,
        names,
        _present({space: view._terms(space, "name_spaces") for space in view.spaces}),
        view.words,
        _present({space: view._terms(space, "word_spaces") for space in view.spaces}),
        Postings.merged([(part.segment.postings, part.to_global) for part in parts]),
        articles=view.article_meta,
    )


def _present(tables: dict[str, np.ndarray | None]) -> dict[str, np.ndarray]:
    return {space: table for space, table in tables.items() if table is not None}
