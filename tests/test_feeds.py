"""Feeds: parsing RSS/Atom, and feed rounds against a real site on 127.0.0.1 and the real engine."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.config import Settings
from index.engine import NewsEngine
from index.errors import FeedError
from index.intake.feed_state import FeedState
from index.intake.feeds import parse_feed
from index.intake.ingest import MAX_ENTRY_ATTEMPTS, check_feeds
from tests.articles import BEE_PARAGRAPHS
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
def site() -> Iterator[LoopbackSite]:
    with LoopbackSite() as loopback:
        yield loopback


def _feed_settings(settings: Settings, *feeds: str) -> Settings:
    return dataclasses.replace(settings, feeds=feeds, allow_private_urls=True, fetch_timeout_s=0.5)


def _saved(folder: Path) -> dict[str, dict[str, object]]:
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in folder.glob("*.json")}


def test_parse_rss_resolves_links_and_dates() -> None:
    data = rss_feed(
        [
            {
                "title": "Bees find truffles",
                "link": "/science/bees",
                "guid": "bees-1",
                "pubDate": "Tue, 07 May 2024 08:30:00 GMT",
                "description": "<p>Bees <b>can</b> smell truffles.</p>",
            }
        ]
    )

    feed = parse_feed(data.encode(), "http://herald.example/rss.xml", RSS)

    assert feed.title == "Loopback Herald"
    [entry] = feed.entries
    assert entry.entry_id.endswith("bees-1")  # feedparser resolves a permalink guid
    assert entry.link == "http://herald.example/science/bees"
    assert entry.published == "2024-05-07T08:30:00Z"
    assert "<b>can</b>" in entry.summary


def test_parse_atom_entries() -> None:
    data = atom_feed(
        [
            {
                "id": "urn:comet",
                "title": "Green comet",
                "link": "http://herald.example/comet",
                "updated": "2024-05-02T10:00:00Z",
                "summary": "A comet passed the Moon.",
            }
        ]
    )

    feed = parse_feed(data.encode(), "http://herald.example/atom.xml", ATOM)

    assert feed.title == "Loopback Science"
    assert [(e.entry_id, e.title, e.published) for e in feed.entries] == [
        ("urn:comet", "Green comet", "2024-05-02T10:00:00Z")
    ]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"this is not a feed", id="text"),
        pytest.param(b"<html><body><p>a web page</p></body></html>", id="html-page"),
        pytest.param(b'<rss version="2.0"><channel><item><title>cut o', id="truncated"),
        pytest.param(b"", id="empty"),
    ],
)
def test_malformed_feeds_raise_feed_error(data: bytes) -> None:
    with pytest.raises(FeedError, match="http://herald.example/rss.xml"):
        parse_feed(data, "http://herald.example/rss.xml")


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
