"""Feeds: parsing RSS and Atom documents into entries (feed rounds are in test_ingest.py)."""

from __future__ import annotations

import pytest

from index.errors import FeedError
from index.intake.feeds import parse_feed
from tests.loopback import ATOM, RSS, atom_feed, rss_feed


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
