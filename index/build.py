"""Build or update the index: articles -> passages -> vectors (reused by hash) -> snapshot."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import math
import time
import weakref
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from index.articles import ArticleProblem, ArticleReader, article_passages, load_articles
from index.embedders import Embedder
from index.errors import IndexCorruptError, IndexNotFoundError, NoArticlesError
from index.models import Article, Passage
from index.names import NAMES_RULE, article_names, common_english_words
from index.segments import SentenceVectors, spans, write_segment
from index.store import (
    Part,
    SentenceTable,
    Snapshot,
    build_lock,
    commit_snapshot,
    current_version,
    load_snapshot,
    merge_segments,
    remove_abandoned_builds,
    write_snapshot,
)
from index.text import detect_language, split_sentences
from index.word_map import english_words

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
Gather = Callable[[np.ndarray], np.ndarray]  # an old index's vectors at rows
EMBED_CHUNK = 256  # texts per embedding call: bounds memory and lets progress move


@dataclass(frozen=True)
class BuildReport:
    """What a build did (printed by ``newsbot index``)."""

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    kept_broken: tuple[str, ...] = ()  # articles whose file broke: their last good version stays
    problems: tuple[ArticleProblem, ...] = ()
    articles: int = 0
    passages: int = 0
    embedded: int = 0
    reused: int = 0
    sentences_embedded: int = 0  # sentences of new passages, for the spaces that keep them
    names_embedded: int = 0  # names new to the index, for the spaces that keep them
    words_embedded: int = 0  # English words new to the index, likewise (index.word_map)
    seconds: float = 0.0
    version: str | None = None  # the new snapshot, or None when nothing had to change
    full: bool = False
    # The new snapshot, already loaded, for a caller that serves it (None when unchanged).
    snapshot: Snapshot | None = field(default=None, repr=False, compare=False)

    @property
    def is_unchanged(self) -> bool:
        return self.version is None


# Kept while the article is (the engine's reader hands back the same objects for unchanged
# files; weak, so an article the reader let go takes its hash with it): 0.44 s of every update
# at 10,000 articles went to hashing them again.
_HASHES: weakref.WeakKeyDictionary[Article, str] = weakref.WeakKeyDictionary()


def article_hash(article: Article) -> str:
    """Hash of everything about an article that ends up in the index."""
    known = _HASHES.get(article)
    if known is None:
        # vars(), not asdict(): the same JSON (fields are plain values) at a tenth of the cost.
        payload = json.dumps(vars(article), ensure_ascii=False, sort_keys=True)
        known = _HASHES[article] = hashlib.sha1(payload.encode("utf-8")).hexdigest()
    return known


def build_index(
    articles_dir: Path,
    index_dir: Path,
    embedders: Sequence[Embedder],
    *,
    full: bool = False,
    progress: Progress | None = None,
    in_service: Snapshot | None = None,
    reader: ArticleReader | None = None,
) -> BuildReport:
    """Bring the index in ``index_dir`` up to date with the articles in ``articles_dir``.

    Unchanged articles keep their passages and vectors; vectors are reused by content hash and
    embedder, so only new or edited paragraphs are embedded. ``full`` ignores the old index.
    ``in_service`` is the caller's copy of the snapshot in service, used instead of reading it again
    if it is still the one in service; ``reader`` keeps the parses of unchanged files from one
    build to the next (a fresh one if None).

    Raises:
        NoArticlesError: the folder is missing, empty, or no file in it could be read.
    """
    started = time.perf_counter()
    loaded = load_articles(articles_dir, reader)
    with build_lock(index_dir):
        previous = None if full else _previous_snapshot(index_dir, in_service)
        articles, kept = _with_last_good_versions(loaded.articles, loaded.problems, previous)
        if not articles:
            raise NoArticlesError(
                f"No article in {articles_dir} could be read: "
                + "; ".join(f"{p.path.name}: {p.reason}" for p in loaded.problems)
            )
        old_hashes = previous.article_hashes() if previous else {}
        hashes = {a.article_id: article_hash(a) for a in articles}
        hashes.update({article_id: old_hashes[article_id] for article_id in kept})
        added, changed, removed = _compare(old_hashes, hashes)
        snapshot = None
        embedded = _Embedded(passages=0, sentences=0, names=0, words=0)
        if previous is None or previous.is_legacy or not _same_names_rule(previous):
            reusable = False
        else:
            reusable = _same_spaces(previous, embedders)
        if previous is not None and reusable and not (added or changed or removed):
            passage_count = len(previous.passages)  # the index stays as it is
        elif previous is not None and reusable:
            # An update: one new segment for the new and edited articles, the old rows of the
            # edited and removed ones deleted (what is written follows the article).
            changes = _Changes(added, changed, removed)
            snapshot, embedded = _update(
                index_dir, previous, articles, hashes, changes, embedders, progress, started
            )
            passage_count = len(snapshot.passages)
        else:
            passages = _passages(articles, hashes, old_hashes, previous, embedders)
            names = _names(articles, hashes, old_hashes, previous)
            vectors, embedded = _vectors(
                passages,
                sorted(set().union(*names.values())),
                _words(passages, previous),
                previous,
                embedders,
                progress,
                reuse_terms=True,
            )
            counts = Counter(p.article_id for p in passages)
            snapshot = write_snapshot(
                index_dir,
                passages,
                manifest=_build_facts(started),
                articles=_entries(articles, hashes, counts, names),
                **vectors,
            )
            passage_count = len(passages)
    return BuildReport(
        added=added,
        changed=changed,
        removed=removed,
        kept_broken=tuple(kept),
        problems=loaded.problems,
        articles=len(articles),
        passages=passage_count,
        embedded=embedded.passages,
        reused=passage_count * len(embedders) - embedded.passages,
        sentences_embedded=embedded.sentences,
        names_embedded=embedded.names,
        words_embedded=embedded.words,
        seconds=time.perf_counter() - started,
        version=snapshot.version if snapshot else None,
        full=full,
        snapshot=snapshot,
    )


def _compare(
    old: Mapping[str, str], new: Mapping[str, str]
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Article ids added, changed (same id, another hash) and removed, each sorted."""
    added = sorted(new.keys() - old.keys())
    changed = sorted(k for k in new.keys() & old.keys() if new[k] != old[k])
    removed = sorted(old.keys() - new.keys())
    return tuple(added), tuple(changed), tuple(removed)


@dataclass(frozen=True)
class _Changes:
    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]


def _update(
    index_dir: Path,
    previous: Snapshot,
    articles: Sequence[Article],
    hashes: dict[str, str],
    changes: _Changes,
    embedders: Sequence[Embedder],
    progress: Progress | None,
    started: float,
) -> tuple[Snapshot, _Embedded]:
    """A new snapshot of ``previous``'s segments, the old rows of edited and removed articles
    deleted, and one new segment: the passages of the new and edited articles, with the names
    and words no segment has yet (vectors reused by content hash where the old index has them)."""
    remove_abandoned_builds(index_dir)
    fresh_ids = set(changes.added) | set(changes.changed)
    fresh = [a for a in articles if a.article_id in fresh_ids]
    new_passages = _passages(fresh, hashes, {}, None, embedders)
    names = _names(articles, hashes, previous.article_hashes(), previous)
    known_names, known_words = previous.known_terms()
    new_names = sorted({n for a in fresh for n in names[a.article_id]} - known_names)
    new_words: set[str] = set()
    for passage in new_passages:
        new_words |= english_words(f"{passage.title}\n{passage.text}")
    vectors, embedded = _vectors(
        new_passages,
        new_names,
        sorted(new_words - known_words),
        previous,
        embedders,
        progress,
        reuse_terms=False,
    )
    deleted = previous.rows_of_articles([*changes.changed, *changes.removed])
    parts: list[Part] = []
    emptied: list[Part] = []
    for number, part in enumerate(previous.parts):
        if number in deleted:
            rows = np.union1d(part.deleted, np.asarray(deleted[number], dtype=np.int64))
            part = Part(part.segment, rows.astype(np.int64))
        (parts if len(part.live) else emptied).append(part)
    # A segment left without live rows is dropped; the names (still mentioned) and words it
    # held a vector of for the whole index move into the new segment, copied, not embedded.
    mentioned = {name for article_names in names.values() for name in article_names}
    for segment in (part.segment for part in emptied):
        _carry(vectors, "names", "name_vectors", segment.names, segment.name_spaces, mentioned)
        _carry(vectors, "words", "word_vectors", segment.words, segment.word_spaces, None)
    if new_passages or vectors["names"] or vectors["words"]:
        counts = Counter(p.article_id for p in new_passages)
        entries = _entries(fresh, hashes, counts, names)
        parts.append(Part(write_segment(index_dir, new_passages, **vectors, articles=entries)))
    spaces = previous.manifest["spaces"]
    parts = _merged(index_dir, parts, spaces)
    return commit_snapshot(index_dir, _build_facts(started), spaces, parts), embedded


def _carry(
    vectors: dict[str, Any],
    terms_key: str,
    vectors_key: str,
    terms: Sequence[str],
    spaces: Mapping[str, np.ndarray],
    wanted: set[str] | None,
) -> None:
    """Add ``terms`` (those in ``wanted``, all if None) and their vectors in ``spaces`` to a new
    segment's ``vectors`` (as ``_vectors`` returns them), after the terms it has."""
    rows = [row for row, term in enumerate(terms) if wanted is None or term in wanted]
    if not rows:
        return
    vectors[terms_key] = [*vectors[terms_key], *(terms[row] for row in rows)]
    for space, table in vectors[vectors_key].items():
        copied = np.asarray(spaces[space][rows], dtype=np.float32)
        vectors[vectors_key][space] = np.concatenate([table, copied])


# Segments of one size class (a power of MERGE_FACTOR of live passages) that accumulate at the
# end of the index are merged into one when there are MERGE_FACTOR of them, as Lucene's
# LogMergePolicy does: a passage is rewritten about once per size class (log_10 of the index),
# and an index of N passages has at most ~MERGE_FACTOR * log_10(N) segments. Inline, under the
# build lock, not yet in the background: the update that completes a class pays for its merge.
MERGE_FACTOR = 10


def _size_class(passages: int) -> int:
    return int(math.log(max(passages, MERGE_FACTOR), MERGE_FACTOR) + 1e-9)


def _merged(index_dir: Path, parts: list[Part], spaces: list[dict[str, Any]]) -> list[Part]:
    """``parts``, with trailing runs of MERGE_FACTOR segments of one size class merged."""
    while parts:
        level = _size_class(len(parts[-1].live))
        run = 0
        while run < len(parts) and _size_class(len(parts[-1 - run].live)) == level:
            run += 1
        if run < MERGE_FACTOR:
            return parts
        merged = merge_segments(index_dir, parts[-run:], spaces)
        parts = [*parts[:-run], Part(merged)]
    return parts


def _build_facts(started: float) -> dict[str, Any]:
    """When the snapshot was built and how long it took, for its manifest."""
    return {
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "build_seconds": round(time.perf_counter() - started, 3),
    }


def _entries(
    articles: Sequence[Article],
    hashes: Mapping[str, str],
    counts: Mapping[str, int],
    names: Mapping[str, list[str]],
) -> dict[str, dict[str, Any]]:
    """Each article's entry (``counts``: its passages), for the segment with its passages."""
    return {
        a.article_id: {
            "title": a.title,
            "url": a.url,
            "published": a.published,
            "file": a.file,
            "hash": hashes[a.article_id],
            "passages": counts[a.article_id],
            "names": names[a.article_id],
            "names_rule": NAMES_RULE,
        }
        for a in articles
    }


def _previous_snapshot(index_dir: Path, in_service: Snapshot | None) -> Snapshot | None:
    if in_service is not None and in_service.path.parent == index_dir:
        with contextlib.suppress(IndexCorruptError):
            if current_version(index_dir) == in_service.version:
                return in_service  # reading 10,000 passages again took 0.1-0.25 s
    try:
        return load_snapshot(index_dir)
    except IndexNotFoundError:
        return None
    except IndexCorruptError as exc:
        # Not the error's own advice ("run newsbot index"): this is that build.
        logger.warning("Rebuilding the index from the articles: %s", exc.problem)
        return None


def _with_last_good_versions(
    articles: Sequence[Article],
    problems: Sequence[ArticleProblem],
    previous: Snapshot | None,
) -> tuple[list[Article], list[str]]:
    """Keep the indexed version of an article whose file is now broken: lose nothing."""
    result = list(articles)
    if previous is None or not problems:
        return result, []
    broken_files = {p.path.name for p in problems if not p.refused}
    present = {a.article_id for a in articles}
    kept = []
    for article_id, meta in previous.article_meta.items():
        if meta.get("file") in broken_files and article_id not in present:
            result.append(_article_from_snapshot(previous, article_id))
            kept.append(article_id)
    return result, kept


def _article_from_snapshot(snapshot: Snapshot, article_id: str) -> Article:
    meta = snapshot.article_meta[article_id]
    paragraphs: dict[int, list[str]] = {}
    for passage in snapshot.passages:
        if passage.article_id == article_id:
            paragraphs.setdefault(passage.paragraph, []).append(passage.text)
    return Article(
        article_id=article_id,
        title=meta["title"],
        paragraphs=tuple(" ".join(paragraphs[n]) for n in sorted(paragraphs)),
        url=meta.get("url"),
        published=meta.get("published"),
        file=meta.get("file"),
    )


def _passages(
    articles: Sequence[Article],
    hashes: dict[str, str],
    old_hashes: dict[str, str],
    previous: Snapshot | None,
    embedders: Sequence[Embedder],
) -> list[Passage]:
    """Passages of every article; unchanged articles reuse their old split (no tokenising)."""
    old_by_article: dict[str, list[Passage]] = {}
    if previous is not None:
        for passage in previous.passages:
            old_by_article.setdefault(passage.article_id, []).append(passage)

    def fits(text: str) -> bool:
        # Only models that can read the text limit its length: all-MiniLM-L6-v2 spells Cyrillic
        # letter by letter, and splitting Russian paragraphs for it cut e5's recall (a model
        # that cannot read a language is never used to search it).
        readers = [e for e in embedders if _reads(e, text)] or embedders
        return all(embedder.fits(text) for embedder in readers)

    passages: list[Passage] = []
    for article in articles:
        unchanged = old_hashes.get(article.article_id) == hashes[article.article_id]
        if unchanged and article.article_id in old_by_article:
            passages.extend(old_by_article[article.article_id])
        else:
            passages.extend(article_passages(article, fits))
    return passages


def _same_names_rule(previous: Snapshot) -> bool:
    """Whether every article's names were found by today's ``NAMES_RULE``."""
    articles = previous.article_meta.values()
    return all(article.get("names_rule", 1) == NAMES_RULE for article in articles)


def _names(
    articles: Sequence[Article],
    hashes: Mapping[str, str],
    old_hashes: Mapping[str, str],
    previous: Snapshot | None,
) -> dict[str, list[str]]:
    """The names each article mentions; unchanged articles keep the ones found before by the
    same rule (``NAMES_RULE``: after a change to it every article's are found again, once)."""
    old = previous.article_meta if previous is not None else {}
    common = common_english_words()
    names = {}
    for article in articles:
        before = old.get(article.article_id, {})
        known = before.get("names") if before.get("names_rule", 1) == NAMES_RULE else None
        unchanged = old_hashes.get(article.article_id) == hashes[article.article_id]
        names[article.article_id] = (
            known if unchanged and known is not None else article_names(article, common)
        )
    return names


def _words(passages: Sequence[Passage], previous: Snapshot | None) -> list[str]:
    """The English words of the passages (``index.word_map``): the old index's, plus those of
    the passages it did not have (a word of a removed article stays until a full rebuild)."""
    words: set[str] = set(previous.words) if previous is not None else set()
    old = {p.content_hash for p in previous.passages} if previous is not None and words else set()
    for passage in passages:
        if passage.content_hash not in old:
            words |= english_words(f"{passage.title}\n{passage.text}")
    return sorted(words)


def _reads(embedder: Embedder, text: str) -> bool:
    return detect_language(text) == "en" or embedder.multilingual


def _same_spaces(previous: Snapshot, embedders: Sequence[Embedder]) -> bool:
    """Whether the index has exactly the embedders' spaces, with sentence, name and word
    vectors where they are kept (an index from an older newsbot gains them at the next build)."""
    if sorted(previous.spaces) != sorted(e.name for e in embedders):
        return False
    return all(
        previous.sentences(e.name) is not None
        and previous.name_vectors(e.name) is not None
        and previous.word_vectors(e.name) is not None
        for e in embedders
        if e.multilingual
    )


@dataclass(frozen=True)
class _Embedded:
    passages: int  # passage texts embedded, summed over the embedders
    sentences: int
    names: int
    words: int


def _vectors(
    passages: Sequence[Passage],
    names: Sequence[str],
    words: Sequence[str],
    previous: Snapshot | None,
    embedders: Sequence[Embedder],
    progress: Progress | None,
    *,
    reuse_terms: bool,
) -> tuple[dict[str, Any], _Embedded]:
    """The vectors of a segment, as ``write_segment`` takes them: passage vectors per embedder
    (rows aligned with ``passages``), and sentence, name and word vectors for the spaces that
    keep them. Vectors of texts the old index has are reused (names and words only if
    ``reuse_terms``: an update passes only terms new to the index), the rest embedded (every
    space's passages first, then the sentences, the names and the words)."""
    texts = [p.text for p in passages]
    # each passage's row in the old index, looked up once for all spaces
    hashes = [p.content_hash for p in passages]
    old_rows = previous.rows_of(hashes) if previous else np.full(len(passages), -1, np.int64)
    term_source = previous if reuse_terms else None
    passage_plans = [
        (e, _ReusePlan.make(texts, old_rows, _old_vectors(previous, e), e.dimension))
        for e in embedders
    ]
    multilingual = [e for e in embedders if e.multilingual]
    sentence_plans = [
        (e, _SentencePlan.make(passages, old_rows, _old_sentences(previous, e)))
        for e in multilingual
    ]
    name_plans = [
        (e, _ReusePlan.make(names, *_old_term_vectors(term_source, e, "names", names), e.dimension))
        for e in multilingual
    ]
    word_plans = [
        (e, _ReusePlan.make(words, *_old_term_vectors(term_source, e, "words", words), e.dimension))
        for e in multilingual
    ]
    plans: list[tuple[Embedder, Any]] = [
        *passage_plans,
        *sentence_plans,
        *name_plans,
        *word_plans,
    ]
    embed = _Embedding(sum(len(plan.texts) for _, plan in plans), progress)
    vectors = {e.name: plan.fill(embed(e, plan.texts)) for e, plan in passage_plans}
    sentences = {
        e.name: plan.assemble(embed(e, plan.texts), vectors[e.name]) for e, plan in sentence_plans
    }
    name_vectors, word_vectors = (
        {e.name: plan.fill(embed(e, plan.texts, as_queries=True)) for e, plan in term_plans}
        for term_plans in (name_plans, word_plans)
    )
    embedded = _Embedded(
        passages=sum(len(plan.texts) for _, plan in passage_plans),
        sentences=sum(len(plan.texts) for _, plan in sentence_plans),
        names=sum(len(plan.texts) for _, plan in name_plans),
        words=sum(len(plan.texts) for _, plan in word_plans),
    )
    snapshot_vectors = {
        "vectors": vectors,
        "sentences": sentences,
        "names": names,
        "name_vectors": name_vectors,
        "words": words,
        "word_vectors": word_vectors,
    }
    return snapshot_vectors, embedded


class _Embedding:
    """Embeds texts in chunks of ``EMBED_CHUNK``, reporting progress over all the build's texts."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self._total = total
        self._done = 0
        self._progress = progress
        if progress and total:
            progress(0, total)

    def __call__(
        self, embedder: Embedder, texts: Sequence[str], *, as_queries: bool = False
    ) -> np.ndarray:
        parts = [np.zeros((0, embedder.dimension), dtype=np.float32)]
        for start in range(0, len(texts), EMBED_CHUNK):
            chunk = texts[start : start + EMBED_CHUNK]
            parts.append(
                embedder.embed_queries(chunk, bulk=True)
                if as_queries
                else embedder.embed_passages(chunk)
            )
            self._done += len(chunk)
            if self._progress:
                self._progress(self._done, self._total)
        return np.concatenate(parts)


def _rows_in(keys: Sequence[str], rows: Mapping[str, int]) -> np.ndarray:
    """The row of each key in ``rows``, -1 where it has none."""
    return np.fromiter((rows.get(key, -1) for key in keys), dtype=np.int64, count=len(keys))


@dataclass(frozen=True)
class _ReusePlan:
    """One space's vectors of a list of texts (passages, or names): those the old index had,
    by key, copied (one numpy gather: a Python loop over rows took ~1 s at 100,000 passages);
    the rest, ``texts`` at rows ``missing``, to be embedded."""

    vectors: np.ndarray  # (len(texts), dimension); the missing rows are filled by ``fill``
    missing: np.ndarray
    texts: list[str]

    @classmethod
    def make(
        cls, texts: Sequence[str], old_rows: np.ndarray, old: Gather | None, dimension: int
    ) -> _ReusePlan:
        """``old_rows``: each text's row among the old index's vectors, -1 for a text it lacks;
        ``old`` gives the vectors at rows (None when they cannot be reused)."""
        vectors = np.zeros((len(texts), dimension), dtype=np.float32)
        have = old_rows >= 0 if old is not None else np.zeros(len(texts), dtype=bool)
        if old is not None and have.any():
            vectors[have] = old(old_rows[have])
        missing = np.flatnonzero(~have)
        return cls(vectors, missing, [texts[row] for row in missing.tolist()])

    def fill(self, embedded: np.ndarray) -> np.ndarray:
        """All the vectors, once the missing rows' texts are ``embedded``."""
        self.vectors[self.missing] = embedded
        return self.vectors


@dataclass(frozen=True)
class _SentencePlan:
    """Where each passage's sentence vectors come from, in one of three ways:

    - ``old_rows[row] >= 0``: the old index's, for the same text (that row of ``old``);
    - ``new_counts[row] > 0``: that many of ``texts``, its sentences, to be embedded (in order);
    - neither: the passage is one sentence, and its passage vector is that sentence's.
    """

    old: SentenceTable | None
    old_rows: np.ndarray
    new_counts: np.ndarray
    texts: list[str]

    @classmethod
    def make(
        cls, passages: Sequence[Passage], old_rows: np.ndarray, old: SentenceTable | None
    ) -> _SentencePlan:
        """``old_rows``: each passage's row in the old index (-1 if new); ``old``: its sentence
        vectors in this space (None when they cannot be reused)."""
        if old is None:
            old_rows = np.full(len(passages), -1, dtype=np.int64)
        new_counts = np.zeros(len(passages), dtype=np.int64)
        texts: list[str] = []
        for row in np.flatnonzero(old_rows < 0).tolist():
            sentences = split_sentences(passages[row].text)
            if len(sentences) > 1:
                new_counts[row] = len(sentences)
                texts.extend(sentences)
        return cls(old, old_rows, new_counts, texts)

    def assemble(self, embedded: np.ndarray, passage_vectors: np.ndarray) -> SentenceVectors:
        """The sentence vectors of every passage, once ``texts`` are ``embedded``: the old ones
        gathered in one copy, the new ones and the one-sentence passages' put in place."""
        reused = self.old_rows >= 0
        single = ~reused & (self.new_counts == 0)
        sizes = np.where(single, 1, self.new_counts)
        old = self.old.gather(self.old_rows[reused]) if self.old and reused.any() else None
        if old is not None:
            sizes[reused] = np.diff(old.offsets)
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        starts = offsets[:-1]
        out = np.empty((int(offsets[-1]), passage_vectors.shape[1]), dtype=np.float16)
        if old is not None:
            out[spans(starts[reused], sizes[reused])] = old.vectors
        fresh = self.new_counts > 0
        out[spans(starts[fresh], sizes[fresh])] = embedded
        out[starts[single]] = passage_vectors[single]
        return SentenceVectors(offsets, out)


def _old_vectors(previous: Snapshot | None, embedder: Embedder) -> Gather | None:
    """The old index's passage vectors in one space at rows, if it has that space at this size."""
    if previous is None or previous.spaces.get(embedder.name) != embedder.dimension:
        return None
    return functools.partial(previous.vectors, embedder.name)


def _old_sentences(previous: Snapshot | None, embedder: Embedder) -> SentenceTable | None:
    """The old index's sentence vectors in one space, if it keeps them at this size."""
    if previous is None or previous.spaces.get(embedder.name) != embedder.dimension:
        return None
    return previous.sentences(embedder.name)


def _old_term_vectors(
    previous: Snapshot | None, embedder: Embedder, kind: str, terms: Sequence[str]
) -> tuple[np.ndarray, Gather | None]:
    """Each of ``terms``' row among the old index's names or words (``kind``), and their
    vectors in one space (None when it keeps none at this size)."""
    if previous is None:
        return np.full(len(terms), -1, dtype=np.int64), None
    keys = previous.names if kind == "names" else previous.words
    old = (previous.name_vectors if kind == "names" else previous.word_vectors)(embedder.name)
    if old is None or old.shape[1] != embedder.dimension:
        return np.full(len(terms), -1, dtype=np.int64), None
    return _rows_in(terms, {key: row for row, key in enumerate(keys)}), old.__getitem__
