"""News intake: articles arriving in the articles folder, from files, web pages and feeds.

Nothing here embeds or indexes: the caller updates the index afterwards
(``NewsEngine.update_index``). The engine (the rest of ``index``) never imports this package.

- ``fetch``: safe HTTP (http(s) only, timeouts, a size cap, no private addresses);
- ``extract``: an HTML page to an article (trafilatura);
- ``feeds``: RSS and Atom parsing (feedparser); ``feed_state``: what each feed round remembers;
- ``library``: the articles folder as a place to write (safe names, atomic saves, duplicates);
- ``ingest``: ``add_sources`` and ``check_feeds``, which tie the above together;
- ``watch``: the folder watcher that tells the bot when to update the index.
"""

from index.intake.extract import extract_article
from index.intake.feed_state import FeedState
from index.intake.feeds import Feed, FeedEntry, parse_feed
from index.intake.fetch import FetchedPage, FetchPolicy, fetch, new_client
from index.intake.ingest import (
    AddReport,
    FeedReport,
    FeedResult,
    SourceResult,
    add_sources,
    check_feeds,
)
from index.intake.library import ArticleCatalog, clean_url, save_article
from index.intake.watch import FolderChanges, FolderWatcher

__all__ = [
    "AddReport",
    "ArticleCatalog",
    "Feed",
    "FeedEntry",
    "FeedReport",
    "FeedResult",
    "FeedState",
    "FetchPolicy",
    "FetchedPage",
    "FolderChanges",
    "FolderWatcher",
    "SourceResult",
    "add_sources",
    "check_feeds",
    "clean_url",
    "extract_article",
    "fetch",
    "new_client",
    "parse_feed",
    "save_article",
]
