"""The ``newsbot`` command line: index, ask, chat, eval, run and start (add and feeds live in
``bot.ingest_cli``)."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from bot.cli_common import (
    Compose,
    composing,
    configure_logging,
    expected_errors,
    folder_options,
    load_settings,
    open_engine,
    update_index,
)
from bot.formatting import MAX_QUESTION_CHARS, cut_question
from bot.ingest_cli import add, feeds
from bot.settings import BotSettings
from bot.terminal import format_answer_plain, format_build_report, plural
from index import (
    RANKS,
    Answer,
    CompositionReport,
    EvalResult,
    NewsEngine,
    Settings,
    Turn,
    evaluate_composition,
    run_evaluation,
)

CONTEXT = {"help_option_names": ["-h", "--help"]}


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


@cli.command()
@click.option("--full", is_flag=True, help="Re-embed everything instead of reusing vectors.")
@folder_options
def index(full: bool, articles: Path | None, index_dir: Path | None) -> None:
    """Build or update the index from the articles folder.

    Only new or changed paragraphs are embedded; removed articles leave the index.

    Example: newsbot index --articles seeds/
    """
    with expected_errors():
        settings = load_settings(articles, index_dir).engine
        configure_logging("WARNING")
        click.echo(format_build_report(update_index(NewsEngine(settings), full=full)))


@cli.command()
@click.argument("question")
@click.option("-k", "--top-k", type=click.IntRange(1, 20), help="How many passages to cite.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one line per question).")
@folder_options
def ask(
    question: str, top_k: int | None, as_json: bool, articles: Path | None, index_dir: Path | None
) -> None:
    """Answer QUESTION from the articles, with numbered citations.

    With QUESTION "-", read one question per line from standard input (use with --json). A line
    may also be a JSON object {"question": ..., "context": [...]}, the context being the earlier
    questions (strings, or {"question": ..., "cited": [[article, paragraph], ...]}), oldest
    first: the question is then read as a follow-up of them. Each line stands alone otherwise.

    Example: newsbot ask "Who developed GigaChat?" -k 3
    """
    if question != "-" and not question.strip():
        raise click.UsageError(
            'The question is empty; put it in quotes, e.g. newsbot ask "Who developed GigaChat?"'
        )
    with expected_errors():
        settings = load_settings(articles, index_dir).engine
        configure_logging("WARNING")
        engine = open_engine(settings)
        questions = (line.strip() for line in sys.stdin) if question == "-" else iter([question])
        with composing(settings) as compose:
            for line in questions:
                if not line:
                    continue
                text, earlier = _with_context(line) if question == "-" else (line, [])
                _print_answer(_ask(engine, text, top_k, earlier, compose), engine, as_json)


def _print_answer(answer: Answer, engine: NewsEngine, as_json: bool) -> None:
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
    with expected_errors():
        settings = load_settings(articles, index_dir).engine
        configure_logging("WARNING")
        _chat(open_engine(settings), top_k, settings)


def _chat(engine: NewsEngine, top_k: int | None, settings: Settings) -> None:
    """The terminal conversation on a loaded engine, until end of input."""
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401  (input() gains line editing and history)
    titles = ", ".join(a.title for a in engine.articles()[:3])
    click.echo(f"newsbot knows {plural(engine.info().articles, 'article')} ({titles}).")
    click.echo("Ask a question (follow-ups are read with your last ones; /new starts afresh).")
    click.echo("Ctrl-D to leave.")
    with composing(settings) as compose:
        _chat_loop(engine, top_k, compose)


def _chat_loop(engine: NewsEngine, top_k: int | None, compose: Compose) -> None:
    earlier: list[Turn] = []
    while True:
        try:
            question = input("\n? ").strip()
        except (EOFError, KeyboardInterrupt):
            click.echo()
            return
        if question == "/new":
            earlier = []
            click.echo("New conversation: your earlier questions are forgotten.")
        elif question:
            answer = _ask(engine, question, top_k, earlier, compose)
            cited = tuple((c.article_id, c.paragraph) for c in answer.cited)
            earlier = [*earlier, Turn(answer.question, cited)][-CHAT_TURNS:]
            click.echo(format_answer_plain(answer, engine.articles()))


CHAT_TURNS = 3  # what the terminal chat remembers, as the bot does by default


def _with_context(line: str) -> tuple[str, list[Turn]]:
    """A stdin line: a question, or {"question": ..., "context": [...]} (see ``ask``)."""
    if not line.startswith("{"):
        return line, []
    try:
        raw = json.loads(line)
        turns = [
            Turn(item)
            if isinstance(item, str)
            else Turn(
                str(item["question"]),
                tuple((str(a), int(p)) for a, p in item.get("cited") or ()),
            )
            for item in raw.get("context") or ()
        ]
        return str(raw["question"]), turns
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise click.UsageError(
            f"Cannot read {line[:80]!r}: a line is a question or a JSON object like "
            '{"question": "Who made it?", "context": ["What is GigaChat?"]}'
            f" ({exc})"
        ) from exc


def _ask(
    engine: NewsEngine,
    text: str,
    top_k: int | None,
    earlier: Sequence[Turn] = (),
    compose: Compose | None = None,
) -> Answer:
    """Ask, with the question cut to the length the bot reads (said on stderr when it is), and
    compose the answer when a language model is configured."""
    question, was_cut = cut_question(text)
    if was_cut:
        click.echo(
            f"Note: the question is longer than {MAX_QUESTION_CHARS} characters; only the first "
            f"{len(question)} were used.",
            err=True,
        )
    answer = engine.ask(question, top_k, earlier)
    return compose(answer, earlier) if compose is not None else answer


@cli.command(name="eval")
@click.argument("questions_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@click.option(
    "--exclude-gold-article",
    is_flag=True,
    help="Ask each question of an index built without its gold article: every answer should "
    "be 'not found' (measures not-found accuracy on questions the articles do not cover).",
)
@click.option(
    "--compose",
    is_flag=True,
    help="Compose the answers with the language model (LLM_BASE_URL, LLM_MODEL) and measure "
    "their citation precision against the quoted answers'.",
)
@folder_options
def eval_command(
    questions_file: Path,
    as_json: bool,
    exclude_gold_article: bool,
    compose: bool,
    articles: Path | None,
    index_dir: Path | None,
) -> None:
    """Measure answers on a JSONL question file (the format of eval/), as a reader sees them.

    First the accuracy (answered, and the first citation holds the answer), then the found rate,
    recall@1/3/5 and MRR@10 before the "not found" cut, the answer-text hit rate, not-found
    accuracy and latency; one column per half (tune / report) when the file has them.

    With --compose, the answered questions are composed by the language model instead, and the
    share of their citations whose passage holds a gold answer is compared with the quoted
    answers' (see index/evaluate_compose.py).

    Example: newsbot eval eval/reader_seed.jsonl
    """
    with expected_errors():
        settings = load_settings(articles, index_dir).engine
        configure_logging("WARNING")
        if compose:
            if not settings.composes:
                raise click.UsageError(
                    "--compose needs a language model: set LLM_BASE_URL and LLM_MODEL "
                    "(see .env.example)"
                )
            report = evaluate_composition(questions_file, settings)
            click.echo(json.dumps(report.to_dict()) if as_json else format_composition(report))
            return
        result = run_evaluation(questions_file, settings, exclude_gold_article=exclude_gold_article)
        click.echo(json.dumps(result.to_dict()) if as_json else format_eval(result))


def format_eval(result: EvalResult) -> str:
    """The metrics as an aligned table: all questions, then each half the file has."""
    columns = [("all", result.report()), *((s, result.report(s)) for s in result.splits)]

    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    rows: list[tuple[str, list[str]]] = [
        ("questions", [f"{r.questions} ({r.answerable} answerable)" for _, r in columns]),
        ("accuracy (answered right)", [pct(r.accuracy) for _, r in columns]),
        ("answered (found)", [pct(r.found_rate) for _, r in columns]),
        *((f"recall@{k}", [pct(r.recall[k]) for _, r in columns]) for k in RANKS),
        ("MRR@10", [pct(r.mrr) for _, r in columns]),
        ("answer text hit", [pct(r.answer_hit) for _, r in columns]),
        ("not-found accuracy", [pct(r.not_found_accuracy) for _, r in columns]),
        (
            "latency p50 / p95 ms",
            [f"{r.latency_p50_ms:.1f} / {r.latency_p95_ms:.1f}" for _, r in columns],
        ),
    ]
    head = f"{'':<26}" + "".join(f"{name:>22}" for name, _ in columns)
    return "\n".join([head] + [f"{n:<26}" + "".join(f"{v:>22}" for v in vs) for n, vs in rows])


def format_composition(report: CompositionReport) -> str:
    """The composed answers' figures, one per line."""

    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    failures = ", ".join(f"{kind} {count}" for kind, count in sorted(report.failures.items()))
    rows = [
        ("model", report.model),
        ("answered questions", str(report.answered)),
        ("composed", str(report.composed)),
        ("citation precision", pct(report.citation_precision)),
        ("  quoted answers", pct(report.extractive_precision)),
        ("sentences kept", pct(report.sentences_kept)),
        ("latency p50 / p95 ms", f"{report.latency_p50_ms:.1f} / {report.latency_p95_ms:.1f}"),
        ("model failures", failures or "none"),
    ]
    return "\n".join(f"{name:<26}{value}" for name, value in rows)


@cli.command()
@folder_options
def run(articles: Path | None, index_dir: Path | None) -> None:
    """Run the Telegram bot (polling). Needs TELEGRAM_BOT_TOKEN in the environment or .env.

    Example: TELEGRAM_BOT_TOKEN=123:ABC newsbot run
    """
    with expected_errors():
        settings = load_settings(articles, index_dir)
        settings.require_token()
        configure_logging(settings.log_level)
        _run_bot(settings)


def _run_bot(settings: BotSettings, engine: NewsEngine | None = None) -> None:
    from bot.telegram_app import run_bot  # PTB is loaded only by the commands that run the bot

    sys.exit(run_bot(settings, engine))


@cli.command()
@folder_options
def start(articles: Path | None, index_dir: Path | None) -> None:
    """Update the index, then start the Telegram bot if TELEGRAM_BOT_TOKEN is set, else the
    terminal chat.

    One process (what `make run` calls): the models are loaded once, and with nothing changed
    in the articles folder nothing is embedded (nor torch loaded).

    Example: newsbot start
    """
    with expected_errors():
        settings = load_settings(articles, index_dir)
        if settings.telegram_token:
            click.echo(
                "TELEGRAM_BOT_TOKEN is set: starting the Telegram bot (Ctrl-C to stop).", err=True
            )
            configure_logging(settings.log_level)
        else:
            click.echo(
                "TELEGRAM_BOT_TOKEN is not set: starting the terminal chat instead. To run the "
                "Telegram bot, create one with @BotFather and put its token in .env.",
                err=True,
            )
            configure_logging("WARNING")
        engine = NewsEngine(settings.engine)
        click.echo(format_build_report(update_index(engine)))
        if settings.telegram_token:
            _run_bot(settings, engine)
        else:
            _chat(engine, None, settings.engine)


cli.add_command(add)
cli.add_command(feeds)
