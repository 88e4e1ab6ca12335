"""Inline mode: ``@bot question`` in any chat answers with cards (the answer, then each source)."""

from __future__ import annotations

import asyncio
import hashlib

from telegram import InlineQueryResultArticle, InputTextMessageContent, Update
from telegram.constants import ParseMode

from bot import formatting
from bot.formatting import pick_language, text_for
from bot.handlers import NewsContext
from index import Answer

INLINE_CACHE_S = 30


async def inline_answer(update: Update, context: NewsContext) -> None:
    """``@bot question`` in any chat: answer cards (the answer, then each cited paragraph)."""
    query = update.inline_query
    if query is None:
        return
    question, was_cut = formatting.cut_question(query.query)
    if not question:
        await query.answer([], cache_time=INLINE_CACHE_S)
        return
    language = pick_language(query.from_user.language_code, question)
    engine = context.state.engine
    # Taken before asking: a "not found" reply then never lists an article from an index
    # swapped in after the question was searched.
    known = engine.articles()
    answer = await asyncio.to_thread(engine.ask, question)
    context.state.stats.record(answer)
    articles = () if answer.found else known
    html = formatting.format_inline_answer(answer, articles, language, was_cut=was_cut)
    results = inline_results(answer, html, language)
    await query.answer(results, cache_time=INLINE_CACHE_S)


def inline_results(
    answer: Answer, answer_html: str, language: str
) -> list[InlineQueryResultArticle]:
    """The cards for an inline query: the full cited answer first, then one per source."""
    key = hashlib.sha1(answer.question.encode("utf-8")).hexdigest()[:16]
    title = text_for(language, "inline_answer" if answer.found else "inline_not_found")
    snippet = formatting.inline_snippet(answer.text if answer.found else answer.question)
    cards = [_card(f"a-{key}", title, snippet, answer_html)]
    for citation in answer.citations:
        heading = text_for(
            language,
            "inline_source",
            n=citation.n,
            title=citation.title,
            paragraph=citation.paragraph,
        )
        html = formatting.format_paragraph(citation, citation.text, language)[0]
        snippet = formatting.inline_snippet(citation.text)
        cards.append(_card(f"c{citation.n}-{key}", heading, snippet, html))
    return cards


def _card(result_id: str, title: str, description: str, html: str) -> InlineQueryResultArticle:
    return InlineQueryResultArticle(
        id=result_id,
        title=title,
        description=description,
        input_message_content=InputTextMessageContent(html, parse_mode=ParseMode.HTML),
    )
