"""The articles folder as a place to write: clean URLs, safe file names, atomic saves."""

from __future__ import annotations

import dataclasses
import datetime as dt
import errno
import json
import os
import re
from pathlib import Path

import pytest

from index.articles import load_articles
from index.errors import ArticleError
from index.intake.library import clean_url, file_stem, save_article
from index.models import Article
from tests.articles import (
    ERUPTION,
    ERUPTION_TITLE,
)

SAFE_STEM = re.compile(r"^\d{4}-\d{2}-\d{2}-[\w-]+$")


def _article(title: str, paragraphs: list[str], url: str | None = None) -> Article:
    return Article(article_id="", title=title, paragraphs=tuple(paragraphs), url=url)


def _visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param(
            "HTTPS://News.Example.ORG/a/b?id=7&utm_source=rss&utm_medium=x#comments",
            "https://news.example.org/a/b?id=7",
            id="case-utm-fragment",
        ),
        pytest.param("http://example.org:80", "http://example.org/", id="default-port"),
        pytest.param(
            "https://example.org:8443/x?fbclid=1&gclid=2", "https://example.org:8443/x", id="ids"
        ),
        # courlan's tracker list would drop "cid", and every "view?cid=N" of a site would then
        # be one article: the second and later ones skipped as duplicates.
        pytest.param(
            "https://example.org/view?cid=123&ref=rss",
            "https://example.org/view?cid=123&ref=rss",
            id="content-id-kept",
        ),
    ],
)
def test_clean_url(url: str, expected: str) -> None:
    assert clean_url(url) == expected


@pytest.mark.parametrize(
    "title",
    [
        pytest.param("../../etc/passwd", id="dot-dot"),
        pytest.param("/etc/cron.d/evil", id="absolute"),
        pytest.param("..\\..\\windows\\system32", id="backslashes"),
        pytest.param(".hidden", id="dot-file"),
        pytest.param("..", id="only-dots"),
        pytest.param("", id="empty"),
        pytest.param("a\x00b\nc", id="control-chars"),
        pytest.param("Word " * 100, id="very-long"),
        pytest.param("Путин призвал Россию лидировать в ИИ", id="cyrillic"),
    ],
)
def test_titles_give_safe_file_names(title: str, articles_dir: Path) -> None:
    article = _article(title, ["Some text."])

    stem = file_stem(article, today=dt.date(2024, 5, 1))

    assert SAFE_STEM.match(stem), stem
    assert len(stem) <= 80
    if not title.strip(". "):
        return  # no title to save under, but still a safe stem (from the URL or "article")
    name = save_article(article, articles_dir).file
    assert name is not None
    assert (articles_dir / name).resolve().parent == articles_dir.resolve()
    assert not name.startswith(".")
    assert SAFE_STEM.match(Path(name).stem)
    assert name.endswith(".json")


def test_saving_never_overwrites_an_existing_article(articles_dir: Path) -> None:
    article = dataclasses.replace(_article(ERUPTION_TITLE, ERUPTION), published="2024-05-05")
    existing = articles_dir / f"{file_stem(article)}.txt"
    existing.write_text("Old title\n\nOld text.\n", encoding="utf-8")

    first = save_article(article, articles_dir)
    second = save_article(article, articles_dir)

    assert existing.read_text(encoding="utf-8") == "Old title\n\nOld text.\n"
    assert first.file == f"{file_stem(article)}-2.json"
    assert second.file == f"{file_stem(article)}-3.json"
    loaded = load_articles(articles_dir)
    assert loaded.problems == ()  # no two files share an article id
    saved = json.loads((articles_dir / first.file).read_text(encoding="utf-8"))
    assert saved == {
        "title": ERUPTION_TITLE,
        "url": None,
        "published": "2024-05-05",
        "source": None,
        "paragraphs": ERUPTION,
    }


def test_a_failed_save_leaves_no_file_behind(
    articles_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _visible(articles_dir)

    def disk_full(*_: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "link", disk_full)  # fail after the temporary file is written

    with pytest.raises(ArticleError, match="No space left on device"):
        save_article(_article(ERUPTION_TITLE, ERUPTION), articles_dir)
    assert _visible(articles_dir) == before
