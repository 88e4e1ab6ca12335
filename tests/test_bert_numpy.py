"""The bundled MiniLM computed in numpy: the same vectors and token counts as sentence-transformers,
and a question-only process that never loads torch."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index.embedders.bert_numpy import NumpyBert, is_supported
from index.embedders.sentence_transformers import (
    SentenceTransformerEmbedder,
    resolve_model_path,
)
from index.engine import NewsEngine
from tests.conftest import ROOT, SEED_QUESTIONS, SEEDS, XQUAD, batch_tolerance

BUNDLED = Path(resolve_model_path("all-MiniLM-L6-v2"))
# What questions look like, and what the build's name lookup embeds (bare words, names), plus
# the edges: an empty text, accents, Cyrillic (split into letters), and input past 256 tokens.
EDGE_CASES = ["Moon", "lunar", "Denmark", "café naïve résumé", "", "x" * 3000, "word " * 400]


def _questions() -> list[str]:
    lines = SEED_QUESTIONS.read_text("utf-8").splitlines()
    for name in ("questions_en.jsonl", "questions_ru.jsonl"):
        lines += (XQUAD / name).read_text("utf-8").splitlines()[::10]
    return [json.loads(line)["question"] for line in lines] + EDGE_CASES


@pytest.fixture(scope="module")
def numpy_bert() -> NumpyBert:
    return NumpyBert(BUNDLED)


@pytest.fixture(scope="module")
def sentence_transformer() -> object:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(BUNDLED), device="cpu")


def test_question_vectors_are_sentence_transformers_vectors(
    numpy_bert: NumpyBert, sentence_transformer: object
) -> None:
    questions = _questions()
    expected = sentence_transformer.encode(questions, normalize_embeddings=True)  # type: ignore[attr-defined]
    batched = numpy_bert.encode(questions)
    one_by_one = np.stack([numpy_bert.encode([q])[0] for q in questions[:40]])
    assert batched.dtype == np.float32
    assert batched.shape == (len(questions), 384)
    assert float((expected * batched).sum(axis=1).min()) > 0.99999
    assert float((expected[:40] * one_by_one).sum(axis=1).min()) > 0.99999


def test_token_counts_are_sentence_transformers_counts(
    numpy_bert: NumpyBert, sentence_transformer: object
) -> None:
    texts = _questions() + [p.read_text("utf-8") for p in SEEDS.glob("*.txt")]
    tokenizer = sentence_transformer.tokenizer  # type: ignore[attr-defined]
    assert [numpy_bert.token_count(t) for t in texts] == [
        len(tokenizer(t)["input_ids"]) for t in texts
    ]
    assert numpy_bert.max_tokens == sentence_transformer.max_seq_length  # type: ignore[attr-defined]


def test_passage_vectors_are_sentence_transformers_vectors(sentence_transformer: object) -> None:
    # Builds embed the bundled model's passages padded per text (and in bfloat16 where the CPU
    # has it): the vectors sentence-transformers gives, and the same alone as in any batch
    # (exactly, or within bfloat16's rounding where AMX kernels block by the batch's rows).
    embedder = SentenceTransformerEmbedder("all-MiniLM-L6-v2")
    texts = [p.read_text("utf-8") for p in SEEDS.glob("*.txt")]
    texts += (XQUAD / "articles" / "01_super_bowl_50.md").read_text("utf-8").split("\n\n")
    texts += EDGE_CASES
    ours = embedder.embed_passages(texts)
    expected = sentence_transformer.encode(texts, normalize_embeddings=True)  # type: ignore[attr-defined]
    assert ours.dtype == np.float32
    assert ours.shape == (len(texts), 384)
    assert float((expected * ours).sum(axis=1).min()) > 0.9999
    for i in (0, 3, len(texts) - 1):
        alone = embedder.embed_passages([texts[i]])[0]
        assert np.abs(alone - ours[i]).max() < batch_tolerance(1e-6)
        assert float(alone @ ours[i]) > 0.99999
    assert embedder.embed_passages([]).shape == (0, 384)


def test_only_the_shape_computed_here_is_supported(tmp_path: Path) -> None:
    assert is_supported(BUNDLED)
    other = tmp_path / "model"
    shutil.copytree(BUNDLED, other)
    pooling = json.loads((other / "1_Pooling" / "config.json").read_text("utf-8"))
    (other / "1_Pooling" / "config.json").write_text(
        json.dumps(pooling | {"pooling_mode_cls_token": True}), "utf-8"
    )
    assert not is_supported(other)
    assert not is_supported(tmp_path / "missing")


def test_the_bundled_model_loads_torch_only_to_embed_passages() -> None:
    embedder = SentenceTransformerEmbedder("all-MiniLM-L6-v2")
    assert embedder._loaded is None  # type: ignore[attr-defined]
    assert embedder.fits("A short paragraph.")
    question = embedder.embed_query("Who developed GigaChat?")
    assert embedder._loaded is None  # type: ignore[attr-defined]
    passage = embedder.embed_passages(["GigaChat is a tool developed by Sberbank."])[0]
    assert embedder._loaded is not None  # type: ignore[attr-defined]
    assert float(question @ passage) > 0.5


def test_a_question_process_loads_neither_torch_nor_the_intake(
    engine: NewsEngine, tmp_path: Path
) -> None:
    folders = ["--articles", str(engine.settings.articles_dir)]
    folders += ["--index", str(engine.settings.index_dir)]
    script = (
        "import sys\n"
        "from bot.cli import cli\n"
        "try:\n"
        f"    cli(['ask', 'Who developed GigaChat?', '--json', *{folders!r}])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code in (0, None), exc.code\n"
        "heavy = ['torch', 'sentence_transformers', 'transformers', 'telegram', 'httpx',\n"
        "         'trafilatura', 'feedparser']\n"
        "print('LOADED', [name for name in heavy if name in sys.modules])\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.splitlines()[0])
    assert answer["citations"][0]["paragraph"] == 9
    assert result.stdout.splitlines()[-1] == "LOADED []"
