"""The index on disk: snapshot files, sentence vectors, and what is refused when they disagree."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from index.config import Settings
from index.engine import NewsEngine
from index.errors import IndexCorruptError
from index.store import SentenceVectors, load_snapshot


def test_manifest_and_metadata_are_written_without_pickle(
    engine: NewsEngine, settings: Settings
) -> None:
    snapshot = load_snapshot(settings.index_dir)
    assert sorted(p.name for p in snapshot.path.iterdir()) == ["manifest.json"]
    manifest = json.loads((snapshot.path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format_version"] == 3
    assert "articles" not in manifest  # each article's entry is in the segment with its passages
    assert manifest["article_count"] == 1
    assert manifest["passage_count"] == 10
    assert manifest["spaces"] == [{"name": e.name, "dimension": 384} for e in engine.embedders]
    (listed,) = manifest["segments"]  # the whole seed index, built at once: one segment
    assert listed["deleted"] == []
    segment = settings.index_dir / "segments" / listed["name"]
    files = sorted(p.name for p in segment.iterdir())
    assert files == [
        "articles.json",  # the entries of the articles whose passages the segment holds
        "bm25-words.json",  # BM25's postings: stemmed words, and the rows and counts of each
        "bm25.npz",
        "name-vectors-1.npy",  # ... and a vector per name the articles mention (names.json)
        "names.json",
        "passages.jsonl",
        "segment.json",
        "sentence-offsets-1.npy",  # the multilingual space (e5) keeps a vector per sentence
        "sentences-1.npy",
        "space-0.faiss",
        "space-1.faiss",
        "word-vectors-1.npy",  # ... and a vector per English word of the passages (words.json)
        "words.json",
    ]
    for name in files:
        if name.endswith((".npy", ".npz")):
            np.load(segment / name, allow_pickle=False)  # raises if anything is pickled
    spaces = json.loads((segment / "segment.json").read_text(encoding="utf-8"))["spaces"]
    assert [s["name"] for s in spaces] == [e.name for e in engine.embedders]
    assert spaces[0]["sentences"] is None  # all-MiniLM-L6-v2: passages only
    assert spaces[1]["sentences"] == "sentences-1.npy"
    assert spaces[1]["name_vectors"] == "name-vectors-1.npy"
    names = json.loads((segment / "names.json").read_text(encoding="utf-8"))
    assert {"putin", "sberbank", "gigachat", "moscow", "kremlin"} <= set(names)
    # Written in lower case too, or capitalised only in the title:
    assert not {"the", "president", "this", "calls", "lead"} & set(names)
    assert snapshot.name_vectors(engine.embedders[1].name).shape == (len(names), 384)
    assert spaces[1]["word_vectors"] == "word-vectors-1.npy"
    words = json.loads((segment / "words.json").read_text(encoding="utf-8"))
    assert {"sberbank", "president", "developed", "markets"} <= set(words)
    assert not {"the", "ai", "19"} & set(words)  # stop words, two letters, digits
    assert words == sorted(words) == list(snapshot.words)
    assert snapshot.word_vectors(engine.embedders[1].name).shape == (len(words), 384)
    articles = json.loads((segment / "articles.json").read_text(encoding="utf-8"))
    assert articles == snapshot.article_meta
    article = articles["000_93de25b234f683de"]
    assert article["title"] == "Putin Calls for Russia to Lead the World in AI"
    assert len(article["hash"]) == 40
    first = json.loads((segment / "passages.jsonl").read_text("utf-8").splitlines()[0])
    assert first["paragraph"] == 1
    assert first["article_id"] == "000_93de25b234f683de"
    assert len(first["content_hash"]) == 40


def test_best_sentence_per_passage() -> None:
    vectors = np.array([[1, 0], [0, 1], [0.6, 0.8], [0.8, 0.6], [-1, 0]], dtype=np.float32)
    sentences = SentenceVectors(np.array([0, 2, 3, 5]), vectors)  # passages own 2, 1, 2 rows
    query = np.array([0.0, 1.0], dtype=np.float32)
    assert sentences.best(np.array([0, 1, 2]), query).tolist() == pytest.approx([1.0, 0.8, 0.6])
    assert sentences.best(np.array([2, 0]), query).tolist() == pytest.approx([0.6, 1.0])
    assert sentences.best(np.array([], dtype=np.int64), query).shape == (0,)


def test_sentence_vectors_are_kept_as_float16_and_older_float32_ones_still_load(
    engine: NewsEngine, settings: Settings
) -> None:
    space = engine.embedders[1].name
    question = engine.embedders[1].embed_query("Which bank developed GigaChat?")
    snapshot = load_snapshot(settings.index_dir)
    written = snapshot.sentences(space)
    assert written is not None
    assert written.dtype == np.float16
    rows = np.arange(len(snapshot.passages))
    best = written.best(rows, question)
    assert best.dtype == np.float32
    assert int(np.argmax(best)) == 8  # paragraph 9: GigaChat, a tool developed by Sberbank
    # An index written by an older newsbot holds float32 sentence vectors: the same scores.
    file = snapshot.parts[0].segment.path / "sentences-1.npy"
    np.save(file, np.load(file).astype(np.float32), allow_pickle=False)
    older = load_snapshot(settings.index_dir).sentences(space)
    assert older is not None
    assert older.dtype == np.float32
    assert older.best(rows, question) == pytest.approx(best, abs=1e-6)


def test_sentence_vectors_that_disagree_with_the_passages_are_reported(
    engine: NewsEngine, settings: Settings
) -> None:
    snapshot = load_snapshot(settings.index_dir)
    offsets = snapshot.parts[0].segment.path / "sentence-offsets-1.npy"
    np.save(offsets, np.load(offsets)[:-1], allow_pickle=False)  # one passage short
    with pytest.raises(IndexCorruptError, match="run `newsbot index` to rebuild it"):
        load_snapshot(settings.index_dir)


def _break(manifest: dict[str, Any], how: str) -> Any:
    """The manifest (or the segment's articles.json) broken as ``how`` says."""
    if how in ("a-list", "articles-a-list"):
        return []
    broken = json.loads(json.dumps(manifest))
    if how == "title-a-number":
        broken[next(iter(broken))]["title"] = 7
    elif how == "names-a-string":
        broken[next(iter(broken))]["names"] = "putin"
    elif how == "no-built-at":
        del broken["built_at"]
    elif how == "spaces-a-string":
        broken["spaces"] = "space-0.faiss"
    return broken


def test_a_segment_without_its_articles_entries_is_refused_and_rebuilt(
    engine: NewsEngine, settings: Settings
) -> None:
    segment = load_snapshot(settings.index_dir).parts[0].segment
    (segment.path / "articles.json").unlink()  # its passages could no longer be cited
    with pytest.raises(IndexCorruptError, match="articles.json does not describe") as caught:
        load_snapshot(settings.index_dir)
    assert str(caught.value).endswith("; run `newsbot index` to rebuild it.")
    report = NewsEngine(settings, engine.embedders).update_index()
    assert report.added == ("000_93de25b234f683de",)
    assert load_snapshot(settings.index_dir).info().articles == 1


@pytest.mark.parametrize(
    ("file_name", "how", "problem"),
    [
        pytest.param("manifest.json", "a-list", "is not a JSON object", id="a-list"),
        pytest.param("manifest.json", "no-built-at", "'built_at' is missing", id="no-built-at"),
        pytest.param(
            "manifest.json", "spaces-a-string", "'spaces' is missing or not a list", id="spaces"
        ),
        pytest.param(
            "articles.json", "articles-a-list", "'articles' is missing or not an object", id="list"
        ),
        pytest.param(
            "articles.json", "title-a-number", "has no 'title' of the right type", id="title"
        ),
        pytest.param(
            "articles.json", "names-a-string", "'names' that are not a list of strings", id="names"
        ),
    ],
)
def test_a_manifest_of_the_wrong_shape_is_one_line_and_the_next_build_rebuilds(
    engine: NewsEngine, settings: Settings, file_name: str, how: str, problem: str
) -> None:
    snapshot = load_snapshot(settings.index_dir)
    folder = snapshot.path if file_name == "manifest.json" else snapshot.parts[0].segment.path
    file = folder / file_name
    manifest = json.loads(file.read_text(encoding="utf-8"))
    file.write_text(json.dumps(_break(manifest, how)), encoding="utf-8")
    with pytest.raises(IndexCorruptError) as caught:
        load_snapshot(settings.index_dir)
    message = str(caught.value)
    assert problem in message
    assert message.endswith("; run `newsbot index` to rebuild it.")
    assert "\n" not in message
    # What `newsbot index` does, plain (no --full): a new engine, nothing loaded yet.
    report = NewsEngine(settings, engine.embedders).update_index()
    assert report.added == ("000_93de25b234f683de",)
    assert load_snapshot(settings.index_dir).info().articles == 1
