"""Plain-text rendering of answers and build reports for the terminal."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from index import Answer, ArticleInfo, BuildReport, Citation

WIDTH = 88


def format_answer_plain(answer: Answer, articles: Sequence[ArticleInfo] = ()) -> str:
    """The answer, then its numbered sources; or a "not found" note listing what is known. A
    follow-up starts with what it was read with ("About: GigaChat")."""
    about = [f"(About: {', '.join(answer.about)})"] if answer.about else []
    return "\n".join([*about, _answer_lines(answer, articles)])


def _answer_lines(answer: Answer, articles: Sequence[ArticleInfo]) -> str:
    if not answer.found:
        lines = ["Not found in the articles I know."]
        if answer.unknown:
            lines.append(f"None of them mentions {', '.join(answer.unknown)}.")
        if articles:
            lines.append("I know about:")
            lines.extend(f"  - {a.title}" for a in articles[:10])
            if len(articles) > 10:
                lines.append(f"  ... and {len(articles) - 10} more")
        return "\n".join(lines)
    cited, see_also = answer.cited, answer.see_also
    lines = [textwrap.fill(answer.text, WIDTH)]
    if answer.composed_by:
        lines.append(f"(Composed from the sources below by {answer.composed_by}.)")
    lines += ["", "Sources:"]
    lines += [_source_line(c) for c in cited]
    if see_also:
        lines.append("See also:")
        lines += [_source_line(c) for c in see_also]
    return "\n".join(lines)


def _source_line(citation: Citation) -> str:
    link = f" <{citation.url}>" if citation.url else ""
    return f"  [{citation.n}] {citation.title}, paragraph {citation.paragraph}{link}"


def plural(count: int, noun: str) -> str:
    """``1 article``, ``2 articles``."""
    return f"{count} {noun}" + ("" if count == 1 else "s")


def format_build_report(report: BuildReport) -> str:
    """What ``newsbot index`` did, in two or three lines."""
    if report.is_unchanged:
        head = f"Index up to date: {plural(report.articles, 'article')}, "
        head += plural(report.passages, "passage")
    else:
        head = (
            f"Indexed {plural(report.articles, 'article')}, {plural(report.passages, 'passage')}"
            f"{' (full rebuild)' if report.full else ''}: "
            f"{len(report.added)} added, {len(report.changed)} changed, "
            f"{len(report.removed)} removed"
        )
    lines = [
        head,
        f"Embedded {report.embedded} passage vectors"
        + (f" and {report.sentences_embedded} sentences" if report.sentences_embedded else "")
        + f", reused {report.reused}, in {report.seconds:.2f} s",
    ]
    for article_id in report.kept_broken:
        lines.append(f"Kept the last good version of {article_id} (its file is broken)")
    return "\n".join(lines)
