"""Answers: pick the sentences that answer the question from the top passages and number the
sources. Pure functions: no I/O, no formatting, no model calls.

Sentences are scored without a model call (embedding them at answer time cost ~30-60 ms a
question on this hardware): by the share of the question's words they contain, weighted by how
rare each word is, plus a bonus when the sentence holds the kind of thing the question asks for
(a number for "how many", a date for "when", a name for "who"/"where": ``index.question``);
plus, where the index keeps sentence vectors, ``SIMILARITY_WEIGHT`` x the sentence's stored
similarity to the question (``blended_scorer``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from index.lexical import tokenize
from index.models import Answer, AnswerSentence, Citation, Hit
from index.question import holds_kind, read_question
from index.text import cut_at_word, split_sentences

SentenceScorer = Callable[[Sequence[str]], Sequence[float]]
WordWeight = Callable[[str], float]

MAX_SENTENCES = 3
MAX_ANSWER_CHARS = 500
PASSAGES_FOR_SENTENCES = 2
# A further sentence joins the answer only when it scores nearly as well as the best one.
SECOND_SENTENCE_MARGIN = 0.15
PASSAGE_RANK_PENALTY = 0.15
POSITION_PENALTY = 0.01
ANSWER_TYPE_BONUS = 0.2
# Answer-text hit on xquad-dev, weights 0 / 1 / 2 / 4 / 8: ru->en 0.48 / 0.62 / 0.62 / 0.62 / 0.61,
# en 0.817 / 0.815 / 0.819 / 0.828 / 0.825, seed 1.0 up to 4, then 0.93. 2 is the safe middle.
SIMILARITY_WEIGHT = 2.0


@dataclass(frozen=True)
class _Candidate:
    text: str
    citation: int
    passage_rank: int
    position: int


def lexical_scorer(question: str, word_weight: WordWeight | None = None) -> SentenceScorer:
    """Score sentences by the weighted share of the question's stemmed words they contain, plus
    ``ANSWER_TYPE_BONUS`` when they hold what the question asks for.

    Args:
        question: the question as asked.
        word_weight: weight of a stemmed word (e.g. its idf in the index); 1 for every word
            without it.
    """
    wanted = dict.fromkeys(tokenize(question))
    weigh = word_weight or (lambda _word: 1.0)
    weights = {word: max(weigh(word), 0.1) for word in wanted}  # unknown words still count
    total = sum(weights.values())
    kind = read_question(question).asks

    def score(sentences: Sequence[str]) -> list[float]:
        scores = []
        for sentence in sentences:
            present = set(tokenize(sentence))
            overlap = (
                sum(w for word, w in weights.items() if word in present) / total if total else 0
            )
            bonus = ANSWER_TYPE_BONUS if kind and holds_kind(sentence, kind) else 0.0
            scores.append(overlap + bonus)
        return scores

    return score


def blended_scorer(
    base: SentenceScorer, similarity: Mapping[str, float], weight: float
) -> SentenceScorer:
    """``base`` plus ``weight`` x the sentence's similarity to the question (a sentence with no
    known similarity counts as the least similar one)."""
    floor = min(similarity.values(), default=0.0)

    def score(sentences: Sequence[str]) -> list[float]:
        return [
            value + weight * similarity.get(sentence, floor)
            for sentence, value in zip(sentences, base(sentences), strict=True)
        ]

    return score


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
        sentence_scorer: how well each candidate sentence answers the question (higher is
            better); by default ``lexical_scorer(question)``.

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
    scorer = sentence_scorer or lexical_scorer(question)
    scores = [
        s - PASSAGE_RANK_PENALTY * c.passage_rank - POSITION_PENALTY * c.position
        for c, s in zip(candidates, scorer([c.text for c in candidates]), strict=True)
    ]
    chosen = _choose(candidates, scores)
    # A sentence is quoted whole up to MAX_ANSWER_CHARS; of a longer one (a paragraph without
    # sentence ends) the stretch that answers best, and the citation's button shows the rest.
    sentences = tuple(AnswerSentence(_quoted(c.text, scorer), c.citation) for c in chosen)
    return Answer(question, True, sentences, citations, language)


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


def _quoted(sentence: str, scorer: SentenceScorer) -> str:
    """``sentence``, or of one over ``MAX_ANSWER_CHARS`` the stretch of words the scorer likes
    best (windows overlapping by half), with "…" where it was cut."""
    if len(sentence) <= MAX_ANSWER_CHARS:
        return sentence
    limit = MAX_ANSWER_CHARS - 2  # room for the marks
    starts = [0]
    while True:
        rest = sentence[starts[-1] :]
        if len(rest) <= limit:
            break
        half = cut_at_word(rest, limit // 2)
        starts.append(starts[-1] + len(half) + (1 if rest[len(half) : len(half) + 1] == " " else 0))
    windows = [cut_at_word(sentence[start:], limit) for start in starts]
    scores = scorer(windows)
    best = max(range(len(windows)), key=lambda i: scores[i])  # the first of equals
    start, window = starts[best], windows[best]
    end = start + len(window)
    return ("…" if start else "") + window + ("…" if end < len(sentence) else "")
