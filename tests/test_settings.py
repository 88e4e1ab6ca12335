"""The bot's settings from the environment: the engine's plus Telegram's, and the fix for each."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import BotSettings
from index.errors import ConfigError
from tests.test_config import ENVIRON


def test_defaults_need_no_environment() -> None:
    settings = BotSettings.from_env({})
    assert settings.engine.articles_dir == Path("seeds")
    assert settings.telegram_token is None
    assert settings.allowed_chat_ids is None
    assert settings.feed_interval_min == 30
    assert settings.subscriptions_path == Path("data/index-subscriptions.sqlite3")


def test_values_are_parsed_and_blank_means_default() -> None:
    settings = BotSettings.from_env(ENVIRON)
    assert settings.engine.articles_dir == Path("news")  # the engine's settings come along
    assert settings.engine.top_k == 5
    assert settings.admin_ids == frozenset({1, 2, 3})
    assert settings.allowed_chat_ids == frozenset({-100123})
    assert settings.drop_pending_updates is False
    assert settings.log_level == "DEBUG"
    assert settings.telegram_token is None


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        pytest.param({"TOP_K": "many"}, "TOP_K must be a whole number", id="engine-setting"),
        pytest.param({"ADMIN_IDS": "alice"}, "ADMIN_IDS must be a comma-separated", id="admins"),
        pytest.param({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL must be one of", id="log-level"),
        pytest.param({"DROP_PENDING_UPDATES": "maybe"}, "DROP_PENDING_UPDATES", id="flag"),
        pytest.param({"FEED_INTERVAL_MIN": "0"}, "FEED_INTERVAL_MIN", id="interval"),
    ],
)
def test_bad_values_name_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        BotSettings.from_env(environ)


def test_missing_token_says_how_to_get_one() -> None:
    with pytest.raises(ConfigError, match="@BotFather.*newsbot chat"):
        BotSettings().require_token()
    assert BotSettings(telegram_token="123:ABC").require_token() == "123:ABC"
