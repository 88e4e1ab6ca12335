"""What the ``newsbot`` command modules share (``bot.cli`` and ``bot.ingest_cli``): settings,
the folder options, logging, error translation and index updates with a progress bar."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click
from dotenv import dotenv_values

from bot.settings import BotSettings
from bot.terminal import format_build_report
from index import Answer, BuildReport, Composer, NewsEngine, NewsIndexError, Settings, Turn

F = TypeVar("F", bound=Callable[..., Any])
Compose = Callable[[Answer, Sequence[Turn]], Answer]
PROGRESS_MIN_TEXTS = 64  # builds that embed fewer texts than this finish too fast for a bar


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    # httpx logs every request URL at INFO, and Telegram request URLs carry the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # faiss says at INFO which CPU build it tried ("Could not load library with AVX512 support"):
    # noise, since it then loads the one that works.
    logging.getLogger("faiss.loader").setLevel(logging.WARNING)


class _NameTheDotenvFile(logging.Filter):
    """python-dotenv's "could not parse statement starting at line N" does not say which file."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage().startswith("python-dotenv could not parse"):
            record.msg = "Line %s of .env is not NAME=value; it is ignored"
        return True


logging.getLogger("dotenv.main").addFilter(_NameTheDotenvFile())


def load_settings(articles: Path | None = None, index_dir: Path | None = None) -> BotSettings:
    """Settings from ``.env`` (if present) overlaid by the environment, then by CLI options."""
    environ = {k: v for k, v in dotenv_values(".env").items() if v is not None}
    environ.update(os.environ)
    settings = BotSettings.from_env(environ)
    overrides: dict[str, Any] = {}
    if articles is not None:
        overrides["articles_dir"] = articles
    if index_dir is not None:
        overrides["index_dir"] = index_dir
    return dataclasses.replace(settings, engine=dataclasses.replace(settings.engine, **overrides))


def folder_options(command: F) -> F:
    """``--articles`` and ``--index``, taken by every command."""
    command = click.option(
        "--index",
        "index_dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="Index folder (default: INDEX_DIR or data/index).",
    )(command)
    return click.option(
        "--articles",
        type=click.Path(file_okay=False, path_type=Path),
        help="Articles folder (default: ARTICLES_DIR or seeds/).",
    )(command)


@contextlib.contextmanager
def expected_errors() -> Iterator[None]:
    """Turn the engine's errors into a one-line message and exit code 1."""
    try:
        yield
    except NewsIndexError as exc:
        raise click.ClickException(str(exc)) from exc


@contextlib.contextmanager
def _progress_bar() -> Iterator[Callable[[int, int], None]]:
    """A build's progress callback: an "Embedding" bar on stderr, for builds big enough."""
    bar: Any = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None and total >= PROGRESS_MIN_TEXTS:
            bar = click.progressbar(length=total, label="Embedding", file=sys.stderr)
            bar.__enter__()
        if bar is not None:
            bar.update(done - bar.pos)

    try:
        yield update
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)


def _echo_problems(report: BuildReport) -> None:
    for problem in report.problems:
        click.echo(f"Skipped {problem.path.name}: {problem.reason}", err=True)


def update_index(engine: NewsEngine, *, full: bool = False) -> BuildReport:
    """Update the index with a progress bar; files that could not be read are named on stderr."""
    with _progress_bar() as progress:
        report = engine.update_index(full=full, progress=progress)
    _echo_problems(report)
    return report


def open_engine(settings: Settings) -> NewsEngine:
    """Load the models and the index; with no index yet, say so on stderr and build it first."""

    def announce() -> None:
        click.echo(f"No index in {settings.index_dir} yet; building it first.", err=True)

    built: list[BuildReport] = []
    with _progress_bar() as progress:
        engine = NewsEngine.open(
            settings, progress=progress, on_missing_index=announce, on_build=built.append
        )
    for report in built:  # after the bar is closed
        _echo_problems(report)
        click.echo(format_build_report(report), err=True)
    return engine


@contextlib.contextmanager
def composing(settings: Settings) -> Iterator[Compose]:
    """What turns an answer into the one to print: composed by the language model when one is
    configured (LLM_BASE_URL), else the answer itself. One event loop and one HTTP client serve
    every question of the command."""
    if not settings.composes:
        yield lambda answer, _context: answer
        return
    composer = Composer(settings)
    with asyncio.Runner() as runner:
        try:
            yield lambda answer, context: runner.run(composer.compose(answer, context)).answer
        finally:
            runner.run(composer.aclose())
