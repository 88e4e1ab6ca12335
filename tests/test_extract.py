"""HTML to article (index.intake.extract): the publication date comes from the page's own
metadata only, never from a year or a date in its text."""

from __future__ import annotations

import pytest

from index.intake.extract import extract_article
from tests.loopback import article_html

TITLE = "Bridge Opens After Long Delays"
BODY = [
    "Construction began in 2021 and the bridge over the river opened this week after delays.",
    "Work started on 2021-03-12, the mayor said, and the city waited for years to cross it.",
]
ARTICLE = "".join(f"<p>{p}</p>" for p in BODY)


def _page(head: str = "", body_top: str = "") -> str:
    return (
        f"<!doctype html><html><head><title>{TITLE} | Herald</title>{head}</head><body>"
        f"<article><h1>{TITLE}</h1>{body_top}{ARTICLE}</article></body></html>"
    )


@pytest.mark.parametrize(
    "page",
    [
        pytest.param(_page(), id="dates-only-in-the-text"),
        pytest.param(
            _page('<meta name="description" content="Work began 2021-03-12 10:00.">'),
            id="a-date-in-the-description",
        ),
        pytest.param(_page(body_top="<time>12 March 2021</time>"), id="an-unmarked-time"),
    ],
)
def test_a_page_without_date_metadata_has_no_date(page: str) -> None:
    article = extract_article(page)
    assert article.published is None
    assert "Construction began in 2021" in " ".join(article.paragraphs)


@pytest.mark.parametrize(
    ("page", "published"),
    [
        pytest.param(
            article_html(TITLE, BODY, published="2024-05-02T10:00:00Z"),
            "2024-05-02",
            id="article-published-time",
        ),
        pytest.param(
            _page(
                '<script type="application/ld+json">'
                '{"@type": "NewsArticle", "datePublished": "2024-05-03"}</script>'
            ),
            "2024-05-03",
            id="json-ld",
        ),
        pytest.param(
            _page(body_top='<time itemprop="datePublished" datetime="2024-05-04">May 4</time>'),
            "2024-05-04",
            id="time-marked-published",
        ),
    ],
)
def test_the_date_is_the_one_the_page_declares(page: str, published: str) -> None:
    assert extract_article(page).published == published
