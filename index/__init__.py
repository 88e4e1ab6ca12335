"""newsbot's engine: articles -> paragraphs -> embeddings -> FAISS -> retrieval -> answers.

This is the engine's public API, what the edges (``bot/``) import; ``index.intake`` has its own.
``NewsEngine`` is the facade: it loads the models and the index, answers questions, looks up
paragraphs, and rebuilds and hot-swaps the index.
"""

from index.articles import ArticleProblem, LoadResult, load_articles, split_paragraphs
from index.build import BuildReport, Progress, build_index
from index.compose import Composer, Composition
from index.config import Settings
from index.conversation import Turn
from index.embedders import Embedder
from index.engine import NewsEngine, Retrieval, load_embedders
from index.errors import (
    ArticleError,
    BadStatusError,
    ConfigError,
    EmbedderError,
    ExtractError,
    FeedError,
    FetchError,
    FetchTimeoutError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    ModelError,
    NewsIndexError,
    NoArticlesError,
    ResponseTooLargeError,
    TooManyRedirectsError,
    UnsafeURLError,
)
from index.evaluate import (
    RANKS,
    EvalQuestion,
    EvalReport,
    EvalResult,
    Outcome,
    read_questions,
    run_evaluation,
)
from index.evaluate_compose import CompositionReport, evaluate_composition
from index.models import (
    Answer,
    AnswerSentence,
    Article,
    ArticleInfo,
    Citation,
    Hit,
    IndexInfo,
    Paragraph,
    Passage,
)
from index.text import cut_at_word, detect_language

__all__ = [
    "RANKS",
    "Answer",
    "AnswerSentence",
    "Article",
    "ArticleError",
    "ArticleInfo",
    "ArticleProblem",
    "BadStatusError",
    "BuildReport",
    "Citation",
    "Composer",
    "Composition",
    "CompositionReport",
    "ConfigError",
    "Embedder",
    "EmbedderError",
    "EvalQuestion",
    "EvalReport",
    "EvalResult",
    "ExtractError",
    "FeedError",
    "FetchError",
    "FetchTimeoutError",
    "Hit",
    "IndexCorruptError",
    "IndexInfo",
    "IndexMismatchError",
    "IndexNotFoundError",
    "LoadResult",
    "ModelError",
    "NewsEngine",
    "NewsIndexError",
    "NoArticlesError",
    "Outcome",
    "Paragraph",
    "Passage",
    "Progress",
    "ResponseTooLargeError",
    "Retrieval",
    "Settings",
    "TooManyRedirectsError",
    "Turn",
    "UnsafeURLError",
    "build_index",
    "cut_at_word",
    "detect_language",
    "evaluate_composition",
    "load_articles",
    "load_embedders",
    "read_questions",
    "run_evaluation",
    "split_paragraphs",
]
