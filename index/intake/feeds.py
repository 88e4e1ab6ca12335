"""RSS and Atom feeds: parse fetched bytes into entries (feedparser).

This is the only module that imports ``feedparser``. It never lets feedparser fetch anything
itself: it is always handed bytes that ``index.intake.fetch`` fetched within its limits.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import io
import logging
from dataclasses import dataclass
from typing import Any

from index.errors import FeedError
from index.text import normalize_text

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeedEntry:
    """One item of a feed."""

    entry_id: str  # the entry's id/guid, else its link, else a hash of title and summary
    link: str | None
    title: str
    published: str | None  # ISO 8601 (UTC) when the feed gives a parseable date
    summary: str  # HTML or text, as the feed has it; "" if none


@dataclass(frozen=True)
class Feed:
    """A parsed feed: its title and entries, newest first as the feed lists them."""

    url: str
    title: str | None
    entries: tuple[FeedEntry, ...]


def parse_feed(data: bytes, url: str, content_type: str | None = None) -> Feed:
    """Parse an RSS or Atom document.

    A feed with small errors that feedparser recovers from is accepted (real feeds often have
    them); entries with neither a link nor a summary are dropped.

    Args:
        data: the feed document as fetched.
        url: where it came from; relative links resolve against it.
        content_type: the response's Content-Type header, which may name the encoding.

    Raises:
        FeedError: the bytes are not an RSS or Atom feed, or are too broken to read any entry.
    """
    import feedparser

    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    parsed: Any = feedparser.parse(io.BytesIO(data), response_headers=headers)
    problem = parsed.get("bozo_exception")
    if not parsed.get("version"):
        reason = f": {problem}" if parsed.get("bozo") and problem else ""
        raise FeedError(f"{url} is not an RSS or Atom feed{reason}")
    entries = tuple(e for e in (_entry(raw) for raw in parsed.entries) if e.link or e.summary)
    if parsed.get("bozo"):
        if not entries:
            raise FeedError(f"{url} is a malformed feed: {problem}")
        logger.warning("Feed %s has errors (%s); read %d entries", url, problem, len(entries))
    title = normalize_text(parsed.feed.get("title") or "") or None
    return Feed(url=url, title=title, entries=entries)


def _entry(raw: Any) -> FeedEntry:
    link = (raw.get("link") or "").strip() or None
    title = normalize_text(raw.get("title") or "")
    summary = _summary(raw)
    entry_id = (raw.get("id") or "").strip() or link
    if not entry_id:
        digest = hashlib.sha1(f"{title}\n{summary}".encode()).hexdigest()
        entry_id = f"sha1:{digest}"
    return FeedEntry(
        entry_id=entry_id,
        link=link,
        title=title,
        published=_published(raw),
        summary=summary,
    )


def _summary(raw: Any) -> str:
    # Atom <content> is usually the whole article; RSS <description> a teaser. Prefer the longest.
    texts = [str(part.get("value") or "") for part in raw.get("content") or []]
    texts.append(str(raw.get("summary") or ""))
    return max(texts, key=len).strip()


def _published(raw: Any) -> str | None:
    for key in ("published_parsed", "updated_parsed"):
        parsed = raw.get(key)
        if parsed:
            moment = dt.datetime.fromtimestamp(calendar.timegm(parsed), dt.UTC)
            return moment.isoformat().replace("+00:00", "Z")
    text = normalize_text(str(raw.get("published") or raw.get("updated") or ""))
    return text or None
