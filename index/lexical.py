"""Lexical retrieval: BM25 over stemmed words, English and Russian, built in memory from passages.

Words are lower-cased (``ё`` folded to ``е``), stop words dropped, and each word stemmed with the
Snowball stemmer of its own script (Latin: English, Cyrillic: Russian), so a Russian question
matches Russian text in any inflection and English names quoted in it still match English text.
This is the only module that imports ``Stemmer`` (PyStemmer).
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterable, Sequence

import numpy as np

from index.text import CYRILLIC

# BM25 parameters: the usual defaults; k1=1.2 did as well as 1.5 on xquad-dev and saturates
# repeated words a little earlier (news paragraphs repeat names).
K1 = 1.2
B = 0.75

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    out over own same she should so some such than that the their theirs them themselves then
    there these they this those through to too under until up very was we were what when where
    which while who whom why will with would you your yours s t d ll m re ve
    и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только ее её
    мне было вот от меня еще ещё нет о из ему теперь когда даже ну вдруг ли если уже или ни быть
    был него до вас нибудь опять уж вам ведь там потом себя ничего ей может они тут где есть надо
    ней для мы тебя их чем была сам чтоб без будто чего раз тоже себе под будет ж тогда кто этот
    того потому этого какой совсем ним здесь этом один почти мой тем чтобы нее неё сейчас были куда
    зачем всех никогда можно при наконец два об другой хоть после над больше тот через эти нас про
    всего них какая много разве три эту моя впрочем хорошо свою этой перед иногда лучше чуть том
    нельзя такой им более всегда конечно всю между это как какие какое каких каким какую который
    которая которые которых сколько ли
    какого какому каком какими каков какова каково каковы которого которому котором которой
    которую которым которыми которое кого кому кем ком чему чём чей чья чьё чье чьи чьего чьей
    чьих почему откуда этим этими этих этому эта та те тех теми той тому ту такая такое такие
    таких таким такими такого такому такую своего своей своих свои своим своими своё свое своему
    свой всем всеми всему вся всё самый самая самое самые
    самых самым самыми каждый каждая каждое каждые каждого каждой каждом каждому очень""".split()
)
# The Russian list: NLTK's, with every case of the question and pronoun words whose English
# counterparts are stop words above (which, whose, this, such, own, all, each, most, very):
# a Russian question's "какими" or "которой" otherwise took an English word's place in BM25
# ("whose", "qasim") when read in English (index.word_map).


class _Stemmers(threading.local):
    """PyStemmer objects are not thread-safe: one pair per thread."""

    def __init__(self) -> None:
        import Stemmer

        self.english = Stemmer.Stemmer("english")
        self.russian = Stemmer.Stemmer("russian")


_stemmers = _Stemmers()


def is_stop_word(word: str) -> bool:
    """Whether ``word`` (lower-cased) is one of the stop words BM25 drops."""
    return word in _STOPWORDS


def content_words(text: str) -> list[str]:
    """The words of ``text``, lower-cased, in order, stop words and single letters dropped."""
    return [
        w
        for w in _WORD.findall(text.casefold().replace("ё", "е"))
        if w not in _STOPWORDS and (len(w) > 1 or w.isdigit())
    ]


def tokenize(text: str) -> list[str]:
    """Stemmed content words of ``text``, in order (stop words and single letters dropped).

    >>> tokenize("Пресс-конференции Путина")
    ['пресс', 'конференц', 'путин']
    """
    words = content_words(text)
    stemmers = _stemmers
    return [
        stemmers.russian.stemWord(w) if CYRILLIC.search(w) else stemmers.english.stemWord(w)
        for w in words
    ]


class Vocabulary:
    """Numbers for stemmed words, and each text already seen as (word numbers, counts)."""

    def __init__(self) -> None:
        self.numbers: dict[str, int] = {}
        self.texts: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._lock = threading.Lock()

    def of(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The text's distinct stemmed words as numbers, and how often each occurs."""
        cached = self.texts.get(text)
        if cached is None:
            counts = _counts(tokenize(text))
            with self._lock:
                numbers = self.numbers
                ids = [numbers.setdefault(word, len(numbers)) for word in counts]
            cached = (np.array(ids, dtype=np.int64), np.array(list(counts.values()), np.float32))
            self.texts[text] = cached
        return cached


# Texts remembered; past this a fresh vocabulary starts (an index keeps the one it was built with).
TERMS_CACHE_MAX = 200_000


class TermCache:
    """The vocabulary the BM25 indexes of one engine share, across its reloads, so a hot reload
    after adding one article to a 10,000-passage index tokenises only the new passages (and the
    index is assembled with numpy)."""

    def __init__(self, max_texts: int = TERMS_CACHE_MAX) -> None:
        self._max_texts = max_texts
        self._vocabulary = Vocabulary()
        self._lock = threading.Lock()

    def vocabulary_for(self, texts: Sequence[str]) -> Vocabulary:
        """The vocabulary for an index of ``texts``: a fresh one once the texts it has not seen
        would take it past ``max_texts``. (Counting every text instead, a reload of a 100,000-
        passage index re-tokenised all of them: 11 s of a 25 s one-article update.)"""
        with self._lock:
            known = self._vocabulary.texts
            unseen = sum(1 for text in texts if text not in known)
            if len(known) + unseen > self._max_texts:
                self._vocabulary = Vocabulary()
            return self._vocabulary


class BM25Index:
    """Okapi BM25 (Lucene's idf) over a fixed list of texts, with per-term postings in numpy.

    ``share`` divides a passage's score by the most any passage could score for the question
    (every question term present at saturation), so it is comparable across questions: 1.0
    means every word of the question is there, often; 0 means none is.
    """

    def __init__(self, texts: Sequence[str], terms: TermCache | None = None) -> None:
        self.size = len(texts)
        vocabulary = (terms or TermCache()).vocabulary_for(texts)
        self._vocabulary = vocabulary.numbers
        self._index([vocabulary.of(text) for text in texts])

    def _index(self, documents: Sequence[tuple[np.ndarray, np.ndarray]]) -> None:
        """Postings of every word, in one array sorted by word (rows, BM25 weights), with
        ``_starts[w]:_starts[w + 1]`` the slice of word number ``w``."""
        empty = (np.zeros(0, np.int64), np.zeros(0, np.float32))
        ids = np.concatenate([d[0] for d in documents] or [empty[0]])
        tfs = np.concatenate([d[1] for d in documents] or [empty[1]])
        lengths = np.array([d[1].sum() for d in documents], dtype=np.float32)
        rows = np.repeat(np.arange(len(documents)), [len(d[0]) for d in documents])
        average = float(lengths.mean()) if len(documents) and lengths.sum() else 1.0
        norm = K1 * (1 - B + B * lengths / average)
        order = np.argsort(ids, kind="stable")
        ids, tfs, rows = ids[order], tfs[order], rows[order]
        df = np.bincount(ids, minlength=len(self._vocabulary)).astype(np.float64)
        self._idf = np.log(1 + (self.size - df + 0.5) / (df + 0.5))
        self._idf[df == 0] = 0.0
        self._starts = np.concatenate([[0], np.cumsum(df)]).astype(np.int64)
        self._rows = rows.astype(np.int32)
        self._weights = (self._idf[ids] * tfs * (K1 + 1) / (tfs + norm[rows])).astype(np.float32)

    def _number(self, word: str) -> int | None:
        number = self._vocabulary.get(word)
        return number if number is not None and number < len(self._idf) else None

    def idf(self, word: str) -> float:
        """The inverse document frequency of a stemmed word (0 for an unknown word)."""
        number = self._number(word)
        return 0.0 if number is None else float(self._idf[number])

    def best_possible(self, words: Iterable[str]) -> float:
        """The score bound for a question: each word at full saturation. A word no passage has
        counts at the highest idf, so "Spartak" in a question lowers every passage's share."""
        unseen = math.log(1 + (self.size + 0.5) / 0.5)
        return sum((self.idf(w) or unseen) * (K1 + 1) for w in words)

    def scores(self, words: Sequence[str]) -> np.ndarray:
        """BM25 scores of every passage for the stemmed question words (repeats count once)."""
        total = np.zeros(self.size, dtype=np.float32)
        for word in dict.fromkeys(words):
            number = self._number(word)
            if number is not None:
                start, end = self._starts[number], self._starts[number + 1]
                total[self._rows[start:end]] += self._weights[start:end]  # rows are distinct
        return total


def _counts(words: Sequence[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for word in words:
        counts[word] = counts.get(word, 0) + 1
    return counts
