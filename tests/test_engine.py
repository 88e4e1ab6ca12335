"""The engine facade: opening (and building) an index, serving updates, articles and paragraphs."""

from __future__ import annotations

import gc
import weakref

import pytest

from index.build import BuildReport
from index.config import Settings
from index.embedders import Embedder
from index.engine import NewsEngine
from index.errors import IndexMismatchError
from index.store import current_version, load_snapshot
from index.text import content_hash
from tests.articles import VOLCANO

SEED_ID = "000_93de25b234f683de"


def test_open_builds_a_missing_index_and_says_so(
    settings: Settings, embedders: list[Embedder]
) -> None:
    events: list[str] = []
    reports: list[BuildReport] = []
    progress: list[tuple[int, int]] = []

    engine = NewsEngine.open(
        settings,
        embedders,
        progress=lambda done, total: progress.append((done, total)),
        on_missing_index=lambda: events.append("missing"),
        on_build=reports.append,
    )

    assert events == ["missing"]
    [report] = reports
    assert report.added == (SEED_ID,)
    assert progress[-1][0] == progress[-1][1] > 0
    assert engine.info().version == report.version
    again = NewsEngine.open(settings, embedders, on_missing_index=lambda: events.append("again"))
    assert events == ["missing"]  # an index exists: it is loaded, not built
    assert again.info().version == report.version


def test_update_serves_the_new_index_without_reading_it_back(
    engine: NewsEngine, settings: Settings
) -> None:
    (settings.articles_dir / "volcano.txt").write_text(VOLCANO, encoding="utf-8")
    report = engine.update_index()
    assert report.snapshot is not None
    assert engine.retriever.snapshot is report.snapshot  # the very object the build made
    assert engine.info().version == report.version == current_version(settings.index_dir)
    on_disk = load_snapshot(settings.index_dir)
    assert on_disk.passages == report.snapshot.passages
    for space in on_disk.spaces:
        assert (on_disk.vectors(space) == report.snapshot.vectors(space)).all()


def test_a_replaced_index_is_freed_at_once_though_the_collector_never_scans_it(
    engine: NewsEngine, settings: Settings
) -> None:
    # The index served is kept out of the collector's sight (gc.freeze): a snapshot or retriever
    # in a reference cycle would never be freed, and every update would leak the old index.
    assert engine.ask("Which bank made GigaChat?").found  # the caches a question fills, too
    old_snapshot, old_retriever = (
        weakref.ref(engine.retriever.snapshot),
        weakref.ref(engine.retriever),
    )
    assert gc.get_freeze_count() > 0
    (settings.articles_dir / "volcano.txt").write_text(VOLCANO, encoding="utf-8")

    engine.update_index()

    assert old_retriever() is None
    assert old_snapshot() is None
    assert engine.ask("Which bank made GigaChat?").found


def test_index_built_with_other_models_is_refused_with_the_fix(
    engine: NewsEngine, settings: Settings, embedders: list[Embedder]
) -> None:
    with pytest.raises(IndexMismatchError, match=r"newsbot index --full"):
        NewsEngine.open(settings, embedders[:1], build_if_missing=False)


def test_articles_are_the_index_in_service_and_computed_once(
    engine: NewsEngine, settings: Settings
) -> None:
    first = engine.articles()
    assert [a.article_id for a in first] == [SEED_ID]
    assert first[0].title == "Putin Calls for Russia to Lead the World in AI"
    assert engine.articles() is first  # no work per question
    (settings.articles_dir / "volcano.txt").write_text(VOLCANO, encoding="utf-8")
    engine.update_index()
    assert [a.article_id for a in engine.articles()] == [SEED_ID, "volcano"]
    assert [a.article_id for a in first] == [SEED_ID]  # what an earlier question saw


def test_a_paragraph_is_looked_up_whole(engine: NewsEngine, settings: Settings) -> None:
    sentences = [f"Sentence number {i} talks about the harbour crane {i}." for i in range(60)]
    text = "Long harbour story\n\nShort first paragraph.\n\n" + " ".join(sentences) + "\n"
    (settings.articles_dir / "long.md").write_text(text, encoding="utf-8")
    engine.update_index()
    pieces = [p for p in engine.retriever.snapshot.passages if p.article_id == "long"]
    assert len([p for p in pieces if p.paragraph == 2]) > 1  # too long for one passage

    paragraph = engine.paragraph("long", 2)

    assert paragraph is not None
    assert paragraph.text == " ".join(sentences)
    assert paragraph.title == "Long harbour story"
    assert paragraph.content_hashes == tuple(p.content_hash for p in pieces if p.paragraph == 2)
    assert all(content_hash(p.text) in paragraph.content_hashes for p in pieces[1:])
    citation = paragraph.citation(3)
    assert (citation.n, citation.article_id, citation.paragraph) == (3, "long", 2)
    assert citation.text == paragraph.text
    assert engine.paragraph("long", 3) is None
    assert engine.paragraph("nowhere", 1) is None
