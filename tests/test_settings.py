"""The bot's settings from the environment: the engine's plus Telegram's, and the fix for each."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.settings import BotSettings
from index.errors import ConfigError
from tests.conftest import ROOT
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


def test_send_limits_default_to_telegrams_and_are_read_from_the_environment() -> None:
    default = BotSettings.from_env({})
    assert (default.send_deadline_s, default.chat_messages_per_s, default.chat_burst) == (600, 1, 3)
    assert (default.group_messages_per_min, default.messages_per_s) == (20, 25)
    settings = BotSettings.from_env(
        {
            "SEND_DEADLINE_S": "120",
            "CHAT_MESSAGES_PER_S": "0.5",
            "CHAT_BURST": "2",
            "GROUP_MESSAGES_PER_MIN": "15",
            "MESSAGES_PER_S": "20",
        }
    )
    assert (settings.send_deadline_s, settings.chat_messages_per_s, settings.chat_burst) == (
        120,
        0.5,
        2,
    )
    assert (settings.group_messages_per_min, settings.messages_per_s) == (15, 20)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        pytest.param(
            {"SEND_DEADLINE_S": "0"}, "SEND_DEADLINE_S must be between 1 and 86400", id="deadline"
        ),
        pytest.param(
            {"SEND_DEADLINE_S": "soon"}, "SEND_DEADLINE_S must be a number", id="deadline-text"
        ),
        pytest.param(
            {"CHAT_MESSAGES_PER_S": "0"}, "CHAT_MESSAGES_PER_S must be above 0", id="pace"
        ),
        pytest.param(
            {"CHAT_BURST": "1.5"}, "CHAT_BURST must be a whole number, got '1.5'", id="burst-text"
        ),
        pytest.param(
            {"CHAT_BURST": "0"}, "CHAT_BURST must be a whole number from 1 to 30", id="burst"
        ),
        pytest.param(
            {"GROUP_MESSAGES_PER_MIN": "100"}, "GROUP_MESSAGES_PER_MIN must be", id="group"
        ),
        pytest.param({"MESSAGES_PER_S": "0"}, "MESSAGES_PER_S must be", id="overall"),
    ],
)
def test_bad_send_limits_say_what_to_fix(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        BotSettings.from_env(environ)


def test_missing_token_says_how_to_get_one() -> None:
    with pytest.raises(ConfigError, match="@BotFather.*newsbot chat"):
        BotSettings().require_token()
    assert BotSettings(telegram_token="123:ABC").require_token() == "123:ABC"


def test_env_example_documents_every_variable_the_settings_read() -> None:
    sources = (ROOT / "index" / "config.py").read_text() + (
        ROOT / "bot" / "settings.py"
    ).read_text()
    names = re.findall(r'\("([A-Z][A-Z0-9_]+)", "[a-z_]+",', sources)
    assert {"LLM_BASE_URL", "LLM_MODEL", "LLM_API_KEY", "LLM_TIMEOUT_S"} <= set(names)
    example = (ROOT / ".env.example").read_text()
    assert [n for n in names if not re.search(rf"^{n}=", example, re.MULTILINE)] == []
