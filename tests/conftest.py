"""Shared fixtures: the real embedding models (loaded once per session) and built indexes."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from index.config import Settings  # noqa: E402
from index.embedders import Embedder  # noqa: E402
from index.embedders.torch_batches import amx_tiles, native_bfloat16  # noqa: E402
from index.engine import NewsEngine, load_embedders  # noqa: E402
from tests.fake_bot_api import FakeBotApi  # noqa: E402
from tests.fake_llm_api import FakeLlmApi  # noqa: E402
from tests.loopback import LoopbackSite  # noqa: E402
from tests.telegram import RunningBot, running_bot  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
EVAL = ROOT / "eval"
SEED_QUESTIONS = EVAL / "seed_questions.jsonl"
XQUAD = EVAL / "xquad-dev"


def batch_tolerance(exact: float) -> float:
    """How far a vector embedded in a batch may be from the same text's alone: ``exact`` (float
    rounding), or bfloat16's rounding on CPUs with AMX tiles, whose oneDNN kernels block by the
    batch's rows (up to 7e-4 measured there; cosine > 0.99999)."""
    return 2e-3 if native_bfloat16() and amx_tiles() else exact


def segment_folders(index_dir: Path) -> tuple[set[str], set[str]]:
    """The segment folders in ``index_dir``, and the segments its snapshots' manifests list."""
    folders = {p.name for p in (index_dir / "segments").iterdir()}
    listed: set[str] = set()
    for snapshot in index_dir.glob("snap-*"):
        manifest = json.loads((snapshot / "manifest.json").read_text(encoding="utf-8"))
        listed.update(entry["name"] for entry in manifest.get("segments", ()))
    return folders, listed


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's .env or settings, or writes outside its temp folder."""
    for name in list(os.environ):
        if name.startswith(
            ("TELEGRAM_", "ARTICLES_", "INDEX_", "EMBEDDING_", "FEED", "LLM_")
        ) or name in (
            "ADMIN_IDS",
            "ALLOWED_CHAT_IDS",
            "MIN_SCORE",
            "TOP_K",
            "MULTILINGUAL_MODEL",
        ):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def embedders() -> list[Embedder]:
    """The real models (all-MiniLM-L6-v2 and multilingual-e5-small), loaded once per session."""
    return load_embedders(Settings())


@pytest.fixture
def articles_dir(tmp_path: Path) -> Path:
    """A writable copy of seeds/."""
    folder = tmp_path / "articles"
    shutil.copytree(SEEDS, folder)
    return folder


@pytest.fixture
def settings(tmp_path: Path, articles_dir: Path) -> Settings:
    return Settings(articles_dir=articles_dir, index_dir=tmp_path / "index")


@pytest.fixture(scope="session")
def seed_engine(tmp_path_factory: pytest.TempPathFactory, embedders: list[Embedder]) -> NewsEngine:
    """A read-only engine over the seed article, built once per session (do not modify)."""
    base = tmp_path_factory.mktemp("seed-engine")
    shutil.copytree(SEEDS, base / "articles")
    settings = Settings(articles_dir=base / "articles", index_dir=base / "index")
    return NewsEngine.open(settings, embedders)


@pytest.fixture
def engine(settings: Settings, embedders: list[Embedder], seed_engine: NewsEngine) -> NewsEngine:
    """A writable engine over its own index of the seed article, in a temp folder.

    The index is a copy of the session's seed index (built the same way), which saves
    re-embedding the seed article for every test.
    """
    shutil.copytree(seed_engine.settings.index_dir, settings.index_dir)
    return NewsEngine.open(settings, embedders, build_if_missing=False)


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    """What run_bot sets: RetryAfter.retry_after as a timedelta, without a deprecation warning."""
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


@pytest.fixture
def fake_api() -> Iterator[FakeBotApi]:
    """A fake Telegram Bot API server on 127.0.0.1 (real HTTP), stopped after the test."""
    api = FakeBotApi().start()
    yield api
    api.stop()


@pytest.fixture
async def bot(fake_api: FakeBotApi, seed_engine: NewsEngine) -> AsyncIterator[RunningBot]:
    """The bot polling the fake Bot API over the session's seed engine, stopped after the test."""
    async with running_bot(seed_engine, fake_api) as running:
        yield running


@pytest.fixture
def site() -> Iterator[LoopbackSite]:
    """A small web site on 127.0.0.1 (real HTTP), stopped after the test."""
    with LoopbackSite() as loopback:
        yield loopback


@pytest.fixture
def fake_llm() -> Iterator[FakeLlmApi]:
    """A fake OpenAI-compatible language model on 127.0.0.1 (real HTTP), stopped after the
    test; queue its replies with ``fake_llm.reply(...)``."""
    with FakeLlmApi() as api:
        yield api
