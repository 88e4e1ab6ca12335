"""Reading articles: formats, titles, paragraphs, long-paragraph pieces and broken files."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

import index.articles as articles_module
from index.articles import (
    ArticleReader,
    article_passages,
    clean_title,
    load_articles,
    split_paragraphs,
)
from index.errors import NoArticlesError
from index.models import Article
from tests.conftest import SEEDS


def test_seed_article_title_drops_stray_quote_and_backtick() -> None:
    result = load_articles(SEEDS)
    (article,) = result.articles
    assert article.article_id == "000_93de25b234f683de"
    assert article.title == "Putin Calls for Russia to Lead the World in AI"
    assert len(article.paragraphs) == 10
    assert (
        article.paragraphs[9]
        == "This year’s annual press conference will take place on December 19."
    )
    assert result.problems == ()


@pytest.mark.parametrize(
    ("line", "title"),
    [
        pytest.param("# Super Bowl 50", "Super Bowl 50", id="markdown-heading"),
        pytest.param("## Title `", "Title", id="backtick"),
        pytest.param('"Quoted" title”', '"Quoted" title', id="trailing-quote"),
        pytest.param("\ufeffTitle\u200b", "Title", id="bom-and-zero-width"),
    ],
)
def test_clean_title(line: str, title: str) -> None:
    assert clean_title(line) == title


def test_single_line_break_does_not_split_a_paragraph() -> None:
    text = "First line\nsame paragraph.\n\n\nSecond   paragraph\u200b.\r\n\r\nThird."
    assert split_paragraphs(text) == ["First line same paragraph.", "Second paragraph.", "Third."]


def test_markdown_txt_and_json_articles_are_read(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# Alpha\n\nOne.\n\nTwo.\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("\ufeffBeta\nBody line.\n", encoding="utf-8")
    (tmp_path / "c.json").write_text(
        json.dumps(
            [
                {"title": "Gamma", "text": "G one.\n\nG two.", "url": "https://ex.org/g"},
                {"title": "Delta", "paragraphs": ["D one."], "published": "2024-12-01"},
            ]
        ),
        encoding="utf-8",
    )
    (tmp_path / "notes.csv").write_text("ignored", encoding="utf-8")
    articles = {a.article_id: a for a in load_articles(tmp_path).articles}
    assert set(articles) == {"a", "b", "c-0", "c-1"}
    assert articles["a"].paragraphs == ("One.", "Two.")
    assert articles["b"].title == "Beta"
    assert articles["b"].paragraphs == ("Body line.",)
    assert articles["c-0"].url == "https://ex.org/g"
    assert articles["c-0"].paragraphs == ("G one.", "G two.")
    assert articles["c-1"].published == "2024-12-01"


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        pytest.param("bad.json", "{not json", "invalid JSON", id="bad-json"),
        pytest.param("notitle.json", '{"text": "x"}', "'title'", id="json-without-title"),
        pytest.param("empty.md", "  \n\n", "empty", id="empty-file"),
        pytest.param("titleonly.txt", "Just a title\n", "no paragraph", id="title-only"),
        pytest.param("latin1.txt", b"Caf\xe9\n\nBody", "not UTF-8", id="not-utf8"),
    ],
)
def test_broken_file_is_reported_and_others_still_load(
    tmp_path: Path, name: str, content: str | bytes, reason: str
) -> None:
    (tmp_path / "good.md").write_text("Good\n\nBody.", encoding="utf-8")
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = load_articles(tmp_path)
    assert [a.article_id for a in result.articles] == ["good"]
    (problem,) = result.problems
    assert problem.path == path
    assert reason in problem.reason


def test_missing_or_empty_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(NoArticlesError, match="does not exist"):
        load_articles(tmp_path / "nowhere")
    with pytest.raises(NoArticlesError, match="No articles in"):
        load_articles(tmp_path)
    (tmp_path / "notes.txt").write_text("Notes\n\nBody.", encoding="utf-8")
    with pytest.raises(
        NoArticlesError, match="notes.txt is a file, not a folder; set ARTICLES_DIR"
    ):
        load_articles(tmp_path / "notes.txt")


def test_long_paragraph_is_split_at_sentences_and_keeps_its_number(tmp_path: Path) -> None:
    sentences = [f"Sentence number {i} talks about topic {i}." for i in range(12)]
    (tmp_path / "long.md").write_text("Long\n\nShort one.\n\n" + " ".join(sentences), "utf-8")
    (article,) = load_articles(tmp_path).articles
    passages = article_passages(article, fits=lambda text: len(text) <= 130)
    assert passages[0].paragraph == 1
    assert passages[0].text == "Short one."
    pieces = [p for p in passages if p.paragraph == 2]
    assert len(pieces) > 1
    assert [p.piece for p in pieces] == list(range(len(pieces)))
    assert all(len(p.text) <= 130 for p in pieces)
    assert " ".join(p.text for p in pieces) == " ".join(sentences)  # nothing lost


def test_a_paragraph_without_sentence_ends_is_cut_at_words(tmp_path: Path) -> None:
    words = [f"word{i}" for i in range(3000)]  # ~23,000 characters, no full stop
    (tmp_path / "run-on.md").write_text("Run-on\n\n" + " ".join(words), "utf-8")
    (article,) = load_articles(tmp_path).articles
    calls: list[int] = []

    def fits(text: str) -> bool:
        calls.append(len(text))
        return len(text) <= 500

    pieces = article_passages(article, fits)
    assert len(pieces) > 40
    assert all(len(p.text) <= 500 for p in pieces)
    assert all(not p.text.startswith(" ") and not p.text.endswith(" ") for p in pieces)
    assert " ".join(p.text for p in pieces) == " ".join(words)  # cut between words, nothing lost
    # Texts over any window are never handed to the tokenizer, and a piece costs a binary
    # search, not one call per word.
    assert max(calls) <= articles_module.WINDOW_MAX_CHARS
    assert len(calls) < 20 * len(pieces)


def test_a_word_longer_than_the_window_is_cut_between_characters(tmp_path: Path) -> None:
    (tmp_path / "blob.md").write_text("Blob\n\nStart " + "x" * 1200 + " end.", "utf-8")
    (article,) = load_articles(tmp_path).articles
    pieces = [p.text for p in article_passages(article, lambda text: len(text) <= 500)]
    assert all(len(p) <= 500 for p in pieces)
    assert "".join(pieces).replace(" ", "") == "Start" + "x" * 1200 + "end."


def test_a_file_over_the_size_limit_is_skipped_with_a_reason(tmp_path: Path) -> None:
    (tmp_path / "good.md").write_text("Good\n\nBody.", encoding="utf-8")
    (tmp_path / "huge.txt").write_text("Huge\n\n" + "word " * 1000, encoding="utf-8")
    result = load_articles(tmp_path, ArticleReader(max_bytes=2048))
    assert [a.article_id for a in result.articles] == ["good"]
    (problem,) = result.problems
    assert problem.path.name == "huge.txt"
    assert "5,006 bytes, over the 2,048-byte limit for an article (ARTICLE_MAX_BYTES)" in (
        problem.reason
    )


def _age(path: Path, seconds: int) -> None:
    old = time.time() - seconds
    os.utime(path, (old, old))


def test_unchanged_files_are_not_parsed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    article = tmp_path / "a.txt"
    article.write_text("Title\n\nFirst text.\n", encoding="utf-8")
    parsed: list[str] = []
    real = articles_module.parse_text_article

    def counting(article_id: str, text: str) -> Article:
        parsed.append(article_id)
        return real(article_id, text)

    monkeypatch.setattr(articles_module, "parse_text_article", counting)
    reader = ArticleReader()
    load_articles(tmp_path, reader)
    load_articles(tmp_path, reader)
    assert parsed == ["a", "a"]  # just written: too recent to trust its timestamps
    _age(article, 60)  # ctime stays recent, as it does after any write
    monkeypatch.setattr(articles_module, "RACY_NS", 0)
    load_articles(tmp_path, reader)
    assert load_articles(tmp_path, reader).articles[0].paragraphs == ("First text.",)
    assert parsed == ["a", "a", "a"]  # the third read was remembered, the fourth reused it


def test_a_same_size_edit_with_the_old_timestamp_is_still_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(articles_module, "RACY_NS", 0)
    article = tmp_path / "a.txt"
    article.write_text("Title\n\nFirst text.\n", encoding="utf-8")
    _age(article, 60)
    mtime = article.stat().st_mtime_ns
    reader = ArticleReader()
    assert load_articles(tmp_path, reader).articles[0].paragraphs == ("First text.",)
    article.write_text("Title\n\nFixed text.\n", encoding="utf-8")  # same size
    os.utime(article, ns=(mtime, mtime))  # and the same mtime: only ctime tells
    assert load_articles(tmp_path, reader).articles[0].paragraphs == ("Fixed text.",)
