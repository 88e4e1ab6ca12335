"""Checking a composed answer against its sources, sentence by sentence (pure functions).

A language model's answer (``index.compose``) is sent only as far as it can be checked: each
sentence must carry at least one ``[n]`` marker, every marker must name one of the passages the
model was given, and the names, numbers, months and weekdays the sentence states must occur in
the passages it cites. Names may be spelled in the other script or inflected (Сбербанка ~
Sberbank, Кремль ~ Kremlin: ``index.names.spelled_alike``); numbers may be written with other
separators (1,500 ~ 1 500, 2.5 ~ 2,5), in words (three ~ три ~ 3) or with a scale (2 billion ~
2 млрд ~ 2,000,000,000); months and weekdays in either language (December ~ декабря). A sentence
that fails is dropped; what remains is the answer.

Not checked: a name that opens a sentence and is neither CamelCase nor in another script than
the sentence (no dictionary tells "Yandex" from "According" there), and names that are
translated rather than transliterated (Франция ~ France fails, and the sentence is dropped).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from index.models import AnswerSentence, Citation
from index.names import spelled_alike
from index.question import question_names
from index.text import split_sentences

MARKER = re.compile(r"\[\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]")
# Markers after a sentence's full stop ("... Sberbank. [1]") belong to that sentence.
_MARKERS_AFTER_END = re.compile(r"([.!?…]+)((?:\s*\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\])+)")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_TOKEN = re.compile(r"[^\W_](?:[\w’'-]*[^\W_])?")
_POSSESSIVE = re.compile(r"['’]s$")
# 1,500 / 1 500 (thousands), then 2.5 / 2,5 (decimals), then plain digits.
_NUMBER = re.compile(r"\d{1,3}(?:[,\u00a0\u202f ]\d{3})+(?!\d)(?:\.\d+)?|\d+(?:[.,]\d+)?")
_THOUSANDS = re.compile(r"\d{1,3}(?:[,\u00a0\u202f ]\d{3})+(?!\d)")

_EN_NUMBERS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty"
).split()
_RU_NUMBERS = (
    "ноль один два три четыре пять шесть семь восемь девять десять одиннадцать двенадцать "
    "тринадцать четырнадцать пятнадцать шестнадцать семнадцать восемнадцать девятнадцать "
    "двадцать"
).split()
_TENS = {
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
    "ninety": 90, "hundred": 100, "тридцать": 30, "сорок": 40, "пятьдесят": 50,
    "шестьдесят": 60, "семьдесят": 70, "восемьдесят": 80, "девяносто": 90, "сто": 100,
    "две": 2, "одна": 1, "одно": 1, "dozen": 12,
}  # fmt: skip
_NUMBER_WORDS = {
    **{word: n for n, word in enumerate(_EN_NUMBERS)},
    **{word: n for n, word in enumerate(_RU_NUMBERS)},
    **_TENS,
}
# "one" is as often a pronoun ("one of the tools") as a number: not read as 1 in an answer.
_AMBIGUOUS_WORDS = frozenset({"one", "один", "одна", "одно", "zero", "ноль"})
_SCALES = (
    (re.compile(r"thousands?|тысяч\w*|тыс", re.IGNORECASE), 10**3),
    (re.compile(r"millions?|миллион\w*|млн", re.IGNORECASE), 10**6),
    (re.compile(r"billions?|миллиард\w*|млрд|bn", re.IGNORECASE), 10**9),
    (re.compile(r"trillions?|триллион\w*|трлн", re.IGNORECASE), 10**12),
)
_MONTHS = (
    ("january", "январ"), ("february", "феврал"), ("march", "март"), ("april", "апрел"),
    ("may", "ма"), ("june", "июн"), ("july", "июл"), ("august", "август"),
    ("september", "сентябр"), ("october", "октябр"), ("november", "ноябр"),
    ("december", "декабр"),
)  # fmt: skip
_WEEKDAYS = (
    ("monday", "понедельник"), ("tuesday", "вторник"), ("wednesday", "сред"),
    ("thursday", "четверг"), ("friday", "пятниц"), ("saturday", "суббот"),
    ("sunday", "воскресень"),
)  # fmt: skip
_RU_CALENDAR_FORMS = re.compile(
    r"(?:январ|феврал|март|апрел|июн|июл|август|сентябр|октябр|ноябр|декабр|понедельник"
    r"|вторник|четверг|пятниц|суббот|воскресень)\w*|ма[йяе]|сред[ауы]",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Dropped:
    """A composed sentence that was not sent, and why."""

    sentence: str
    reason: str


@dataclass(frozen=True)
class Checked:
    """The sentences of a composed answer that passed, and those that did not."""

    sentences: tuple[AnswerSentence, ...]
    dropped: tuple[Dropped, ...]


def check_composition(text: str, citations: Sequence[Citation]) -> Checked:
    """Keep the sentences of ``text`` whose markers and facts the citations bear out.

    Args:
        text: the model's answer, with ``[n]`` markers numbering ``citations`` from 1.
        citations: the passages the model was given, numbered as it saw them.

    Returns:
        The verified sentences (markers taken off the text, onto the sentence) and the dropped
        ones with the reason.
    """
    kept: list[AnswerSentence] = []
    dropped: list[Dropped] = []
    by_number = {c.n: c for c in citations}
    for sentence in composed_sentences(text):
        numbers = list(dict.fromkeys(marker_numbers(sentence)))
        plain = _tidy(MARKER.sub(" ", sentence))
        reason = _problem(plain, numbers, by_number)
        if reason:
            dropped.append(Dropped(sentence, reason))
        else:
            kept.append(AnswerSentence(plain, numbers[0], tuple(numbers[1:])))
    return Checked(tuple(kept), tuple(dropped))


def _problem(plain: str, numbers: Sequence[int], by_number: dict[int, Citation]) -> str | None:
    if not re.search(r"\w", plain):
        return "no text"
    if not numbers:
        return "no [n] marker"
    missing = [n for n in numbers if n not in by_number]
    if missing:
        return f"cites [{missing[0]}], which is not one of the {len(by_number)} passages"
    sources = [by_number[n].text for n in numbers]
    unknown = unsupported_facts(plain, sources)
    if unknown:
        return "not in the passages it cites: " + ", ".join(unknown)
    return None


def composed_sentences(text: str) -> list[str]:
    """The sentences of a model's answer: lines, bullets taken off, split at sentence ends, each
    with the markers that follow its full stop."""
    text = _MARKERS_AFTER_END.sub(r"\2\1", text)
    sentences = []
    for line in text.splitlines():
        line = _BULLET.sub("", line).strip()
        if line:
            sentences.extend(split_sentences(line))
    return sentences


def marker_numbers(sentence: str) -> list[int]:
    """The citation numbers of a sentence's markers: ``[1]``, ``[1][3]``, ``[1, 3]``."""
    return [int(n) for group in MARKER.findall(sentence) for n in re.split(r"[,;\s]+", group) if n]


# Markdown emphasis and code marks a chat model may add: Telegram would show them as typed.
_MARKDOWN = re.compile(r"\*\*|__|`|^#+\s*")


def _tidy(text: str) -> str:
    text = " ".join(_MARKDOWN.sub("", text).split())
    return re.sub(r"\s+([.,;:!?…»”)])", r"\1", text).strip()


def unsupported_facts(sentence: str, sources: Sequence[str]) -> list[str]:
    """The names, numbers, scales, months and weekdays of ``sentence`` that none of ``sources``
    states (in any spelling the module docstring allows)."""
    source_text = " ".join(sources)
    tokens = [_POSSESSIVE.sub("", t) for t in _TOKEN.findall(source_text)]
    calendar = {key for token in tokens if (key := calendar_key(token))}
    unknown = []
    for name in question_names(sentence):
        is_date = calendar_key(name) is not None  # checked with the other calendar words
        if not is_date and not any(spelled_alike(name, token) for token in tokens):
            unknown.append(name)
    for token in _TOKEN.findall(sentence):
        key = calendar_key(token)
        if key is not None and key not in calendar:
            unknown.append(token)
    known_numbers = numbers_stated(source_text, sentence_side=False)
    unknown += [n for n in _number_texts(sentence) if _canonical(n) not in known_numbers]
    unknown += [
        word
        for word in _number_words(sentence)
        if str(_NUMBER_WORDS[word.casefold()]) not in known_numbers
    ]
    source_scales = set(_scales(source_text))
    unknown += [word for word, scale in _scale_words(sentence) if scale not in source_scales]
    return list(dict.fromkeys(unknown))


def calendar_key(word: str) -> str | None:
    """``m12`` for December / декабря, ``w3`` for Wednesday / среду; None for other words.
    English ones count only capitalised ("may" is a verb)."""
    folded = word.casefold()
    if word[:1].isupper() or _RU_CALENDAR_FORMS.fullmatch(word):
        for number, (english, russian) in enumerate(_MONTHS, 1):
            if folded in (english, english[:3]) or (
                folded.startswith(russian) and _RU_CALENDAR_FORMS.fullmatch(folded)
            ):
                return f"m{number}"
        for number, (english, russian) in enumerate(_WEEKDAYS, 1):
            if folded == english or (
                folded.startswith(russian) and _RU_CALENDAR_FORMS.fullmatch(folded)
            ):
                return f"w{number}"
    return None


def numbers_stated(text: str, *, sentence_side: bool = True) -> set[str]:
    """Every number ``text`` states, canonical: digits, number words, and each scaled by the
    scale word after it ("2 billion" -> 2 and 2000000000)."""
    numbers: set[str] = set()
    for match in _NUMBER.finditer(text):
        value = _canonical(match.group())
        numbers.add(value)
        scale = _scale_after(text, match.end())
        if scale:
            numbers.add(_canonical(str(float(value) * scale)))
    words = _number_words(text, include_ambiguous=not sentence_side)
    numbers.update(str(_NUMBER_WORDS[word.casefold()]) for word in words)
    return numbers


def _number_texts(text: str) -> list[str]:
    return [match.group() for match in _NUMBER.finditer(text)]


def _number_words(text: str, *, include_ambiguous: bool = False) -> list[str]:
    return [
        token
        for token in _TOKEN.findall(text)
        if token.casefold() in _NUMBER_WORDS
        and (include_ambiguous or token.casefold() not in _AMBIGUOUS_WORDS)
    ]


def _scale_words(text: str) -> Iterable[tuple[str, int]]:
    for token in _TOKEN.findall(text):
        for pattern, scale in _SCALES:
            if pattern.fullmatch(token):
                yield token, scale


def _scales(text: str) -> Iterable[int]:
    return (scale for _, scale in _scale_words(text))


def _scale_after(text: str, end: int) -> int | None:
    match = _TOKEN.match(text, end + 1) if text[end : end + 1] in (" ", "\u00a0") else None
    if match is None:
        return None
    for pattern, scale in _SCALES:
        if pattern.fullmatch(match.group()):
            return scale
    return None


def _canonical(number: str) -> str:
    """One spelling per number: separators dropped, a decimal comma read as a point."""
    if _THOUSANDS.match(number):
        head, _, tail = number.partition(".")
        number = re.sub(r"[,\u00a0\u202f ]", "", head) + (f".{tail}" if tail else "")
    value = float(number.replace(",", "."))
    return str(int(value)) if value.is_integer() else repr(value)
