"""The bot's settings: the engine's (``index.Settings``) and the Telegram edge's own, read once
from the environment at the edge (``bot.cli_common.load_settings``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from index import ConfigError, Settings
from index.config import Parse, as_flag, as_float, as_text, parse_env

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

    def __post_init__(self) -> None:
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")
        if self.reload_interval_s <= 0:
            raise ConfigError("RELOAD_INTERVAL_S must be a positive number of seconds")
        if self.feed_interval_min <= 0:
            raise ConfigError("FEED_INTERVAL_MIN must be a positive number of minutes, e.g. 30")

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
