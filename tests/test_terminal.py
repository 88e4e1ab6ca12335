"""Plain-text answers for the terminal chat and `newsbot ask`."""

from __future__ import annotations

from bot.terminal import format_answer_plain
from index import Answer, AnswerSentence, ArticleInfo, Citation


def test_not_found_says_which_names_no_article_mentions_and_lists_what_is_known() -> None:
    answer = Answer("What did Macron say?", False, unknown=("Macron",))
    articles = [ArticleInfo("a", "Putin Calls for Russia to Lead the World in AI", 10)]
    assert format_answer_plain(answer, articles).splitlines() == [
        "Not found in the articles I know.",
        "None of them mentions Macron.",
        "I know about:",
        "  - Putin Calls for Russia to Lead the World in AI",
    ]


def test_an_answer_is_followed_by_its_numbered_sources() -> None:
    citation = Citation(1, "a", "Title", 9, "https://example.org/a", "text", 0.9)
    answer = Answer("q?", True, citations=(citation,))
    lines = format_answer_plain(answer).splitlines()
    assert lines[-2:] == ["Sources:", "  [1] Title, paragraph 9 <https://example.org/a>"]


def test_sources_the_answer_quotes_come_first_and_the_others_are_see_also() -> None:
    citations = tuple(Citation(n, "a", f"T{n}", n, None, "text", 0.9) for n in (1, 2, 3))
    answer = Answer("q?", True, (AnswerSentence("Quoted.", 2),), citations)
    lines = format_answer_plain(answer).splitlines()
    assert lines[lines.index("Sources:") :] == [
        "Sources:",
        "  [2] T2, paragraph 2",
        "See also:",
        "  [1] T1, paragraph 1",
        "  [3] T3, paragraph 3",
    ]
