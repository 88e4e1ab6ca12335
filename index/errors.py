"""Errors raised by the newsbot engine.

Every error the engine raises on purpose derives from ``NewsIndexError``; the edges (CLI, bot)
turn them into one-line messages::

    NewsIndexError
    ├── ConfigError            a setting is missing or invalid
    ├── ArticleError           one article file cannot be read or parsed
    ├── NoArticlesError        the articles folder is missing or holds no usable article
    ├── IndexNotFoundError     no index has been built yet
    ├── IndexCorruptError      the index files on disk are unreadable or inconsistent
    ├── IndexMismatchError     the index was built with other embedding models
    └── EmbedderError          an embedding model cannot be loaded
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
    """The index files on disk are unreadable or disagree with each other."""


class IndexMismatchError(NewsIndexError):
    """The index on disk was built with different embedding models than configured."""


class EmbedderError(NewsIndexError):
    """An embedding model cannot be loaded or used."""
