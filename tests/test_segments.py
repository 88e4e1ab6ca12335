"""The segmented store: an update writes one small segment, deletes rows, merges, and reads
format-1 snapshots; through the real models and real FAISS files in a temp folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import index.build
from index.build import build_index
from index.config import Settings
from index.embedders import Embedder
from index.engine import NewsEngine
from index.lexical import BM25Index, tokenize
from index.segments import ARTICLES_FILE, SEGMENT_FILE, SEGMENTS_DIR
from index.store import CURRENT_FILE, FORMAT_VERSION, Snapshot, load_snapshot
from tests.articles import BEE_PARAGRAPHS, ERUPTION, ERUPTION_TITLE, VOLCANO, VOLCANO_QUESTION
from tests.conftest import segment_folders

BEE_QUESTION = "What were the bees trained to find?"
FERRY = "Night Ferry Returns\n\nThe night ferry between Split and Ancona resumes sailing in May.\n"
FERRY_QUESTION = "When does the Split ferry start again?"


def _bees() -> str:
    return "Bees Sniff Out Truffles\n\n" + "\n\n".join(BEE_PARAGRAPHS) + "\n"


def _all_listed(index_dir: Path) -> bool:
    folders, listed = segment_folders(index_dir)
    return folders == listed


def _cites(engine: NewsEngine, question: str, article_id: str) -> bool:
    answer = engine.ask(question)
    return answer.found and answer.citations[0].article_id == article_id


def _bm25_as_if_built_afresh(engine: NewsEngine) -> None:
    """The served BM25 (segments' stored postings over the live rows) scores every passage as
    an index tokenised anew from the snapshot's passages does."""
    snapshot = engine.retriever.snapshot
    fresh = BM25Index([f"{p.title}\n{p.text}" for p in snapshot.passages])
    served = engine.retriever.lexical
    assert served.size == fresh.size == len(snapshot.passages)
    for question in (BEE_QUESTION, VOLCANO_QUESTION, FERRY_QUESTION, "Кто создал GigaChat?"):
        words = list(dict.fromkeys(tokenize(question)))
        assert np.allclose(served.scores(words), fresh.scores(words), rtol=1e-5, atol=1e-6)
        assert served.best_possible(words) == pytest.approx(fresh.best_possible(words))


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_an_update_writes_one_small_segment_and_leaves_the_old_ones_untouched(
    engine: NewsEngine, settings: Settings, embedders: list[Embedder]
) -> None:
    seed = engine.retriever.snapshot.parts[0].segment
    seed_files = _files(seed.path)
    (settings.articles_dir / "volcano.txt").write_text(VOLCANO, encoding="utf-8")

    report = engine.update_index()

    snapshot = engine.retriever.snapshot
    assert [len(part.segment) for part in snapshot.parts] == [len(seed), 2]
    assert snapshot.parts[0].segment is seed  # the in-service segment, not read again
    assert _files(seed.path) == seed_files
    assert report.embedded == 2 * len(embedders)  # the volcano's two paragraphs, nothing else
    assert sorted(p.name for p in snapshot.path.iterdir()) == ["manifest.json"]
    # The new article's entry is written in its segment; the manifest lists no article.
    assert list(snapshot.parts[1].segment.articles) == ["volcano"]
    assert snapshot.parts[1].segment.articles["volcano"]["passages"] == 2
    assert "articles" not in json.loads((snapshot.path / "manifest.json").read_text("utf-8"))
    assert list(snapshot.article_meta) == [seed.passages[0].article_id, "volcano"]
    assert _cites(engine, VOLCANO_QUESTION, "volcano")
    assert _cites(engine, "Which bank made GigaChat?", seed.passages[0].article_id)
    reread = load_snapshot(settings.index_dir)
    assert reread.article_meta == snapshot.article_meta
    assert reread.passages == snapshot.passages
    for space in snapshot.spaces:
        assert np.array_equal(reread.vectors(space), snapshot.vectors(space))


def test_edits_and_removals_delete_rows_and_drop_segments_left_empty(
    engine: NewsEngine, settings: Settings
) -> None:
    volcano = settings.articles_dir / "volcano.txt"
    volcano.write_text(VOLCANO, encoding="utf-8")
    engine.update_index()
    first = engine.retriever.snapshot.parts[1].segment.name
    old_hash = engine.retriever.snapshot.article_meta["volcano"]["hash"]
    volcano.write_text(VOLCANO.replace("Grindavik", "Vogar"), encoding="utf-8")

    report = engine.update_index()

    assert report.changed == ("volcano",)
    snapshot = engine.retriever.snapshot
    assert len(snapshot.parts) == 2
    assert snapshot.parts[1].segment.name != first  # the old volcano rows were all deleted
    assert snapshot.article_meta["volcano"]["hash"] != old_hash
    assert snapshot.article_meta["volcano"] == snapshot.parts[1].segment.articles["volcano"]
    assert "Vogar" in engine.ask(VOLCANO_QUESTION).citations[0].text
    assert _all_listed(settings.index_dir)

    volcano.unlink()
    report = engine.update_index()

    assert report.removed == ("volcano",)
    parts = engine.retriever.snapshot.parts
    # The volcano's segment is gone; its words move to a segment of no passages of its own.
    assert [len(part.segment) for part in parts] == [len(parts[0].segment), 0]
    assert parts[1].segment.words
    assert [a.article_id for a in engine.articles()] == [
        engine.retriever.snapshot.passages[0].article_id
    ]
    assert not engine.ask(VOLCANO_QUESTION).found
    engine.update_index()  # two later builds prune the snapshots that listed the volcano
    engine.update_index()
    assert _all_listed(settings.index_dir)


def test_a_name_outlives_the_segment_that_brought_it(
    engine: NewsEngine, settings: Settings, embedders: list[Embedder]
) -> None:
    # The volcano brings the name Grindavik; the eruption article, added later, mentions it too
    # (its segment holds no vector of a name the index already had). Removing the volcano
    # drops its segment, but not the name.
    (settings.articles_dir / "volcano.txt").write_text(VOLCANO, encoding="utf-8")
    engine.update_index()
    eruption = ERUPTION_TITLE + "\n\n" + "\n\n".join(ERUPTION) + "\n"
    (settings.articles_dir / "eruption.md").write_text(eruption, encoding="utf-8")
    engine.update_index()
    assert "grindavik" not in engine.retriever.snapshot.parts[-1].segment.names
    (settings.articles_dir / "volcano.txt").unlink()

    report = engine.update_index()

    assert report.names_embedded == report.embedded == 0
    assert "grindavik" in engine.retriever.snapshot.names
    assert _cites(engine, "Is Grindavik in danger?", "eruption")
    reopened = NewsEngine.open(settings, embedders, build_if_missing=False)
    assert "grindavik" in reopened.retriever.snapshot.names
    assert _cites(reopened, "Is Grindavik in danger?", "eruption")


def test_rows_deleted_inside_a_segment_are_never_served(
    settings: Settings, embedders: list[Embedder], seed_engine: NewsEngine
) -> None:
    (settings.articles_dir / "volcano.txt").write_text(VOLCANO, encoding="utf-8")
    (settings.articles_dir / "bees.md").write_text(_bees(), encoding="utf-8")
    engine = NewsEngine.open(settings, embedders)  # one segment of all three articles
    (segment,) = (part.segment for part in engine.retriever.snapshot.parts)
    (settings.articles_dir / "volcano.txt").unlink()

    report = engine.update_index()

    assert report.embedded == 0
    snapshot = engine.retriever.snapshot
    (part,) = snapshot.parts
    assert part.segment is segment
    assert [segment.passages[row].article_id for row in part.deleted] == ["volcano", "volcano"]
    assert "volcano" not in {p.article_id for p in snapshot.passages}
    assert "volcano" in segment.articles  # the segment is never changed ...
    assert "volcano" not in snapshot.article_meta  # ... but no live row is the volcano's
    assert snapshot.info().articles == 2
    for space in snapshot.spaces:
        query = snapshot.vectors(space)[:1]
        hits = snapshot.search(space, query, len(segment))
        assert len(hits) == len(snapshot.passages)  # every live row, no deleted one
        assert {row for row, _ in hits} == set(range(len(snapshot.passages)))
    assert not engine.ask(VOLCANO_QUESTION).found
    assert _cites(engine, BEE_QUESTION, "bees")
    _bm25_as_if_built_afresh(engine)  # the deleted rows count in no statistic
    reopened = NewsEngine.open(settings, embedders, build_if_missing=False)
    assert reopened.retriever.snapshot.passages == snapshot.passages
    _bm25_as_if_built_afresh(reopened)


def test_small_segments_are_merged_with_their_vectors(
    engine: NewsEngine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index.build, "MERGE_FACTOR", 3)
    before: dict[str, dict[str, np.ndarray]] = {}
    for name, text in (("volcano.txt", VOLCANO), ("bees.md", _bees()), ("ferry.md", FERRY)):
        (settings.articles_dir / name).write_text(text, encoding="utf-8")
        engine.update_index()
        snapshot = engine.retriever.snapshot
        before = {space: _by_hash(snapshot, space) for space in snapshot.spaces}

    snapshot = engine.retriever.snapshot
    # The seed's segment (a bigger size class) stays; the three small ones became one.
    assert [len(part.segment) for part in snapshot.parts] == [
        len(snapshot.parts[0].segment),
        2 + len(BEE_PARAGRAPHS) + 1,
    ]
    for space in snapshot.spaces:
        merged = _by_hash(snapshot, space)
        assert merged.keys() == before[space].keys()
        for content_hash, vector in merged.items():
            assert np.allclose(vector, before[space][content_hash], atol=1e-3)  # float16 copies
    assert _cites(engine, VOLCANO_QUESTION, "volcano")
    assert _cites(engine, BEE_QUESTION, "bees")
    assert _cites(engine, FERRY_QUESTION, "ferry")
    assert list(snapshot.parts[1].segment.articles) == ["volcano", "bees", "ferry"]
    assert _all_listed(settings.index_dir)
    _bm25_as_if_built_afresh(engine)  # the merged postings, put together without tokenising
    reopened = NewsEngine.open(settings, engine.embedders, build_if_missing=False)
    assert reopened.retriever.snapshot.parts[1].segment.stored_postings is not None
    _bm25_as_if_built_afresh(reopened)  # ... and as read back from the merged segment's files


def _by_hash(snapshot: Snapshot, space: str) -> dict[str, np.ndarray]:
    vectors = snapshot.vectors(space)
    return {p.content_hash: vectors[row] for row, p in enumerate(snapshot.passages)}


def test_a_format_1_snapshot_is_read_and_the_next_build_rewrites_it_without_embedding(
    engine: NewsEngine, settings: Settings, embedders: list[Embedder]
) -> None:
    """An index of the newsbot before segments: one folder with every file of the snapshot."""
    current = engine.retriever.snapshot
    segment = current.parts[0].segment
    old = settings.index_dir / "snap-20261201T000000-00000001"
    shutil.copytree(segment.path, old)
    meta = json.loads((old / SEGMENT_FILE).read_text(encoding="utf-8"))
    (old / SEGMENT_FILE).unlink()
    for bm25 in old.glob("bm25*"):  # BM25 was tokenised on every load then
        bm25.unlink()
    (old / ARTICLES_FILE).unlink()  # the manifest listed the articles
    manifest = {k: v for k, v in current.manifest.items() if k != "segments"}
    manifest.update(format_version=1, spaces=meta["spaces"], articles=current.article_meta)
    (old / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    shutil.rmtree(current.path)
    shutil.rmtree(settings.index_dir / SEGMENTS_DIR)
    (settings.index_dir / CURRENT_FILE).write_text(old.name + "\n", encoding="utf-8")

    legacy = NewsEngine.open(settings, embedders, build_if_missing=False)
    assert legacy.retriever.snapshot.is_legacy
    assert legacy.retriever.snapshot.parts[0].segment.stored_postings is None
    _bm25_as_if_built_afresh(legacy)
    assert legacy.retriever.snapshot.passages == current.passages
    question = "Which bank made GigaChat?"
    cited = engine.ask(question).citations[0].paragraph
    assert legacy.ask(question).citations[0].paragraph == cited

    report = legacy.update_index()

    assert report.embedded == 0
    assert report.sentences_embedded == report.names_embedded == report.words_embedded == 0
    snapshot = legacy.retriever.snapshot
    assert not snapshot.is_legacy
    assert snapshot.manifest["format_version"] == FORMAT_VERSION
    assert snapshot.article_meta == current.article_meta
    assert snapshot.passages == current.passages
    assert legacy.ask(question).citations[0].paragraph == cited
    assert all(part.segment.stored_postings is not None for part in snapshot.parts)


def test_a_format_2_snapshot_lists_its_articles_and_the_next_build_moves_them_to_the_segment(
    engine: NewsEngine, settings: Settings, embedders: list[Embedder]
) -> None:
    """The newsbot before articles.json: segments, and every article in the manifest."""
    current = engine.retriever.snapshot
    (current.parts[0].segment.path / ARTICLES_FILE).unlink()
    manifest = {**current.manifest, "format_version": 2, "articles": current.article_meta}
    (current.path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")

    older = NewsEngine.open(settings, embedders, build_if_missing=False)
    assert older.retriever.snapshot.is_legacy
    assert older.retriever.snapshot.article_meta == current.article_meta
    question = "Which bank made GigaChat?"
    assert older.ask(question).citations[0].paragraph == engine.ask(question).citations[0].paragraph

    report = older.update_index()

    assert report.embedded == report.names_embedded == report.words_embedded == 0
    snapshot = older.retriever.snapshot
    assert snapshot.manifest["format_version"] == FORMAT_VERSION
    assert "articles" not in snapshot.manifest
    assert snapshot.parts[0].segment.articles == current.article_meta
    assert snapshot.info().articles == 1


def test_a_reload_reads_only_the_segments_it_does_not_have(
    engine: NewsEngine, settings: Settings, embedders: list[Embedder]
) -> None:
    other = NewsEngine.open(settings, embedders, build_if_missing=False)
    seed = other.retriever.snapshot.parts[0].segment
    (settings.articles_dir / "volcano.txt").write_text(VOLCANO, encoding="utf-8")
    engine.update_index()  # another process's build

    assert other.reload_if_changed()

    parts = other.retriever.snapshot.parts
    assert parts[0].segment is seed
    assert parts[1].segment is not engine.retriever.snapshot.parts[1].segment
    assert parts[1].segment.name == engine.retriever.snapshot.parts[1].segment.name
    assert _cites(other, VOLCANO_QUESTION, "volcano")


def test_a_full_build_writes_one_segment(engine: NewsEngine, settings: Settings) -> None:
    (settings.articles_dir / "volcano.txt").write_text(VOLCANO, encoding="utf-8")
    engine.update_index()
    assert len(engine.retriever.snapshot.parts) == 2

    report = engine.update_index(full=True)

    assert report.full
    assert len(engine.retriever.snapshot.parts) == 1
    assert _cites(engine, VOLCANO_QUESTION, "volcano")
    engine.update_index()
    engine.update_index(full=True)
    assert _all_listed(settings.index_dir)


def test_a_build_from_scratch_needs_no_engine(tmp_path: Path, embedders: list[Embedder]) -> None:
    articles = tmp_path / "few"
    articles.mkdir()
    (articles / "ferry.md").write_text(FERRY, encoding="utf-8")
    report = build_index(articles, tmp_path / "idx", embedders)
    assert report.snapshot is not None
    assert [len(part.segment) for part in report.snapshot.parts] == [1]
