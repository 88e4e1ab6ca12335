"""The bot's settings: the engine's (``index.Settings``) and the Telegram edge's own, read once
from the environment at the edge (``bot.cli_common.load_settings``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from index import ConfigError, Settings
from index.config import Parse, as_flag, as_float, as_int, as_text, parse_env

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _int_set(name: str, raw: str) -> frozenset[int]:
    try:
        return frozenset(int(part) for part in raw.replace(";", ",").split(",") if part.strip())
    except ValueError:
        raise ConfigError(
            f"{name} must be a comma-separated list of numeric Telegram ids, got {raw!r}"
        ) from None


@dataclass(frozen=True)
class BotSettings:
    """Everything the bot and the CLI are configured with: ``engine`` for the engine and the
    news intake, the rest for Telegram and the running bot; see ``.env.example``."""

    engine: Settings = field(default_factory=Settings)
    telegram_token: str | None = None
    telegram_api_base_url: str | None = None
    admin_ids: frozenset[int] = field(default_factory=frozenset)
    allowed_chat_ids: frozenset[int] | None = None
    log_level: str = "INFO"
    drop_pending_updates: bool = True
    reload_interval_s: float = 5.0
    feed_interval_min: float = 30.0
    # Sending (bot.rate_limit): Telegram's flood limits, and how long a reply may wait for them.
    send_deadline_s: float = 600.0
    chat_messages_per_s: float = 1.0
    chat_burst: int = 3
    group_messages_per_min: int = 20
    messages_per_s: int = 25
    # Conversations (bot.memory): a follow-up is read with this many earlier turns, this recent.
    context_turns: int = 3
    context_minutes: float = 10.0

    def __post_init__(self) -> None:
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")
        if self.reload_interval_s <= 0:
            raise ConfigError("RELOAD_INTERVAL_S must be a positive number of seconds")
        if self.feed_interval_min <= 0:
            raise ConfigError("FEED_INTERVAL_MIN must be a positive number of minutes, e.g. 30")
        self._check_send_limits()
        if not 0 <= self.context_turns <= 20:
            raise ConfigError(
                "CONTEXT_TURNS must be a whole number from 0 to 20, e.g. 3 (0: every question "
                "stands alone)"
            )
        if not 0 < self.context_minutes <= 24 * 60:
            raise ConfigError(
                "CONTEXT_MINUTES must be above 0 and at most 1440 (a day), e.g. 10: how long a "
                "follow-up may come after the question it follows"
            )

    def _check_send_limits(self) -> None:
        if not 1 <= self.send_deadline_s <= 86_400:
            raise ConfigError(
                "SEND_DEADLINE_S must be between 1 and 86400 seconds (a day), e.g. 600: how long "
                "a reply may wait for Telegram's flood limits before it is given up"
            )
        if not 0 < self.chat_messages_per_s <= 30:
            raise ConfigError(
                "CHAT_MESSAGES_PER_S must be above 0 and at most 30, e.g. 1 (Telegram allows "
                "about one message a second in a chat)"
            )
        checks = (
            ("CHAT_BURST", self.chat_burst, 1, 30, "3"),
            ("GROUP_MESSAGES_PER_MIN", self.group_messages_per_min, 1, 60, "20"),
            ("MESSAGES_PER_S", self.messages_per_s, 1, 1000, "25"),
        )
        for name, value, low, high, example in checks:
            if not low <= value <= high:
                raise ConfigError(
                    f"{name} must be a whole number from {low} to {high}, e.g. {example}; "
                    f"got {value}"
                )

    @property
    def conversations_path(self) -> Path:
        """Each chat's recent questions, for follow-ups: an SQLite file beside the index."""
        index_dir = self.engine.index_dir
        return index_dir.parent / f"{index_dir.name}-conversations.sqlite3"

    @property
    def subscriptions_path(self) -> Path:
        """Chats subscribed to new-article notices: an SQLite file beside the index folder."""
        index_dir = self.engine.index_dir
        return index_dir.parent / f"{index_dir.name}-subscriptions.sqlite3"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> BotSettings:
        """Build the engine's and the bot's settings from a mapping such as ``os.environ``
        (empty values mean "default").

        Raises:
            ConfigError: a variable has a value that cannot be used; the message names it.
        """
        variables: list[tuple[str, str, Parse]] = [
            ("TELEGRAM_BOT_TOKEN", "telegram_token", as_text),
            ("TELEGRAM_API_BASE_URL", "telegram_api_base_url", as_text),
            ("LOG_LEVEL", "log_level", lambda _, raw: raw.upper()),
            ("RELOAD_INTERVAL_S", "reload_interval_s", as_float),
            ("FEED_INTERVAL_MIN", "feed_interval_min", as_float),
            ("ADMIN_IDS", "admin_ids", _int_set),
            ("ALLOWED_CHAT_IDS", "allowed_chat_ids", _int_set),
            ("DROP_PENDING_UPDATES", "drop_pending_updates", as_flag),
            ("SEND_DEADLINE_S", "send_deadline_s", as_float),
            ("CHAT_MESSAGES_PER_S", "chat_messages_per_s", as_float),
            ("CHAT_BURST", "chat_burst", as_int),
            ("GROUP_MESSAGES_PER_MIN", "group_messages_per_min", as_int),
            ("MESSAGES_PER_S", "messages_per_s", as_int),
            ("CONTEXT_TURNS", "context_turns", as_int),
            ("CONTEXT_MINUTES", "context_minutes", as_float),
        ]
        engine = Settings.from_env(environ)
        return cls(engine=engine, **parse_env(environ, variables))  # type: ignore[arg-type]

    def require_token(self) -> str:
        """The bot token, or a ConfigError that says how to get one."""
        if not self.telegram_token:
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN is not set; create a bot with @BotFather, copy .env.example "
                "to .env and put the token there. `newsbot chat` works without a token."
            )
        return self.telegram_token
