"""Russian questions about English passages, word by word: each Russian word of a question is
matched to the English word of the index whose multilingual vector is closest ("компаниях" ->
"companies", "году" -> "year"), and BM25 searches the English words found as it searches the
question's own.

Across languages BM25 otherwise has nothing to match (only names quoted in Latin letters), so the
fused score of a Russian question rests on e5's cosine alone, which is low and close between
paragraphs; many answerable questions fell below "not found". The build keeps one e5 "query:"
vector per English word of the passages (``words.json``, ``word-vectors-<n>.npy``), and a question
costs one more e5 call for its Russian words (about 10 ms a word on 2 cores), made only when
its best passage is in English, and only for words not seen lately (``WordVectorCache``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np

from index.lexical import content_words, tokenize
from index.text import CYRILLIC

# Below this cosine (e5 "query:" vectors of the bare words) a Russian word and an English one are
# not translations. Set with the prototype on the tune half of xquad-dev ru->en: at 0.86 with the
# first match only, answered right 0.727 -> 0.832 at the same refusal rate; three matches per word
# (0.787) or a higher BM25 weight (0.790) did worse. The same bar as names (index.names).
WORD_SIMILARITY = 0.86
# A word's few nearest English words are tried in order: the first whose stem still occurs in some
# passage (words of removed articles stay in words.json until a full rebuild) is its match.
NEAREST = 5


def english_words(text: str) -> set[str]:
    """The words of ``text`` that the build embeds for this map: Latin letters only (no digits),
    three letters or more, lower-cased, stop words dropped."""
    return {
        w for w in content_words(text) if len(w) >= 3 and w.isalpha() and not CYRILLIC.search(w)
    }


def russian_words(text: str) -> list[str]:
    """The Cyrillic content words of a question of three letters or more (as ``english_words``:
    "ИИ" came out as "ideological"), in order, each once."""
    return list(dict.fromkeys(w for w in content_words(text) if len(w) >= 3 and CYRILLIC.search(w)))


class WordMap:
    """The English words of one index with their multilingual vectors.

    Args:
        words: the index's English words (``english_words`` of its passages).
        vectors: one L2-normalised vector per word (rows in ``words`` order), or None.
        in_use: whether a stemmed word occurs in some passage (the BM25 index's idf > 0).
    """

    def __init__(
        self,
        words: Sequence[str],
        vectors: np.ndarray | None,
        in_use: Callable[[str], bool],
    ) -> None:
        self.words = list(words)
        self._vectors = vectors if vectors is not None and len(words) else None
        self._in_use = in_use
        self._matrix: np.ndarray | None = None
        self._stems: dict[int, str] = {}

    def __bool__(self) -> bool:
        return self._vectors is not None

    def stems(self, vectors: np.ndarray) -> list[str | None]:
        """The stem of the English word each of ``vectors`` (a Russian word's, one per row)
        means: its nearest index word at ``WORD_SIMILARITY`` or more that is in use, else None."""
        if self._vectors is None or not len(vectors):
            return [None] * len(vectors)
        similarity = np.asarray(vectors, dtype=np.float32) @ self._float32().T
        nearest = min(NEAREST, similarity.shape[1])
        found: list[str | None] = []
        for row in similarity:
            top = np.argpartition(-row, nearest - 1)[:nearest]
            match = None
            for column in top[np.argsort(-row[top])]:
                if row[column] < WORD_SIMILARITY:
                    break
                stem = self._stem(int(column))
                if stem and self._in_use(stem):
                    match = stem
                    break
            found.append(match)
        return found

    def _float32(self) -> np.ndarray:
        if self._matrix is None:  # made at the first Russian question (float32 for the BLAS)
            self._matrix = np.asarray(self._vectors, dtype=np.float32)
        return self._matrix

    def _stem(self, column: int) -> str:
        stem = self._stems.get(column)
        if stem is None:
            stems = tokenize(self.words[column])
            stem = self._stems[column] = stems[0] if stems else ""
        return stem


# Russian words whose vectors are kept between questions (and reloads): ~1.5 KB each.
CACHED_WORDS = 20_000


class WordVectorCache:
    """The multilingual vectors of the Russian words questions used lately (least recently used
    dropped first), shared by the retrievers of one engine."""

    def __init__(self, embed: Callable[[Sequence[str]], np.ndarray], size: int = CACHED_WORDS):
        self._embed = embed
        self._size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, words: Sequence[str]) -> np.ndarray:
        """One vector per word (rows in order); the words not cached are embedded in one call."""
        with self._lock:
            found = {w: self._vectors[w] for w in words if w in self._vectors}
            for word in found:
                self._vectors.move_to_end(word)
        missing = [w for w in dict.fromkeys(words) if w not in found]
        if missing:
            embedded = self._embed(missing)
            found.update(zip(missing, embedded, strict=True))
            with self._lock:
                self._vectors.update(zip(missing, embedded, strict=True))
                while len(self._vectors) > self._size:
                    self._vectors.popitem(last=False)
        return np.stack([found[w] for w in words]) if words else np.zeros((0, 0), np.float32)
