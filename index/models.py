"""Plain data the engine passes around: articles, passages, hits, citations and answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Article:
    """One news article, split into paragraphs (the title line is not a paragraph)."""

    article_id: str
    title: str
    paragraphs: tuple[str, ...]
    url: str | None = None
    published: str | None = None
    source: str | None = None
    file: str | None = None  # the file it was read from, so a broken file keeps its last version


@dataclass(frozen=True)
class Passage:
    """The unit that is embedded and cited: a paragraph, or a piece of a long one."""

    article_id: str
    title: str
    paragraph: int  # 1-based paragraph number within the article, title not counted
    piece: int  # 0-based piece within the paragraph (0 unless it was too long for the model)
    text: str
    content_hash: str
    url: str | None = None
    published: str | None = None


@dataclass(frozen=True)
class ArticleInfo:
    """What the index knows about one article (for /sources and "not found" replies)."""

    article_id: str
    title: str
    passages: int
    url: str | None = None
    published: str | None = None


@dataclass(frozen=True)
class Hit:
    """A passage returned by retrieval, with its relevance score (higher is better)."""

    passage: Passage
    score: float
    row: int | None = None  # the passage's row in the snapshot it was found in


@dataclass(frozen=True)
class Citation:
    """A numbered source of an answer."""

    n: int
    article_id: str
    title: str
    paragraph: int
    url: str | None
    text: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "article": self.article_id,
            "title": self.title,
            "paragraph": self.paragraph,
            "url": self.url,
            "text": self.text,
            "score": round(self.score, 4),
        }


@dataclass(frozen=True)
class Paragraph:
    """A whole paragraph of an indexed article: its passages (pieces) joined, in order."""

    article_id: str
    title: str
    paragraph: int
    url: str | None
    text: str
    content_hashes: tuple[str, ...]  # of its passages, in piece order

    def citation(self, n: int) -> Citation:
        """The paragraph as citation ``n`` (score 0: it was looked up, not ranked)."""
        return Citation(n, self.article_id, self.title, self.paragraph, self.url, self.text, 0.0)


@dataclass(frozen=True)
class AnswerSentence:
    """One sentence of the answer and the citation it comes from: a quoted sentence of the
    extractive answer, or a composed sentence, which may draw on further citations."""

    text: str
    citation: int
    also: tuple[int, ...] = ()  # a composed sentence's further citations

    @property
    def citations(self) -> tuple[int, ...]:
        """Every citation the sentence is marked with, in the order it gives them."""
        return (self.citation, *self.also)

    @property
    def marked(self) -> str:
        """The sentence followed by its markers, e.g. ``... [1]`` or ``... [1][3]``."""
        return self.text + " " + "".join(f"[{n}]" for n in self.citations)


@dataclass(frozen=True)
class Answer:
    """The engine's reply to one question; no formatting, no I/O."""

    question: str
    found: bool
    sentences: tuple[AnswerSentence, ...] = ()
    citations: tuple[Citation, ...] = ()
    language: str = "en"
    # When not found because of them: names or numbers in the question no article mentions.
    unknown: tuple[str, ...] = ()
    # When the question was read as a follow-up: the earlier subject, in a few words.
    about: tuple[str, ...] = ()
    # When a language model composed the sentences from the citations: the model's name.
    composed_by: str | None = None

    @property
    def text(self) -> str:
        """The answer: each sentence followed by its markers, e.g. ``... [1]``."""
        return " ".join(s.marked for s in self.sentences)

    @property
    def quoted(self) -> frozenset[int]:
        """The numbers of the citations the sentences are marked with."""
        return frozenset(n for s in self.sentences for n in s.citations)

    @property
    def cited(self) -> tuple[Citation, ...]:
        """The sources to list first: those the answer quotes (its ``[n]`` markers), in number
        order; every citation if it quotes none (an answer without sentences)."""
        quoted = self.quoted
        return tuple(c for c in self.citations if c.n in quoted or not quoted)

    @property
    def see_also(self) -> tuple[Citation, ...]:
        """The other relevant passages, which the answer does not quote, in number order."""
        cited = self.cited
        return tuple(c for c in self.citations if c not in cited)

    def to_dict(self) -> dict[str, Any]:
        quoted = self.quoted
        return {
            "question": self.question,
            "found": self.found,
            "answer": self.text,
            "composed": self.composed_by is not None,
            "model": self.composed_by,
            "citations": [{**c.to_dict(), "cited": c.n in quoted} for c in self.citations],
            **({"unknown": list(self.unknown)} if self.unknown else {}),
            **({"about": list(self.about)} if self.about else {}),
        }


@dataclass(frozen=True)
class IndexInfo:
    """Counts and provenance of a loaded index (for /stats and the start-up log line)."""

    articles: int
    passages: int
    built_at: str
    version: str
    embedders: tuple[str, ...] = field(default=())
