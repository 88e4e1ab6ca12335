"""Build or update the index: articles -> passages -> vectors (reused by hash) -> snapshot."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from index.articles import ArticleProblem, ArticleReader, article_passages, load_articles
from index.embedder import Embedder
from index.errors import IndexCorruptError, IndexNotFoundError, NoArticlesError
from index.models import Article, Passage
from index.store import (
    SentenceVectors,
    Snapshot,
    build_lock,
    current_version,
    load_snapshot,
    write_snapshot,
)
from index.text import detect_language, split_sentences

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
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
    seconds: float = 0.0
    version: str | None = None  # the new snapshot, or None when nothing had to change
    full: bool = False
    # The new snapshot, already loaded, for a caller that serves it (None when unchanged).
    snapshot: Snapshot | None = field(default=None, repr=False, compare=False)

    @property
    def is_unchanged(self) -> bool:
        return self.version is None


def article_hash(article: Article) -> str:
    """Hash of everything about an article that ends up in the index."""
    # vars(), not asdict(): the same JSON (fields are plain values) at a tenth of the cost.
    payload = json.dumps(vars(article), ensure_ascii=False, sort_keys=True)
    return hashlib.sha1(payload.encode("utf-8")).hexdigest()


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
        report = BuildReport(
            added=tuple(sorted(set(hashes) - set(old_hashes))),
            changed=tuple(sorted(k for k in hashes if old_hashes.get(k, hashes[k]) != hashes[k])),
            removed=tuple(sorted(set(old_hashes) - set(hashes))),
            kept_broken=tuple(kept),
            problems=loaded.problems,
            articles=len(articles),
            full=full,
        )
        nothing_changed = not (report.added or report.changed or report.removed)
        if previous is not None and nothing_changed and _same_spaces(previous, embedders):
            reused = len(previous.passages) * len(embedders)
            return _finish(report, started, len(previous.passages), reused)
        passages = _passages(articles, hashes, old_hashes, previous, embedders)
        vectors, sentences, embedded = _vectors(passages, previous, embedders, progress)
        # Counted once: a per-article scan of all passages took 2 s at 10,000 passages.
        counts = Counter(p.article_id for p in passages)
        manifest = {
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "build_seconds": round(time.perf_counter() - started, 3),
            "articles": {
                a.article_id: {
                    "title": a.title,
                    "url": a.url,
                    "published": a.published,
                    "file": a.file,
                    "hash": hashes[a.article_id],
                    "passages": counts[a.article_id],
                }
                for a in articles
            },
        }
        snapshot = write_snapshot(index_dir, passages, vectors, manifest, sentences)
    reused = len(passages) * len(embedders) - embedded.passages
    report = replace(report, sentences_embedded=embedded.sentences)
    return _finish(report, started, len(passages), reused, embedded.passages, snapshot)


def _finish(
    report: BuildReport,
    started: float,
    passages: int,
    reused: int,
    embedded: int = 0,
    snapshot: Snapshot | None = None,
) -> BuildReport:
    return replace(
        report,
        passages=passages,
        embedded=embedded,
        reused=reused,
        version=snapshot.version if snapshot else None,
        snapshot=snapshot,
        seconds=time.perf_counter() - started,
    )


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
        logger.warning("Rebuilding from scratch: %s", exc)
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
    broken_files = {p.path.name for p in problems}
    present = {a.article_id for a in articles}
    kept = []
    for article_id, meta in previous.manifest["articles"].items():
        if meta.get("file") in broken_files and article_id not in present:
            result.append(_article_from_snapshot(previous, article_id))
            kept.append(article_id)
    return result, kept


def _article_from_snapshot(snapshot: Snapshot, article_id: str) -> Article:
    meta = snapshot.manifest["articles"][article_id]
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


def _reads(embedder: Embedder, text: str) -> bool:
    return detect_language(text) == "en" or embedder.multilingual


def _same_spaces(previous: Snapshot, embedders: Sequence[Embedder]) -> bool:
    """Whether the index has exactly the embedders' spaces, with sentence vectors where kept."""
    if sorted(previous.spaces) != sorted(e.name for e in embedders):
        return False
    return all(previous.sentences(e.name) is not None for e in embedders if e.multilingual)


@dataclass(frozen=True)
class _Embedded:
    passages: int  # passage texts embedded, summed over the embedders
    sentences: int


def _vectors(
    passages: Sequence[Passage],
    previous: Snapshot | None,
    embedders: Sequence[Embedder],
    progress: Progress | None,
) -> tuple[dict[str, np.ndarray], dict[str, SentenceVectors], _Embedded]:
    """Passage vectors per embedder (rows aligned with ``passages``) and sentence vectors for
    the spaces that keep them; vectors of unchanged texts are reused, the rest embedded."""
    vectors: dict[str, np.ndarray] = {}
    jobs: list[tuple[Embedder, list[str]]] = []
    missing: dict[str, list[int]] = {}
    for embedder in embedders:
        array = np.zeros((len(passages), embedder.dimension), dtype=np.float32)
        known = _known_vectors(previous, embedder)
        missing[embedder.name] = []
        for row, passage in enumerate(passages):
            vector = known.get(passage.content_hash)
            if vector is None:
                missing[embedder.name].append(row)
            else:
                array[row] = vector
        vectors[embedder.name] = array
        jobs.append((embedder, [passages[row].text for row in missing[embedder.name]]))
    plans = {e.name: _SentencePlan.make(passages, previous, e) for e in embedders if e.multilingual}
    jobs += [(e, plans[e.name].texts) for e in embedders if e.name in plans]
    results = _embed_all(jobs, progress)
    for embedder, result in zip(embedders, results[: len(embedders)], strict=True):
        vectors[embedder.name][missing[embedder.name]] = result
    sentence_results = results[len(embedders) :]
    sentences = {
        name: plan.assemble(result, vectors[name])
        for (name, plan), result in zip(plans.items(), sentence_results, strict=True)
    }
    embedded = _Embedded(
        passages=sum(len(rows) for rows in missing.values()),
        sentences=sum(len(plan.texts) for plan in plans.values()),
    )
    return vectors, sentences, embedded


def _embed_all(
    jobs: Sequence[tuple[Embedder, list[str]]], progress: Progress | None
) -> list[np.ndarray]:
    """Embed every job's texts in chunks, reporting progress over all of them."""
    total = sum(len(texts) for _, texts in jobs)
    done = 0
    if progress and total:
        progress(0, total)
    results = []
    for embedder, texts in jobs:
        parts = [np.zeros((0, embedder.dimension), dtype=np.float32)]
        for start in range(0, len(texts), EMBED_CHUNK):
            chunk = texts[start : start + EMBED_CHUNK]
            parts.append(embedder.embed_passages(chunk))
            done += len(chunk)
            if progress:
                progress(done, total)
        results.append(np.concatenate(parts))
    return results


@dataclass(frozen=True)
class _SentencePlan:
    """Where each passage's sentence vectors come from: the old index (same text), the passage
    vector itself (a one-sentence passage), or ``texts`` to embed (``int``: how many)."""

    blocks: list[np.ndarray | int | None]
    texts: list[str]

    @classmethod
    def make(
        cls, passages: Sequence[Passage], previous: Snapshot | None, embedder: Embedder
    ) -> _SentencePlan:
        known = previous.sentences(embedder.name) if previous is not None else None
        if known is not None and known.vectors.shape[1] != embedder.dimension:
            known = None
        known_rows = (
            {p.content_hash: row for row, p in enumerate(previous.passages)}
            if known is not None and previous is not None
            else {}
        )
        blocks: list[np.ndarray | int | None] = []
        texts: list[str] = []
        for passage in passages:
            row = known_rows.get(passage.content_hash)
            if known is not None and row is not None:
                blocks.append(known.of(row))
                continue
            sentences = split_sentences(passage.text)
            if len(sentences) <= 1:
                blocks.append(None)
            else:
                blocks.append(len(sentences))
                texts.extend(sentences)
        return cls(blocks, texts)

    def assemble(self, embedded: np.ndarray, passage_vectors: np.ndarray) -> SentenceVectors:
        parts = [np.zeros((0, passage_vectors.shape[1]), dtype=np.float32)]
        used = 0
        for row, block in enumerate(self.blocks):
            if block is None:
                parts.append(passage_vectors[row : row + 1])
            elif isinstance(block, int):
                parts.append(embedded[used : used + block])
                used += block
            else:
                parts.append(block)
        counts = [len(part) for part in parts[1:]]
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return SentenceVectors(offsets, np.concatenate(parts).astype(np.float32, copy=False))


def _known_vectors(previous: Snapshot | None, embedder: Embedder) -> dict[str, np.ndarray]:
    if previous is None or embedder.name not in previous.spaces:
        return {}
    if previous.spaces[embedder.name].d != embedder.dimension:
        return {}
    array = previous.vectors(embedder.name)
    return {p.content_hash: array[row] for row, p in enumerate(previous.passages)}
