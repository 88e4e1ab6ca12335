"""The newsbot command line: output, JSON schema, exit codes."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import index.engine
from bot.cli import cli, format_eval
from bot.formatting import MAX_QUESTION_CHARS, cut_question
from index.articles import read_article_file
from index.embedders import Embedder
from index.engine import NewsEngine
from index.evaluate import EvalQuestion, EvalResult, Outcome
from index.text import split_sentences
from tests.conftest import ROOT, SEED_QUESTIONS, SEEDS
from tests.fake_llm_api import (
    API_KEY,
    MODEL,
    FakeLlmApi,
    Reply,
    completion,
    malformed,
    quote_passage,
    stalled,
    status,
    streamed,
)

SEED_ID = "000_93de25b234f683de"


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, embedders: list[Embedder]) -> CliRunner:
    """A CLI runner whose commands reuse the session's models instead of loading them again."""
    monkeypatch.setattr(index.engine, "load_embedders", lambda settings: embedders)
    return CliRunner()


@pytest.fixture
def folders(tmp_path: Path) -> list[str]:
    shutil.copytree(SEEDS, tmp_path / "articles")
    return ["--articles", str(tmp_path / "articles"), "--index", str(tmp_path / "index")]


def seed_paragraphs() -> list[str]:
    return [p for path in SEEDS.glob("*.txt") for p in read_article_file(path)[0].paragraphs]


def test_index_reports_what_happened_then_nothing_to_do(
    runner: CliRunner, folders: list[str]
) -> None:
    first = runner.invoke(cli, ["index", *folders])
    assert first.exit_code == 0, first.output
    assert "Indexed 1 article, 10 passages" in first.output
    assert "1 added, 0 changed, 0 removed" in first.output
    # Each of the 10 paragraphs in both spaces, and the sentences of the paragraphs that have
    # more than one in the multilingual space.
    sentences = sum(
        len(split) for text in seed_paragraphs() if len(split := split_sentences(text)) > 1
    )
    assert f"Embedded 20 passage vectors and {sentences} sentences, reused 0" in first.output
    second = runner.invoke(cli, ["index", *folders])
    assert second.exit_code == 0
    assert "Index up to date" in second.output
    assert "Embedded 0 passage vectors, reused 20" in second.output


def test_ask_json_follows_the_schema(runner: CliRunner, folders: list[str]) -> None:
    result = runner.invoke(cli, ["ask", "Who developed GigaChat?", "--json", "-k", "2", *folders])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    (data,) = [json.loads(line) for line in lines]
    assert set(data) == {"question", "found", "answer", "composed", "model", "citations"}
    assert data["composed"] is False  # no language model is configured: extractive
    assert data["model"] is None
    assert data["question"] == "Who developed GigaChat?"
    assert data["found"] is True
    assert "Sberbank" in data["answer"]
    assert "[1]" in data["answer"]
    assert 1 <= len(data["citations"]) <= 2
    first = data["citations"][0]
    assert set(first) == {"n", "article", "title", "paragraph", "url", "text", "score", "cited"}
    # Every citation is there, each saying whether the answer quotes it.
    assert [c["cited"] for c in data["citations"]] == [
        f"[{c['n']}]" in data["answer"] for c in data["citations"]
    ]
    assert first["cited"] is True
    assert first["n"] == 1
    assert first["article"] == "000_93de25b234f683de"
    assert first["paragraph"] == 9
    assert first["title"] == "Putin Calls for Russia to Lead the World in AI"
    assert first["url"] is None
    assert "GigaChat" in first["text"]
    assert isinstance(first["score"], float)


def test_ask_reads_questions_from_stdin_one_json_line_each(
    runner: CliRunner, folders: list[str]
) -> None:
    questions = "Who developed GigaChat?\n\nWhen is the annual press conference?\n"
    result = runner.invoke(cli, ["ask", "-", "--json", *folders], input=questions)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [line["question"] for line in lines] == [
        "Who developed GigaChat?",
        "When is the annual press conference?",
    ]
    assert "December 19" in lines[1]["answer"]


def test_ask_stdin_reads_follow_ups_with_their_context(
    runner: CliRunner, folders: list[str]
) -> None:
    lines = [
        json.dumps({"question": "Who made it?", "context": ["What is GigaChat?"]}),
        json.dumps(
            {
                "question": "What will the Kremlin use it for?",
                "context": [{"question": "Who developed GigaChat?", "cited": [[SEED_ID, 9]]}],
            }
        ),
        "Who made it?",  # a plain line stands alone: ask is stateless
    ]
    result = runner.invoke(cli, ["ask", "-", "--json", *folders], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    answers = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert answers[0]["about"] == ["GigaChat"]
    assert "Sberbank" in answers[0]["answer"]
    assert answers[1]["about"] == ["GigaChat"]
    assert "questions submitted by the public" in answers[1]["answer"]
    assert "about" not in answers[2]


def test_ask_stdin_says_what_a_bad_json_line_should_be(
    runner: CliRunner, folders: list[str]
) -> None:
    result = runner.invoke(cli, ["ask", "-", "--json", *folders], input='{"context": []}\n')
    assert result.exit_code == 2
    assert '"question": "Who made it?"' in result.output


def test_chat_follows_up_and_new_starts_afresh(runner: CliRunner, folders: list[str]) -> None:
    questions = "What is GigaChat?\nWho made it?\n/new\nWho made it?\n"
    result = runner.invoke(cli, ["chat", *folders], input=questions)
    assert result.exit_code == 0, result.output
    assert result.output.count("(About: GigaChat)") == 1
    assert "New conversation: your earlier questions are forgotten." in result.output


def test_ask_prints_answer_and_numbered_sources(runner: CliRunner, folders: list[str]) -> None:
    result = runner.invoke(cli, ["ask", "When is the annual press conference?", *folders])
    assert result.exit_code == 0, result.output
    assert "December 19. [1]" in result.stdout
    assert "Sources:" in result.stdout
    assert "[1] Putin Calls for Russia to Lead the World in AI, paragraph 10" in result.stdout


def test_chat_answers_until_end_of_input(runner: CliRunner, folders: list[str]) -> None:
    result = runner.invoke(cli, ["chat", *folders], input="Who developed GigaChat?\n")
    assert result.exit_code == 0, result.output
    assert "newsbot knows 1 article (Putin Calls" in result.stdout
    assert "Sberbank" in result.stdout


def test_start_updates_the_index_then_chats_in_one_process(
    runner: CliRunner, folders: list[str]
) -> None:
    first = runner.invoke(cli, ["start", *folders], input="Who developed GigaChat?\n")
    assert first.exit_code == 0, first.output
    assert "TELEGRAM_BOT_TOKEN is not set: starting the terminal chat" in first.stderr
    assert "Indexed 1 article, 10 passages: 1 added" in first.stdout
    assert "newsbot knows 1 article (Putin Calls" in first.stdout
    assert "Sberbank" in first.stdout
    second = runner.invoke(cli, ["start", *folders], input="")
    assert second.exit_code == 0, second.output
    assert "Index up to date: 1 article, 10 passages" in second.stdout
    assert second.stdout.rstrip().endswith("?")  # the chat prompt, then end of input


def test_eval_prints_metrics(runner: CliRunner, folders: list[str]) -> None:
    result = runner.invoke(cli, ["eval", str(SEED_QUESTIONS), "--json", *folders])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.splitlines()[-1])["all"]
    assert list(report)[:2] == ["accuracy", "found_rate"]  # the reader's view comes first
    assert report["questions"] == 18
    assert report["answerable"] == 15
    assert report["unanswerable"] == 3
    assert report["recall@5"] >= report["recall@3"] >= report["recall@1"] > 0.5
    assert report["accuracy"] <= min(report["found_rate"], report["recall@1"])
    assert 0 <= report["not_found_accuracy"] <= 1
    assert report["latency_p95_ms"] >= report["latency_p50_ms"] > 0


def _outcome(qid: str, split: str, *, right: bool, found: bool, rank: int | None) -> Outcome:
    question = EvalQuestion(qid, f"question {qid}?", ("gold",), split=split)
    return Outcome(question, found, right, rank, right, 10.0)


def test_eval_table_puts_user_facing_accuracy_first_with_a_column_per_half() -> None:
    result = EvalResult(
        (
            _outcome("q1", "tune", right=True, found=True, rank=1),
            _outcome("q2", "tune", right=False, found=False, rank=1),
            _outcome("q3", "report", right=False, found=True, rank=3),
            Outcome(
                EvalQuestion("q4", "off topic?", (), split="report"),
                False,
                False,
                None,
                False,
                30.0,
            ),
        )
    )
    table = format_eval(result).splitlines()
    assert table[0].split() == ["all", "tune", "report"]
    assert table[2].split() == ["accuracy", "(answered", "right)", "0.333", "0.500", "0.000"]
    assert table[3].split() == ["answered", "(found)", "0.667", "0.500", "1.000"]
    assert table[4].split() == ["recall@1", "0.667", "1.000", "0.000"]
    assert table[6].split() == ["recall@5", "1.000", "1.000", "1.000"]
    assert table[9].split() == ["not-found", "accuracy", "1.000", "n/a", "1.000"]
    assert table[-1].split()[:4] == ["latency", "p50", "/", "p95"]
    # Right over every question: q1 answered right and q4 refused; q2 refused, q3 cited wrongly.
    assert [result.report(s).right_share for s in (None, "tune", "report")] == [0.5, 0.5, 0.5]


def test_empty_articles_folder_is_a_one_line_error(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    args = ["--articles", str(tmp_path / "empty"), "--index", str(tmp_path / "i")]
    result = runner.invoke(cli, ["index", *args])
    assert result.exit_code == 1
    assert result.output.startswith("Error: No articles in")
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "question", [pytest.param("", id="empty"), pytest.param(" \t ", id="blank")]
)
def test_an_empty_question_is_a_usage_error(runner: CliRunner, question: str) -> None:
    result = runner.invoke(cli, ["ask", question])
    assert result.exit_code == 2
    assert "The question is empty" in result.stderr
    assert result.stdout == ""


def test_a_long_question_is_cut_like_the_bot_cuts_it_with_a_note(
    runner: CliRunner, folders: list[str]
) -> None:
    question = "Who developed GigaChat? " + "and " * 30_000  # 120,000 characters
    result = runner.invoke(cli, ["ask", question, "--json", *folders])
    assert result.exit_code == 0, result.output
    assert f"only the first {len(cut_question(question)[0])} were used" in result.stderr
    data = json.loads(result.stdout.splitlines()[-1])
    assert data["question"] == cut_question(question)[0]
    assert len(data["question"]) <= MAX_QUESTION_CHARS


@contextlib.contextmanager
def _read_only(folder: Path) -> Iterator[None]:
    """``folder`` cannot be written in for the block: no new file or folder in it (chmod for a
    user, the immutable flag for root, whom chmod does not stop)."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    if subprocess.run(["chattr", "+i", str(folder)], check=False).returncode != 0:
        pytest.skip("running as root where chattr +i is not available")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


def test_a_read_only_index_folder_is_one_line_that_says_what_to_do(
    runner: CliRunner, folders: list[str], tmp_path: Path
) -> None:
    assert runner.invoke(cli, ["index", *folders]).exit_code == 0
    (tmp_path / "articles" / "storm.txt").write_text(
        "Storm\n\nA storm closed the ports of Brittany for two days.\n", encoding="utf-8"
    )
    with _read_only(tmp_path / "index"):
        result = runner.invoke(cli, ["index", *folders])
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(f"Error: The index folder {tmp_path / 'index'} is not writable (")
    assert "or set INDEX_DIR (or --index) to a folder you can write to." in line
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_usage_errors_exit_2(runner: CliRunner) -> None:
    assert runner.invoke(cli, ["ask"]).exit_code == 2
    assert runner.invoke(cli, ["ask", "q", "-k", "0"]).exit_code == 2
    assert runner.invoke(cli, ["frobnicate"]).exit_code == 2


def test_run_without_token_says_how_to_get_one(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["run"])
    assert result.exit_code == 1
    assert "TELEGRAM_BOT_TOKEN is not set" in result.output
    assert "@BotFather" in result.output
    assert "newsbot chat" in result.output


def test_newsbot_ask_as_a_process_builds_the_index_first(tmp_path: Path) -> None:
    shutil.copytree(SEEDS, tmp_path / "articles")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    args = ["--articles", str(tmp_path / "articles"), "--index", str(tmp_path / "index")]
    result = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "Who developed GigaChat?", "--json", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "building it first" in result.stderr
    assert json.loads(result.stdout)["citations"][0]["paragraph"] == 9


def test_index_in_a_process_says_each_thing_once_and_nothing_else(tmp_path: Path) -> None:
    """What a user sees from a real `newsbot index`: a skipped file named once, a broken .env
    line named with its file, and none of the libraries' noise (transformers' token-length
    warning for the long paragraph, faiss's CPU-build attempts at INFO)."""
    articles = tmp_path / "articles"
    shutil.copytree(SEEDS, articles)
    (articles / "broken.txt").write_bytes(b"\xff\xfe not text")
    long_line = " ".join(f"the committee discussed item {i}" for i in range(200))
    (articles / "minutes.txt").write_text(f"Minutes\n\n{long_line}\n", encoding="utf-8")
    (tmp_path / ".env").write_text("TOP_K=3\nthis line is not a setting\n", encoding="utf-8")
    env = {**os.environ, "LOG_LEVEL": "INFO", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    args = ["index", "--articles", str(articles), "--index", str(tmp_path / "index")]
    done = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Indexed 2 articles" in done.stdout
    assert done.stderr.count("broken.txt") == 1
    assert "Skipped broken.txt: not UTF-8 text" in done.stderr
    assert "Line 2 of .env is not NAME=value; it is ignored" in done.stderr
    for noise in ("Token indices sequence length", "Could not load library", "python-dotenv"):
        assert noise not in done.stderr


# --- composed answers: a language model on loopback (tests/fake_llm_api.py) --------------------


@pytest.fixture
def indexed(tmp_path: Path, seed_engine: NewsEngine) -> list[str]:
    """Folder options over a copy of the session's seed index (nothing to build)."""
    shutil.copytree(SEEDS, tmp_path / "articles")
    shutil.copytree(seed_engine.settings.index_dir, tmp_path / "index")
    return ["--articles", str(tmp_path / "articles"), "--index", str(tmp_path / "index")]


def _model_env(api: FakeLlmApi, timeout_s: float = 5.0, **more: str) -> dict[str, str]:
    return {
        "LLM_BASE_URL": api.base_url,
        "LLM_MODEL": MODEL,
        "LLM_API_KEY": API_KEY,
        "LLM_TIMEOUT_S": str(timeout_s),
        **more,
    }


def _json_lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_ask_json_says_when_the_answer_was_composed_and_by_which_model(
    runner: CliRunner, indexed: list[str], fake_llm: FakeLlmApi
) -> None:
    fake_llm.reply(completion("GigaChat разработал Сбербанк [1]."))
    result = runner.invoke(
        cli, ["ask", "Кто разработал GigaChat?", "--json", *indexed], env=_model_env(fake_llm)
    )
    assert result.exit_code == 0, result.output
    [data] = _json_lines(result.stdout)
    assert data["composed"] is True
    assert data["model"] == MODEL
    assert data["answer"] == "GigaChat разработал Сбербанк. [1]"
    assert data["citations"][0]["cited"] is True
    assert data["citations"][0]["paragraph"] == 9
    assert API_KEY not in result.output + result.stderr


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(completion("GigaChat разработал Сбербанк [4]."), id="cites-4-of-3"),
        pytest.param(completion("Сбербанк выпустил GigaChat в 2021 году [1]."), id="number"),
        pytest.param(stalled(20), id="20s-stall"),
        pytest.param(status(500), id="500"),
        pytest.param(malformed(), id="malformed"),
        pytest.param(completion(""), id="empty"),
    ],
)
def test_ask_json_falls_back_to_the_extractive_answer(
    runner: CliRunner, indexed: list[str], fake_llm: FakeLlmApi, reply: Reply
) -> None:
    question = "Кто разработал GigaChat?"
    # MIN_SCORE=-1: every one of the top 3 passages is cited, so [4] is one past the last.
    offline = runner.invoke(cli, ["ask", question, "--json", *indexed], env={"MIN_SCORE": "-1"})
    [extractive] = _json_lines(offline.stdout)
    assert len(extractive["citations"]) == 3
    fake_llm.reply(reply)
    env = _model_env(fake_llm, 1.0, MIN_SCORE="-1")
    started = time.monotonic()
    result = runner.invoke(cli, ["ask", question, "--json", *indexed], env=env)
    # Nowhere near the 20 s stall: LLM_TIMEOUT_S, plus opening the engine (the models are the
    # session's, the index a copy).
    assert time.monotonic() - started < 1.0 + 2.0
    assert result.exit_code == 0, result.output
    [data] = _json_lines(result.stdout)
    assert data == extractive
    assert data["composed"] is False
    assert data["model"] is None
    assert len(fake_llm.requests) >= 1


def test_ask_stdin_composes_follow_ups_with_their_context(
    runner: CliRunner, indexed: list[str], fake_llm: FakeLlmApi
) -> None:
    fake_llm.reply(streamed(["Его разработал ", "Сбербанк [1]."]))
    line = json.dumps({"question": "Кто его разработал?", "context": ["Что такое GigaChat?"]})
    result = runner.invoke(
        cli,
        ["ask", "-", "--json", *indexed],
        input=line + "\n" + line + "\n",
        env=_model_env(fake_llm),
    )
    assert result.exit_code == 0, result.output
    lines = _json_lines(result.stdout)
    assert [d["answer"] for d in lines] == ["Его разработал Сбербанк. [1]"] * 2
    assert all(d["composed"] for d in lines)
    assert "- Что такое GigaChat?" in fake_llm.requests[0].user_text
    assert len(fake_llm.requests) == 2  # one client, one event loop, for both lines


def test_ask_prints_a_composed_answer_saying_so(
    runner: CliRunner, indexed: list[str], fake_llm: FakeLlmApi
) -> None:
    fake_llm.reply(completion("Sberbank developed GigaChat [1]."))
    result = runner.invoke(
        cli, ["ask", "Who developed GigaChat?", *indexed], env=_model_env(fake_llm)
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        f"Sberbank developed GigaChat. [1]\n(Composed from the sources below by {MODEL}.)\n\n"
        "Sources:\n  [1] Putin Calls for Russia"
    )


def test_eval_compose_measures_the_composed_answers_citations(
    runner: CliRunner, indexed: list[str], fake_llm: FakeLlmApi
) -> None:
    fake_llm.responder = quote_passage(1)  # every answer: the first passage's first sentence
    args = ["eval", str(SEED_QUESTIONS), "--compose", "--json", *indexed]
    result = runner.invoke(cli, args, env=_model_env(fake_llm))
    assert result.exit_code == 0, result.output
    [report] = _json_lines(result.stdout)
    assert report["model"] == MODEL
    assert report["answered"] >= 10
    assert report["composed"] == report["answered"] == len(fake_llm.requests)
    assert report["failures"] == {}
    assert report["sentences_kept"] == 1.0
    # Citing only [1] (the best passage) is about as precise as the quoted answers.
    assert 0.7 <= report["citation_precision"] <= 1.0
    assert report["extractive_citation_precision"] >= 0.7


def test_eval_compose_counts_answers_that_fail_the_checks(
    runner: CliRunner, indexed: list[str], fake_llm: FakeLlmApi
) -> None:
    fake_llm.reply(completion("GigaChat разработал Сбербанк [4]."))
    args = ["eval", str(SEED_QUESTIONS), "--compose", *indexed]
    result = runner.invoke(cli, args, env=_model_env(fake_llm))
    assert result.exit_code == 0, result.output
    assert "composed                  0\n" in result.stdout
    assert "citation precision        n/a\n" in result.stdout
    assert "sentences kept            0.000\n" in result.stdout
    assert "model failures            unverified " in result.stdout


def test_eval_compose_without_a_model_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["eval", str(SEED_QUESTIONS), "--compose"])
    assert result.exit_code == 2
    assert "--compose needs a language model: set LLM_BASE_URL and LLM_MODEL" in result.stderr
