"""What a question asks for and what it names, read with rules (English and Russian).

``read_question`` finds the kind of answer the question's first question word asks for (a date,
a time, a number, an amount of money, a name), the numbers it mentions and the words that look
like names. ``holds_kind`` tells whether a passage holds an answer of that kind. The engine uses
both to refuse questions the articles cannot answer ("When will the strategy session be?" about a
paragraph with no date; "What did Macron say?" when no article mentions Macron) and to pick the
sentence that answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_W = r"(?<![\w])"
_E = r"(?![\w])"
MONTHS = (
    r"(?:january|february|march|april|may|june|july|august|september|october|november|december"
    r"|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|январ\w*|феврал\w*|март\w*|апрел\w*"
    r"|ма[йяе]|июн\w*|июл\w*|август\w*|сентябр\w*|октябр\w*|ноябр\w*|декабр\w*)"
)
WEEKDAYS = (
    r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|понедельник\w*|вторник\w*"
    r"|сред[аеуы]|четверг\w*|пятниц\w*|суббот\w*|воскресень\w*)"
)
_RELATIVE = (
    r"(?:yesterday|today|tomorrow|tonight|last (?:week|month|year|night)|next (?:week|month|year)"
    r"|this (?:week|month|year)|вчера|сегодня|завтра|на прошлой неделе|в прошлом (?:году|месяце)"
    r"|в этом (?:году|месяце))"
)
_DATE = re.compile(
    rf"{_W}(?:{MONTHS}|{WEEKDAYS}|{_RELATIVE}|1\d{{3}}|20\d\d|\d{{1,2}}(?:st|nd|rd|th)? century"
    rf"|\d{{3,4}}s|(?:[ivx]+|\d+)(?:-?(?:й|го|м))? век\w*){_E}",
    re.IGNORECASE,
)
_TIME = re.compile(
    rf"{_W}(?:\d{{1,2}}[:.]\d{{2}}|\d{{1,2}} ?(?:a\.?m\.?|p\.?m\.?)|o'clock|noon|midnight"
    rf"|morning|evening|afternoon|утр\w+|вечер\w*|полдень|полночь){_E}",
    re.IGNORECASE,
)
_NUMBER_WORDS = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen"
    r"|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy"
    r"|eighty|ninety|hundred|thousand|million|billion|trillion|dozen|half|percent|один|одна|два"
    r"|две|три|четыре|пять|шесть|семь|восемь|девять|десять|сто|тысяч\w*|миллион\w*|миллиард\w*"
    r"|десят\w+|процент\w*)"
)
_NUMBER = re.compile(rf"(?:\d|{_W}{_NUMBER_WORDS}{_E})", re.IGNORECASE)
_MONEY = re.compile(
    rf"(?:[$£€₽¥]|{_W}(?:dollars?|euros?|pounds?|rubles?|roubles?|yen|yuan|usd|eur|gbp|rub"
    rf"|руб\w*|доллар\w*|евро|фунт\w*|юан\w*){_E})",
    re.IGNORECASE,
)
# A capitalised word that does not open a sentence: a name, a place, an organisation.
_NAME = re.compile(r"(?<!^)(?<![.!?“\"«]\s)(?<![.!?]”\s)\b[A-ZА-ЯЁ][\w’'-]+")
_CALENDAR = re.compile(rf"{MONTHS}|{WEEKDAYS}", re.IGNORECASE)

# Question words and the kind of answer they ask for; the earliest match in a question wins (a
# "when" later on is usually a conjunction: "How old was he when he won?").
_ASKS = (
    ("time", r"what time|at what time|во сколько|в котором часу"),
    (
        "money",
        r"how much money|how much (?:does|did|will|would|is|was|are|were)\b.*\b(?:cost|spend|pay"
        r"|worth|invest)\w*|what (?:does|did|will|would) .*\bcost|(?:the )?price of"
        r"|сколько (?:стоит|стоил\w*|стоят|денег|потрат\w*|выдел\w*|инвест\w*)|стоимост\w*"
        r"|цен[аеуы]|бюджет\w*",
    ),
    (
        "date",
        r"when|what year|which year|what day|which day|what date|which date|what month|which month"
        r"|what century|which century|how long ago|когда|в каком году|в какой день"
        r"|какого числа|в каком месяце|в каком веке|какого года|в какой год",
    ),
    (
        "number",
        r"how many|how much|how long|how old|how far|how big|how large|how tall|how high"
        r"|what percentage|what percent|what proportion|what share|what number|сколько"
        r"|какой процент|какая доля|какую долю|какова доля|на сколько|насколько",
    ),
    (
        "name",
        r"who|whom|whose|where|which (?:city|country|company|bank|firm|person|man|woman|team"
        r"|organi[sz]ation|place|town|state)|кто|кого|кому|кем|чей|чья|чьё|где|куда|откуда"
        r"|в каком городе|в какой стране|какая компания|какой банк|какая организация",
    ),
)
_ASK_PATTERNS = tuple(
    (kind, re.compile(rf"\b(?:{words})\b", re.IGNORECASE)) for kind, words in _ASKS
)
KINDS = tuple(kind for kind, _ in _ASKS)

_TOKEN = re.compile(r"[^\W_](?:[\w’'&-]*[^\W_])?")
_DIGITS = re.compile(r"\d+(?:[.,]\d+)*")
_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
_LATIN = re.compile(r"[a-z]", re.IGNORECASE)
_MIXED_CASE = re.compile(r"[a-zа-яё][A-ZА-ЯЁ]")
_ACRONYM = re.compile(r"[A-ZА-ЯЁ]{2,3}")
# Capitalised in questions but not names: the topic word everyone abbreviates, interjections.
_NOT_NAMES = frozenset("ai ии i q&a ok ок ну да нет hi hey so and а и но also ещё еще вот".split())


@dataclass(frozen=True)
class QuestionFacts:
    """What rules can read off a question."""

    asks: str | None  # one of KINDS, or None for "what/why/how/is ..." questions
    names: tuple[str, ...]  # words that look like names, as written
    numbers: tuple[str, ...]  # numbers written with digits ("1967", "2.5")


def read_question(question: str) -> QuestionFacts:
    """The kind of answer asked for, the names and the numbers in ``question``."""
    return QuestionFacts(_asks(question), question_names(question), numbers_in(question))


def _asks(question: str) -> str | None:
    best: tuple[int, str] | None = None
    for kind, pattern in _ASK_PATTERNS:
        match = pattern.search(question)
        if match and (best is None or match.start() < best[0]):
            best = (match.start(), kind)
    return best[1] if best else None


def question_names(question: str) -> tuple[str, ...]:
    """Words that look like names: capitalised (not opening a sentence), CamelCase (GigaChat),
    and Latin words in a Cyrillic question. Short acronyms are left out: "QB" or "ГДР" are
    rarely spelled as in the article."""
    cyrillic = bool(_CYRILLIC.search(question))
    names = []
    for match in _TOKEN.finditer(question):
        word = match.group()
        if len(word) < 2 or word.isdigit() or word.casefold() in _NOT_NAMES:
            continue
        if _ACRONYM.fullmatch(word):
            continue
        before = question[: match.start()].rstrip(" \"'«“(—–-,:")
        opens_sentence = not before or before[-1] in ".!?…"
        if (
            (cyrillic and _LATIN.match(word))
            or _MIXED_CASE.search(word)
            or (word[0].isupper() and not opens_sentence)
        ):
            names.append(re.sub(r"['’]s$", "", word))
    return tuple(names)


def numbers_in(text: str) -> tuple[str, ...]:
    """The numbers written with digits, separators dropped ("1,500" -> "1500")."""
    return tuple(dict.fromkeys(d.replace(",", "") for d in _DIGITS.findall(text)))


def holds_kind(text: str, kind: str) -> bool:
    """Whether ``text`` holds an answer of ``kind`` (see KINDS)."""
    if kind == "date":
        return bool(_DATE.search(text))
    if kind == "time":
        return bool(_TIME.search(text))
    if kind == "number":
        return bool(_NUMBER.search(text))
    if kind == "money":
        return bool(_MONEY.search(text))
    if kind == "name":
        return any(not _CALENDAR.fullmatch(m.group()) for m in _NAME.finditer(text))
    raise ValueError(f"unknown answer kind {kind!r}")
