"""A synthetic news corpus of unique passages, recombined from the xquad-dev English articles.

Every passage is two to four sentences of one source article (40-110 words, the length of a wire
story's paragraph); every article has ten passages. The same seed always gives the same files,
so the corpus hash can key the cached 10,000-passage index.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
XQUAD_ARTICLES = ROOT / "eval" / "xquad-dev" / "articles"
GENERATOR_VERSION = "1"  # bump when the recipe changes: it invalidates cached indexes
PASSAGES_PER_ARTICLE = 10
MIN_WORDS = 40
MAX_WORDS = 110
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"“])")


@dataclass(frozen=True)
class Source:
    """One xquad-dev article: its title and its sentences."""

    title: str
    sentences: tuple[str, ...]


@dataclass(frozen=True)
class SyntheticArticle:
    """An article to write as ``<article_id>.md``."""

    article_id: str
    title: str
    passages: tuple[str, ...]

    def markdown(self) -> str:
        return f"# {self.title}\n\n" + "\n\n".join(self.passages) + "\n"


def load_sources(folder: Path = XQUAD_ARTICLES) -> list[Source]:
    """The xquad-dev articles split into sentences (title line, then blank-line paragraphs)."""
    sources = []
    for path in sorted(folder.glob("*.md")):
        head, _, body = path.read_text(encoding="utf-8").strip().partition("\n")
        sentences = [
            sentence.strip()
            for paragraph in body.split("\n\n")
            for sentence in _SENTENCE_END.split(" ".join(paragraph.split()))
            if 3 <= len(sentence.split()) <= 60
        ]
        sources.append(Source(head.lstrip("#").strip(), tuple(sentences)))
    return sources


def generate(count: int, *, seed: int = 2, prefix: str = "bench") -> list[SyntheticArticle]:
    """``count`` articles of ``PASSAGES_PER_ARTICLE`` unique passages each."""
    rng = random.Random(f"{seed}:{prefix}")
    sources = load_sources()
    seen: set[str] = set()
    articles = []
    for number in range(count):
        source = sources[number % len(sources)]
        passages = [_passage(rng, source, seen) for _ in range(PASSAGES_PER_ARTICLE)]
        title = f"{source.title}: dispatch {number + 1}"
        articles.append(SyntheticArticle(f"{prefix}_{number:05d}", title, tuple(passages)))
    return articles


def _passage(rng: random.Random, source: Source, seen: set[str]) -> str:
    while True:
        sentences = rng.sample(source.sentences, rng.randint(2, 4))
        text = " ".join(sentences)
        if MIN_WORDS <= len(text.split()) <= MAX_WORDS and text not in seen:
            seen.add(text)
            return text


def write_articles(articles: list[SyntheticArticle], folder: Path) -> Path:
    """Write each article as ``<folder>/<article_id>.md``; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for article in articles:
        (folder / f"{article.article_id}.md").write_text(article.markdown(), encoding="utf-8")
    return folder


def corpus_hash(articles: list[SyntheticArticle]) -> str:
    """A short hash of the generator version and every article's text."""
    digest = hashlib.sha1(GENERATOR_VERSION.encode())
    for article in articles:
        digest.update(article.article_id.encode())
        digest.update(article.markdown().encode("utf-8"))
    return digest.hexdigest()[:12]


def passage_texts(articles: list[SyntheticArticle]) -> list[str]:
    """Every passage in article order (the texts the floor embeds)."""
    return [passage for article in articles for passage in article.passages]
