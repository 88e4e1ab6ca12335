"""numpy's BLAS on one thread while the engine answers a question (index/blas.py)."""

from __future__ import annotations

from threadpoolctl import threadpool_info

from index.blas import one_thread
from index.engine import NewsEngine


def _blas_threads() -> list[int]:
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


def test_one_thread_limits_blas_and_puts_the_count_back() -> None:
    before = _blas_threads()
    assert before  # numpy's OpenBLAS is loaded
    with one_thread():
        assert _blas_threads() == [1] * len(before)
    assert _blas_threads() == before


def test_questions_leave_the_build_s_blas_threads_as_they_were(seed_engine: NewsEngine) -> None:
    before = _blas_threads()
    seed_engine.ask("Какой банк разработал чат-бот?")
    assert _blas_threads() == before
