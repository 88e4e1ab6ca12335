"""``newsbot add`` and ``newsbot feeds``: save new articles, then update the index.

``bot.cli`` registers both on the ``newsbot`` group.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.cli_common import (
    configure_logging,
    expected_errors,
    folder_options,
    load_settings,
    update_index,
)
from bot.terminal import format_build_report
from index import NewsEngine, Settings

if TYPE_CHECKING:
    from index.intake import AddReport, FeedReport, SourceResult

# index.intake (httpx, trafilatura, feedparser) is imported by the two commands that use it: it
# was a fifth (90 ms) of every `newsbot ask` when only answers are wanted.


def _index_new_articles(settings: Settings) -> None:
    """Load the models and update the index incrementally, printing the build report."""
    click.echo(format_build_report(update_index(NewsEngine(settings))))


def _result_line(result: SourceResult) -> str:
    return f"{result.status.capitalize():<10} {result.source}: {result.message}"


def format_add_report(report: AddReport) -> str:
    """One line per source: added, duplicate or failed, and why."""
    return "\n".join(_result_line(result) for result in report.results)


def format_feed_report(report: FeedReport) -> str:
    """Per feed: its error, or a line per new entry."""
    lines = []
    for feed in report.feeds:
        name = f"{feed.title} <{feed.url}>" if feed.title else feed.url
        if feed.error is not None:
            lines.append(f"Feed {name}: failed, will retry next run: {feed.error}")
            continue
        lines.append(f"Feed {name}: {len(feed.entries)} new entries")
        lines.extend(f"  {_result_line(result)}" for result in feed.entries)
        if feed.pending:
            lines.append(f"  {feed.pending} more entries left for the next run")
    return "\n".join(lines)


@click.command()
@click.argument("sources", nargs=-1, required=True, metavar="PATH_OR_URL...")
@folder_options
def add(sources: tuple[str, ...], articles: Path | None, index_dir: Path | None) -> None:
    """Add articles from files (.txt, .md, .json, .html) or http(s) URLs, then update the index.

    Web pages are reduced to the article's text, title, date and canonical URL. A URL or a text
    that is already in the articles folder is skipped.

    Example: newsbot add https://example.org/news/story.html saved-page.html
    """
    with expected_errors():
        settings = load_settings(articles, index_dir).engine
        configure_logging("ERROR")
        from index.intake import add_sources

        report = add_sources(sources, settings)
        click.echo(format_add_report(report))
        if report.added:
            _index_new_articles(settings)
    if report.failed:
        raise click.ClickException(f"{len(report.failed)} of {len(report.results)} failed")


@click.command()
@folder_options
def feeds(articles: Path | None, index_dir: Path | None) -> None:
    """Check every feed in FEEDS once, save the new entries, then update the index.

    Entries already handled in an earlier run are not fetched again; a feed that fails is
    tried again on the next run.

    Example: FEEDS=https://example.org/rss.xml newsbot feeds
    """
    with expected_errors():
        settings = load_settings(articles, index_dir).engine
        if not settings.feeds:
            raise click.ClickException(
                "FEEDS is not set; put RSS or Atom URLs in .env, e.g. "
                "FEEDS=https://example.org/rss.xml"
            )
        configure_logging("ERROR")
        from index.intake import check_feeds

        report = check_feeds(settings)
        click.echo(format_feed_report(report))
        if report.added:
            _index_new_articles(settings)
    if report.failed_feeds:
        raise click.ClickException(
            f"{len(report.failed_feeds)} of {len(report.feeds)} feeds failed; "
            "they will be retried on the next run"
        )
