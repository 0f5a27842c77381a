"""The RAG index on disk: planted questions find the right chunk, incremental rebuilds, manifest checks, corruption."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from curation.errors import DataError, UsageError
from training.rag.index import IndexConfig, build_rag_index, load_rag_index
from training.rag.retrieve import RetrieveConfig, search

DOCS = Path(__file__).parents[2] / "fixtures" / "docs"
# question → (source, heading) of the chunk that answers it; words differ from the text's where possible
PLANTED = {
    "How many years is the frame guaranteed?": ("warranty.md", "Velo Warranty > Frame"),
    "When is a worn-out battery replaced for free?": ("warranty.md", "Velo Warranty > Electrics > Battery"),
    "How long does a parcel to Norway take?": ("shipping.txt", "Delivery times"),
    "How often should I remove limescale from my kettle?": ("kettle.html", "Aurora kettle care > Descaling"),
    "What phone number do I call about the brake lever recall?": ("recall.pdf", ""),
    "What is the name of the office cat?": ("guides/notes.jsonl:1", ""),
}


class CountingEmbedder:
    """The real embedder, recording every text it is asked to embed."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.texts: list[str] = []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def encode(self, texts, progress=None, cancel=None):
        self.texts.extend(texts)
        return self.inner.encode(texts, progress, cancel)


@pytest.fixture(scope="module")
def built(tmp_path_factory, embedder):
    docs = tmp_path_factory.mktemp("docs")
    shutil.copytree(DOCS, docs, dirs_exist_ok=True)
    out = tmp_path_factory.mktemp("index") / "idx"
    report = build_rag_index([docs], out, IndexConfig(chunk_tokens=64, overlap_tokens=16), embedder=embedder)
    return docs, out, report


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_planted_questions_retrieve_their_chunk(built, embedder, mode):
    _, out, _ = built
    index = load_rag_index(out, embedder.name)
    results = search(index, list(PLANTED), RetrieveConfig(k=3, mode=mode), embedder)
    top1 = 0
    for (question, (source, heading)), hits in zip(PLANTED.items(), results):
        found = [(h.source, h.heading) for h in hits]
        assert (source, heading) in found, f"{mode}: {question} → {found}"
        top1 += found[0] == (source, heading)
        assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
        assert all(a.score >= b.score for a, b in zip(hits, hits[1:]))
    assert top1 >= len(PLANTED) - 1, mode


def test_manifest_records_embedder_settings_and_hashes_and_nothing_is_pickled(built, embedder):
    docs, out, report = built
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["embedder"] == {"name": embedder.name, "model": None, "dimension": 384}
    assert manifest["chunking"]["chunk_tokens"] == 64 and manifest["chunking"]["overlap_tokens"] == 16
    assert manifest["index"]["type"] == "flat" and manifest["index"]["vectors"] == report.chunks
    import hashlib

    sha = hashlib.sha256((docs / "warranty.md").read_bytes()).hexdigest()
    assert manifest["documents"]["warranty.md"]["sha256"] == sha
    assert manifest["documents"]["guides/notes.jsonl"]["documents"] == 2
    assert sorted(p.name for p in out.iterdir()) == ["bm25", "chunks.jsonl", "index.faiss", "manifest.json"]
    for npy in (out / "bm25").glob("*.npy"):
        np.load(npy, allow_pickle=False)  # raises if any array needed pickle
    chunks = [json.loads(line) for line in (out / "chunks.jsonl").read_text().splitlines()]
    assert len(chunks) == report.chunks
    assert {"source", "heading", "start", "end", "text", "tokens"} <= set(chunks[0])
    text = (docs / "warranty.md").read_text()
    for c in chunks:
        if c["source"] == "warranty.md":
            assert text[c["start"] : c["end"]] == c["text"]


def test_incremental_rebuild_embeds_only_changed_files(tmp_path, embedder):
    docs = tmp_path / "docs"
    shutil.copytree(DOCS, docs)
    out = tmp_path / "idx"
    first = build_rag_index([docs], out, embedder=embedder)
    assert first.embedded_chunks == first.chunks and not first.unchanged

    (docs / "warranty.md").write_text((docs / "warranty.md").read_text().replace("12 years", "15 years"))
    (docs / "kettle.html").unlink()
    (docs / "helmets.md").write_text("# Helmets\n\nThe Breeze helmet weighs 310 grams and has a magnetic buckle.\n")
    counting = CountingEmbedder(embedder)
    second = build_rag_index([docs], out, embedder=counting)
    assert second.changed == ["warranty.md"] and second.added == ["helmets.md"] and second.removed == ["kettle.html"]
    assert "shipping.txt" in second.unchanged and "recall.pdf" in second.unchanged
    index = load_rag_index(out, embedder.name)
    new_chunks = [c for c in index.chunks if c.file in ("warranty.md", "helmets.md")]
    assert second.embedded_chunks == len(new_chunks) == len(counting.texts)
    assert sorted(counting.texts) == sorted(c.embed_text for c in new_chunks)
    assert second.reused_chunks == len(index.chunks) - len(new_chunks)
    assert not any(c.file == "kettle.html" for c in index.chunks)
    hits = search(index, ["How many years is the frame guaranteed?", "How heavy is the Breeze helmet?"],
                  RetrieveConfig(k=1), embedder)
    assert "15 years" in hits[0][0].text and hits[1][0].source == "helmets.md"
    # vectors read back from the old index are the same as freshly computed ones
    unchanged = [i for i, c in enumerate(index.chunks) if c.file == "shipping.txt"]
    fresh = embedder.encode([index.chunks[i].embed_text for i in unchanged])
    assert np.allclose(index.faiss.reconstruct_n(0, index.faiss.ntotal)[unchanged], fresh, atol=1e-5)

    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    third = build_rag_index([docs], out, embedder=CountingEmbedder(embedder))
    assert third.embedded_chunks == 0 and third.changed == third.added == third.removed == []
    assert third.reused_chunks == third.chunks == len(index.chunks)
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before  # nothing changed: nothing rewritten


def test_changed_settings_rebuild_everything(tmp_path, embedder):
    out = tmp_path / "idx"
    build_rag_index([DOCS / "warranty.md"], out, IndexConfig(chunk_tokens=64, overlap_tokens=0), embedder=embedder)
    again = build_rag_index([DOCS / "warranty.md"], out, IndexConfig(chunk_tokens=96, overlap_tokens=0), embedder=embedder)
    assert "chunk_tokens" in again.full_rebuild_reason and again.reused_chunks == 0
    assert again.embedded_chunks == again.chunks > 0 and again.changed == again.added == again.removed == []


def test_hnsw_above_the_exact_limit_appends_additions_and_rebuilds_on_removal(tmp_path, embedder):
    docs = tmp_path / "docs"
    shutil.copytree(DOCS, docs)
    out = tmp_path / "idx"
    config = IndexConfig(exact_below=5, chunk_tokens=64, overlap_tokens=16)
    report = build_rag_index([docs], out, config, embedder=embedder)
    assert report.index_type == "hnsw"
    index = load_rag_index(out, embedder.name)
    assert type(index.faiss).__name__ == "IndexHNSWFlat" and index.faiss.hnsw.efSearch == 128
    hits = search(index, list(PLANTED), RetrieveConfig(k=3, mode="dense"), embedder)
    assert all(want in [(h.source, h.heading) for h in got] for want, got in zip(PLANTED.values(), hits))

    (docs / "helmets.md").write_text("# Helmets\n\nThe Breeze helmet weighs 310 grams and has a magnetic buckle.\n")
    added = build_rag_index([docs], out, config, embedder=embedder)
    grown = load_rag_index(out, embedder.name)
    assert added.added == ["helmets.md"] and grown.chunks[: len(index.chunks)] == index.chunks  # appended, old order kept
    assert np.array_equal(grown.faiss.reconstruct_n(0, index.faiss.ntotal), index.faiss.reconstruct_n(0, index.faiss.ntotal))
    assert search(grown, ["How heavy is the Breeze helmet?"], RetrieveConfig(k=1, mode="dense"), embedder)[0][0].source == "helmets.md"

    (docs / "kettle.html").unlink()
    shrunk = build_rag_index([docs], out, config, embedder=embedder)
    assert shrunk.removed == ["kettle.html"] and shrunk.embedded_chunks == 0
    assert not any(c.file == "kettle.html" for c in load_rag_index(out, embedder.name).chunks)


def test_loading_with_another_embedder_is_refused(built):
    _, out, _ = built
    with pytest.raises(DataError, match="built with the embedder") as info:
        load_rag_index(out, "other-model-123456789abc")
    assert "--embedder" in info.value.hint


@pytest.mark.parametrize("damage, message", [
    (lambda out: (out / "index.faiss").write_bytes(b"\x00" * 64), "corrupt"),
    (lambda out: (out / "chunks.jsonl").write_text((out / "chunks.jsonl").read_text()[:-200]), "corrupt"),
    (lambda out: (out / "bm25" / "vocab.index.json").unlink(), "missing"),
    (lambda out: (out / "manifest.json").write_text("{not json"), "not valid JSON"),
])
def test_corrupt_index_gives_a_clear_error(built, tmp_path, damage, message):
    _, out, _ = built
    copy = tmp_path / "idx"
    shutil.copytree(out, copy)
    damage(copy)
    with pytest.raises(DataError, match=message) as info:
        load_rag_index(copy)
    assert "rag build" in info.value.hint


def test_faiss_garbage_with_the_right_size_is_caught_without_checksums(built, tmp_path):
    _, out, _ = built
    copy = tmp_path / "idx"
    shutil.copytree(out, copy)
    size = (copy / "index.faiss").stat().st_size
    (copy / "index.faiss").write_bytes(b"\x07" * size)
    with pytest.raises(DataError, match="FAISS cannot read"):
        load_rag_index(copy, verify=False)


def test_not_an_index_and_foreign_folders(tmp_path, embedder):
    with pytest.raises(UsageError, match="not a tunewise RAG index"):
        load_rag_index(tmp_path)
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(UsageError, match="refusing"):
        build_rag_index([DOCS], tmp_path, embedder=embedder)
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_index_folder_inside_the_documents_is_not_indexed(tmp_path, embedder):
    docs = tmp_path / "docs"
    shutil.copytree(DOCS, docs)
    build_rag_index([docs], docs / "index", embedder=embedder)
    again = build_rag_index([docs], docs / "index", embedder=embedder)
    assert not any(key.startswith("index/") for key in again.unchanged + again.added)


def test_nothing_readable_is_a_data_error(tmp_path, embedder):
    (tmp_path / "a.docx").write_bytes(b"PK")
    with pytest.raises(DataError, match="No text to index"):
        build_rag_index([tmp_path], tmp_path / "idx", embedder=embedder)


def test_progress_reported_and_cancel_leaves_the_old_index(tmp_path, embedder):
    import threading

    from curation.errors import CancelledError

    docs = tmp_path / "docs"
    shutil.copytree(DOCS, docs)
    out = tmp_path / "idx"
    stages = []
    build_rag_index([docs], out, embedder=embedder, progress=lambda stage, done, total: stages.append((stage, done, total)))
    assert {"read", "embed", "index"} <= {s for s, _, _ in stages} and ("index", 2, 2) in stages
    manifest = (out / "manifest.json").read_text()
    (docs / "warranty.md").write_text("# Changed\n\nEverything is different now.\n")
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(CancelledError):
        build_rag_index([docs], out, embedder=embedder, cancel=cancel)
    assert (out / "manifest.json").read_text() == manifest
    load_rag_index(out, embedder.name)  # still loads and checks out
