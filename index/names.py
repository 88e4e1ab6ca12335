"""The names an index mentions (people, places, organisations, products) and how a question's
names are matched against them, within a script and across Latin and Cyrillic.

A question that names something no article mentions ("What did Macron say about AI?", "Будет ли
Кремль использовать YandexGPT?") is not covered, however close its other words come. Matching:

* same script: the word occurs in the index (the BM25 vocabulary: any inflection);
* across scripts: a spelling key (``spelling``) makes Путина ~ Putin, Сбербанк ~ Sberbank and
  Джаред ~ Jared close; otherwise the multilingual model's vectors of the two names (Франция ~
  France, Китай ~ China) are compared, with ``NAME_SIMILARITY`` as the bar.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from index.config import DEFAULT_MODEL
from index.embedders.sentence_transformers import resolve_model_path
from index.errors import EmbedderError
from index.lexical import is_stop_word
from index.models import Article

# Below this cosine (e5 "query:" vectors of the bare names) two names in different scripts are
# different names. Set on the tune half of the dev sets: Франции/France 0.94, Италии/Italy 0.94,
# Китаем/China 0.90; unrelated pairs (Греф/Briffa 0.87, Яндекс/Jean 0.86) fall below.
NAME_SIMILARITY = 0.86
# Raised whenever ``article_names`` finds other names: a build then finds every article's names
# again (~0.1 ms a paragraph), not only those of changed articles. 2: no stop words, and no
# common words seen only where a sentence opens.
NAMES_RULE = 2
_TOKEN = re.compile(r"[^\W_](?:[\w’'-]*[^\W_])?")
_CAPITALISED_RUN = re.compile(r"\b[A-ZА-ЯЁ][\w’'-]+(?:\s+[A-ZА-ЯЁ][\w’'-]+)+")
_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
_MIXED = re.compile(r"[a-zа-яё][A-ZА-ЯЁ]|^[A-ZА-ЯЁ]{2,}$")
_POSSESSIVE = re.compile(r"['’]s$")
# Cyrillic letters to Latin ones the way names are transliterated, vowels merged (a/o, e/i, u)
# because they are where spellings differ most; C and S stand for ч and ш.
_CYRILLIC_TO_LATIN = str.maketrans(
    {
        "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "j",
        "з": "s", "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
        "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "g", "ц": "c",
        "ч": "C", "ш": "S", "щ": "S", "ъ": "", "ы": "i", "ь": "", "э": "e", "ю": "u",
        "я": "a",
    }
)  # fmt: skip
_LATIN_DIGRAPHS = (
    ("sch", "S"), ("tch", "C"), ("ch", "C"), ("sh", "S"), ("th", "t"), ("ph", "f"),
    ("kh", "g"), ("zh", "j"), ("dzh", "j"), ("dj", "j"), ("ck", "k"), ("qu", "kv"),
    ("x", "ks"), ("w", "v"), ("h", "g"), ("q", "k"), ("c", "k"), ("y", "i"), ("z", "s"),
)  # fmt: skip
_RUSSIAN_ENDINGS = (
    "ами", "ями", "ого", "его", "ому", "ему", "ом", "ем", "ой", "ей", "ам", "ям", "ах", "ях",
    "ов", "ев", "ы", "и", "а", "я", "у", "ю", "е",
)  # fmt: skip


def is_cyrillic(word: str) -> bool:
    return bool(_CYRILLIC.search(word))


@lru_cache(maxsize=100_000)
def spelling(word: str) -> str:
    """A key that spells a name alike in Latin and Cyrillic: ``spelling("Путина")`` and
    ``spelling("Putin")`` share the prefix ``pitin``."""
    text = word.casefold()
    if is_cyrillic(text):
        text = text.replace("дж", "j").replace("кс", "ks").translate(_CYRILLIC_TO_LATIN)
    else:
        for latin, key in _LATIN_DIGRAPHS:
            text = text.replace(latin, key)
    text = re.sub(r"[^a-zCS]", "", text).replace("o", "a").replace("e", "i").replace("u", "a")
    return re.sub(r"(.)\1+", r"\1", text)


def _distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            )
        previous = current
    return previous[-1]


def spelled_alike(question_word: str, index_name: str) -> bool:
    """Whether a name in a question and a name in the index are one name spelled differently
    (another script, a Russian case ending, a letter or two off)."""
    forms = [question_word]
    if is_cyrillic(question_word):
        folded = question_word.casefold()
        forms += [
            question_word[: -len(ending)]
            for ending in _RUSSIAN_ENDINGS
            if folded.endswith(ending) and len(question_word) - len(ending) >= 3
        ]
    target = spelling(index_name)
    for form in forms:
        key = spelling(form)
        if not key or not target:
            continue
        if min(len(key), len(target)) >= 4 and (target.startswith(key) or key.startswith(target)):
            return True
        if _distance(key, target) <= int(0.25 * max(len(key), len(target))):
            return True
    return False


@lru_cache(maxsize=1)
def common_english_words() -> frozenset[str]:
    """The whole words of the bundled all-MiniLM-L6-v2's vocabulary (bert-base-uncased's, lower
    case): common English words, and some common names. Empty if the package is missing."""
    try:
        folder = Path(resolve_model_path(DEFAULT_MODEL))
        vocabulary = json.loads((folder / "tokenizer.json").read_text("utf-8"))["model"]["vocab"]
    except (EmbedderError, OSError, ValueError, KeyError, TypeError):
        return frozenset()
    return frozenset(word for word in vocabulary if word.isalpha() and word.isascii())


def _opens_sentence(text: str, start: int) -> bool:
    before = text[:start].rstrip(" \"'«“‘(")
    return not before or before[-1] in ".!?…"


def article_names(article: Article, common: Collection[str] = frozenset()) -> list[str]:
    """The names an article mentions, lower-cased: capitalised words of its paragraphs whose
    lower-case form the article never uses and that are not stop words (so "The", "This" or "But"
    are not names, "Hobson" opening a sentence is), CamelCase words and acronyms, and runs of
    capitalised words joined ("Super Bowl" -> "superbowl", matching "Супербоул"). A word
    capitalised only where a sentence opens is no name if it is one of the ``common`` words
    (``common_english_words``: "Last week" -> last). The title is left out: titles capitalise
    every word."""
    texts = list(article.paragraphs)
    lower: set[str] = set()
    capitalised: set[str] = set()
    inside: set[str] = set()  # capitalised where no sentence opens
    for text in texts:
        for match in _TOKEN.finditer(text):
            word = _POSSESSIVE.sub("", match.group())
            if word[0].isupper():
                capitalised.add(word)
                if not _opens_sentence(text, match.start()):
                    inside.add(word)
            else:
                lower.add(word.casefold())
    names = {
        word.casefold()
        for word in capitalised
        if len(word) >= 2
        and not is_stop_word(word.casefold())  # "But", "After", "Both" opening a sentence
        and (word.casefold() not in lower or _MIXED.search(word))
        and (word in inside or word.casefold() not in common or _MIXED.search(word))
    }
    for text in texts:
        names.update("".join(run.split()).casefold() for run in _CAPITALISED_RUN.findall(text))
    return sorted(names)


class NameIndex:
    """The names of one index, with the multilingual model's vector of each (when it has one).

    Args:
        names: every name the index mentions, lower-cased.
        vectors: one L2-normalised vector per name (rows in ``names`` order), or None.
    """

    def __init__(self, names: Sequence[str], vectors: np.ndarray | None = None) -> None:
        self.names = list(names)
        self.vectors = vectors
        self._cyrillic = np.array([is_cyrillic(name) for name in self.names], dtype=bool)
        self._by_script: dict[bool, np.ndarray] = {}
        self._by_first: dict[str, list[str]] = {}
        for name in self.names:
            key = spelling(name)
            if key:
                self._by_first.setdefault(key[0], []).append(name)

    def has_spelling_of(self, word: str) -> bool:
        """Whether some index name is ``word`` spelled alike (see ``spelled_alike``)."""
        key = spelling(word)
        if not key:
            return False
        candidates = self._by_first.get(key[0], ())
        return any(
            abs(len(spelling(name)) - len(key)) <= 4 and spelled_alike(word, name)
            for name in candidates
        )

    def similarity(self, vector: np.ndarray, *, cyrillic: bool) -> float:
        """The highest cosine of ``vector`` (a name's) to the vector of an index name written in
        Cyrillic (``cyrillic``) or in Latin letters; 0 if there is none."""
        matrix = self._script_vectors(cyrillic)
        return float(np.max(matrix @ vector)) if len(matrix) else 0.0

    def _script_vectors(self, cyrillic: bool) -> np.ndarray:
        matrix = self._by_script.get(cyrillic)
        if matrix is None:  # made at the first question that needs it (float32 for the BLAS)
            rows = np.flatnonzero(self._cyrillic == cyrillic)
            matrix = np.zeros((0, 1), dtype=np.float32)
            if self.vectors is not None:
                matrix = np.asarray(self.vectors[rows], dtype=np.float32)
            self._by_script[cyrillic] = matrix
        return matrix


def joined_pairs(names: Sequence[str], question: str) -> Iterable[tuple[int, str]]:
    """Adjacent names of a question written as one word ("Giga Chat" -> (0, "GigaChat"))."""
    for i in range(len(names) - 1):
        if re.search(re.escape(names[i]) + r"[\s-]+" + re.escape(names[i + 1]), question):
            yield i, names[i] + names[i + 1]
