"""The ``newsbot`` command line: index, ask, chat, eval and run."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click
from dotenv import dotenv_values

from bot.terminal import format_answer_plain, format_build_report, plural
from index.build import BuildReport
from index.config import Settings
from index.engine import NewsEngine
from index.errors import NewsIndexError
from index.evaluate import EvalReport, run_evaluation

F = TypeVar("F", bound=Callable[..., Any])
CONTEXT = {"help_option_names": ["-h", "--help"]}
PROGRESS_MIN_TEXTS = 64  # builds that embed fewer texts than this finish too fast for a bar


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    # httpx logs every request URL at INFO, and Telegram request URLs carry the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def load_settings(articles: Path | None = None, index_dir: Path | None = None) -> Settings:
    """Settings from ``.env`` (if present) overlaid by the environment, then by CLI options."""
    environ = {k: v for k, v in dotenv_values(".env").items() if v is not None}
    environ.update(os.environ)
    settings = Settings.from_env(environ)
    overrides: dict[str, Any] = {}
    if articles is not None:
        overrides["articles_dir"] = articles
    if index_dir is not None:
        overrides["index_dir"] = index_dir
    return dataclasses.replace(settings, **overrides)


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
def _expected_errors() -> Iterator[None]:
    """Turn the engine's errors into a one-line message and exit code 1."""
    try:
        yield
    except NewsIndexError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group(context_settings=CONTEXT)
@click.version_option(package_name="newsbot")
def cli() -> None:
    """newsbot answers questions about news articles, quoting them with numbered citations.

    Start with `newsbot index`, then `newsbot ask "Who developed GigaChat?"` or `newsbot chat`.
    """
    # Read by the model libraries when they load (the engine never sets the environment): never
    # reach for a model hub at run time, and keep model loading quiet on the terminal.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _progress_printer() -> tuple[Callable[[int, int], None], Callable[[], None]]:
    bar: Any = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None and total >= PROGRESS_MIN_TEXTS:
            bar = click.progressbar(length=total, label="Embedding", file=sys.stderr)
            bar.__enter__()
        if bar is not None:
            bar.update(done - bar.pos)

    def close() -> None:
        if bar is not None:
            bar.__exit__(None, None, None)

    return update, close


def _update_index(engine: NewsEngine, *, full: bool = False) -> BuildReport:
    progress, close = _progress_printer()
    try:
        report = engine.update_index(full=full, progress=progress)
    finally:
        close()
    for problem in report.problems:
        click.echo(f"Skipped {problem.path.name}: {problem.reason}", err=True)
    return report


def _engine_with_index(settings: Settings) -> NewsEngine:
    """Load models, build the index if there is none yet, and load it."""
    from index.engine import load_embedders
    from index.store import current_version

    engine = NewsEngine(settings, load_embedders(settings))
    if current_version(settings.index_dir) is None:
        click.echo(f"No index in {settings.index_dir} yet; building it first.", err=True)
        click.echo(format_build_report(_update_index(engine)), err=True)
    else:
        engine.reload()
    return engine


@cli.command()
@click.option("--full", is_flag=True, help="Re-embed everything instead of reusing vectors.")
@folder_options
def index(full: bool, articles: Path | None, index_dir: Path | None) -> None:
    """Build or update the index from the articles folder.

    Only new or changed paragraphs are embedded; removed articles leave the index.

    Example: newsbot index --articles seeds/
    """
    with _expected_errors():
        settings = load_settings(articles, index_dir)
        _configure_logging("WARNING")
        from index.engine import load_embedders

        engine = NewsEngine(settings, load_embedders(settings))
        click.echo(format_build_report(_update_index(engine, full=full)))


@cli.command()
@click.argument("question")
@click.option("-k", "--top-k", type=click.IntRange(1, 20), help="How many passages to cite.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one line per question).")
@folder_options
def ask(
    question: str, top_k: int | None, as_json: bool, articles: Path | None, index_dir: Path | None
) -> None:
    """Answer QUESTION from the articles, with numbered citations.

    With QUESTION "-", read one question per line from standard input (use with --json).

    Example: newsbot ask "Who developed GigaChat?" -k 3
    """
    with _expected_errors():
        settings = load_settings(articles, index_dir)
        _configure_logging("WARNING")
        engine = _engine_with_index(settings)
        questions = (line.strip() for line in sys.stdin) if question == "-" else iter([question])
        for text in questions:
            if not text:
                continue
            answer = engine.ask(text, top_k)
            if as_json:
                click.echo(json.dumps(answer.to_dict(), ensure_ascii=False))
            else:
                click.echo(format_answer_plain(answer, engine.articles()))


@cli.command()
@click.option("-k", "--top-k", type=click.IntRange(1, 20), help="How many passages to cite.")
@folder_options
def chat(top_k: int | None, articles: Path | None, index_dir: Path | None) -> None:
    """Ask questions in the terminal (line editing; Ctrl-D to leave).

    Example: newsbot chat
    """
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401  (input() gains line editing and history)
    with _expected_errors():
        settings = load_settings(articles, index_dir)
        _configure_logging("WARNING")
        engine = _engine_with_index(settings)
        titles = ", ".join(a.title for a in engine.articles()[:3])
        click.echo(f"newsbot knows {plural(engine.info().articles, 'article')} ({titles}).")
        click.echo("Ask a question; Ctrl-D to leave.")
        while True:
            try:
                question = input("\n? ").strip()
            except (EOFError, KeyboardInterrupt):
                click.echo()
                return
            if question:
                click.echo(format_answer_plain(engine.ask(question, top_k), engine.articles()))


@cli.command(name="eval")
@click.argument("questions_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@click.option(
    "--exclude-gold-article",
    is_flag=True,
    help="Ask each question of an index built without its gold article: every answer should "
    "be 'not found' (measures not-found accuracy on questions the articles do not cover).",
)
@folder_options
def eval_command(
    questions_file: Path,
    as_json: bool,
    exclude_gold_article: bool,
    articles: Path | None,
    index_dir: Path | None,
) -> None:
    """Measure retrieval and answers on a JSONL question file (the format of eval/).

    Prints recall@1/3/5, MRR@10, answer-text hit rate and not-found accuracy.

    Example: newsbot eval eval/seed_questions.jsonl
    """
    with _expected_errors():
        settings = load_settings(articles, index_dir)
        _configure_logging("WARNING")
        from index.engine import load_embedders

        report = run_evaluation(
            questions_file,
            settings,
            load_embedders(settings),
            exclude_gold_article=exclude_gold_article,
        )
        click.echo(json.dumps(report.to_dict()) if as_json else format_eval(report))


def format_eval(report: EvalReport) -> str:
    """The metrics as an aligned table."""

    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    rows = [
        ("questions", f"{report.questions} ({report.answerable} answerable)"),
        *((f"recall@{k}", pct(v)) for k, v in report.recall.items()),
        ("MRR@10", pct(report.mrr)),
        ("answer text hit", pct(report.answer_hit)),
        ("answered (found)", pct(report.found_rate)),
        ("not-found accuracy", pct(report.not_found_accuracy)),
        ("latency p50 / p95", f"{report.latency_p50_ms:.1f} / {report.latency_p95_ms:.1f} ms"),
    ]
    return "\n".join(f"{name:<20} {value}" for name, value in rows)


@cli.command()
@folder_options
def run(articles: Path | None, index_dir: Path | None) -> None:
    """Run the Telegram bot (polling). Needs TELEGRAM_BOT_TOKEN in the environment or .env.

    Example: TELEGRAM_BOT_TOKEN=123:ABC newsbot run
    """
    with _expected_errors():
        settings = load_settings(articles, index_dir)
        settings.require_token()
        _configure_logging(settings.log_level)
        from bot.telegram_app import run_bot

        sys.exit(run_bot(settings))


@cli.command()
@click.pass_context
@folder_options
def start(ctx: click.Context, articles: Path | None, index_dir: Path | None) -> None:
    """Start the Telegram bot if TELEGRAM_BOT_TOKEN is set, else the terminal chat.

    This is what `make run` calls after `newsbot index`.
    """
    with _expected_errors():
        settings = load_settings(articles, index_dir)
    if settings.telegram_token:
        click.echo(
            "TELEGRAM_BOT_TOKEN is set: starting the Telegram bot (Ctrl-C to stop).", err=True
        )
        ctx.invoke(run, articles=articles, index_dir=index_dir)
    else:
        click.echo(
            "TELEGRAM_BOT_TOKEN is not set: starting the terminal chat instead. To run the "
            "Telegram bot, create one with @BotFather and put its token in .env.",
            err=True,
        )
        ctx.invoke(chat, articles=articles, index_dir=index_dir)


from bot.ingest_cli import add, feeds  # noqa: E402

cli.add_command(add)
cli.add_command(feeds)
