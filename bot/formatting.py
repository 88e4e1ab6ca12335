"""Every user-facing Telegram string, in English and Russian, as Telegram HTML.

Plain ``str`` in and out: nothing here talks to Telegram. Every piece of article or user text is
escaped with ``html.escape`` before it is put into markup, and every reply goes through
``split_message`` so no message is longer than Telegram's 4096 characters.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape

from index import Answer, ArticleInfo, Citation, Paragraph, cut_at_word, detect_language

MAX_MESSAGE_UTF16 = 4096  # Telegram's limit for one message's text
MAX_CALLBACK_DATA_BYTES = 64  # Telegram's limit for a button's callback_data
MAX_ALERT_CHARS = 200  # Telegram's limit for answerCallbackQuery text
MAX_QUESTION_CHARS = 1000  # longer messages are cut before retrieval (the model reads ~256 tokens)
MAX_ECHOED_QUESTION_CHARS = 200  # a "not found" reply repeats at most this much of the question
MAX_LISTED_ARTICLES = 10  # titles listed in /start and "not found" replies
BUTTONS_PER_ROW = 5
CITE_PREFIX = "cite"

_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "greeting": "Hi! I answer questions about the news articles I have read, quoting them "
        "with numbered sources.",
        "i_know": "I know about:",
        "and_more": "… and {count} more (/sources)",
        "try": "Try asking:",
        "examples": "What is “{title}” about?|Who is mentioned in “{title}”?|"
        "What happens next, according to “{title}”?",
        "help": "<b>How to ask</b>\n"
        "• In a private chat, just send me your question.\n"
        "• In a group, write /ask your question, mention me (@{bot} your question) or reply "
        "to one of my messages. I stay quiet otherwise.\n"
        "• In any chat, type @{bot} and your question to share an answer card.\n\n"
        "Every answer quotes the articles with [1] [2] [3] markers; press a button under it "
        "to read the full paragraph.\n\n"
        "/sources lists the articles I know. /start shows example questions. /subscribe "
        "sends you the title and link of each new article I read; /unsubscribe stops it.\n\n"
        "I read a follow-up (“Who made it?”, “and when?”) with your last questions; /new starts "
        "afresh.",
        "sources_title": "<b>Articles I know ({count})</b>",
        "paragraph": "paragraph {n}",
        "sources": "Sources:",
        "see_also": "See also:",
        "not_found": "I could not find an answer to “{question}” in the articles I know.",
        "nothing_indexed": "I don't know any articles yet.",
        "cut_note": "Your message was long, so I used only its first {limit} characters.",
        "ask_usage": "Write your question after the command, e.g. <code>/ask {example}</code>",
        "non_text": "I can only read text. Send me your question as a message.",
        "stale_button": "That source is no longer available; ask again for a fresh answer.",
        "not_allowed": "Sorry, this bot is not available in this chat (id {chat_id}).",
        "admins_only": "Sorry, {command} is for admins only.",
        "reloaded": "Index reloaded. Articles: {articles}, passages: {passages} "
        "(built {built_at}).",
        "stats": "<b>Stats</b>\n"
        "Questions served: {questions}\n"
        "Not found: {not_found} ({not_found_pct})\n"
        "Articles: {articles}\nPassages: {passages}\n"
        "Index built: {built_at}\nIndex version: {version}\nUp for: {uptime}",
        "error": "Sorry, something went wrong; it has been logged.",
        "one_by_one": "You have sent several questions: I am answering them one by one, in order…",
        "inline_answer": "Answer",
        "inline_not_found": "Nothing found",
        "inline_source": "[{n}] {title}, paragraph {paragraph}",
        "cmd_start": "What I know and example questions",
        "cmd_help": "How to ask, in private and in groups",
        "cmd_ask": "Ask a question about the articles",
        "cmd_sources": "The articles I know",
        "cmd_subscribe": "Get the title and link of each new article",
        "cmd_unsubscribe": "Stop new-article notices",
        "cmd_new": "Start a new conversation (forget the earlier questions)",
        "new_conversation": "New conversation: I have forgotten your earlier questions, so the "
        "next one is read on its own.",
        "about": "About: {subject}",
        "composed": "Composed from the sources below.",
        "stats_model": "\nLanguage model: {model}\nAnswers composed: {composed}, extractive: "
        "{extractive}\nModel failures: {failures}",
        "not_mentioned": "None of them mentions {names}.",
        "subscribed": "Subscribed: I will send this chat the title and link of each new article "
        "once I have read it. /unsubscribe stops it.",
        "already_subscribed": "This chat is already subscribed; /unsubscribe stops the notices.",
        "unsubscribed": "Unsubscribed: no more new-article notices. /subscribe starts them again.",
        "not_subscribed": "This chat was not subscribed. /subscribe sends you the title and link "
        "of each new article.",
        "subscriptions_off": "Sorry, subscriptions are not available right now.",
        "new_articles": "<b>New articles</b> you can ask me about:",
    },
    "ru": {
        "greeting": "Привет! Я отвечаю на вопросы по прочитанным новостным статьям и цитирую их "
        "с пронумерованными источниками.",
        "i_know": "Я знаю о статьях:",
        "and_more": "… и ещё {count} (/sources)",
        "try": "Попробуйте спросить:",
        "examples": "О чём статья «{title}»?|Кто упоминается в статье «{title}»?|"
        "Что будет дальше, по статье «{title}»?",
        "help": "<b>Как задать вопрос</b>\n"
        "• В личном чате просто отправьте мне вопрос.\n"
        "• В группе напишите /ask ваш вопрос, упомяните меня (@{bot} ваш вопрос) или ответьте "
        "на одно из моих сообщений. Иначе я молчу.\n"
        "• В любом чате наберите @{bot} и вопрос, чтобы отправить карточку с ответом.\n\n"
        "Каждый ответ цитирует статьи с пометками [1] [2] [3]; нажмите кнопку под ответом, "
        "чтобы прочитать абзац целиком.\n\n"
        "/sources — список статей. /start — примеры вопросов. /subscribe — присылать "
        "заголовок и ссылку каждой новой статьи; /unsubscribe — перестать.\n\n"
        "Уточняющий вопрос («А кто его сделал?», «а когда?») я читаю вместе с вашими прошлыми "
        "вопросами; /new — начать заново.",
        "sources_title": "<b>Статьи, которые я знаю ({count})</b>",
        "paragraph": "абзац {n}",
        "sources": "Источники:",
        "see_also": "См. также:",
        "not_found": "Я не нашёл ответа на вопрос «{question}» в известных мне статьях.",
        "nothing_indexed": "Я пока не знаю ни одной статьи.",
        "cut_note": "Сообщение слишком длинное, я использовал только первые {limit} символов.",
        "ask_usage": "Напишите вопрос после команды, например <code>/ask {example}</code>",
        "non_text": "Я понимаю только текст. Отправьте вопрос сообщением.",
        "stale_button": "Этот источник больше недоступен; задайте вопрос ещё раз.",
        "not_allowed": "Извините, бот недоступен в этом чате (id {chat_id}).",
        "admins_only": "Извините, {command} доступна только администраторам.",
        "reloaded": "Индекс перезагружен: статей {articles}, фрагментов {passages} "
        "(собран {built_at}).",
        "stats": "<b>Статистика</b>\n"
        "Вопросов: {questions}\n"
        "Без ответа: {not_found} ({not_found_pct})\n"
        "Статей: {articles}\nФрагментов: {passages}\n"
        "Индекс собран: {built_at}\nВерсия индекса: {version}\nРаботает: {uptime}",
        "error": "Извините, что-то пошло не так; ошибка записана в журнал.",
        "one_by_one": "Вы прислали несколько вопросов: отвечаю на них по очереди, по порядку…",
        "inline_answer": "Ответ",
        "inline_not_found": "Ничего не найдено",
        "inline_source": "[{n}] {title}, абзац {paragraph}",
        "cmd_start": "Что я знаю и примеры вопросов",
        "cmd_help": "Как задавать вопросы в личке и в группах",
        "cmd_ask": "Задать вопрос по статьям",
        "cmd_sources": "Список статей",
        "cmd_subscribe": "Присылать заголовок и ссылку каждой новой статьи",
        "cmd_unsubscribe": "Не присылать новые статьи",
        "cmd_new": "Новый разговор (забыть прежние вопросы)",
        "new_conversation": "Новый разговор: прежние вопросы забыты, следующий я прочту сам по "
        "себе.",
        "about": "О чём: {subject}",
        "composed": "Составлено по источникам ниже.",
        "stats_model": "\nЯзыковая модель: {model}\nОтветов составлено: {composed}, "
        "цитатами: {extractive}\nСбоев модели: {failures}",
        "not_mentioned": "Ни в одной из них не упоминается {names}.",
        "subscribed": "Подписка оформлена: я пришлю в этот чат заголовок и ссылку каждой новой "
        "статьи, когда прочитаю её. /unsubscribe — отписаться.",
        "already_subscribed": "Этот чат уже подписан; /unsubscribe — отписаться.",
        "unsubscribed": "Подписка отменена: новых уведомлений не будет. /subscribe — снова "
        "подписаться.",
        "not_subscribed": "Этот чат не был подписан. /subscribe — получать заголовок и ссылку "
        "каждой новой статьи.",
        "subscriptions_off": "Извините, подписка сейчас недоступна.",
        "new_articles": "<b>Новые статьи</b>, о которых можно спросить:",
    },
}
LANGUAGES = tuple(_TEXTS)
# The public command menu, in this order.
COMMANDS = ("start", "help", "ask", "new", "sources", "subscribe", "unsubscribe")

_TAG_OR_ENTITY = re.compile(r"<[^>]*>|&[^;\s]*;")
_TAG = re.compile(r"<(/?)([a-zA-Z-]+)")


def pick_language(language_code: str | None, text: str = "") -> str:
    """``"ru"`` for Russian speakers (language code ``ru*`` or a Cyrillic text), else ``"en"``."""
    if language_code and language_code.lower().startswith("ru"):
        return "ru"
    if text and detect_language(text) == "ru":
        return "ru"
    return "en"


def text_for(language: str, key: str, **values: object) -> str:
    """One interface string in ``language`` (English when the language is unknown)."""
    template = _TEXTS.get(language, _TEXTS["en"])[key]
    return template.format(**values) if values else template


def command_menu(language: str) -> list[tuple[str, str]]:
    """The command menu as (command, description) pairs, for ``setMyCommands``."""
    return [(command, text_for(language, f"cmd_{command}")) for command in COMMANDS]


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def cut_question(text: str, limit: int = MAX_QUESTION_CHARS) -> tuple[str, bool]:
    """The question to retrieve with, cut at a word boundary to ``limit`` characters."""
    text = text.strip()
    cut = cut_at_word(text, limit)
    return cut, cut != text


# --- answers ------------------------------------------------------------------------------------


def _link(title: str, url: str | None) -> str:
    if url and url.lower().startswith(("http://", "https://")):
        return f'<a href="{escape(url, quote=True)}">{escape(title)}</a>'
    return escape(title)


def _where(citation: Citation, language: str) -> str:
    paragraph = text_for(language, "paragraph", n=citation.paragraph)
    return f"{_link(citation.title, citation.url)}, {paragraph}"


def _source_line(citation: Citation, language: str) -> str:
    return f"[{citation.n}] {_where(citation, language)}"


def _known_articles(articles: Sequence[ArticleInfo], language: str) -> str:
    if not articles:
        return text_for(language, "nothing_indexed")
    lines = [text_for(language, "i_know")]
    lines += [f"• {escape(a.title)}" for a in articles[:MAX_LISTED_ARTICLES]]
    if len(articles) > MAX_LISTED_ARTICLES:
        lines.append(text_for(language, "and_more", count=len(articles) - MAX_LISTED_ARTICLES))
    return "\n".join(lines)


def format_answer(
    answer: Answer,
    articles: Sequence[ArticleInfo],
    language: str,
    *,
    was_cut: bool = False,
) -> list[str]:
    """The reply to a question as Telegram HTML messages (usually one).

    Args:
        answer: the engine's answer.
        articles: what the index knows, listed when nothing was found.
        language: the interface language (``"en"`` or ``"ru"``).
        was_cut: the user's message was cut before retrieval; the reply says so.

    Returns:
        One or more HTML texts, each at most 4096 UTF-16 units, split at paragraph boundaries.
    """
    blocks = []
    if was_cut:
        blocks.append(f"<i>{text_for(language, 'cut_note', limit=MAX_QUESTION_CHARS)}</i>")
    if answer.about:
        subject = escape(inline_snippet(", ".join(answer.about), MAX_ECHOED_QUESTION_CHARS))
        blocks.append(f"<i>{text_for(language, 'about', subject=subject)}</i>")
    if not answer.found:
        question = escape(inline_snippet(answer.question, MAX_ECHOED_QUESTION_CHARS))
        not_found = text_for(language, "not_found", question=question)
        if answer.unknown:
            names = escape(", ".join(answer.unknown))
            not_found += " " + text_for(language, "not_mentioned", names=names)
        blocks.append(not_found)
        blocks.append(_known_articles(articles, language))
    else:
        blocks.append(escape(answer.text))
        if answer.composed_by:
            blocks.append(f"<i>{text_for(language, 'composed')}</i>")
        blocks.append(_sources_block(answer, language))
    return split_message("\n\n".join(blocks))


def _sources_block(answer: Answer, language: str) -> str:
    """The sources the answer quotes, then the other relevant ones under "See also"."""
    cited, see_also = answer.cited, answer.see_also
    lines = [f"<b>{text_for(language, 'sources')}</b>"]
    lines += [_source_line(c, language) for c in cited]
    if see_also:
        lines.append(f"<b>{text_for(language, 'see_also')}</b>")
        lines += [_source_line(c, language) for c in see_also]
    return "\n".join(lines)


def format_inline_answer(
    answer: Answer, articles: Sequence[ArticleInfo], language: str, *, was_cut: bool = False
) -> str:
    """The message an inline answer card sends: the question in bold, then the cited answer
    (after a note when the question was cut, as in ``format_answer``)."""
    question = escape(inline_snippet(answer.question, MAX_ECHOED_QUESTION_CHARS))
    body = format_answer(answer, articles, language, was_cut=was_cut)[0]
    return split_message(f"<b>{question}</b>\n\n{body}")[0]


def format_paragraph(citation: Citation, paragraph: str, language: str) -> list[str]:
    """The full cited paragraph, shown when a source button is pressed."""
    head = f"<b>[{citation.n}]</b> {_where(citation, language)}"
    return split_message(f"{head}\n\n<blockquote>{escape(paragraph)}</blockquote>")


def format_start(articles: Sequence[ArticleInfo], language: str) -> list[str]:
    """The /start greeting: what the bot knows and three example questions."""
    blocks = [text_for(language, "greeting"), _known_articles(articles, language)]
    if articles:
        examples = example_questions(articles, language)
        lines = [text_for(language, "try"), *(f"• <code>{escape(q)}</code>" for q in examples)]
        blocks.append("\n".join(lines))
    return split_message("\n\n".join(blocks))


def example_questions(articles: Sequence[ArticleInfo], language: str) -> list[str]:
    """Three example questions built from the article titles."""
    templates = text_for(language, "examples").split("|")
    return [
        template.format(title=articles[i % len(articles)].title)
        for i, template in enumerate(templates)
    ]


def format_help(bot_username: str, language: str) -> list[str]:
    """The /help text: how to ask in private chats, groups and inline."""
    return split_message(text_for(language, "help", bot=escape(bot_username)))


def format_sources(articles: Sequence[ArticleInfo], language: str) -> list[str]:
    """The /sources list: every article with its title, date and link when known."""
    if not articles:
        return [text_for(language, "nothing_indexed")]
    lines = [text_for(language, "sources_title", count=len(articles)), ""]
    for number, article in enumerate(articles, start=1):
        date = f" — {escape(article.published)}" if article.published else ""
        lines.append(f"{number}. {_link(article.title, article.url)}{date}")
    return split_message("\n".join(lines))


def format_new_articles(articles: Sequence[tuple[str, str | None]]) -> list[str]:
    """A notice of new articles: each title (escaped), linked to its URL when it has one.

    The subscriber's language is not stored, so the heading follows the titles' language.

    Args:
        articles: (title, url) pairs.
    """
    language = pick_language(None, " ".join(title for title, _ in articles))
    lines = [text_for(language, "new_articles")]
    lines += [f"• {_link(title, url)}" for title, url in articles]
    return split_message("\n".join(lines))


def format_ask_usage(articles: Sequence[ArticleInfo], language: str) -> str:
    """The hint for a bare /ask."""
    example = example_questions(articles, language)[0] if articles else "…"
    return text_for(language, "ask_usage", example=escape(example))


@dataclass(frozen=True)
class StatsView:
    """The figures /stats shows."""

    questions: int
    not_found: int
    articles: int
    passages: int
    built_at: str
    version: str
    uptime_s: float
    # With a language model configured: its name, found answers sent composed and extractive,
    # and its failures by kind (timeout, http 500, unverified, ...).
    model: str | None = None
    composed: int = 0
    extractive: int = 0
    model_failures: tuple[tuple[str, int], ...] = ()


def format_stats(stats: StatsView, language: str) -> str:
    """The /stats reply for admins."""
    rate = f"{stats.not_found / stats.questions:.0%}" if stats.questions else "n/a"
    minutes, seconds = divmod(int(stats.uptime_s), 60)
    hours, minutes = divmod(minutes, 60)
    return _stats_text(stats, language, rate, f"{hours}:{minutes:02d}:{seconds:02d}") + (
        _model_stats(stats, language) if stats.model else ""
    )


def _model_stats(stats: StatsView, language: str) -> str:
    total = sum(count for _, count in stats.model_failures)
    kinds = ", ".join(f"{escape(kind)} {count}" for kind, count in stats.model_failures)
    return text_for(
        language,
        "stats_model",
        model=escape(stats.model or ""),
        composed=stats.composed,
        extractive=stats.extractive,
        failures=f"{total} ({kinds})" if kinds else "0",
    )


def _stats_text(stats: StatsView, language: str, rate: str, uptime: str) -> str:
    return text_for(
        language,
        "stats",
        questions=stats.questions,
        not_found=stats.not_found,
        not_found_pct=rate,
        articles=stats.articles,
        passages=stats.passages,
        built_at=escape(stats.built_at),
        version=escape(stats.version),
        uptime=uptime,
    )


def inline_snippet(text: str, limit: int = 120) -> str:
    """A one-line plain-text preview for inline result cards."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def alert_text(text: str) -> str:
    """Plain text cut to fit a callback-query alert."""
    return inline_snippet(text, MAX_ALERT_CHARS)


# --- source buttons -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceRef:
    """What a source button points at: an article's paragraph and a fingerprint of its text."""

    n: int  # the citation's number, as on the button
    article_key: str  # the article id, or "#" + a hash of it when the id is too long
    paragraph: int
    fingerprint: str  # first 8 hex digits of the cited passage's sha1, to notice edits

    def matches_article(self, article_id: str) -> bool:
        return self.article_key in (article_id, _article_hash(article_id))

    def matches_text(self, paragraph: Paragraph) -> bool:
        """Whether the cited passage is still one of the paragraph's, unedited."""
        return any(h.startswith(self.fingerprint) for h in paragraph.content_hashes)


def _article_hash(article_id: str) -> str:
    return "#" + hashlib.sha1(article_id.encode("utf-8")).hexdigest()[:16]


def source_button_data(citation: Citation) -> str:
    """The callback data of a citation's button (always within Telegram's 64 bytes)."""
    fingerprint = hashlib.sha1(citation.text.encode("utf-8")).hexdigest()[:8]
    data = f"{CITE_PREFIX}|{citation.n}|{citation.article_id}|{citation.paragraph}|{fingerprint}"
    if len(data.encode("utf-8")) > MAX_CALLBACK_DATA_BYTES or "|" in citation.article_id:
        key = _article_hash(citation.article_id)
        data = f"{CITE_PREFIX}|{citation.n}|{key}|{citation.paragraph}|{fingerprint}"
    return data


def parse_source_button(data: str | None) -> SourceRef | None:
    """The reference in a button's callback data, or None if it is not one of ours."""
    parts = (data or "").split("|")
    if len(parts) != 5 or parts[0] != CITE_PREFIX or not parts[2]:
        return None
    if not (parts[1].isdigit() and parts[3].isdigit() and re.fullmatch(r"[0-9a-f]{8}", parts[4])):
        return None
    return SourceRef(int(parts[1]), parts[2], int(parts[3]), parts[4])


def source_buttons(citations: Iterable[Citation]) -> list[list[tuple[str, str]]]:
    """Rows of (label, callback data) buttons [1] [2] [3] for an answer's citations."""
    buttons = [(f"[{c.n}]", source_button_data(c)) for c in citations]
    return [buttons[i : i + BUTTONS_PER_ROW] for i in range(0, len(buttons), BUTTONS_PER_ROW)]


# --- splitting ----------------------------------------------------------------------------------


def split_message(html: str, limit: int = MAX_MESSAGE_UTF16) -> list[str]:
    """Split Telegram HTML into messages of at most ``limit`` UTF-16 units.

    Cuts at the last paragraph break that fits, else a line break, else a space, else between
    characters; never inside a tag or an entity. Tags open at a cut are closed at the end of one
    message and reopened at the start of the next, so every message is well-formed on its own.
    """
    chunks: list[str] = []
    rest = html.strip()
    while utf16_len(rest) > limit:
        cut, open_tags = _find_cut(rest, limit)
        head = rest[:cut].rstrip() + "".join(f"</{name}>" for name, _ in reversed(open_tags))
        remainder = "".join(tag for _, tag in open_tags) + rest[cut:].lstrip()
        if len(remainder) >= len(rest):
            raise ValueError("cannot split: the tags open at a cut are longer than the limit")
        rest = remainder
        if _visible(head).strip():
            chunks.append(head)
    if _visible(rest).strip():
        chunks.append(rest)
    return chunks


def _visible(html: str) -> str:
    return re.sub(r"&[^;\s]*;", "x", re.sub(r"<[^>]*>", "", html))


def _find_cut(html: str, limit: int) -> tuple[int, list[tuple[str, str]]]:
    """The best place to cut ``html`` and the tags open there, as (name, opening tag) pairs."""
    best: dict[int, tuple[int, list[tuple[str, str]]]] = {}
    stack: list[tuple[str, str]] = []
    position = 0  # UTF-16 units consumed so far
    i = 0
    while i < len(html):
        closing = sum(len(name) + 3 for name, _ in stack)
        if i > 0 and position + closing <= limit:
            rank = 3 if html.startswith("\n\n", i) else 2 if html[i] == "\n" else 1
            rank = rank if html[i].isspace() else 0
            best[rank] = (i, list(stack))
        elif i > 0:
            break
        token = _token_at(html, i)
        if token.startswith("<"):
            _track(stack, token)
        i += len(token)
        position += utf16_len(token)
    for rank in (3, 2, 1, 0):
        if rank in best and best[rank][0] > 0:
            return best[rank]
    raise ValueError("cannot split: a single tag is longer than the limit")


def _token_at(html: str, i: int) -> str:
    match = _TAG_OR_ENTITY.match(html, i)
    return match.group() if match else html[i]


def _track(stack: list[tuple[str, str]], tag: str) -> None:
    match = _TAG.match(tag)
    if not match:
        return
    is_closing, name = match.group(1) == "/", match.group(2).lower()
    if not is_closing:
        stack.append((name, tag))
    elif stack and stack[-1][0] == name:
        stack.pop()
