"""Immutable segments of the index: what one build wrote, searched on its own.

A segment is a folder, written once and never changed::

    segments/seg-<time>-<id>/
        segment.json         its spaces (which embedder, dimension, files) and passage count
        passages.jsonl       its passages, in row order (rows are local to the segment)
        space-<n>.faiss      per vector space, an exact inner-product index of its passages
        sentences-<n>.npy    for the multilingual space, one vector per sentence, float16
        sentence-offsets-<n>.npy   (passage i owns rows offsets[i]:offsets[i + 1])
        names.json, name-vectors-<n>.npy   the names new to the index when it was written
        words.json, word-vectors-<n>.npy   the English words new to it (``index.word_map``)
        bm25-words.json, bm25.npz  BM25's postings of its passages (``index.lexical``)
        articles.json        what is known of each article whose passages it holds (title,
                             url, file, hash, passage count, names), to cite and to update

A snapshot (``index.store``) lists its live segments and the rows deleted from each; an update
writes one small segment for its new and edited articles, so its cost follows the article, not
the archive (as Lucene's and Tantivy's segments). A snapshot of format 1, from an older newsbot,
is read as one segment: its own folder, with the same files. This is the only module that
imports ``faiss``.
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from index._fs import fsync_dir, fsync_tree
from index.lexical import Postings
from index.models import Passage

SEGMENTS_DIR = "segments"
SEGMENT_FILE = "segment.json"
NAMES_FILE = "names.json"
WORDS_FILE = "words.json"
ARTICLES_FILE = "articles.json"
# Each article's entry in articles.json: these keys, of these types ("url", "published" and
# "file" are strings or null; "names" a list of strings).
_ARTICLE_KEYS: dict[str, type] = {"title": str, "hash": str, "passages": int}


class SegmentError(ValueError):
    """A segment's files are missing, unreadable or disagree with each other."""


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
    """One vector space of a segment: which embedder made it and where its vectors are."""

    name: str
    dimension: int
    file: str
    # Optional: one vector per sentence of every passage (rows of ``sentences``; passage i owns
    # rows offsets[i]:offsets[i + 1]), for spaces that score passages by their best sentence.
    sentences: str | None = None
    sentence_offsets: str | None = None
    # Optional: one vector per name in the segment's names.json (same order), as float16;
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

    @property
    def dtype(self) -> np.dtype[Any]:
        return self.vectors.dtype

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

    def gather(self, rows: np.ndarray) -> SentenceVectors:
        """The sentence vectors of these passages, in this order (a copy)."""
        rows = np.asarray(rows, dtype=np.int64)
        starts = self.offsets[rows]
        counts = self.offsets[rows + 1] - starts
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return SentenceVectors(offsets, np.asarray(self.vectors[spans(starts, counts)]))


def join_sentences(parts: Sequence[SentenceVectors], dimension: int) -> SentenceVectors:
    """Sentence vectors of several runs of passages, one after another."""
    if not parts:
        return SentenceVectors(np.zeros(1, np.int64), np.zeros((0, dimension), np.float16))
    sizes = np.concatenate([np.diff(part.offsets) for part in parts])
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    return SentenceVectors(offsets, np.concatenate([np.asarray(p.vectors) for p in parts]))


@dataclass(frozen=True)
class Segment:
    """One segment, loaded: passages in local row order, one FAISS index per vector space."""

    path: Path
    passages: tuple[Passage, ...]
    spaces: dict[str, Any]  # embedder name -> faiss.Index, rows aligned with ``passages``
    sentence_spaces: dict[str, SentenceVectors] = field(default_factory=dict)
    names: tuple[str, ...] = ()
    name_spaces: dict[str, np.ndarray] = field(default_factory=dict)
    words: tuple[str, ...] = ()
    word_spaces: dict[str, np.ndarray] = field(default_factory=dict)
    # Article id -> its entry (``_ARTICLE_KEYS``), for the articles whose passages it holds
    # (empty in a segment of an older newsbot: its snapshot's manifest lists the articles).
    articles: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    stored_postings: Postings | None = field(default=None, repr=False)

    @functools.cached_property
    def postings(self) -> Postings:
        """BM25's postings of the segment's passages (tokenised here if it was written without,
        by an older newsbot)."""
        if self.stored_postings is not None:  # not ``or``: a segment of no rows is falsy
            return self.stored_postings
        return Postings.of_passages(self.passages)

    @property
    def name(self) -> str:
        return self.path.name

    def __len__(self) -> int:
        return len(self.passages)

    def vectors(self, space: str) -> np.ndarray:
        """The passage vectors of one space: a read-only view of FAISS's storage (no copy)."""
        index = self.spaces[space]
        if index.ntotal == 0:
            return np.zeros((0, index.d), dtype=np.float32)
        flat = _faiss().rev_swig_ptr(index.get_xb(), index.ntotal * index.d)
        view = np.asarray(flat, dtype=np.float32).reshape(index.ntotal, index.d)
        view.flags.writeable = False
        return view

    def search(self, space: str, query: np.ndarray, top_k: int) -> tuple[np.ndarray, np.ndarray]:
        """Local rows and scores of the ``top_k`` nearest passages in one space."""
        index = self.spaces[space]
        top_k = min(top_k, index.ntotal)
        if top_k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        scores, rows = index.search(query.reshape(1, -1).astype(np.float32, copy=False), top_k)
        keep = rows[0] >= 0
        return rows[0][keep].astype(np.int64), scores[0][keep]

    @functools.cached_property
    def rows_by_hash(self) -> dict[str, int]:
        """Each passage text's local row (by content hash), made once per loaded segment."""
        return {p.content_hash: row for row, p in enumerate(self.passages)}

    @functools.cached_property
    def rows_by_article(self) -> dict[str, list[int]]:
        rows: dict[str, list[int]] = {}
        for row, passage in enumerate(self.passages):
            rows.setdefault(passage.article_id, []).append(row)
        return rows


def new_flat_index(vectors: np.ndarray, dimension: int) -> Any:
    """An exact inner-product index over ``vectors``.

    Inner product equals cosine similarity on normalised vectors; exact search over 10^4-10^5
    passages takes a few milliseconds.
    """
    index = _faiss().IndexFlatIP(dimension)
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def write_segment(
    index_dir: Path,
    passages: Sequence[Passage],
    vectors: dict[str, np.ndarray],
    sentences: dict[str, SentenceVectors] | None = None,
    names: Sequence[str] = (),
    name_vectors: dict[str, np.ndarray] | None = None,
    words: Sequence[str] = (),
    word_vectors: dict[str, np.ndarray] | None = None,
    postings: Postings | None = None,
    articles: dict[str, dict[str, Any]] | None = None,
) -> Segment:
    """Write a segment under ``index_dir/segments`` (to a temporary name, synced, renamed).

    Args:
        passages: the passages, in row order.
        vectors: embedder name -> array of shape (len(passages), dimension).
        sentences: embedder name -> sentence vectors, for the spaces that keep them.
        names, words: names and English words new to the index.
        name_vectors, word_vectors: embedder name -> one vector per name (word).
        postings: BM25's postings of ``passages`` if known (a merge's); else tokenised here.
        articles: article id -> its entry, for the articles of ``passages``.
    """
    faiss = _faiss()
    folder = index_dir / SEGMENTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".tmp-{uuid.uuid4().hex}"
    tmp.mkdir()
    # Sentence vectors as float16 too (half the disk and page cache: 33 MB at 10,000 passages;
    # make eval's figures unchanged), in the segment returned as in the files a reload reads.
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
    postings = postings if postings is not None else Postings.of_passages(passages)
    postings.save(tmp)
    articles = articles or {}
    (tmp / ARTICLES_FILE).write_text(json.dumps(articles, ensure_ascii=False), encoding="utf-8")
    meta = {"spaces": spaces, "passage_count": len(passages)}
    (tmp / SEGMENT_FILE).write_text(json.dumps(meta, indent=1), encoding="utf-8")
    fsync_tree(tmp)
    final = folder / f"seg-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    tmp.rename(final)
    fsync_dir(folder)  # the rename reaches the disk before a manifest lists the segment
    return Segment(
        path=final,
        passages=tuple(passages),
        spaces=indexes,
        sentence_spaces={name: sentences[name] for name in sentences if name in vectors},
        names=tuple(names),
        name_spaces={name: name_vectors[name] for name in name_vectors if name in vectors},
        words=tuple(words),
        word_spaces={name: word_vectors[name] for name in word_vectors if name in vectors},
        stored_postings=postings,
        articles=articles,
    )


def _float16(vectors: dict[str, np.ndarray] | None) -> dict[str, np.ndarray]:
    return {name: np.asarray(array, dtype=np.float16) for name, array in (vectors or {}).items()}


def read_segment(path: Path, spaces: list[dict[str, Any]] | None = None) -> Segment:
    """Load a segment; ``spaces`` for a format-1 snapshot's folder (from its manifest).

    Raises:
        SegmentError: its files are missing, unreadable or disagree with each other.
        OSError, ValueError, KeyError, TypeError, RuntimeError: likewise, from the readers.
    """
    faiss = _faiss()
    if spaces is None:
        meta = json.loads((path / SEGMENT_FILE).read_text(encoding="utf-8"))
        if not isinstance(meta, dict) or not isinstance(meta.get("spaces"), list):
            raise SegmentError(f"{path / SEGMENT_FILE} is not a segment's description")
        spaces = meta["spaces"]
    with (path / "passages.jsonl").open(encoding="utf-8") as lines:
        passages = tuple(Passage(**json.loads(line)) for line in lines)
    names, words = _read_terms(path, NAMES_FILE), _read_terms(path, WORDS_FILE)
    indexes, sentence_spaces, name_spaces, word_spaces = {}, {}, {}, {}
    for raw in spaces:
        space = SpaceInfo(**raw)
        index = faiss.read_index(str(path / space.file))
        if index.ntotal != len(passages) or index.d != space.dimension:
            raise SegmentError(
                f"{path / space.file} holds {index.ntotal} vectors of dimension {index.d}, "
                f"expected {len(passages)} of {space.dimension}"
            )
        indexes[space.name] = index
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
    return Segment(
        path=path,
        passages=passages,
        spaces=indexes,
        sentence_spaces=sentence_spaces,
        names=tuple(names or ()),
        name_spaces=name_spaces,
        words=tuple(words or ()),
        word_spaces=word_spaces,
        stored_postings=Postings.load(path, len(passages)),
        articles=_read_articles(path / ARTICLES_FILE),
    )


def _read_articles(file: Path) -> dict[str, dict[str, Any]]:
    try:
        articles = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}  # an older newsbot's segment: its snapshot's manifest lists the articles
    problem = articles_problem(articles)
    if problem is not None:
        raise SegmentError(f"{file}: {problem}")
    return articles  # type: ignore[no-any-return]


def articles_problem(articles: Any) -> str | None:
    """What is wrong with the shape of article entries (id -> entry), or None."""
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
        names = meta.get("names", [])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            return f"article {article_id!r} has 'names' that are not a list of strings"
    return None


def _read_terms(path: Path, file: str) -> list[str] | None:
    """The names (or words) of names.json (words.json), or None if the folder has none."""
    try:
        terms = json.loads((path / file).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None  # an index from an older newsbot: the next build adds them
    if not isinstance(terms, list) or not all(isinstance(n, str) for n in terms):
        raise SegmentError(f"{path / file} is not a list of strings")
    return terms


def _read_term_vectors(file: Path, dimension: int, terms: int) -> np.ndarray:
    vectors: np.ndarray = np.load(file, mmap_mode="r", allow_pickle=False)
    if vectors.shape != (terms, dimension):
        raise SegmentError(f"{file} does not match the index's names or words")
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
        raise SegmentError(f"{vectors_file} does not match the passages of the index")
    return SentenceVectors(offsets.astype(np.int64), vectors)
