"""Articles from a folder: .txt/.md (title line, blank-line paragraphs) and .json objects."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from index._fs import FileSignature, scan_folder
from index.errors import ArticleError, NoArticlesError
from index.models import Article, Passage
from index.text import content_hash, normalize_text, split_sentences

ARTICLE_SUFFIXES = (".txt", ".md", ".json")
LINK_OUT = "a link to a file outside the articles folder (copy the file in instead)"
# No model window (at most 512 tokens) holds more characters than this of real text.
WINDOW_MAX_CHARS = 4000
DEFAULT_MAX_BYTES = 2_000_000  # an article file's size limit (Settings.article_max_bytes)
# Stray marks some feeds leave at the end of a title line (the seed's title ends in “`).
_TITLE_TRAILING = " \t\"'`“”‘’«»"


@dataclass(frozen=True)
class ArticleProblem:
    """A file that was skipped, and why. A broken file keeps its last good version in the index;
    a ``refused`` one (a link leaving the folder) leaves the index."""

    path: Path
    reason: str
    refused: bool = False


@dataclass(frozen=True)
class LoadResult:
    """The articles read from a folder and the files that could not be read."""

    articles: tuple[Article, ...]
    problems: tuple[ArticleProblem, ...]


def clean_title(line: str) -> str:
    """A title line without its Markdown ``#`` marks or stray trailing quotes and backticks."""
    title = normalize_text(line).lstrip("#").strip()
    return title.rstrip(_TITLE_TRAILING).strip() or title


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs separated by blank lines; a single line break inside a paragraph joins."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    blocks = (normalize_text(block) for block in _blank_line_blocks(text))
    return [block for block in blocks if block]


def _blank_line_blocks(text: str) -> Iterable[str]:
    block: list[str] = []
    for line in text.split("\n"):
        if line.strip():
            block.append(line)
        elif block:
            yield "\n".join(block)
            block = []
    if block:
        yield "\n".join(block)


def parse_text_article(article_id: str, text: str) -> Article:
    """Parse the .txt/.md format: the first non-empty line is the title, then paragraphs.

    Raises:
        ArticleError: the text holds no title or no paragraph.
    """
    head, _, body = text.replace("\ufeff", "").lstrip().partition("\n")
    title = clean_title(head)
    if not title:
        raise ArticleError("the file is empty")
    paragraphs = split_paragraphs(body)
    if not paragraphs:
        raise ArticleError("there is a title but no paragraph after it")
    return Article(article_id=article_id, title=title, paragraphs=tuple(paragraphs))


def parse_json_articles(stem: str, data: Any) -> list[Article]:
    """Parse one article object or a list of them (``title``, ``text``/``paragraphs``, ...).

    Raises:
        ArticleError: the JSON does not describe articles; the message says which field is wrong.
    """
    items = data if isinstance(data, list) else [data]
    if not items:
        raise ArticleError("the JSON list is empty")
    articles = []
    for number, item in enumerate(items):
        article_id = stem if len(items) == 1 else f"{stem}-{number}"
        articles.append(_json_article(article_id, item, number))
    return articles


def _json_article(article_id: str, item: Any, number: int) -> Article:
    where = f"item {number}: " if number else ""
    if not isinstance(item, dict):
        raise ArticleError(f"{where}expected an object with 'title' and 'text'")
    title = item.get("title")
    if not isinstance(title, str) or not clean_title(title):
        raise ArticleError(f"{where}'title' is missing or not a string")
    raw = item.get("paragraphs", item.get("text"))
    if isinstance(raw, str):
        paragraphs = split_paragraphs(raw)
    elif isinstance(raw, list) and all(isinstance(p, str) for p in raw):
        paragraphs = [p for p in (normalize_text(p) for p in raw) if p]
    else:
        raise ArticleError(f"{where}'text' (a string) or 'paragraphs' (strings) is missing")
    if not paragraphs:
        raise ArticleError(f"{where}the article has no text")
    return Article(
        article_id=article_id,
        title=clean_title(title),
        paragraphs=tuple(paragraphs),
        url=_optional_str(item, "url", where),
        published=_optional_str(item, "published", where),
        source=_optional_str(item, "source", where),
    )


def _optional_str(item: dict[str, Any], key: str, where: str) -> str | None:
    value = item.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ArticleError(f"{where}'{key}' must be a string")
    return normalize_text(value)


def read_article_file(path: Path) -> list[Article]:
    """Read one article file (.txt, .md or .json).

    Raises:
        ArticleError: the file cannot be read, decoded or parsed.
    """
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise ArticleError(f"cannot read the file: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ArticleError(f"not UTF-8 text (byte {exc.start})") from exc
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ArticleError(f"invalid JSON at line {exc.lineno}: {exc.msg}") from exc
        articles = parse_json_articles(path.stem, data)
    else:
        articles = [parse_text_article(path.stem, text)]
    return [replace(article, file=path.name) for article in articles]


PARSED_MAX = 100_000
RACY_NS = 2_000_000_000


class ArticleReader:
    """Reads article files, reusing the parse of a file whose signature has not changed.

    A running bot re-reads the folder on every change; at 1,000 files parsing them all again took
    0.2 s of each update, so the engine keeps one reader for all its builds. A parse is kept only
    for a file last changed over ``RACY_NS`` before it was read (as git does), so a change within
    the file system's timestamp granularity is never missed.
    """

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        # Keyed by the path as a string: a Path per file, made and hashed, was half the time of
        # reading an unchanged folder of 10,000 files.
        self._parsed: dict[str, tuple[FileSignature, list[Article]]] = {}

    def read(self, path: Path | str, signature: FileSignature) -> list[Article]:
        """The articles in ``path``, whose signature was just taken.

        Raises:
            ArticleError: the file cannot be read, decoded or parsed, or is over ``max_bytes``.
        """
        if signature.size > self.max_bytes:
            raise ArticleError(
                f"{signature.size:,} bytes, over the {self.max_bytes:,}-byte limit for an article "
                "(ARTICLE_MAX_BYTES)"
            )
        key = str(path)
        known = self._parsed.get(key)
        if known is not None and known[0] == signature:
            return known[1]
        articles = read_article_file(Path(path))
        if time.time_ns() - max(signature.mtime_ns, signature.ctime_ns) > RACY_NS:
            if len(self._parsed) >= PARSED_MAX:
                self._parsed.clear()
            self._parsed[key] = (signature, articles)
        return articles


def load_articles(folder: Path, reader: ArticleReader | None = None) -> LoadResult:
    """Read every article file in ``folder`` (not recursive), skipping the ones that fail.

    Args:
        folder: the articles folder.
        reader: the reader whose earlier parses may be reused (a fresh one if None).

    Raises:
        NoArticlesError: the folder does not exist or holds no article file at all.
    """
    if folder.exists() and not folder.is_dir():
        raise NoArticlesError(
            f"The articles folder {folder} is a file, not a folder; set ARTICLES_DIR (or "
            "--articles) to the folder that holds the articles."
        )
    if not folder.is_dir():
        raise NoArticlesError(
            f"The articles folder {folder} does not exist; create it and put .txt, .md or .json "
            "articles in it (or set ARTICLES_DIR)."
        )
    # Dot-files are left out (editors' and rsync's temporary files), and links leaving the folder.
    links_out: list[str] = []
    files = scan_folder(folder, ARTICLE_SUFFIXES, links_out)
    # Problems are returned, not logged: the caller reports each once (the CLI on stderr, the
    # bot in its log).
    problems = [ArticleProblem(folder / name, LINK_OUT, refused=True) for name in links_out]
    if not files:
        raise NoArticlesError(
            f"No articles in {folder}: add .txt, .md or .json files (README, 'Adding articles')."
        )
    reader = reader if reader is not None else ArticleReader()
    articles: dict[str, Article] = {}
    prefix = os.path.join(folder, "")
    for name, signature in files.items():
        try:
            for article in reader.read(prefix + name, signature):
                if article.article_id in articles:
                    raise ArticleError(f"article id {article.article_id!r} is used twice")
                articles[article.article_id] = article
        except ArticleError as exc:
            problems.append(ArticleProblem(folder / name, str(exc)))
    return LoadResult(tuple(articles.values()), tuple(problems))


def article_passages(article: Article, fits: Callable[[str], bool]) -> list[Passage]:
    """Split an article into passages: one per paragraph, or sentence-packed pieces of a paragraph
    that does not fit the model's input window (``fits`` says whether a text fits); a sentence
    that does not fit alone (a paragraph with no sentence end) is cut at words.
    """
    passages = []
    for number, paragraph in enumerate(article.paragraphs, start=1):
        pieces = [paragraph] if _fits(paragraph, fits) else _pack_sentences(paragraph, fits)
        for piece_number, piece in enumerate(pieces):
            passages.append(
                Passage(
                    article_id=article.article_id,
                    title=article.title,
                    paragraph=number,
                    piece=piece_number,
                    text=piece,
                    content_hash=content_hash(piece),
                    url=article.url,
                    published=article.published,
                )
            )
    return passages


def _fits(text: str, fits: Callable[[str], bool]) -> bool:
    # Length first: the tokenizer never sees a text too long for any window (a 20 MB paragraph
    # took gigabytes and minutes to count).
    return len(text) <= WINDOW_MAX_CHARS and fits(text)


def _pack_sentences(paragraph: str, fits: Callable[[str], bool]) -> list[str]:
    pieces: list[str] = []
    current = ""
    for sentence in split_sentences(paragraph):
        parts = [sentence] if _fits(sentence, fits) else _cut_at_words(sentence, fits)
        for part in parts:
            candidate = f"{current} {part}".strip()
            if current and not _fits(candidate, fits):
                pieces.append(current)
                candidate = part
            current = candidate
    if current:
        pieces.append(current)
    return pieces


def _cut_at_words(text: str, fits: Callable[[str], bool]) -> list[str]:
    """``text`` in pieces of as many words as fit; a word longer than the window alone is cut
    between characters."""
    words = text.split(" ")
    pieces: list[str] = []
    start = 0
    while start < len(words):
        count = _words_that_fit(words, start, fits)
        if count:
            pieces.append(" ".join(words[start : start + count]))
            start += count
        else:
            pieces.extend(_cut_word(words[start], fits))
            start += 1
    return pieces


def _words_that_fit(words: list[str], start: int, fits: Callable[[str], bool]) -> int:
    """How many words from ``start`` fit the window together (0 if the first alone does not)."""
    most, length = 0, -1  # only the words short enough together are worth counting tokens of
    while start + most < len(words):
        length += 1 + len(words[start + most])
        if length > WINDOW_MAX_CHARS:
            break
        most += 1
    return _longest(most, lambda n: fits(" ".join(words[start : start + n])))


def _cut_word(word: str, fits: Callable[[str], bool]) -> list[str]:
    pieces = []
    start = 0
    while start < len(word):
        most = min(len(word) - start, WINDOW_MAX_CHARS)
        size = max(1, _longest(most, partial(_fits_slice, word, start, fits)))
        pieces.append(word[start : start + size])
        start += size
    return pieces


def _fits_slice(word: str, start: int, fits: Callable[[str], bool], size: int) -> bool:
    return fits(word[start : start + size])


def _longest(most: int, fits_first: Callable[[int], bool]) -> int:
    """The largest ``n <= most`` with ``fits_first(n)`` (which holds for 0 and, once false, stays
    false): a binary search, so a piece costs a dozen tokenizer calls, not one per word."""
    low, high = 0, most
    while low < high:
        middle = (low + high + 1) // 2
        if fits_first(middle):
            low = middle
        else:
            high = middle - 1
    return low
