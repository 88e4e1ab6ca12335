"""newsbot's engine: articles -> paragraphs -> embeddings -> FAISS -> retrieval -> answers."""

from index.articles import ArticleProblem, LoadResult, load_articles, split_paragraphs
from index.build import BuildReport, build_index
from index.config import Settings
from index.embedders import Embedder
from index.embedders.sentence_transformers import SentenceTransformerEmbedder
from index.engine import NewsEngine, load_embedders
from index.errors import (
    ArticleError,
    ConfigError,
    EmbedderError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    NewsIndexError,
    NoArticlesError,
)
from index.models import (
    Answer,
    AnswerSentence,
    Article,
    ArticleInfo,
    Citation,
    Hit,
    IndexInfo,
    Passage,
)

__all__ = [
    "Answer",
    "AnswerSentence",
    "Article",
    "ArticleError",
    "ArticleInfo",
    "ArticleProblem",
    "BuildReport",
    "Citation",
    "ConfigError",
    "Embedder",
    "EmbedderError",
    "Hit",
    "IndexCorruptError",
    "IndexInfo",
    "IndexMismatchError",
    "IndexNotFoundError",
    "LoadResult",
    "NewsEngine",
    "NewsIndexError",
    "NoArticlesError",
    "Passage",
    "SentenceTransformerEmbedder",
    "Settings",
    "build_index",
    "load_articles",
    "load_embedders",
    "split_paragraphs",
]
