"""Lexical retrieval: BM25 over stemmed words, English and Russian.

Each segment's passages are tokenised once, when it is written, into ``Postings`` stored beside
its vectors; ``BM25Index`` scores the live rows of a snapshot's segments with the statistics of
those rows alone, as one index tokenised afresh would.

Words are lower-cased (``ё`` folded to ``е``), stop words dropped, and each word stemmed with the
Snowball stemmer of its own script (Latin: English, Cyrillic: Russian), so a Russian question
matches Russian text in any inflection and English names quoted in it still match English text.
This is the only module that imports ``Stemmer`` (PyStemmer).
"""

from __future__ import annotations

import functools
import json
import math
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.models import Passage
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


# Tokenised and stored per segment (``Postings``), so an update tokenises only its new passages
# and a reload only the segments it has not seen (before: every passage of the index on every
# reload, 0.9 s of a one-article update at 100,000 passages).
POSTINGS_WORDS = "bm25-words.json"
POSTINGS_ARRAYS = "bm25.npz"
_COUNT_MAX = np.iinfo(np.uint16).max  # a word's count in one passage, as stored (uint16)
_IDF_CACHED = 100_000  # words whose idf an index remembers (the questions' words)


class PostingsError(ValueError):
    """A segment's BM25 files are unreadable or disagree with each other."""


@dataclass(frozen=True)
class Postings:
    """BM25's view of one segment: each stemmed word and the local rows that hold it.

    Word ``w`` (``words[w]``) occurs in rows ``rows[starts[w]:starts[w + 1]]`` (ascending),
    ``counts`` times each; ``lengths[row]`` is the number of stemmed words in the row.
    """

    words: tuple[str, ...]
    starts: np.ndarray  # int64, len(words) + 1
    rows: np.ndarray  # int32
    counts: np.ndarray  # uint16
    lengths: np.ndarray  # float32, one per row

    @functools.cached_property
    def numbers(self) -> dict[str, int]:
        return {word: number for number, word in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.lengths)

    @classmethod
    def of_texts(cls, texts: Sequence[str]) -> Postings:
        """Tokenise ``texts`` (row i is ``texts[i]``)."""
        numbers: dict[str, int] = {}
        ids: list[int] = []
        counts: list[int] = []
        sizes = np.zeros(len(texts), dtype=np.int64)
        lengths = np.zeros(len(texts), dtype=np.float32)
        for row, text in enumerate(texts):
            found = _counts(tokenize(text))
            ids.extend(numbers.setdefault(word, len(numbers)) for word in found)
            counts.extend(found.values())
            sizes[row], lengths[row] = len(found), sum(found.values())
        rows = np.repeat(np.arange(len(texts), dtype=np.int32), sizes)
        return cls._sorted(
            tuple(numbers),
            np.array(ids, dtype=np.int64),
            rows,
            np.minimum(np.array(counts, dtype=np.int64), _COUNT_MAX).astype(np.uint16),
            lengths,
        )

    @classmethod
    def of_passages(cls, passages: Sequence[Passage]) -> Postings:
        # The title is part of every passage's words: questions name the topic ("Super Bowl
        # 50") more often than a paragraph repeats it (+0.004 recall@1 on xquad-dev en).
        return cls.of_texts([f"{p.title}\n{p.text}" for p in passages])

    @classmethod
    def merged(cls, parts: Sequence[tuple[Postings, np.ndarray]]) -> Postings:
        """The postings of each part's live rows, the parts one after another, as ``over``
        takes them (``places``: a local row's place among the part's live rows, -1 if deleted):
        what a merged segment of those rows holds, without tokenising."""
        numbers: dict[str, int] = {}
        ids, rows, counts, lengths = [], [], [], []
        offset = 0
        for postings, places in parts:
            renumber = np.array(
                [numbers.setdefault(word, len(numbers)) for word in postings.words], dtype=np.int64
            )
            word_of = np.repeat(np.arange(len(postings.words)), np.diff(postings.starts))
            at = places[postings.rows]
            live = at >= 0
            ids.append(renumber[word_of[live]])
            rows.append(at[live] + offset)
            counts.append(postings.counts[live])
            kept = places >= 0
            lengths.append(postings.lengths[kept])
            offset += int(kept.sum())
        empty = np.zeros(0, dtype=np.int64)
        return cls._sorted(
            tuple(numbers),
            np.concatenate([empty, *ids]),
            np.concatenate([empty, *rows]).astype(np.int32),
            np.concatenate([empty.astype(np.uint16), *counts]),
            np.concatenate([np.zeros(0, np.float32), *lengths]),
        )

    @classmethod
    def _sorted(
        cls,
        words: tuple[str, ...],
        ids: np.ndarray,
        rows: np.ndarray,
        counts: np.ndarray,
        lengths: np.ndarray,
    ) -> Postings:
        # By word; within a word, rows stay ascending (they are, word by word, in both callers).
        order = np.argsort(ids, kind="stable")
        starts = np.concatenate([[0], np.cumsum(np.bincount(ids, minlength=len(words)))])
        return cls(words, starts.astype(np.int64), rows[order], counts[order], lengths)

    def save(self, folder: Path) -> None:
        (folder / POSTINGS_WORDS).write_text(
            json.dumps(list(self.words), ensure_ascii=False), encoding="utf-8"
        )
        np.savez(
            folder / POSTINGS_ARRAYS,
            starts=self.starts,
            rows=self.rows,
            counts=self.counts,
            lengths=self.lengths,
        )

    @classmethod
    def load(cls, folder: Path, passages: int) -> Postings | None:
        """The postings saved in ``folder``, or None if it has none (an older newsbot's).

        Raises:
            PostingsError: the files are unreadable or do not fit ``passages`` rows.
        """
        try:
            words = json.loads((folder / POSTINGS_WORDS).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise PostingsError(f"{folder / POSTINGS_WORDS}: {exc}") from exc
        try:
            with np.load(folder / POSTINGS_ARRAYS, allow_pickle=False) as arrays:
                starts, rows = arrays["starts"], arrays["rows"]
                counts, lengths = arrays["counts"], arrays["lengths"]
        except (OSError, ValueError, KeyError) as exc:
            raise PostingsError(f"{folder / POSTINGS_ARRAYS}: {exc}") from exc
        if (
            not isinstance(words, list)
            or not all(isinstance(w, str) for w in words)
            or starts.shape != (len(words) + 1,)
            or len(lengths) != passages
            or rows.shape != counts.shape
            or int(starts[-1]) != len(rows)
            or (len(rows) and not (int(rows.min()) >= 0 and int(rows.max()) < passages))
        ):
            raise PostingsError(f"the BM25 files in {folder} do not fit its {passages} passages")
        return cls(tuple(words), starts, rows, counts, lengths)


class BM25Index:
    """Okapi BM25 (Lucene's idf) over the live rows of one or more segments' postings, with the
    statistics (document frequencies, average length) of the live rows only, so the scores are
    those of one index over the same texts.

    ``share`` divides a passage's score by the most any passage could score for the question
    (every question term present at saturation), so it is comparable across questions: 1.0
    means every word of the question is there, often; 0 means none is.
    """

    def __init__(self, texts: Sequence[str] = ()) -> None:
        postings = Postings.of_texts(texts)
        self._setup([(postings, None)])

    @classmethod
    def over(cls, parts: Sequence[tuple[Postings, np.ndarray | None]]) -> BM25Index:
        """Rows numbered part after part; each part's ``places`` gives a local row's place
        among its live rows (-1 if deleted), or None if every row is live."""
        index = cls.__new__(cls)
        index._setup(parts)
        return index

    def _setup(self, parts: Sequence[tuple[Postings, np.ndarray | None]]) -> None:
        self._parts = []
        start, total_length = 0, 0.0
        for postings, places in parts:
            lengths = postings.lengths if places is None else postings.lengths[places >= 0]
            total_length += float(lengths.sum(dtype=np.float64))
            postings.numbers  # noqa: B018 (made here, on the reload, not on the first question)
            self._parts.append((postings, places, start))
            start += len(lengths)
        self.size = start
        average = total_length / self.size if self.size and total_length else 1.0
        self._norms = [
            (K1 * (1 - B + B * postings.lengths / average)).astype(np.float32)
            for postings, _, _ in self._parts
        ]
        self._idf: dict[str, float] = {}

    def _postings(self, word: str) -> list[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
        """Per part holding ``word`` in a live row: the part, those local rows, how often the
        word occurs in each, and the rows' places in this index."""
        found = []
        for number, (postings, places, start) in enumerate(self._parts):
            w = postings.numbers.get(word)
            if w is None:
                continue
            span = slice(postings.starts[w], postings.starts[w + 1])
            rows, counts = postings.rows[span], postings.counts[span]
            if places is None:
                found.append((number, rows, counts, rows + start))
            else:
                at = places[rows]
                keep = at >= 0
                if keep.any():
                    found.append((number, rows[keep], counts[keep], at[keep] + start))
        return found

    def _idf_of(self, found: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]]) -> float:
        df = sum(len(rows) for _, rows, _, _ in found)
        return math.log(1 + (self.size - df + 0.5) / (df + 0.5)) if df else 0.0

    def idf(self, word: str) -> float:
        """The inverse document frequency of a stemmed word (0 for an unknown word)."""
        known = self._idf.get(word)
        if known is None:
            if len(self._idf) >= _IDF_CACHED:
                self._idf.clear()
            known = self._idf[word] = self._idf_of(self._postings(word))
        return known

    def best_possible(self, words: Iterable[str]) -> float:
        """The score bound for a question: each word at full saturation. A word no passage has
        counts at the highest idf, so "Spartak" in a question lowers every passage's share."""
        unseen = math.log(1 + (self.size + 0.5) / 0.5)
        return sum((self.idf(w) or unseen) * (K1 + 1) for w in words)

    def scores(self, words: Sequence[str]) -> np.ndarray:
        """BM25 scores of every passage for the stemmed question words (repeats count once)."""
        total = np.zeros(self.size, dtype=np.float32)
        for word in dict.fromkeys(words):
            found = self._postings(word)
            if not found:
                continue
            idf = np.float32(self._idf_of(found))
            for number, rows, counts, places in found:
                tfs = counts.astype(np.float32)
                total[places] += idf * tfs * (K1 + 1) / (tfs + self._norms[number][rows])
        return total


def _counts(words: Sequence[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for word in words:
        counts[word] = counts.get(word, 0) + 1
    return counts
