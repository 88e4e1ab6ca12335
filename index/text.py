"""Text helpers shared by the engine: normalisation, sentence splitting, language detection."""

from __future__ import annotations

import hashlib
import re
import unicodedata

# Zero-width characters and the byte-order mark carry no meaning and break exact matching.
_INVISIBLE = re.compile("[\ufeff\u200b\u200c\u200d\u2060\u00ad]")
CYRILLIC = re.compile(r"[\u0400-\u04ff]")  # a Cyrillic letter
_LATIN = re.compile(r"[A-Za-z]")
# A sentence ends at . ! ? or … (maybe followed by a closing quote or bracket), then space and an
# upper-case letter, digit or opening quote.
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’»)]*\s+(?=[\"'“‘«(]?[A-ZА-ЯЁ0-9])")
# Words after which a full stop does not end a sentence: titles, initials ("J."), "U.S.", "No.".
_ABBREVIATION = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Dr|Prof|St|Sr|Jr|vs|No|Inc|Ltd|Co|Gen|Gov|Sen|Rep|etc|т|г|гг|им)|"
    r"\b[A-ZА-ЯЁ]|\b(?:[A-Za-z]\.)+[A-Za-z])$"
)


def normalize_text(text: str) -> str:
    """Drop invisible characters, apply NFC and fold runs of white space into one space."""
    text = unicodedata.normalize("NFC", text)
    if _INVISIBLE.search(text):  # searching first: rare, and 7x faster than always replacing
        text = _INVISIBLE.sub("", text)
    # str.split() splits on exactly the characters regex \s matches, and is much faster.
    return " ".join(text.split())


def content_hash(text: str) -> str:
    """A stable short hash of a passage's text (sha1, hex)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def split_sentences(text: str) -> list[str]:
    """Split a paragraph into sentences; a text with no sentence end is one sentence."""
    sentences = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        before = text[start : match.start()]
        if match.group().startswith(".") and _ABBREVIATION.search(before):
            continue
        sentences.append(text[start : match.end()].strip())
        start = match.end()
    sentences.append(text[start:].strip())
    return [sentence for sentence in sentences if sentence]


def detect_language(text: str) -> str:
    """``"ru"`` when the text is mostly Cyrillic, else ``"en"``."""
    cyrillic = len(CYRILLIC.findall(text))
    return "ru" if cyrillic and cyrillic >= len(_LATIN.findall(text)) else "en"


def cut_at_word(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, at the last space in its second half (in
    the middle of a word only when there is none)."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    space = head.rfind(" ")
    return (head[:space] if space > limit // 2 else head).rstrip()
