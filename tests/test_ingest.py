"""Adding articles: safe names, atomic writes, duplicates, `newsbot add` over real HTTP."""

from __future__ import annotations

import dataclasses
import datetime as dt
import errno
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import index.engine
from bot.cli import cli
from index.articles import load_articles
from index.config import Settings
from index.embedders import Embedder
from index.errors import ArticleError
from index.intake.ingest import add_sources
from index.intake.library import clean_url, file_stem, save_article
from index.models import Article
from tests.loopback import LoopbackSite, article_html, rss_feed

VOLCANO_TITLE = "Icelandic volcano Fagradalsfjall erupts for the fifth time"
VOLCANO = [
    "The Fagradalsfjall volcano on Iceland's Reykjanes peninsula erupted again on Sunday, "
    "sending a curtain of lava three hundred metres long across the Geldingadalir valley.",
    "The Icelandic Met Office said the town of Grindavik was not in danger, but hikers were "
    "told to keep away from the new fissure while gas levels remain high.",
]
ORCHID_TITLE = "Botanists rediscover the ghost orchid of Sumatra"
ORCHID = [
    "A team of botanists from Bogor has rediscovered the leafless ghost orchid of Sumatra, "
    "last seen in 1932, growing on a single fig tree in the Kerinci Seblat national park.",
    "The orchid blooms for only two nights a year and is pollinated by a moth whose name the "
    "botanists are keeping secret to protect the plant from collectors.",
]
SAFE_STEM = re.compile(r"^\d{4}-\d{2}-\d{2}-[\w-]+$")


@pytest.fixture
def site() -> Iterator[LoopbackSite]:
    with LoopbackSite() as loopback:
        yield loopback


@pytest.fixture
def local(settings: Settings) -> Settings:
    """The test settings with fetching from 127.0.0.1 allowed."""
    return dataclasses.replace(settings, allow_private_urls=True, fetch_timeout_s=1.0)


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
    article = dataclasses.replace(_article(VOLCANO_TITLE, VOLCANO), published="2024-05-05")
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
        "title": VOLCANO_TITLE,
        "url": None,
        "published": "2024-05-05",
        "source": None,
        "paragraphs": VOLCANO,
    }


def test_a_failed_save_leaves_no_file_behind(
    articles_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _visible(articles_dir)

    def disk_full(*_: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "link", disk_full)  # fail after the temporary file is written

    with pytest.raises(ArticleError, match="No space left on device"):
        save_article(_article(VOLCANO_TITLE, VOLCANO), articles_dir)
    assert _visible(articles_dir) == before


def test_duplicates_by_url_and_by_text_are_skipped(
    site: LoopbackSite, local: Settings, tmp_path: Path
) -> None:
    page = site.page(
        "/volcano", article_html(VOLCANO_TITLE, VOLCANO, "/world/volcano?utm_campaign=x")
    )
    copy = tmp_path / "volcano-copy.txt"
    copy.write_text(VOLCANO_TITLE.upper() + "\n\n" + "\n\n".join(VOLCANO) + "\n", encoding="utf-8")

    report = add_sources(
        [page, site.url("/world/volcano?utm_source=tw#top"), page, str(copy)], local
    )

    assert [r.status for r in report.results] == ["added", "duplicate", "duplicate", "duplicate"]
    assert site.hits["/world/volcano"] == 0  # a known URL is not fetched again
    [saved] = report.added
    assert saved.url == site.url("/world/volcano")
    assert f"already saved as {saved.file}" == report.results[2].message
    assert len(list(local.articles_dir.glob("*.json"))) == 1


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


@pytest.fixture
def runner_env(monkeypatch: pytest.MonkeyPatch, embedders: list[Embedder]) -> dict[str, str]:
    """`newsbot` commands reuse the session's models instead of loading their own."""
    monkeypatch.setattr(index.engine, "load_embedders", lambda settings: embedders)
    return {"ALLOW_PRIVATE_URLS": "1", "FETCH_TIMEOUT_S": "2"}


def test_newsbot_add_url_and_html_file_then_index(
    site: LoopbackSite, settings: Settings, tmp_path: Path, runner_env: dict[str, str]
) -> None:
    page = site.page("/orchid", article_html(ORCHID_TITLE, ORCHID, published="2024-04-30"))
    html_file = tmp_path / "saved page.html"
    html_file.write_text(
        article_html(VOLCANO_TITLE, VOLCANO, "https://herald.example/world/volcano"),
        encoding="utf-8",
    )
    folders = ["--articles", str(settings.articles_dir), "--index", str(settings.index_dir)]

    result = CliRunner().invoke(cli, ["add", page, str(html_file), *folders], env=runner_env)

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"Added      {page}: saved as 2024-04-30-botanists-rediscover")
    assert lines[1].startswith(f"Added      {html_file}: saved as ")
    assert "3 added, 0 changed, 0 removed" in result.output  # with the seed article: new index
    loaded = {a.title: a for a in load_articles(settings.articles_dir).articles}
    assert loaded[ORCHID_TITLE].url == page
    assert loaded[VOLCANO_TITLE].url == "https://herald.example/world/volcano"

    again = CliRunner().invoke(cli, ["add", page, *folders], env=runner_env)

    assert again.exit_code == 0, again.output
    assert again.output.startswith(f"Duplicate  {page}: already saved as 2024-04-30-")
    assert "Index" not in again.output  # nothing new: the index is left alone


def test_newsbot_add_exits_1_when_a_source_fails(
    settings: Settings, runner_env: dict[str, str]
) -> None:
    folders = ["--articles", str(settings.articles_dir), "--index", str(settings.index_dir)]

    result = CliRunner().invoke(cli, ["add", "nowhere.txt", *folders], env=runner_env)

    assert result.exit_code == 1
    assert "Failed     nowhere.txt: nowhere.txt is neither" in result.output
    assert "Error: 1 of 1 failed" in result.output


def test_newsbot_add_without_sources_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["add"])

    assert result.exit_code == 2


def test_newsbot_feeds_needs_feeds(settings: Settings, runner_env: dict[str, str]) -> None:
    folders = ["--articles", str(settings.articles_dir), "--index", str(settings.index_dir)]

    result = CliRunner().invoke(cli, ["feeds", *folders], env=runner_env)

    assert result.exit_code == 1
    assert "FEEDS is not set" in result.output


def test_newsbot_feeds_saves_and_indexes(
    site: LoopbackSite, settings: Settings, runner_env: dict[str, str]
) -> None:
    orchid = site.page("/orchid", article_html(ORCHID_TITLE, ORCHID))
    feed = site.page(
        "/rss.xml",
        rss_feed([{"title": ORCHID_TITLE, "link": orchid, "guid": "orchid"}]),
        content_type="application/rss+xml",
    )
    broken = site.page("/broken.xml", "oops", status=503)
    folders = ["--articles", str(settings.articles_dir), "--index", str(settings.index_dir)]
    env = {**runner_env, "FEEDS": f"{feed} {broken}"}

    result = CliRunner().invoke(cli, ["feeds", *folders], env=env)

    assert result.exit_code == 1  # one feed failed; the other was still saved and indexed
    assert f"Feed Loopback Herald <{feed}>: 1 new entries" in result.output
    assert f"Feed {broken}: failed, will retry next run: " in result.output
    assert "2 added, 0 changed" in result.output
    assert "1 of 2 feeds failed" in result.output
