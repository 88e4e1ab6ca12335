"""`newsbot add` and `newsbot feeds`: output, exit codes and the index update after saving."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import index.engine
from bot.cli import cli
from index.articles import load_articles
from index.config import Settings
from index.embedders import Embedder
from tests.articles import (
    ERUPTION,
    ERUPTION_TITLE,
    ORCHID,
    ORCHID_TITLE,
)
from tests.loopback import LoopbackSite, article_html, rss_feed


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
        article_html(ERUPTION_TITLE, ERUPTION, "https://herald.example/world/volcano"),
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
    assert loaded[ERUPTION_TITLE].url == "https://herald.example/world/volcano"

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
