"""Answers: pick the sentences that answer the question from the top passages and number the
sources. Pure functions: no I/O, no formatting.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from index.models import Answer, AnswerSentence, Citation, Hit
from index.text import split_sentences

SentenceScorer = Callable[[Sequence[str]], Sequence[float]]

MAX_SENTENCES = 3
MAX_ANSWER_CHARS = 500
PASSAGES_FOR_SENTENCES = 3
# A further sentence joins the answer only when it scores nearly as well as the best one.
SECOND_SENTENCE_MARGIN = 0.08
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_STOPWORDS = frozenset(
    """the a an of in on at to for and or is are was were be been by with what which who whom
    when where why how did does do that this these those it its from as about into than then
    will would can could should has have had not no""".split()
)


@dataclass(frozen=True)
class _Candidate:
    text: str
    citation: int
    passage_rank: int
    position: int


def _stems(text: str) -> set[str]:
    # A five-letter prefix is a crude but language-neutral stemmer: "developed"/"development".
    words = (w.lower() for w in _WORD.findall(text))
    return {w[:5] for w in words if len(w) > 2 and w not in _STOPWORDS}


def lexical_overlap(question: str, sentence: str) -> float:
    """Share of the question's content words (by stem) that the sentence contains."""
    wanted = _stems(question)
    return len(wanted & _stems(sentence)) / len(wanted) if wanted else 0.0


def cite(hits: Sequence[Hit]) -> tuple[Citation, ...]:
    """Number the hits 1..n in rank order."""
    return tuple(
        Citation(
            n=n,
            article_id=hit.passage.article_id,
            title=hit.passage.title,
            paragraph=hit.passage.paragraph,
            url=hit.passage.url,
            text=hit.passage.text,
            score=hit.score,
        )
        for n, hit in enumerate(hits, start=1)
    )


def answer_question(
    question: str,
    hits: Sequence[Hit],
    *,
    min_score: float,
    language: str = "en",
    sentence_scorer: SentenceScorer | None = None,
) -> Answer:
    """Build the answer to ``question`` from ranked ``hits``.

    Args:
        question: the question as asked.
        hits: retrieved passages, best first.
        min_score: below this fused score a passage is not relevant; if the best one is below it
            the answer is "not found".
        language: the question's language, kept on the answer for the edges.
        sentence_scorer: semantic similarity of the question to each candidate sentence; without
            it sentences are chosen by word overlap alone.

    Returns:
        An Answer with the quoted sentences and numbered citations, or ``found=False``.
    """
    relevant = [hit for hit in hits if hit.score >= min_score]
    if not relevant:
        return Answer(question=question, found=False, language=language)
    citations = cite(relevant)
    candidates = [
        _Candidate(sentence, citation.n, rank, position)
        for rank, citation in enumerate(citations[:PASSAGES_FOR_SENTENCES])
        for position, sentence in enumerate(split_sentences(citation.text))
    ]
    scores = _score(question, candidates, sentence_scorer)
    chosen = _choose(candidates, scores)
    sentences = tuple(AnswerSentence(c.text, c.citation) for c in chosen)
    return Answer(question, True, sentences, citations, language)


def _score(
    question: str, candidates: Sequence[_Candidate], scorer: SentenceScorer | None
) -> list[float]:
    semantic = list(scorer([c.text for c in candidates])) if scorer else [0.0] * len(candidates)
    return [
        sem + 0.35 * lexical_overlap(question, c.text) - 0.04 * c.passage_rank - 0.005 * c.position
        for c, sem in zip(candidates, semantic, strict=True)
    ]


def _choose(candidates: Sequence[_Candidate], scores: Sequence[float]) -> list[_Candidate]:
    order = sorted(range(len(candidates)), key=lambda i: -scores[i])
    best = scores[order[0]]
    chosen = [order[0]]
    length = len(candidates[order[0]].text)
    for i in order[1:]:
        if len(chosen) == MAX_SENTENCES or scores[i] < best - SECOND_SENTENCE_MARGIN:
            break
        if length + len(candidates[i].text) <= MAX_ANSWER_CHARS:
            chosen.append(i)
            length += len(candidates[i].text)
    # Quote in reading order: by passage rank, then position in the passage.
    return sorted((candidates[i] for i in chosen), key=lambda c: (c.passage_rank, c.position))
