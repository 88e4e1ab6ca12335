"""The index on disk: FAISS vector files, passage metadata and a manifest, in atomic snapshots.

Layout of the index folder::

    CURRENT              name of the snapshot in service (replaced atomically)
    snap-<time>-<id>/    one complete index: manifest.json, passages.jsonl, space-<n>.faiss,
                         and for the multilingual space its sentence vectors (sentences-<n>.npy,
                         sentence-offsets-<n>.npy), the vectors of the names the articles
                         mention (names.json, name-vectors-<n>.npy) and of their English words
                         (words.json, word-vectors-<n>.npy: Russian questions are matched to
                         them, ``index.word_map``)
    .build.lock          held while a build writes (one writer at a time)

A build writes a new snapshot under a temporary name, renames it, then swaps ``CURRENT``; a build
that crashes or is killed leaves ``CURRENT`` pointing at the previous, complete snapshot. This is
the only module that imports ``faiss``.
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
from dataclasses import asdict, dataclass, field, replace
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
from index.models import ArticleInfo, IndexInfo, Paragraph, Passage

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
CURRENT_FILE = "CURRENT"
LOCK_FILE = ".build.lock"
SNAPSHOTS_KEPT = 2  # the one in service and the one before it, for readers that are mid-load
REBUILD_HINT = "run `newsbot index --full` to rebuild it"
# A damaged snapshot is never reused by a build, so a plain `newsbot index` rebuilds it.
CORRUPT_HINT = "run `newsbot index` to rebuild it"
NAMES_FILE = "names.json"
WORDS_FILE = "words.json"
_ARTICLE_KEYS: dict[str, type] = {"title": str, "hash": str, "passages": int}  # each article's


# Cached: FAISS's OpenMP thread count is process-wide, so it is set once per process.
@functools.cache
def _faiss() -> Any:
    # torch is not imported first any more: a process that only answers questions never loads
    # it (index/embedders/bert_numpy.py). With FAISS on one thread the order made no difference:
    # warm asks on the seed index p50/p95 27/85 ms against 30/86 ms with torch first (3 runs
    # each, interleaved, the bench's warm_ask worker).
    import faiss

    # Searches are one question at a time over at most ~10^5 vectors: one thread takes ~1 ms
    # where FAISS's default pool took 10-30 ms on 2 busy cores (make bench, folklore checks).
    faiss.omp_set_num_threads(1)
    return faiss


@dataclass(frozen=True)
class SpaceInfo:
    """One vector space of the index: which embedder made it and where its vectors are."""

    name: str
    dimension: int
    file: str
    # Optional: one vector per sentence of every passage (rows of ``sentences``; passage i owns
    # rows offsets[i]:offsets[i + 1]), for spaces that score passages by their best sentence.
    sentences: str | None = None
    sentence_offsets: str | None = None
    # Optional: one vector per name in the snapshot's names.json (same order), as float16;
    # likewise per word of words.json.
    name_vectors: str | None = None
    word_vectors: str | None = None


def spans(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The row numbers of runs of rows, one after another: ``counts[i]`` rows from
    ``starts[i]`` (``spans([5, 0], [2, 3])`` is ``[5, 6, 0, 1, 2]``)."""
    starts, counts = np.asarray(starts, dtype=np.int64), np.asarray(counts, dtype=np.int64)
    if not len(counts):
        return np.zeros(0, dtype=np.int64)
    groups = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rows: np.ndarray = np.arange(int(counts.sum()), dtype=np.int64)
    rows += np.repeat(starts - groups, counts)
    return rows


@dataclass(frozen=True)
class SentenceVectors:
    """The sentence vectors of one space: passage ``i`` owns rows ``offsets[i]:offsets[i + 1]``
    of ``vectors`` (every passage has at least one sentence)."""

    offsets: np.ndarray  # int64, len(passages) + 1
    # (offsets[-1], dimension): float16 as written (float32 in snapshots of an older newsbot);
    # a question's products upcast only its candidates' rows.
    vectors: np.ndarray

    def of(self, row: int) -> np.ndarray:
        return self.vectors[self.offsets[row] : self.offsets[row + 1]]

    def best(self, rows: np.ndarray, query: np.ndarray) -> np.ndarray:
        """For each passage row, the highest similarity of one of its sentences to ``query``."""
        if not len(rows):
            return np.zeros(0, dtype=np.float32)
        starts = self.offsets[rows]
        counts = self.offsets[rows + 1] - starts
        groups = np.concatenate([[0], np.cumsum(counts)[:-1]])  # where each passage's run begins
        sentence_rows = spans(starts, counts)  # every sentence, passage after passage
        scores = np.asarray(self.vectors[sentence_rows] @ query, dtype=np.float32)
        return np.maximum.reduceat(scores, groups)


@dataclass(frozen=True)
class Snapshot:
    """A loaded, immutable index: passages in row order and one FAISS index per vector space."""

    path: Path
    manifest: dict[str, Any]
    passages: tuple[Passage, ...]
    spaces: dict[str, Any]  # embedder name -> faiss.Index, rows aligned with ``passages``
    # embedder name -> (offsets, vectors), for the spaces that keep sentence vectors
    sentence_spaces: dict[str, SentenceVectors] = field(default_factory=dict)
    # The names the articles mention (lower-cased, sorted), and per space that keeps them one
    # vector per name, rows in that order.
    names: tuple[str, ...] = ()
    name_spaces: dict[str, np.ndarray] = field(default_factory=dict)
    # The English words of the passages (lower-cased, sorted; see index.word_map), likewise.
    words: tuple[str, ...] = ()
    word_spaces: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return self.path.name

    def info(self) -> IndexInfo:
        return IndexInfo(
            articles=len(self.manifest["articles"]),
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
            for article_id, meta in self.manifest["articles"].items()
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
        return {article_id: meta["hash"] for article_id, meta in self.manifest["articles"].items()}

    def vectors(self, space: str) -> np.ndarray:
        """A copy of all vectors of one space, in passage order."""
        return self.matrix(space).copy()

    def matrix(self, space: str) -> np.ndarray:
        """The vectors of one space as a read-only view of FAISS's own storage (no copy)."""
        index = self.spaces[space]
        if index.ntotal == 0:
            return np.zeros((0, index.d), dtype=np.float32)
        flat = _faiss().rev_swig_ptr(index.get_xb(), index.ntotal * index.d)
        view = np.asarray(flat, dtype=np.float32).reshape(index.ntotal, index.d)
        view.flags.writeable = False
        return view

    def sentences(self, space: str) -> SentenceVectors | None:
        """The sentence vectors of a space, or None if the index has none for it."""
        return self.sentence_spaces.get(space)

    def name_vectors(self, space: str) -> np.ndarray | None:
        """One vector per name in ``names`` (float16), or None if the space keeps none."""
        return self.name_spaces.get(space)

    def word_vectors(self, space: str) -> np.ndarray | None:
        """One vector per word in ``words`` (float16), or None if the space keeps none."""
        return self.word_spaces.get(space)

    def search(self, space: str, query: np.ndarray, top_k: int) -> list[tuple[int, float]]:
        """Rows and inner-product scores of the ``top_k`` nearest passages in one space."""
        index = self.spaces[space]
        top_k = min(top_k, index.ntotal)
        if top_k <= 0:
            return []
        scores, rows = index.search(query.reshape(1, -1).astype(np.float32, copy=False), top_k)
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]

    def check_embedders(self, names: Sequence[str]) -> None:
        """Raise IndexMismatchError unless the index was built with exactly these embedders."""
        built = list(self.spaces)
        if sorted(built) != sorted(names):
            raise IndexMismatchError(
                f"The index in {self.path.parent} was built with {', '.join(built) or 'no model'}, "
                f"but the configured models are {', '.join(names)}; {REBUILD_HINT}."
            )


def new_flat_index(vectors: np.ndarray, dimension: int) -> Any:
    """An exact inner-product index over ``vectors``.

    Inner product equals cosine similarity on normalised vectors; exact search over 10^4-10^5
    passages takes a few milliseconds, so no approximate index is needed at newsroom scale.
    """
    index = _faiss().IndexFlatIP(dimension)
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def current_version(index_dir: Path) -> str | None:
    """The name of the snapshot in service, or None if no index was built yet."""
    try:
        name = (index_dir / CURRENT_FILE).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _corrupt(f"Cannot read {index_dir / CURRENT_FILE}: {exc}") from exc
    return name or None


def load_snapshot(index_dir: Path) -> Snapshot:
    """Load the snapshot in service.

    Raises:
        IndexNotFoundError: nothing was built in ``index_dir`` yet.
        IndexCorruptError: the files are unreadable or disagree with each other.
    """
    for _ in range(3):  # a concurrent build may prune the snapshot between the two reads
        name = current_version(index_dir)
        if name is None:
            raise IndexNotFoundError(f"No index in {index_dir} yet; build it with `newsbot index`.")
        path = index_dir / name
        if path.is_dir():
            return _read_snapshot(path)
        time.sleep(0.05)
    raise _corrupt(f"{index_dir / CURRENT_FILE} names a missing snapshot")


def _read_snapshot(path: Path) -> Snapshot:
    faiss = _faiss()
    try:
        manifest = _read_manifest(path)
        with (path / "passages.jsonl").open(encoding="utf-8") as lines:
            passages = tuple(Passage(**json.loads(line)) for line in lines)
        names, words = _read_terms(path, NAMES_FILE), _read_terms(path, WORDS_FILE)
        spaces, sentence_spaces, name_spaces, word_spaces = {}, {}, {}, {}
        for raw in manifest["spaces"]:
            space = SpaceInfo(**raw)
            index = faiss.read_index(str(path / space.file))
            if index.ntotal != len(passages) or index.d != space.dimension:
                raise _corrupt(
                    f"{path / space.file} holds {index.ntotal} vectors of dimension {index.d}, "
                    f"expected {len(passages)} of {space.dimension}"
                )
            spaces[space.name] = index
            if space.sentences and space.sentence_offsets:
                sentence_spaces[space.name] = _read_sentences(
                    path / space.sentences, path / space.sentence_offsets, index.d, len(passages)
                )
            if space.name_vectors and names is not None:
                name_spaces[space.name] = _read_term_vectors(
                    path / space.name_vectors, index.d, len(names)
                )
            if space.word_vectors and words is not None:
                word_spaces[space.name] = _read_term_vectors(
                    path / space.word_vectors, index.d, len(words)
                )
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise _corrupt(f"Cannot read the index in {path}: {exc}") from exc
    return Snapshot(
        path=path,
        manifest=manifest,
        passages=passages,
        spaces=spaces,
        sentence_spaces=sentence_spaces,
        names=tuple(names or ()),
        name_spaces=name_spaces,
        words=tuple(words or ()),
        word_spaces=word_spaces,
    )


def _corrupt(problem: str) -> IndexCorruptError:
    return IndexCorruptError(f"{problem}; {CORRUPT_HINT}.", problem=problem)


def _read_manifest(path: Path) -> dict[str, Any]:
    """The snapshot's manifest, if it has the shape this newsbot writes."""
    file = path / "manifest.json"
    manifest = json.loads(file.read_text(encoding="utf-8"))
    if not isinstance(manifest, dict):
        raise _corrupt(f"{file} is not a JSON object")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise _corrupt(
            f"The index in {path.parent} has format {manifest.get('format_version')}, "
            f"this newsbot reads format {FORMAT_VERSION}"
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
    articles = manifest.get("articles")
    if not isinstance(articles, dict):
        return "'articles' is missing or not an object"
    for article_id, meta in articles.items():
        if not isinstance(meta, dict):
            return f"article {article_id!r} is not an object"
        for key, kind in _ARTICLE_KEYS.items():
            value = meta.get(key)
            if not isinstance(value, kind) or isinstance(value, bool):
                return f"article {article_id!r} has no {key!r} of the right type"
        for key in ("url", "published", "file"):
            if not isinstance(meta.get(key), str | None):
                return f"article {article_id!r} has a {key!r} that is not a string"
    return None


def _read_terms(path: Path, file: str) -> list[str] | None:
    """The names (or words) of names.json (words.json), or None if the snapshot has none."""
    try:
        terms = json.loads((path / file).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None  # an index from an older newsbot: the next build adds them
    if not isinstance(terms, list) or not all(isinstance(n, str) for n in terms):
        raise _corrupt(f"{path / file} is not a list of strings")
    return terms


def _read_term_vectors(file: Path, dimension: int, terms: int) -> np.ndarray:
    vectors: np.ndarray = np.load(file, mmap_mode="r", allow_pickle=False)
    if vectors.shape != (terms, dimension):
        raise _corrupt(f"{file} does not match the index's names or words")
    return vectors


def _read_sentences(
    vectors_file: Path, offsets_file: Path, dimension: int, passages: int
) -> SentenceVectors:
    # Memory-mapped: a question reads only its candidates' sentences.
    vectors = np.load(vectors_file, mmap_mode="r", allow_pickle=False)
    offsets = np.load(offsets_file, allow_pickle=False)
    if (
        offsets.shape != (passages + 1,)
        or vectors.shape[1:] != (dimension,)
        or int(offsets[-1]) != len(vectors)
        or (np.diff(offsets) < 1).any()
    ):
        raise _corrupt(f"{vectors_file} does not match the passages of the index")
    return SentenceVectors(offsets.astype(np.int64), vectors)


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
    sentences: dict[str, SentenceVectors] | None = None,
    names: Sequence[str] = (),
    name_vectors: dict[str, np.ndarray] | None = None,
    words: Sequence[str] = (),
    word_vectors: dict[str, np.ndarray] | None = None,
) -> Snapshot:
    """Write a complete snapshot and put it in service atomically; call under ``build_lock``.

    Args:
        index_dir: the index folder.
        passages: the passages, in row order.
        vectors: embedder name -> array of shape (len(passages), dimension).
        sentences: embedder name -> sentence vectors, for the spaces that keep them.
        manifest: articles and build facts; spaces, counts and format are added here.
        names: the names the articles mention.
        name_vectors: embedder name -> one vector per name, for the spaces that keep them.
        words: the English words of the passages.
        word_vectors: embedder name -> one vector per word, likewise.

    Returns:
        The new snapshot, loaded (the FAISS indexes written are the ones it searches).
    """
    faiss = _faiss()
    _remove_abandoned_builds(index_dir)
    tmp = index_dir / f".tmp-{uuid.uuid4().hex}"
    tmp.mkdir(parents=True)
    # Sentence vectors as float16 too (half the disk and page cache: 33 MB at 10,000 passages;
    # make eval's figures unchanged), in the snapshot returned as in the files a reload reads.
    sentences = {
        name: replace(kept, vectors=np.asarray(kept.vectors, dtype=np.float16))
        for name, kept in (sentences or {}).items()
    }
    name_vectors, word_vectors = _float16(name_vectors), _float16(word_vectors)
    (tmp / NAMES_FILE).write_text(json.dumps(list(names), ensure_ascii=False), encoding="utf-8")
    (tmp / WORDS_FILE).write_text(json.dumps(list(words), ensure_ascii=False), encoding="utf-8")
    spaces, indexes = [], {}
    for number, (name, array) in enumerate(vectors.items()):
        space = SpaceInfo(name=name, dimension=int(array.shape[1]), file=f"space-{number}.faiss")
        indexes[name] = new_flat_index(array, space.dimension)
        faiss.write_index(indexes[name], str(tmp / space.file))
        if name in sentences:
            vectors_file, offsets_file = f"sentences-{number}.npy", f"sentence-offsets-{number}.npy"
            np.save(tmp / vectors_file, sentences[name].vectors, allow_pickle=False)
            np.save(tmp / offsets_file, sentences[name].offsets, allow_pickle=False)
            space = replace(space, sentences=vectors_file, sentence_offsets=offsets_file)
        if name in name_vectors:
            space = replace(space, name_vectors=f"name-vectors-{number}.npy")
            np.save(tmp / f"name-vectors-{number}.npy", name_vectors[name], allow_pickle=False)
        if name in word_vectors:
            space = replace(space, word_vectors=f"word-vectors-{number}.npy")
            np.save(tmp / f"word-vectors-{number}.npy", word_vectors[name], allow_pickle=False)
        spaces.append(asdict(space))
    with (tmp / "passages.jsonl").open("w", encoding="utf-8") as out:
        for passage in passages:
            # vars(), not asdict(): the fields are plain values, and asdict's deep copy took
            # 0.2 s at 10,000 passages.
            out.write(json.dumps(vars(passage), ensure_ascii=False) + "\n")
    full_manifest = {
        "format_version": FORMAT_VERSION,
        **manifest,
        "spaces": spaces,
        "passage_count": len(passages),
        "article_count": len(manifest["articles"]),
    }
    (tmp / "manifest.json").write_text(
        json.dumps(full_manifest, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    fsync_tree(tmp)
    final = index_dir / f"snap-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    tmp.rename(final)
    atomic_write(index_dir / CURRENT_FILE, final.name + "\n")
    _prune_snapshots(index_dir, keep=final.name)
    return Snapshot(
        path=final,
        manifest=full_manifest,
        passages=tuple(passages),
        spaces=indexes,
        sentence_spaces={name: sentences[name] for name in sentences if name in vectors},
        names=tuple(names),
        name_spaces={name: name_vectors[name] for name in name_vectors if name in vectors},
        words=tuple(words),
        word_spaces={name: word_vectors[name] for name in word_vectors if name in vectors},
    )


def _float16(vectors: dict[str, np.ndarray] | None) -> dict[str, np.ndarray]:
    return {name: np.asarray(array, dtype=np.float16) for name, array in (vectors or {}).items()}


def _remove_abandoned_builds(index_dir: Path) -> None:
    # Under the build lock no other build is writing, so any temporary folder is a dead build's.
    for leftover in index_dir.glob(".tmp-*"):
        shutil.rmtree(leftover, ignore_errors=True)


def _prune_snapshots(index_dir: Path, keep: str) -> None:
    snapshots = sorted(
        (p for p in index_dir.glob("snap-*") if p.is_dir() and p.name != keep),
        key=lambda p: p.stat().st_mtime,
    )
    for old in snapshots[: max(0, len(snapshots) - (SNAPSHOTS_KEPT - 1))]:
        shutil.rmtree(old, ignore_errors=True)
