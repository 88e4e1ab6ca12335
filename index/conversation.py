"""Follow-up questions: read a question in the context of the chat's last turns, offline.

Readers do not restate the subject ("Who made it?", "А когда?"). A question is a follow-up when it
leans on what came before: a pronoun or demonstrative (it, he, that, there; он, это, там), an
opening "and" / "what about" / "а", or too few words of its own to be looked up alone. A follow-up
is retrieved twice: as asked, and with its vector mixed with the previous question's
(``NewsEngine.retrieve``). The contextual reading wins unless the question as asked scores
clearly higher on its own (a topic switch: it found its subject itself).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

_WORD = re.compile(r"[^\W_]+")
# Words that point back at something said before.
_POINTERS = frozenset(
    """it its it's itself he him his she her hers they them their theirs this that these those
    there then such
    он она оно они его ее её ему ей им ими их нем нём ней них это этот эта эти этого этой этому
    этим тот та то те того той тем там тогда туда оттуда тут такой такая такие такое""".split()
)
_OPENERS = re.compile(
    r"^\s*(?:and|but|so|also|what about|how about|and what about|what else|а|и|но|ещё|еще"
    r"|а что|а как|а кто|а где|а когда|что насчёт|что насчет|как насчёт|как насчет)\b",
    re.IGNORECASE,
)
# Content words a question needs to stand on its own (fewer: "and when?", "who made it").
MIN_OWN_WORDS = 3


@dataclass(frozen=True)
class Turn:
    """One earlier question and what its answer cited (article id, paragraph), best first."""

    question: str
    cited: tuple[tuple[str, int], ...] = ()
    about: tuple[str, ...] = field(default=())  # the subject's words, shown when it is used

    def to_dict(self) -> dict[str, object]:
        return {"question": self.question, "cited": [list(c) for c in self.cited]}


def leans_on_context(question: str, own_words: Sequence[str], names: Sequence[str] = ()) -> bool:
    """Whether ``question`` points back at earlier turns rather than standing on its own.

    Args:
        question: the question as asked.
        own_words: its content words (stemmed, stop words dropped), as the retriever reads them.
        names: the names it mentions: a short question naming its subject ("Who developed
            GigaChat?") stands on its own.
    """
    words = [w.casefold() for w in _WORD.findall(question)]
    if _OPENERS.match(question):
        return True
    if any(w in _POINTERS for w in words):
        return True
    return len(own_words) < MIN_OWN_WORDS and not names
