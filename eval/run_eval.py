"""The full development evaluation (``make eval``), as a reader sees it.

Every row is one question set asked of one index; the headline is user-facing: the share of
questions answered with the right paragraph first (answered AND first citation holds the answer),
or, for questions the articles do not cover, the share refused. It is given for the ``tune`` half
(what weights and thresholds were chosen on), the ``report`` half (what to quote) and all; the
diagnostics after it (found rate, recall before the "not found" cut, answer-text hit) are over
the report half.

Indexes are built under ``data/eval/`` (incrementally: a second run embeds nothing). The
"not-found" rows ask every question of an index rebuilt without its gold article.

    .venv/bin/python -m eval.run_eval [--json] [--only seed-en,oos-seed,...]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from index.config import Settings  # noqa: E402
from index.embedders import Embedder  # noqa: E402
from index.engine import (
    NewsEngine,  # noqa: E402
    load_embedders,  # noqa: E402
)
from index.evaluate import (  # noqa: E402
    EvalReport,
    EvalResult,
    evaluate_conversations,
    read_conversations,
    read_questions,
    run_evaluation,
)

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "eval"
XQUAD = EVAL / "xquad-dev"
DATA = ROOT / "data" / "eval"
Select = Callable[[Mapping[str, Any]], bool]


@dataclass(frozen=True)
class Run:
    name: str
    questions: Path
    corpus: str  # key of CORPORA
    target: str
    select: Select | None = None
    exclude_gold_article: bool = False
    conversations: bool = False  # a file of conversations (follow-ups), not of questions


def _field(name: str, value: str) -> Select:
    return lambda raw: raw.get(name) == value


# The English corpus holds the seed article too: a reader's archive is more than one story.
CORPORA = {
    "seed": [ROOT / "seeds"],
    "en": [XQUAD / "articles", ROOT / "seeds"],
    "ru": [XQUAD / "articles_ru"],
}
READER_SEED = EVAL / "reader_seed.jsonl"
READER_XQUAD = EVAL / "reader_xquad.jsonl"
OUT_OF_SCOPE = EVAL / "reader_out_of_scope.jsonl"
FOLLOW_UPS = EVAL / "followups.jsonl"


def _conversations(kind: str, corpus: str) -> Select:
    return lambda raw: raw.get("kind") == kind and raw.get("corpus") == corpus


RUNS = (
    # Reader-style questions (written before tuning; eval/README.md).
    Run("seed-en", READER_SEED, "seed", "acc >= 0.95", _field("lang", "en")),
    Run("seed-ru", READER_SEED, "seed", "acc >= 0.95", _field("lang", "ru")),
    Run("oos-seed", OUT_OF_SCOPE, "seed", "refused >= 0.90", _field("corpus", "seed")),
    Run("oos-xquad", OUT_OF_SCOPE, "en", "refused >= 0.90", _field("corpus", "xquad")),
    Run("rx-en", READER_XQUAD, "en", "acc >= 0.97", _field("lang", "en")),
    Run("rx-ru2en", READER_XQUAD, "en", "acc >= 0.85", _field("lang", "ru")),
    Run("rx-en-nf", READER_XQUAD, "en", "refused >= 0.90", _field("lang", "en"), True),
    Run("rx-ru2en-nf", READER_XQUAD, "en", "refused >= 0.90", _field("lang", "ru"), True),
    # XQuAD's own questions (close to the article's wording).
    Run("xq-en", XQUAD / "questions_en.jsonl", "en", "acc >= 0.97, hit >= 0.85"),
    Run("xq-ru", XQUAD / "questions_ru.jsonl", "ru", "acc >= 0.97, hit >= 0.85"),
    Run("xq-ru2en", XQUAD / "questions_ru2en.jsonl", "en", "acc >= 0.85"),
    Run("xq-en-nf", XQUAD / "questions_en.jsonl", "en", "refused >= 0.90", None, True),
    Run("xq-ru-nf", XQUAD / "questions_ru.jsonl", "ru", "refused >= 0.90", None, True),
    Run("xq-ru2en-nf", XQUAD / "questions_ru2en.jsonl", "en", "refused >= 0.90", None, True),
    # Conversations: the later turns of follow-ups, and the last turn of topic switches (right
    # when refused or answered on their own terms).
    Run(
        "fu-seed",
        FOLLOW_UPS,
        "seed",
        "acc >= 0.90",
        _conversations("followup", "seed"),
        False,
        True,
    ),
    Run(
        "fu-xquad",
        FOLLOW_UPS,
        "en",
        "acc >= 0.90",
        _conversations("followup", "xquad"),
        False,
        True,
    ),
    Run(
        "switch-seed",
        FOLLOW_UPS,
        "seed",
        "acc >= 0.90",
        _conversations("topic_switch", "seed"),
        False,
        True,
    ),
    Run(
        "switch-xquad",
        FOLLOW_UPS,
        "en",
        "acc >= 0.90",
        _conversations("topic_switch", "xquad"),
        False,
        True,
    ),
    # The first seed questions (18, close to the article's wording).
    Run("seed-legacy", EVAL / "seed_questions.jsonl", "seed", "acc 1.0, hit >= 0.9"),
)


def corpus_folder(name: str) -> Path:
    """A copy of the corpus's article files under data/eval/ (refreshed every run)."""
    folder = DATA / f"articles-{name}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for source in CORPORA[name]:
        for file in sorted(source.glob("*")):
            if file.suffix in (".md", ".txt", ".json"):
                shutil.copy2(file, folder / file.name)
    return folder


def evaluate_runs(
    runs: list[Run], embedders: list[Embedder], *, with_context: bool = True
) -> dict[str, EvalResult]:
    folders = {corpus: corpus_folder(corpus) for corpus in {run.corpus for run in runs}}
    results = {}
    for run in runs:
        sys.stderr.write(f"running {run.name} ...\n")
        settings = Settings(
            articles_dir=folders[run.corpus], index_dir=DATA / f"index-{run.corpus}"
        )
        if run.conversations:
            engine = NewsEngine(settings, embedders)
            engine.update_index()
            conversations = read_conversations(run.questions, run.select)
            results[run.name] = evaluate_conversations(
                conversations, engine, with_context=with_context
            )
            continue
        questions = read_questions(run.questions, run.select)
        results[run.name] = run_evaluation(
            questions, settings, embedders, exclude_gold_article=run.exclude_gold_article
        )
    return results


def headline(report: EvalReport) -> float | None:
    """What a reader sees: answered right, or, for questions with no answer, refused (a set with
    both, the topic switches, counts both: it showed only the answerable ones' accuracy)."""
    return report.right_share


def format_table(results: dict[str, EvalResult]) -> str:
    def num(value: float | None) -> str:
        return "   - " if value is None else f"{value:.3f}"

    header = (
        f"{'run':<13} {'n':>4} {'tune':>5} {'report':>6} {'all':>5} | {'found':>5} {'r@1':>5} "
        f"{'r@5':>5} {'hit':>5} {'p50':>5} {'p95':>5}  target (report half)"
    )
    lines = [header, "-" * len(header)]
    for name, result in results.items():
        full, tune, report = result.report(), result.report("tune"), result.report("report")
        shown = report if report.questions else full
        lines.append(
            f"{name:<13} {full.questions:>4} {num(headline(tune)) if tune.questions else '   - '} "
            f"{num(headline(report)) if report.questions else '   - ':>6} {num(headline(full))} | "
            f"{num(shown.found_rate)} {num(shown.recall[1])} {num(shown.recall[5])} "
            f"{num(shown.answer_hit)} {full.latency_p50_ms:>5.1f} {full.latency_p95_ms:>5.1f}  "
            f"{RUN_TARGETS[name]}"
        )
    return "\n".join(lines)


RUN_TARGETS = {run.name: run.target for run in RUNS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the reports as JSON")
    parser.add_argument(
        "--only", help="comma-separated run names: " + ", ".join(r.name for r in RUNS)
    )
    parser.add_argument(
        "--no-context",
        action="store_true",
        help="ask every conversation turn on its own (the baseline for follow-ups)",
    )
    args = parser.parse_args(argv)
    wanted = set(args.only.split(",")) if args.only else {run.name for run in RUNS}
    unknown = wanted - {run.name for run in RUNS}
    if unknown:
        parser.error(f"unknown run(s): {', '.join(sorted(unknown))}")
    runs = [r for r in RUNS if r.name in wanted]
    results = evaluate_runs(runs, load_embedders(Settings()), with_context=not args.no_context)
    if args.json:
        payload = {name: result.to_dict() for name, result in results.items()}
        sys.stdout.write(json.dumps(payload, indent=1) + "\n")
    else:
        sys.stdout.write(format_table(results) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
