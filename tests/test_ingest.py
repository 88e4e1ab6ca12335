"""Adding articles from files, URLs and feeds: duplicates, failures, feed rounds, over real HTTP
on 127.0.0.1 and with the real engine."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest

from index.config import Settings
from index.engine import NewsEngine
from index.intake.feed_state import FeedState
from index.intake.ingest import MAX_ENTRY_ATTEMPTS, add_sources, check_feeds
from index.models import Article
from tests.articles import (
    BEE_PARAGRAPHS,
    ERUPTION,
    ERUPTION_TITLE,
    ORCHID,
    ORCHID_TITLE,
)
from tests.loopback import ATOM, RSS, LoopbackSite, article_html, atom_feed, rss_feed

BEES_TITLE = "Beekeepers in Ljubljana teach honeybees to sniff out truffles"

BEES = BEE_PARAGRAPHS

BEES_CANONICAL = "https://herald.example/science/bees-truffles"

COMET = [
    "Amateur astronomers in Patagonia photographed a green comet passing within four million "
    "kilometres of the Moon, the closest approach recorded by the Southern Sky Society.",
    "The comet, catalogued as C/2024 Q7, will not return for another eleven thousand years.",
]


@pytest.fixture
def local(settings: Settings) -> Settings:
    """The test settings with fetching from 127.0.0.1 allowed."""
    return dataclasses.replace(settings, allow_private_urls=True, fetch_timeout_s=1.0)


def _feed_settings(settings: Settings, *feeds: str) -> Settings:
    return dataclasses.replace(settings, feeds=feeds, allow_private_urls=True, fetch_timeout_s=0.5)


def _saved(folder: Path) -> dict[str, dict[str, object]]:
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in folder.glob("*.json")}


def _article(title: str, paragraphs: list[str], url: str | None = None) -> Article:
    return Article(article_id="", title=title, paragraphs=tuple(paragraphs), url=url)


def test_duplicates_by_url_and_by_text_are_skipped(
    site: LoopbackSite, local: Settings, tmp_path: Path
) -> None:
    page = site.page(
        "/volcano",
        article_html(ERUPTION_TITLE, ERUPTION, "/world/volcano?utm_campaign=x"),
    )
    copy = tmp_path / "volcano-copy.txt"
    copy.write_text(
        ERUPTION_TITLE.upper() + "\n\n" + "\n\n".join(ERUPTION) + "\n", encoding="utf-8"
    )

    report = add_sources(
        [page, site.url("/world/volcano?utm_source=tw#top"), page, str(copy)], local
    )

    assert [r.status for r in report.results] == ["added", "duplicate", "duplicate", "duplicate"]
    assert site.hits["/world/volcano"] == 0  # a known URL is not fetched again
    [saved] = report.added
    assert saved.url == site.url("/world/volcano")
    assert f"already saved as {saved.file}" == report.results[2].message
    assert len(list(local.articles_dir.glob("*.json"))) == 1


def test_a_page_without_a_date_is_saved_under_todays_date_not_a_year_from_its_text(
    site: LoopbackSite, local: Settings
) -> None:
    text = ["Construction of the new harbour bridge began in 2021, the city council said.", *COMET]
    report = add_sources([site.page("/bridge", article_html("Harbour Bridge", text))], local)
    [saved] = report.added
    assert saved.published is None
    assert saved.file is not None
    assert saved.file.startswith(dt.date.today().isoformat())
    assert _saved(local.articles_dir)[saved.file]["published"] is None


def test_bad_sources_fail_and_the_rest_carry_on(
    site: LoopbackSite, local: Settings, tmp_path: Path
) -> None:
    site.page("/error", "oops", status=500)
    site.page("/feed.xml", rss_feed([]), content_type="application/rss+xml")
    (tmp_path / "paper.pdf").write_bytes(b"%PDF-1.4")
    orchid = site.page("/orchid", article_html(ORCHID_TITLE, ORCHID))

    report = add_sources(
        [
            str(tmp_path / "missing.txt"),
            str(tmp_path / "paper.pdf"),
            "ftp://example.org/story",
            site.url("/error"),
            site.url("/feed.xml"),
            orchid,
        ],
        local,
    )

    messages = [r.message for r in report.results]
    assert [r.status for r in report.results] == ["failed"] * 5 + ["added"]
    assert "neither an http(s) URL nor an existing file" in messages[0]
    assert "unsupported file type" in messages[1]
    assert "only http and https" in messages[2]
    assert "HTTP 500" in messages[3]
    assert "not an HTML page" in messages[4]
    assert [a.title for a in report.added] == [ORCHID_TITLE]


def test_private_addresses_are_refused_without_the_setting(
    site: LoopbackSite, settings: Settings
) -> None:
    page = site.page("/orchid", article_html(ORCHID_TITLE, ORCHID))

    [result] = add_sources([page], settings).results

    assert result.status == "failed"
    assert "ALLOW_PRIVATE_URLS=1" in result.message
    assert site.hits["/orchid"] == 0
    assert not list(settings.articles_dir.glob("*.json"))


def test_a_new_feed_item_is_saved_indexed_and_answered_with_its_url(
    site: LoopbackSite, settings: Settings, engine: NewsEngine
) -> None:
    page = site.page(
        "/science/bees-truffles",
        article_html(BEES_TITLE, BEES, BEES_CANONICAL + "?utm_source=rss", "2024-05-07"),
    )
    feed_url = site.page(
        "/rss.xml",
        rss_feed([{"title": BEES_TITLE, "link": page, "guid": "bees-1"}]),
        content_type=RSS,
    )
    feed_settings = _feed_settings(settings, feed_url)

    report = check_feeds(feed_settings)

    [added] = report.added
    assert (added.title, added.url, added.published) == (BEES_TITLE, BEES_CANONICAL, "2024-05-07")
    assert added.source == "Loopback Herald"
    assert (settings.articles_dir / f"{added.article_id}.json").is_file()
    build = engine.update_index()
    assert build.added == (added.article_id,)

    answer = engine.ask("How accurately did the trained honeybees find buried truffles?")

    assert answer.found
    assert answer.citations[0].url == BEES_CANONICAL
    assert any(c.url == BEES_CANONICAL and "92 percent" in c.text for c in answer.citations)

    again = check_feeds(feed_settings)  # the next round fetches nothing it has seen
    assert again.added == ()
    assert again.feeds[0].entries == ()
    assert site.hits["/science/bees-truffles"] == 1


def test_feed_errors_are_reported_and_the_other_feeds_carry_on(
    site: LoopbackSite, settings: Settings
) -> None:
    broken = site.page("/feeds/broken.xml", "oops", status=500)
    slow = site.page("/feeds/slow.xml", rss_feed([]), content_type=RSS, delay_s=1.5)
    malformed = site.page("/feeds/malformed.xml", "<rss><channel><item>", content_type=RSS)
    comet = site.page("/comet", article_html("Green comet grazes the Moon", COMET))
    good = site.page(
        "/feeds/atom.xml",
        atom_feed(
            [{"id": "urn:comet", "title": "Comet", "link": comet, "updated": "2024-05-02T10:00Z"}]
        ),
        content_type=ATOM,
    )
    feed_settings = _feed_settings(settings, broken, slow, malformed, good)

    report = check_feeds(feed_settings)

    errors = {feed.url: feed.error for feed in report.feeds}
    assert "HTTP 500" in (errors[broken] or "")
    assert "timed out" in (errors[slow] or "")
    assert "malformed" in (errors[malformed] or "")
    assert errors[good] is None
    assert [a.title for a in report.added] == ["Green comet grazes the Moon"]
    assert FeedState.load(feed_settings.feed_state_path).last_error(broken)

    site.page(  # the feed is repaired: the next round reads it
        "/feeds/malformed.xml",
        rss_feed([{"title": "Comet again", "link": comet, "guid": "c2"}]),
        content_type=RSS,
    )
    retry = check_feeds(feed_settings)
    [result] = next(f for f in retry.feeds if f.url == malformed).entries
    assert result.status == "duplicate"  # same URL as the Atom entry saved last round
    assert len(_saved(settings.articles_dir)) == 1


def test_an_entry_whose_page_fails_is_saved_from_its_summary(
    site: LoopbackSite, settings: Settings
) -> None:
    missing = site.url("/gone")  # 404
    feed_url = site.page(
        "/rss.xml",
        rss_feed(
            [
                {
                    "title": "Comet over Patagonia",
                    "link": missing,
                    "guid": "comet",
                    "pubDate": "Thu, 02 May 2024 10:00:00 GMT",
                    "description": "".join(f"<p>{p}</p>" for p in COMET),
                }
            ]
        ),
        content_type=RSS,
    )

    report = check_feeds(_feed_settings(settings, feed_url))

    [result] = report.feeds[0].entries
    assert result.status == "added"
    assert "from the feed summary" in result.message
    [saved] = _saved(settings.articles_dir).values()
    assert saved["paragraphs"] == COMET
    assert (saved["url"], saved["published"]) == (missing, "2024-05-02T10:00:00Z")


def test_an_entry_that_cannot_be_read_is_retried_then_given_up(
    site: LoopbackSite, settings: Settings
) -> None:
    feed_url = site.page(
        "/rss.xml",
        rss_feed([{"title": "No page yet", "link": site.url("/later"), "guid": "later"}]),
        content_type=RSS,
    )
    feed_settings = _feed_settings(settings, feed_url)

    rounds = [check_feeds(feed_settings) for _ in range(MAX_ENTRY_ATTEMPTS + 1)]

    statuses = [[r.status for r in report.feeds[0].entries] for report in rounds]
    assert statuses == [["failed"]] * MAX_ENTRY_ATTEMPTS + [[]]
    assert site.hits["/later"] == MAX_ENTRY_ATTEMPTS
