"""Telegram formatting: escaped HTML answers, splitting under 4096, button data, languages."""

from __future__ import annotations

import random

import pytest

from bot import formatting
from bot.formatting import (
    format_answer,
    format_inline_answer,
    format_sources,
    parse_source_button,
    pick_language,
    source_button_data,
    split_message,
    utf16_len,
)
from index.models import Answer, AnswerSentence, ArticleInfo, Citation
from tests.fake_bot_api import check_text, parse_html

TRICKY_TITLE = 'AT&T <b>buys</b> "Time" & <Warner>'


def _citation(n: int, **changes: object) -> Citation:
    values: dict[str, object] = {
        "n": n,
        "article_id": "att",
        "title": TRICKY_TITLE,
        "paragraph": n + 1,
        "url": "https://example.com/news?a=1&b=<2>",
        "text": f"Paragraph {n} says 1 < 2 & 3 > 2.",
        "score": 0.9,
    }
    values.update(changes)
    return Citation(**values)  # type: ignore[arg-type]


def _answer(found: bool = True, question: str = "Who bought Time?") -> Answer:
    if not found:
        return Answer(question=question, found=False)
    return Answer(
        question=question,
        found=True,
        sentences=(AnswerSentence("AT&T bought <Time> for $85bn.", 1),),
        citations=(_citation(1), _citation(2, url=None)),
    )


def test_answer_escapes_text_and_links_titles() -> None:
    [html] = format_answer(_answer(), [], "en")
    assert html == (
        "AT&amp;T bought &lt;Time&gt; for $85bn. [1]\n\n"
        "<b>Sources:</b>\n"
        '[1] <a href="https://example.com/news?a=1&amp;b=&lt;2&gt;">'
        "AT&amp;T &lt;b&gt;buys&lt;/b&gt; &quot;Time&quot; &amp; &lt;Warner&gt;</a>, paragraph 2\n"
        "<b>See also:</b>\n"
        "[2] AT&amp;T &lt;b&gt;buys&lt;/b&gt; &quot;Time&quot; &amp; &lt;Warner&gt;, paragraph 3"
    )
    assert "AT&T <b>buys</b>" in parse_html(html)  # what the reader sees is the original text


def test_sources_the_answer_quotes_come_first_and_the_others_are_see_also() -> None:
    answer = Answer(
        question="Who bought Time?",
        found=True,
        sentences=(AnswerSentence("AT&T bought it.", 3), AnswerSentence("For $85bn.", 1)),
        citations=tuple(_citation(n, title=f"T{n}", url=None) for n in (1, 2, 3)),
    )
    [html] = format_answer(answer, [], "en")
    assert html.split("\n\n")[-1].splitlines() == [
        "<b>Sources:</b>",
        "[1] T1, paragraph 2",
        "[3] T3, paragraph 4",
        "<b>See also:</b>",
        "[2] T2, paragraph 3",
    ]
    quoting_all = Answer(
        "q", True, (AnswerSentence("x", 1), AnswerSentence("y", 2)), answer.citations[:2]
    )
    assert "See also" not in format_answer(quoting_all, [], "en")[0]


def test_answer_in_russian_uses_russian_labels() -> None:
    [html] = format_answer(_answer(), [], "ru")
    assert "<b>Источники:</b>" in html
    assert "<b>См. также:</b>" in html
    assert "абзац 2" in html


def test_not_found_echoes_the_question_and_lists_known_articles() -> None:
    articles = [ArticleInfo(f"a{i}", f"Title {i} <x>", 3) for i in range(12)]
    [html] = format_answer(_answer(False, "<b>x</b> & y"), articles, "en")
    assert html.startswith(
        "I could not find an answer to “&lt;b&gt;x&lt;/b&gt; &amp; y” in the articles I know."
    )
    assert "• Title 0 &lt;x&gt;" in html
    assert "• Title 9 &lt;x&gt;" in html
    assert "Title 10" not in html
    assert "… and 2 more (/sources)" in html
    check_text(html, "HTML")


def test_cut_question_gets_a_note() -> None:
    [html] = format_answer(_answer(), [], "en", was_cut=True)
    assert html.startswith(
        "<i>Your message was long, so I used only its first 1000 characters.</i>\n\n"
    )


def test_inline_card_of_a_cut_question_gets_the_note_too() -> None:
    html = format_inline_answer(_answer(), [], "en", was_cut=True)
    assert html.startswith(
        "<b>Who bought Time?</b>\n\n"
        "<i>Your message was long, so I used only its first 1000 characters.</i>\n\n"
    )
    assert "<i>" not in format_inline_answer(_answer(), [], "en")
    check_text(html, "HTML")


def test_non_http_links_are_not_linked() -> None:
    article = ArticleInfo("x", "Title", 1, url="javascript:alert(1)", published="2024-12-01")
    [html] = format_sources([article], "en")
    assert html == "<b>Articles I know (1)</b>\n\n1. Title — 2024-12-01"


def test_sources_over_4096_are_split_between_articles() -> None:
    articles = [
        ArticleInfo(f"a{i}", f"Article number {i} & friends", 3, url=f"https://e.com/{i}")
        for i in range(300)
    ]
    texts = format_sources(articles, "en")
    assert len(texts) > 1
    for text in texts:
        visible = check_text(text, "HTML")
        assert utf16_len(text) <= 4096
        assert not visible.startswith(("\n", " "))
    joined = "\n".join(texts)
    assert joined.count("<a href=") == 300


@pytest.mark.parametrize(
    "block",
    [
        pytest.param("word &amp; <i>italic</i> ", id="entities-and-tags"),
        pytest.param("😀🎉 ", id="astral-emoji"),
        pytest.param("<b>bold <u>across &lt;cuts&gt; and</u> words</b> ", id="nested-tags"),
        pytest.param("x" * 50, id="no-spaces"),
        pytest.param('<a href="https://e.com/?a=1&amp;b=2">link</a> ', id="links"),
    ],
)
def test_split_message_never_breaks_markup(block: str) -> None:
    rng = random.Random(7)
    parts = []
    for _ in range(900):
        parts.append(block)
        parts.append(rng.choice(["", "\n", "\n\n", " "]))
    html = "<blockquote>" + "".join(parts) + "</blockquote>"
    texts = split_message(html)
    assert len(texts) > 1
    for text in texts:
        check_text(text, "HTML")  # well-formed, non-empty, within 4096 UTF-16 units
        assert utf16_len(text) <= 4096
    original = "".join(parse_html(html).split())
    assert "".join("".join(parse_html(t).split()) for t in texts) == original


def test_split_prefers_paragraph_breaks() -> None:
    paragraphs = [f"Paragraph {i}. " + "words " * 100 for i in range(20)]
    texts = split_message("\n\n".join(paragraphs))
    assert len(texts) > 1
    for text in texts:
        assert text.startswith("Paragraph ")
        assert text.endswith("words")


def test_short_message_is_one_chunk() -> None:
    assert split_message("  <b>hi</b>  ") == ["<b>hi</b>"]


def test_button_data_fits_64_bytes_even_for_long_ids() -> None:
    long_id = "очень-длинный-идентификатор-статьи-" * 4
    data = source_button_data(_citation(3, article_id=long_id))
    assert len(data.encode("utf-8")) <= 64
    ref = parse_source_button(data)
    assert ref is not None
    assert (ref.n, ref.paragraph) == (3, 4)
    assert ref.matches_article(long_id)
    assert not ref.matches_article("other")


def test_button_data_round_trip() -> None:
    citation = _citation(2)
    ref = parse_source_button(source_button_data(citation))
    assert ref is not None
    assert ref.article_key == "att"
    assert ref.fingerprint == formatting.hashlib.sha1(citation.text.encode()).hexdigest()[:8]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(None, id="none"),
        pytest.param("", id="empty"),
        pytest.param("hello", id="garbage"),
        pytest.param("cite|1|att|x|deadbeef", id="bad-paragraph"),
        pytest.param("cite|1|att|2|nothex!!", id="bad-fingerprint"),
        pytest.param("cite|1||2|deadbeef", id="no-article"),
        pytest.param("other|1|att|2|deadbeef", id="other-prefix"),
    ],
)
def test_unknown_button_data_is_rejected(data: str | None) -> None:
    assert parse_source_button(data) is None


@pytest.mark.parametrize(
    ("code", "text", "expected"),
    [
        pytest.param("ru", "Who?", "ru", id="ru-code"),
        pytest.param("ru-RU", "", "ru", id="ru-region"),
        pytest.param("en", "Кто разработал GigaChat?", "ru", id="cyrillic-question"),
        pytest.param(None, "Who developed GigaChat?", "en", id="no-code"),
        pytest.param("de", "", "en", id="other-language"),
    ],
)
def test_pick_language(code: str | None, text: str, expected: str) -> None:
    assert pick_language(code, text) == expected


def test_every_string_exists_in_both_languages() -> None:
    english = formatting._TEXTS["en"]
    russian = formatting._TEXTS["ru"]
    assert english.keys() == russian.keys()
    for key in english:
        assert english[key] != russian[key], key


def test_cut_question_cuts_at_a_word() -> None:
    question, was_cut = formatting.cut_question("word " * 1000)
    assert was_cut
    assert len(question) <= formatting.MAX_QUESTION_CHARS
    assert question.endswith("word")
    assert formatting.cut_question("  short  ") == ("short", False)


def test_stats_and_help_are_valid_html() -> None:
    view = formatting.StatsView(10, 3, 2, 20, "2024-01-01T00:00:00", "snap-<1>", 3723.0)
    html = formatting.format_stats(view, "en")
    assert "Not found: 3 (30%)" in html
    assert "Up for: 1:02:03" in html
    check_text(html, "HTML")
    for language in formatting.LANGUAGES:
        for text in formatting.format_help("my_bot", language):
            check_text(text, "HTML")
