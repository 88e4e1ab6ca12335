"""Errors raised by the newsbot engine.

Every error the engine raises on purpose derives from ``NewsIndexError``; the edges (CLI, bot)
turn them into one-line messages::

    NewsIndexError
    ├── ConfigError            a setting is missing or invalid
    ├── ArticleError           one article file cannot be read or parsed
    ├── NoArticlesError        the articles folder is missing or holds no usable article
    ├── IndexNotFoundError     no index has been built yet
    ├── IndexCorruptError      the index files on disk are unreadable or inconsistent
    ├── IndexWriteError        the index folder cannot be written (read-only, disk full)
    ├── IndexMismatchError     the index was built with other embedding models
    ├── EmbedderError          an embedding model cannot be loaded
    ├── FetchError             a URL cannot be fetched (connection refused, DNS, TLS, ...)
    │   ├── UnsafeURLError         not http(s), or a private/loopback/link-local address
    │   ├── FetchTimeoutError      connecting or reading took longer than FETCH_TIMEOUT_S
    │   ├── TooManyRedirectsError  more redirects than allowed
    │   ├── ResponseTooLargeError  the body is larger than FETCH_MAX_BYTES
    │   └── BadStatusError         the server answered with an HTTP error status
    ├── ExtractError           a page or file holds no readable article text
    ├── FeedError              fetched bytes are not a readable RSS or Atom feed
    └── ModelError             the language model gave no usable answer (index.compose keeps
                               it inside: the reader gets the extractive answer)
"""

from __future__ import annotations


class NewsIndexError(Exception):
    """Base class of every error the engine raises on purpose."""


class ConfigError(NewsIndexError):
    """A setting is missing or invalid; the message names it and the fix."""


class ArticleError(NewsIndexError):
    """One article file cannot be read or parsed."""


class NoArticlesError(NewsIndexError):
    """The articles folder is missing or holds no usable article."""


class IndexNotFoundError(NewsIndexError):
    """No index has been built in the index folder yet."""


class IndexCorruptError(NewsIndexError):
    """The index files on disk are unreadable or disagree with each other; ``problem`` is what
    is wrong, without the advice the message ends with."""

    def __init__(self, message: str, problem: str | None = None) -> None:
        super().__init__(message)
        self.problem = problem or message


class IndexWriteError(NewsIndexError):
    """The index folder cannot be written: read-only, another user's, or the disk is full."""


class IndexMismatchError(NewsIndexError):
    """The index on disk was built with different embedding models than configured."""


class EmbedderError(NewsIndexError):
    """An embedding model cannot be loaded or used."""


class FetchError(NewsIndexError):
    """A URL cannot be fetched; subclasses say why when the reason is one of ours."""


class UnsafeURLError(FetchError):
    """The URL is not http(s), or its host resolves to an address we refuse to contact."""


class FetchTimeoutError(FetchError):
    """Connecting to the server or reading its answer took too long."""


class TooManyRedirectsError(FetchError):
    """The server redirected more times than allowed."""


class ResponseTooLargeError(FetchError):
    """The response body is larger than the configured cap."""


class BadStatusError(FetchError):
    """The server answered with an HTTP error status (4xx or 5xx)."""

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


class ExtractError(NewsIndexError):
    """A page or file holds no article text that could be extracted."""


class FeedError(NewsIndexError):
    """Fetched bytes are not a readable RSS or Atom feed."""


class ModelError(NewsIndexError):
    """The language model gave no usable answer; ``kind`` says why in a word or two
    (``timeout``, ``connection``, ``http 500``, ``malformed``, ``empty``) for the logs and
    /stats."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
