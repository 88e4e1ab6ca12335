"""Add articles to the articles folder from files, URLs and feeds: safely, once, never half-written.

Saved articles are JSON (``title``, ``url``, ``published``, ``source``, ``paragraphs``), the
format ``index.articles`` reads, so their metadata survives. Nothing here embeds or indexes: the
caller runs ``NewsEngine.update_index()`` afterwards (``newsbot add`` and ``newsbot feeds`` do).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import httpx

from index._fs import file_lock
from index.articles import ARTICLE_SUFFIXES, parse_text_article, read_article_file
from index.config import Settings
from index.errors import ArticleError, ExtractError, FeedError, FetchError, NewsIndexError
from index.intake.extract import extract_article, paragraphs_from_html
from index.intake.feed_state import FeedState
from index.intake.feeds import Feed, FeedEntry, parse_feed
from index.intake.fetch import FetchPolicy, fetch, new_client
from index.intake.library import ArticleCatalog, clean_url, save_article
from index.models import Article

logger = logging.getLogger(__name__)

Status = Literal["added", "duplicate", "failed"]
HTML_SUFFIXES = (".html", ".htm", ".xhtml")
MAX_ENTRIES_PER_FEED = 30  # per round, so a first check of a long feed cannot run for an hour
MAX_ENTRY_ATTEMPTS = 3  # rounds an entry whose page and summary both fail is retried
_URL_LIKE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


@dataclass(frozen=True)
class SourceResult:
    """What happened to one source (a file, a URL, or a feed entry)."""

    source: str
    status: Status
    message: str  # one line for people, e.g. "already in seeds/ as 2024-03-05-otters.json"
    article: Article | None = None  # the saved article: ``article_id`` and ``file`` are final


@dataclass(frozen=True)
class AddReport:
    """Every source's result, in the order given (a JSON list file gives one per article)."""

    results: tuple[SourceResult, ...]

    @property
    def added(self) -> tuple[Article, ...]:
        return tuple(r.article for r in self.results if r.article is not None)

    @property
    def failed(self) -> tuple[SourceResult, ...]:
        return tuple(r for r in self.results if r.status == "failed")


@dataclass(frozen=True)
class FeedResult:
    """One feed's round: an error if the feed itself failed, else one result per new entry."""

    url: str
    title: str | None = None
    error: str | None = None  # set when the feed could not be fetched or parsed
    entries: tuple[SourceResult, ...] = ()
    pending: int = 0  # new entries left for the next round (over MAX_ENTRIES_PER_FEED)


@dataclass(frozen=True)
class FeedReport:
    """A round over every configured feed."""

    feeds: tuple[FeedResult, ...]

    @property
    def added(self) -> tuple[Article, ...]:
        return tuple(
            r.article for feed in self.feeds for r in feed.entries if r.article is not None
        )

    @property
    def failed_feeds(self) -> tuple[FeedResult, ...]:
        return tuple(feed for feed in self.feeds if feed.error is not None)


def add_sources(
    sources: Sequence[str], settings: Settings, client: httpx.Client | None = None
) -> AddReport:
    """Save each local file (.txt, .md, .json, .html) or http(s) URL into the articles folder.

    A source whose URL or text is already in the folder is skipped; a source that fails is
    reported and the rest carry on. Blocking: run it with ``asyncio.to_thread`` in the bot.

    Args:
        sources: file paths or http(s) URLs.
        settings: the articles folder, index folder and fetch limits.
        client: an httpx client from ``fetch.new_client`` (made and closed here if None).

    Returns:
        One result per article found (a JSON list file holds several).
    """
    with _Ingestor(settings, client) as ingestor:
        return AddReport(tuple(r for source in sources for r in ingestor.add_source(source)))


def check_feeds(
    settings: Settings, state: FeedState | None = None, client: httpx.Client | None = None
) -> FeedReport:
    """Fetch every feed in ``settings.feeds`` once and save the entries not seen before.

    Each new entry's page is fetched and reduced to its article; if that fails, the entry's own
    summary is saved instead. A feed that fails is reported and tried again next round.
    Blocking: run it with ``asyncio.to_thread`` in the bot.

    Args:
        settings: the feeds, folders and fetch limits.
        state: the seen-entry memory; read from ``settings.feed_state_path`` if None. It is saved
            after the round.
        client: an httpx client from ``fetch.new_client`` (made and closed here if None).
    """
    state = state if state is not None else FeedState.load(settings.feed_state_path)
    with _Ingestor(settings, client) as ingestor:
        results = tuple(ingestor.check_feed(url, state) for url in settings.feeds)
    state.save()
    return FeedReport(results)


class _Ingestor:
    """One add or feed round: the fetch client, the folder's catalog and the write lock."""

    def __init__(self, settings: Settings, client: httpx.Client | None) -> None:
        self.folder = settings.articles_dir
        self.policy = FetchPolicy.from_settings(settings)
        self.lock_path = settings.index_dir.parent / f"{settings.index_dir.name}-ingest.lock"
        self.catalog = ArticleCatalog(self.folder)
        self._own_client = client is None
        self.client = client if client is not None else new_client(self.policy)

    def __enter__(self) -> _Ingestor:
        return self

    def __exit__(self, *_: object) -> None:
        if self._own_client:
            self.client.close()

    def add_source(self, source: str) -> list[SourceResult]:
        if _URL_LIKE.match(source):
            self.catalog.refresh()
            if (existing := self.catalog.find_url(source)) is not None:
                return [SourceResult(source, "duplicate", f"already saved as {existing}")]
        try:
            articles = self._read_source(source)
        except NewsIndexError as exc:
            return [SourceResult(source, "failed", str(exc))]
        return [self.store(article, source) for article in articles]

    def _read_source(self, source: str) -> list[Article]:
        if _URL_LIKE.match(source):
            return [self.article_from_url(source)]
        path = Path(source).expanduser()
        if not path.is_file():
            raise ArticleError(f"{source} is neither an http(s) URL nor an existing file")
        suffix = path.suffix.lower()
        if suffix in ARTICLE_SUFFIXES:
            return read_article_file(path)
        if suffix in HTML_SUFFIXES:
            try:
                return [extract_article(path.read_bytes())]
            except OSError as exc:
                raise ArticleError(f"cannot read {source}: {exc.strerror or exc}") from exc
        raise ArticleError(f"{source}: unsupported file type; use .txt, .md, .json or .html")

    def article_from_url(self, url: str) -> Article:
        page = fetch(url, self.policy, self.client)
        if page.content_type == "text/plain":
            try:
                return replace(parse_text_article("", page.text()), url=page.url)
            except ArticleError as exc:
                raise ExtractError(f"{page.url}: {exc}") from exc
        if not page.is_html:
            raise ExtractError(f"{page.url} is {page.content_type}, not an HTML page")
        return extract_article(page.body, page.url)

    def store(self, article: Article, source: str) -> SourceResult:
        """Save ``article`` unless its URL or text is already in the folder."""
        article = replace(article, url=clean_url(article.url) if article.url else None)
        try:
            # Held around check-then-write, so `newsbot add` and the bot's feed round, in two
            # processes, cannot both save the same article.
            with file_lock(self.lock_path):
                self.catalog.refresh()
                existing = self.catalog.find_duplicate(article)
                if existing is not None:
                    return SourceResult(source, "duplicate", f"already saved as {existing}")
                saved = save_article(article, self.folder)
                self.catalog.remember(saved)
        except ArticleError as exc:
            return SourceResult(source, "failed", str(exc))
        logger.info("Saved %s from %s", saved.file, source)
        return SourceResult(source, "added", f"saved as {saved.file}: {saved.title}", saved)

    def check_feed(self, url: str, state: FeedState) -> FeedResult:
        try:
            page = fetch(url, self.policy, self.client)
            feed = parse_feed(page.body, page.url, page.content_type or None)
        except (FetchError, FeedError) as exc:
            logger.warning("Feed %s failed, will retry next round: %s", url, exc)
            state.record_round(url, str(exc))
            return FeedResult(url, error=str(exc))
        new = [e for e in feed.entries if not state.is_seen(url, e.entry_id)]
        todo = list(reversed(new))[:MAX_ENTRIES_PER_FEED]  # oldest first: files keep feed order
        self.catalog.refresh()
        results = []
        for entry in todo:
            result = self.add_entry(entry, feed)
            failed = result.status == "failed"
            if not failed or state.record_attempt(url, entry.entry_id) >= MAX_ENTRY_ATTEMPTS:
                state.mark_seen(url, entry.entry_id)  # a failed entry is retried a few rounds
            results.append(result)
        state.record_round(url, None)
        return FeedResult(url, feed.title, None, tuple(results), len(new) - len(todo))

    def add_entry(self, entry: FeedEntry, feed: Feed) -> SourceResult:
        """Save a feed entry: its page's article, else its summary."""
        source = entry.link or entry.entry_id
        if entry.link and (existing := self.catalog.find_url(entry.link)) is not None:
            return SourceResult(source, "duplicate", f"already saved as {existing}")
        page_error = "the entry has no link"
        if entry.link:
            try:
                article = self.article_from_url(entry.link)
                return self.store(_with_entry_metadata(article, entry, feed), source)
            except (FetchError, ExtractError) as exc:
                page_error = str(exc)
                logger.warning("Entry page %s failed, using the summary: %s", entry.link, exc)
        paragraphs = paragraphs_from_html(entry.summary)
        if not paragraphs:
            return SourceResult(source, "failed", f"{page_error}, and there is no summary")
        article = Article(
            article_id="",
            title=entry.title or paragraphs[0][:120],
            paragraphs=tuple(paragraphs),
            url=entry.link,
            published=entry.published,
            source=feed.title,
        )
        result = self.store(article, source)
        if result.status == "added":
            result = replace(
                result, message=f"{result.message} (from the feed summary: {page_error})"
            )
        return result


def _with_entry_metadata(article: Article, entry: FeedEntry, feed: Feed) -> Article:
    """Fill what the page did not say from the feed entry."""
    return replace(
        article,
        title=article.title if article.title != "Untitled" else entry.title or article.title,
        published=article.published or entry.published,
        source=feed.title or article.source,
    )
