"""Retrieval: embed the question in each vector space, search FAISS, fuse the scores."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from index.embedder import Embedder
from index.models import Hit
from index.store import Snapshot
from index.text import detect_language

CANDIDATES_PER_SPACE = 30


@dataclass(frozen=True)
class Query:
    """A question as the retriever sees it: its text, language and one vector per space."""

    text: str
    language: str
    vectors: dict[str, np.ndarray]


def is_multilingual(embedder: Embedder) -> bool:
    """Whether the embedder reads Russian (all-MiniLM-L6-v2 splits Cyrillic into letters)."""
    return bool(getattr(embedder, "multilingual", False))


class Retriever:
    """Finds the passages of one snapshot that best match a question.

    Each space's cosine similarity is put on a common scale (``calibration``: offset, scale) so
    that spaces can be averaged and one threshold decides "not found".
    """

    def __init__(self, snapshot: Snapshot, embedders: Sequence[Embedder]) -> None:
        snapshot.check_embedders([e.name for e in embedders])
        self.snapshot = snapshot
        self._embedders = list(embedders)

    def embed(self, question: str) -> Query:
        """Embed the question in every space that can read its language."""
        language = detect_language(question)
        active = [e for e in self._embedders if language == "en" or is_multilingual(e)]
        if not active:  # an English-only configuration still answers, as well as it can
            active = self._embedders
        return Query(question, language, {e.name: e.embed_query(question) for e in active})

    def search(self, query: Query, top_k: int) -> list[Hit]:
        """The ``top_k`` best passages, best first, with fused scores."""
        candidates: set[int] = set()
        for name, vector in query.vectors.items():
            rows = self.snapshot.search(name, vector, max(top_k, CANDIDATES_PER_SPACE))
            candidates.update(row for row, _ in rows)
        if not candidates:
            return []
        rows = np.fromiter(sorted(candidates), dtype=np.int64)
        fused = np.zeros(len(rows), dtype=np.float32)
        for name, vector in query.vectors.items():
            fused += self.snapshot.matrix(name)[rows] @ vector
        fused /= len(query.vectors)
        order = np.argsort(-fused)[:top_k]
        passages = self.snapshot.passages
        return [Hit(passages[int(rows[i])], float(fused[i])) for i in order]
