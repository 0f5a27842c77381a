"""A damaged RAG index is a message, never a traceback, and `rag build` over it rebuilds it from scratch.

Every variant starts from a real index built from tests/fixtures/docs with the packaged embedder. Damage to a
file other than the manifest is done with the manifest's checksums updated, so the check of the file's content
itself is what catches it, not the checksum.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from curation.errors import DataError, UsageError
from training.rag.index import DamagedIndexError, IndexConfig, build_rag_index, load_rag_index, read_manifest
from training.rag.manifest_schema import MANIFEST_SCHEMA, manifest_problem
from training.rag.retrieve import RetrieveConfig, search

DOCS = Path(__file__).parents[2] / "fixtures" / "docs"
QUESTION = "What phone number do I call about the brake lever recall?"


@pytest.fixture(scope="module")
def built(tmp_path_factory, embedder):
    docs = tmp_path_factory.mktemp("docs")
    shutil.copytree(DOCS, docs, dirs_exist_ok=True)
    out = tmp_path_factory.mktemp("index") / "idx"
    build_rag_index([docs], out, IndexConfig(), embedder=embedder)
    return docs, out


@pytest.fixture
def copy(built, tmp_path):
    _, out = built
    target = tmp_path / "idx"
    shutil.copytree(out, target)
    return target


def edit_manifest(root: Path, change) -> None:
    manifest = json.loads((root / "manifest.json").read_text())
    result = change(manifest)
    (root / "manifest.json").write_text(json.dumps(manifest if result is None else result))


def rehash(root: Path) -> None:
    """Record the files' current sizes and checksums in the manifest (damage that the checksums do not catch)."""
    def update(manifest):
        for name in manifest["files"]:
            data = (root / name).read_bytes()
            manifest["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    edit_manifest(root, update)


def no_bytes(manifest):
    del manifest["files"]["chunks.jsonl"]["bytes"]


def files_as_list(manifest):
    manifest["files"] = [{"name": k, **v} for k, v in manifest["files"].items()]


def unknown_type(manifest):
    manifest["index"]["type"] = "ivf-pq"


def float_bytes(manifest):
    manifest["files"]["index.faiss"]["bytes"] = float(manifest["files"]["index.faiss"]["bytes"])


def outside_path(manifest):
    manifest["files"]["../../outside.txt"] = manifest["files"]["chunks.jsonl"]


def hnsw_without_ef(manifest):
    manifest["index"]["type"] = "hnsw"


def huge_number(root: Path) -> None:
    text = (root / "manifest.json").read_text()
    (root / "manifest.json").write_text(text.replace('"version": 1', '"version": ' + "7" * 5000, 1))


MANIFEST_DAMAGE = {
    "empty object": lambda root: (root / "manifest.json").write_text("{}"),
    "a list": lambda root: (root / "manifest.json").write_text("[]"),
    "no files": lambda root: edit_manifest(root, lambda m: m.pop("files") and None),
    "no byte count": lambda root: edit_manifest(root, no_bytes),
    "files as a list": lambda root: edit_manifest(root, files_as_list),
    "unknown index type": lambda root: edit_manifest(root, unknown_type),
    "hnsw without ef_search": lambda root: edit_manifest(root, hnsw_without_ef),
    "bytes as a float": lambda root: edit_manifest(root, float_bytes),
    "a path outside the index": lambda root: edit_manifest(root, outside_path),
    "an unknown stemmer": lambda root: edit_manifest(root, lambda m: m["bm25"].update(stemmer="klingon")),
    "unknown stop words": lambda root: edit_manifest(root, lambda m: m["bm25"].update(stopwords="xx")),
    "not JSON": lambda root: (root / "manifest.json").write_text("{not json"),
    "not UTF-8": lambda root: (root / "manifest.json").write_bytes(b'{"format": "\xff\xfe"}'),
    "a 5000-digit integer": huge_number,
    "deep nesting": lambda root: (root / "manifest.json").write_text("[" * 100_000 + "]" * 100_000),
    "a folder": lambda root: ((root / "manifest.json").unlink(), (root / "manifest.json").mkdir()),
    "a named pipe": lambda root: ((root / "manifest.json").unlink(), os.mkfifo(root / "manifest.json")),
    "missing": lambda root: (root / "manifest.json").unlink(),
}


def _replace_faiss_with_hnsw(root: Path) -> None:
    import faiss

    flat = faiss.read_index(str(root / "index.faiss"))
    hnsw = faiss.IndexHNSWFlat(flat.d, 16, faiss.METRIC_INNER_PRODUCT)
    hnsw.add(flat.reconstruct_n(0, flat.ntotal))
    faiss.write_index(hnsw, str(root / "index.faiss"))


def _rewrite_chunks(root: Path, change) -> None:
    lines = (root / "chunks.jsonl").read_text().splitlines()
    (root / "chunks.jsonl").write_text("\n".join(change(lines)) + "\n")


def _chunk_field(root: Path, field: str, value) -> None:
    def change(lines):
        record = json.loads(lines[0])
        record[field] = value
        return [json.dumps(record), *lines[1:]]
    _rewrite_chunks(root, change)


def _bm25_params(root: Path, **values) -> None:
    path = root / "bm25" / "params.index.json"
    path.write_text(json.dumps(json.loads(path.read_text()) | values))


def _vocab_out_of_range(root: Path) -> None:
    path = root / "bm25" / "vocab.index.json"
    vocab = json.loads(path.read_text())
    vocab[next(iter(vocab))] = 10**6
    path.write_text(json.dumps(vocab))


# damage -> words the message must hold; the manifest's checksums are updated afterwards
FILE_DAMAGE = {
    "faiss of another type": (_replace_faiss_with_hnsw, "index.faiss holds an index of type IndexHNSWFlat"),
    "faiss garbage": (lambda root: (root / "index.faiss").write_bytes(b"\x07" * 300), "FAISS cannot read"),
    "a chunk line cut": (lambda root: _rewrite_chunks(root, lambda ls: [*ls[:-1], ls[-1][:40]]), "chunks.jsonl is corrupt"),
    "a chunk that is a list": (lambda root: _rewrite_chunks(root, lambda ls: ["[1, 2]", *ls[1:]]), "not a JSON object"),
    "a chunk text that is a number": (lambda root: _chunk_field(root, "text", 5), "text"),
    "a chunk with a 5000-digit start": (lambda root: _rewrite_chunks(
        root, lambda ls: [ls[0].replace('"start": ', '"start": ' + "9" * 5000, 1), *ls[1:]]), "too many digits"),
    "a chunk missing": (lambda root: _rewrite_chunks(root, lambda ls: ls[:-1]), "do not agree"),
    "a chunk of another file": (lambda root: _chunk_field(root, "file", "elsewhere.md"), "do not agree"),
    "bm25 document count": (lambda root: _bm25_params(root, num_docs=3), "params.index.json"),
    "bm25 method": (lambda root: _bm25_params(root, method="bm25+"), "params.index.json"),
    "bm25 params not JSON": (lambda root: (root / "bm25" / "params.index.json").write_text("{"), "params.index.json"),
    "bm25 vocabulary out of range": (_vocab_out_of_range, "vocabulary"),
    "bm25 pickled array": (lambda root: np.save(root / "bm25" / "indptr.csc.index.npy", np.array([{"x": 1}], dtype=object),
                                                allow_pickle=True), "BM25"),
    "bm25 array of another shape": (lambda root: np.save(root / "bm25" / "data.csc.index.npy", np.zeros((2, 2), np.float32)),
                                    "BM25"),
    "bm25 indices past the chunks": (lambda root: np.save(root / "bm25" / "indices.csc.index.npy",
                                                          np.load(root / "bm25" / "indices.csc.index.npy") + 1000), "BM25"),
}

# damage the checksums are not updated for (the file is not there or not a file)
MISSING_DAMAGE = {
    "faiss missing": (lambda root: (root / "index.faiss").unlink(), "index.faiss is missing"),
    "faiss a folder": (lambda root: ((root / "index.faiss").unlink(), (root / "index.faiss").mkdir()), "folder"),
    "bm25 a file": (lambda root: (shutil.rmtree(root / "bm25"), (root / "bm25").write_text("x")), "bm25/"),
    "chunks a broken link": (lambda root: ((root / "chunks.jsonl").unlink(),
                                           (root / "chunks.jsonl").symlink_to(root / "gone")), "chunks.jsonl"),
    "chunks resized": (lambda root: (root / "chunks.jsonl").write_text("{}\n"), "chunks.jsonl is corrupt"),
}


def assert_damaged(root: Path, *words: str) -> DamagedIndexError:
    with pytest.raises(DataError) as info:
        load_rag_index(root)
    error = info.value
    assert isinstance(error, DamagedIndexError), error
    assert f"The index at {root} is damaged (" in error.message
    assert "Traceback" not in str(error)
    for word in words:
        assert word in error.message, (word, error.message)
    assert "tunewise rag build" in error.hint and "--index" in error.hint and "Rebuild" in error.hint
    return error


def assert_rebuilds(root: Path, docs: Path, embedder) -> None:
    report = build_rag_index([docs], root, IndexConfig(), embedder=embedder)
    assert report.full_rebuild_reason and "damaged" in report.full_rebuild_reason, report.full_rebuild_reason
    assert report.reused_chunks == 0 and report.chunks == report.embedded_chunks > 0
    assert sorted(p.name for p in root.iterdir()) == ["bm25", "chunks.jsonl", "index.faiss", "manifest.json"]
    index = load_rag_index(root, embedder.name)
    hits = search(index, [QUESTION], RetrieveConfig(k=1), embedder)[0]
    assert hits[0].source == "recall.pdf"


@pytest.mark.parametrize("variant", list(MANIFEST_DAMAGE))
def test_damaged_manifest_is_a_message_and_build_rebuilds(built, copy, embedder, variant):
    docs, _ = built
    MANIFEST_DAMAGE[variant](copy)
    assert_damaged(copy, "manifest.json")
    assert_rebuilds(copy, docs, embedder)


@pytest.mark.parametrize("variant", list(FILE_DAMAGE))
def test_damaged_file_with_matching_checksums_is_caught(built, copy, embedder, variant):
    docs, _ = built
    damage, words = FILE_DAMAGE[variant]
    damage(copy)
    rehash(copy)
    assert_damaged(copy, words)
    assert_rebuilds(copy, docs, embedder)


@pytest.mark.parametrize("variant", list(MISSING_DAMAGE))
def test_missing_or_odd_file_is_caught(built, copy, embedder, variant):
    docs, _ = built
    damage, words = MISSING_DAMAGE[variant]
    damage(copy)
    assert_damaged(copy, words)
    assert_rebuilds(copy, docs, embedder)


def test_checks_without_checksums_still_catch_content(copy):
    _rewrite_chunks(copy, lambda ls: ['{"id": 0}', *ls[1:]])
    edit_manifest(copy, lambda m: m["files"]["chunks.jsonl"].update(bytes=(copy / "chunks.jsonl").stat().st_size))
    with pytest.raises(DamagedIndexError, match="chunks.jsonl is corrupt: line 1 has the fields"):
        load_rag_index(copy, verify=False)


def test_the_schema_accepts_what_build_writes_and_is_strict_about_integers(built):
    _, out = built
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest_problem(manifest) is None
    assert read_manifest(out) == manifest
    manifest["index"]["vectors"] = 13.0
    assert "is the number 13.0, not an integer" in manifest_problem(manifest)
    manifest["index"]["vectors"] = True
    assert manifest_problem(manifest)
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(MANIFEST_SCHEMA)


def test_a_newer_format_version_asks_for_a_rebuild(built, copy, embedder):
    docs, _ = built
    edit_manifest(copy, lambda m: m.update(version=2))
    with pytest.raises(DataError, match="format version 2") as info:
        load_rag_index(copy)
    assert "rag build" in info.value.hint
    report = build_rag_index([docs], copy, IndexConfig(), embedder=embedder)
    assert "format version 2" in report.full_rebuild_reason


def test_a_folder_that_is_no_index_is_still_refused(tmp_path, embedder):
    (tmp_path / "chunks.jsonl").write_text("mine\n")
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(UsageError, match="refusing"):
        build_rag_index([DOCS], tmp_path, embedder=embedder)
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def test_leftovers_of_a_killed_build_are_removed_but_a_running_builds_are_kept(built, copy, embedder):
    docs, _ = built
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    stale = [copy / f".index.faiss.{dead_pid}-0123abcd.tmp", copy / ".chunks.jsonl.89abcdef.tmp"]
    for path in stale:
        path.write_bytes(b"half")
    (copy / f".bm25.{dead_pid}-0123abcd.tmp").mkdir()
    running = copy / f".manifest.json.{os.getpid()}-fedcba98.tmp"
    running.write_text("{}")
    (copy / "manifest.json").unlink()  # and the killed build never wrote its manifest
    report = build_rag_index([docs], copy, IndexConfig(), embedder=embedder)
    assert "manifest.json is missing" in report.full_rebuild_reason
    assert sorted(p.name for p in copy.iterdir()) == sorted(["bm25", "chunks.jsonl", "index.faiss", "manifest.json", running.name])


def test_a_failed_write_leaves_no_temporary_files(built, copy, embedder, monkeypatch):
    docs, _ = built
    (docs / "extra.md").write_text("# Extra\n\nA new document so the build writes.\n")
    try:
        import faiss

        def fail(*args):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(faiss, "write_index", fail)
        with pytest.raises(UsageError, match="No space left on device"):
            build_rag_index([docs], copy, IndexConfig(), embedder=embedder)
    finally:
        (docs / "extra.md").unlink()
    assert sorted(p.name for p in copy.iterdir()) == ["bm25", "chunks.jsonl", "index.faiss", "manifest.json"]
    load_rag_index(copy)  # the old index is untouched


# --- through the CLI ---------------------------------------------------------------------------------


@pytest.fixture
def cli(embedder, monkeypatch):
    """`tunewise rag` in-process, with the session's embedder instead of loading the model again for each command."""
    import curation.embed
    from advisor.commands.rag import rag

    monkeypatch.setattr(curation.embed, "Embedder", lambda *args, **kwargs: embedder)

    def invoke(*args: str):
        result = CliRunner().invoke(rag, list(args))
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        assert "Traceback" not in result.output + result.stderr
        return result

    return invoke


@pytest.mark.parametrize("variant", ["empty object", "no files", "no byte count", "files as a list",
                                     "unknown index type", "not JSON", "a 5000-digit integer"])
def test_cli_query_says_damaged_and_build_repairs(built, copy, cli, variant):
    docs, _ = built
    MANIFEST_DAMAGE[variant](copy)
    for mode in ("hybrid", "bm25"):
        result = cli("query", str(copy), QUESTION, "--mode", mode)
        assert result.exit_code in (1, 2), result.output
        assert "manifest.json" in result.stderr and "damaged" in result.stderr and "rebuild" in result.stderr.lower()
        assert result.stdout == ""
    result = cli("build", str(docs), "--index", str(copy))
    assert result.exit_code == 0, result.stderr
    assert "Rebuilt from scratch: the index there was damaged (" in result.stdout
    result = cli("query", str(copy), QUESTION, "-k", "1", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["hits"][0]["source"] == "recall.pdf"


def test_cli_query_on_a_damaged_chunk_file(built, copy, cli):
    _rewrite_chunks(copy, lambda ls: ["[1, 2]", *ls[1:]])
    rehash(copy)
    result = cli("query", str(copy), QUESTION)
    assert result.exit_code == 1
    assert "chunks.jsonl is corrupt" in result.stderr and "tunewise rag build" in result.stderr
