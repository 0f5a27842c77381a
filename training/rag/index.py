"""A RAG index on disk: index.faiss + chunks.jsonl + bm25/ + manifest.json. No pickle anywhere.

Building again over a changed folder re-reads and re-embeds only the files whose content hash changed;
vectors of unchanged files are read back from the old index.faiss, deleted files drop out. The manifest,
written last, records the embedder, the chunk and BM25 settings, a SHA-256 per source file and per index
file, so loading detects an index built with another embedder and files that are corrupt or half-written.

Index type rule (FAISS wiki, "Guidelines to choose an index"): the only index that guarantees exact results
is IndexFlatIP, and a flat scan of `exact_below` = 100,000 vectors of 384 floats took 6 ms a query here
(one thread; 12 ms at 200,000), so flat up to there. Past it, HNSW (`IndexHNSWFlat`, M = 32; the wiki: "if
you have a lot of RAM or the dataset is small, HNSW is the best option", d·4 + M·2·4 bytes a vector): it
needs no training, unlike IVF whose centroids would go stale as incremental builds add documents. A build
that only adds files adds their vectors to the existing graph; one that changes or removes files rebuilds
the graph from the stored vectors (HNSW cannot remove): time (20,000 vectors took 12 s here), no embedding.

BM25 is kept in bm25s's own format (numpy arrays saved without pickle, vocabulary as JSON) rather than
rebuilt on load: for SQuAD dev's 2,527 chunks loading it took 4 ms, rebuilding it from chunks.jsonl 468 ms.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from curation.errors import CancelledError, DataError, TunewiseError, UsageError
from curation.files import (
    STAGING_NAME,
    remove_path,
    remove_stale_staging,
    replace_folder,
    sha256_file,
    staging_path,
)
from curation.safe_read import CONFIG_LIMIT, check_regular_file, parse_json, read_text_limited
from training.rag.chunk import Chunk, ChunkConfig, chunk_documents
from training.rag.ingest import Skipped, read_sources, scan
from training.rag.manifest_schema import (
    BM25_DIR,
    BM25_FILES,
    CHUNKS_FILE,
    FAISS_FILE,
    FORMAT,
    MANIFEST,
    VERSION,
    manifest_problem,
)

__all__ = ["BM25_DIR", "CHUNKS_FILE", "FAISS_FILE", "FORMAT", "MANIFEST", "VERSION", "BuildReport", "DamagedIndexError",
           "IndexConfig", "RagIndex", "build_rag_index", "load_rag_index", "read_manifest", "skipped_from"]
Progress = Callable[[str, int, int], None]
_INDEX_ENTRIES = (MANIFEST, FAISS_FILE, CHUNKS_FILE, BM25_DIR)


class DamagedIndexError(DataError):
    """An index folder whose files are missing, corrupt or do not agree: `rag build` rebuilds it from scratch."""

    def __init__(self, root: str | Path, reason: str) -> None:
        self.root, self.reason = Path(root), reason
        super().__init__(f"The index at {root} is damaged ({reason}).", rebuild_hint(root))


def rebuild_hint(root: str | Path) -> str:
    """The command that rebuilds the index in root."""
    return (f"Rebuild it with `tunewise rag build DOCS --index {shlex.quote(str(root))}` (DOCS: the documents it was "
            "built from); a damaged index is rebuilt from scratch.")


@dataclass
class IndexConfig:
    """Settings of a RAG index build; saved in manifest.json, and a change in any of them rebuilds everything."""

    embedder: str | None = field(default=None, metadata={"help": "Sentence-transformers folder or hub id "
                                                                  "(default: packaged all-MiniLM-L6-v2)."})
    chunk_tokens: int = field(default=200, metadata={"help": "Most embedder tokens per chunk, heading included."})
    overlap_tokens: int = field(default=40, metadata={"help": "Tokens of whole sentences shared with the previous chunk."})
    text_field: str | None = field(default=None, metadata={"help": "JSONL field holding the text (default: text, "
                                                                    "content, body, … whichever is present)."})
    exact_below: int = field(default=100_000, metadata={"help": "Exact flat search up to this many chunks, HNSW above."})
    hnsw_m: int = field(default=32, metadata={"help": "HNSW links per vector (4–64; more: better recall, more RAM)."})
    hnsw_ef_construction: int = field(default=200, metadata={"help": "HNSW build-time candidate list size."})
    hnsw_ef_search: int = field(default=128, metadata={"help": "HNSW query-time candidate list size."})
    bm25_stemmer: str | None = field(default="english", metadata={"help": "Snowball stemmer language for BM25 "
                                                                          "(PyStemmer), or None for no stemming."})
    bm25_stopwords: str | None = field(default="en", metadata={"help": "Stop-word list BM25 drops ('en'), or None."})
    cache_dir: str | None = field(default=None, metadata={"help": "Embedding cache folder (default: ~/.cache/tunewise/embeddings)."})

    def __post_init__(self) -> None:
        ChunkConfig(self.chunk_tokens, self.overlap_tokens)  # validates both
        for name in ("exact_below", "hnsw_m", "hnsw_ef_construction", "hnsw_ef_search"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise UsageError(f"{name} must be a positive integer, not {value!r}.")
        for name in ("hnsw_ef_construction", "hnsw_ef_search", "chunk_tokens"):
            if getattr(self, name) > 2**31 - 1:
                raise UsageError(f"{name} must be at most {2**31 - 1}, not {getattr(self, name)}.")
        if not 4 <= self.hnsw_m <= 64:
            raise UsageError(f"hnsw_m must be between 4 and 64, not {self.hnsw_m}.")

    @property
    def chunking(self) -> ChunkConfig:
        """The chunking part of the settings."""
        return ChunkConfig(self.chunk_tokens, self.overlap_tokens)

    def signature(self, embedder_name: str) -> dict:
        """What must match for an old index's chunks and vectors to be reused."""
        return {"embedder": embedder_name, "chunk_tokens": self.chunk_tokens, "overlap_tokens": self.overlap_tokens,
                "text_field": self.text_field, "chunker": 1}


@dataclass
class BuildReport:
    """What a build did: files added/changed/removed/kept, chunks embedded vs reused, files skipped, timings."""

    index_dir: str
    index_type: str
    documents: int
    chunks: int
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    embedded_chunks: int = 0
    reused_chunks: int = 0
    skipped: list[dict] = field(default_factory=list)
    full_rebuild_reason: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready form (for --json)."""
        return asdict(self)


# --- building -------------------------------------------------------------------------------------


def build_rag_index(
    paths: Sequence[str | Path],
    out_dir: str | Path,
    config: IndexConfig | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    embedder=None,
) -> BuildReport:
    """Build or update the index in out_dir from the documents under paths (only changed files re-embedded)."""
    from curation.embed import LOAD_STAGE, Embedder

    config = config or IndexConfig()
    out = Path(out_dir)
    _check_out_dir(out, paths)
    embedder = embedder or Embedder(config.embedder, cache_dir=config.cache_dir)
    timings: dict[str, float] = {}
    started = time.perf_counter()

    previous, reason = _previous_state(out, config, embedder.name)
    reusable = previous["manifest"]["documents"] if previous else {}
    files_before = _old_documents(out)
    found = scan(paths, exclude=out)
    current = {key: f.sha256 for key, f in found.files.items()}
    unchanged = sorted(k for k, sha in current.items() if reusable.get(k, {}).get("sha256") == sha)
    todo = [f for key, f in found.files.items() if key not in set(unchanged)]
    documents_read, unreadable = read_sources(todo, config.text_field, progress=_stage(progress, "read"))
    skipped = sorted({(s.path, s.reason) for s in [*found.skipped, *unreadable]})
    _check_cancel(cancel)
    timings["read"] = time.perf_counter() - started

    new_chunks: list[Chunk] = []
    new_vectors = None
    if documents_read:  # nothing changed: the model is not even loaded
        t = time.perf_counter()
        embedder.load(_stage(progress, LOAD_STAGE))
        tokenizer = embedder.tokenizer()
        timings["load_model"] = time.perf_counter() - t
        t = time.perf_counter()
        new_chunks = chunk_documents(documents_read, tokenizer, config.chunking)
        timings["chunk"] = time.perf_counter() - t
        t = time.perf_counter()
        new_vectors = embedder.encode([c.embed_text for c in new_chunks], progress=_stage(progress, "embed"), cancel=cancel)
        timings["embed"] = time.perf_counter() - t

    removed = sorted(set(files_before) - set(unchanged) - {c.file for c in new_chunks})
    changed = sorted(k for k in set(files_before) & {c.file for c in new_chunks}
                     if files_before[k].get("sha256") != current.get(k))
    added = sorted({c.file for c in new_chunks} - set(files_before))
    report = BuildReport(index_dir=str(out), index_type="", documents=0, chunks=0, added=added, changed=changed,
                         removed=removed, unchanged=unchanged, embedded_chunks=len(new_chunks),
                         skipped=[{"path": p, "reason": r} for p, r in skipped], full_rebuild_reason=reason)
    if previous and not new_chunks and set(unchanged) == set(reusable) and _same_skipped(previous["manifest"], skipped):
        report.index_type = previous["manifest"]["index"]["type"]  # nothing changed: the files stay as they are
        report.documents, report.chunks = len(reusable), len(previous["chunks"])
        report.reused_chunks = report.chunks
        timings["total"] = time.perf_counter() - started
        report.seconds = {k: round(v, 3) for k, v in timings.items()}
        return report

    kept_chunks, kept_vectors = _kept(previous, set(unchanged))
    files = {f.key: f for f in todo}
    _check_cancel(cancel)
    t = time.perf_counter()
    if progress:
        progress("index", 0, 2)
    appendable = (previous is not None and previous["manifest"]["index"]["type"] == "hnsw"
                  and len(kept_chunks) == len(previous["chunks"]) and new_vectors is not None)
    if appendable:  # only additions to an HNSW graph: add the new vectors, keep the graph (HNSW cannot remove)
        from curation.vectors import faiss_threads

        added_chunks, added_vectors = _merge([], None, new_chunks, new_vectors)
        chunks = [*previous["chunks"], *added_chunks]
        index, index_type = previous["faiss"], "hnsw"
        with faiss_threads(index.ntotal):
            index.add(added_vectors)
    else:
        chunks, vectors = _merge(kept_chunks, kept_vectors, new_chunks, new_vectors)
        if not chunks:
            raise DataError(
                "No text to index: " + (f"{len(skipped)} file(s) skipped, none readable." if skipped else "no documents found."),
                "Pass a folder of .md, .txt, .html, .pdf or .jsonl files; the reasons for skipped files are listed above.",
            )
        index, index_type = make_faiss_index(vectors, config)
    if progress:
        progress("index", 1, 2)
    bm25 = make_bm25(chunks, config)
    if progress:
        progress("index", 2, 2)
    timings["index"] = time.perf_counter() - t
    _check_cancel(cancel)

    documents = {k: reusable[k] for k in unchanged}
    counts: dict[str, int] = {}
    sources: dict[str, set[str]] = {}
    for c in chunks:
        counts[c.file] = counts.get(c.file, 0) + 1
        sources.setdefault(c.file, set()).add(c.source)
    for key, f in files.items():
        if key in counts:
            documents[key] = {"sha256": f.sha256, "bytes": f.size, "chunks": counts[key], "documents": len(sources[key])}
    t = time.perf_counter()
    write_index(out, index, index_type, chunks, bm25, documents, config, embedder, skipped)
    timings["write"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - started
    report.index_type, report.documents, report.chunks = index_type, len(documents), len(chunks)
    report.reused_chunks = len(kept_chunks)
    report.seconds = {k: round(v, 3) for k, v in timings.items()}
    return report


def _same_skipped(manifest: dict, skipped: list[tuple[str, str]]) -> bool:
    """Whether the files skipped now are the ones the manifest lists."""
    return sorted((s["path"], s["reason"]) for s in manifest.get("skipped", [])) == sorted(skipped)


def _check_out_dir(out: Path, paths: Sequence[str | Path]) -> None:
    """Refuse to write into a folder that holds something other than a tunewise index."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} is a file.", "Pass a folder for --index.")
    try:
        entries = [p.name for p in out.iterdir()] if out.is_dir() else []
    except OSError as exc:
        raise UsageError(f"Cannot read the index folder {out}: {exc.strerror or exc}.", "Check its permissions.") from None
    # a folder holding only an index's own files (say, a first build killed before its manifest) is an index
    if entries and MANIFEST not in entries and not all(n in _INDEX_ENTRIES or _is_temp(n) for n in entries):
        raise UsageError(f"{out} is not empty and holds no {MANIFEST}: refusing to write an index into it.",
                         "Pass a new or empty folder, or an existing tunewise index folder.")
    for raw in paths:
        if Path(raw).resolve() == out.resolve():
            raise UsageError(f"The index folder {out} is also a documents folder.", "Write the index somewhere else.")


def _stage(progress: Progress | None, stage: str) -> Callable[[int, int], None] | None:
    return (lambda done, total: progress(stage, done, total)) if progress else None


def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise CancelledError("Index build cancelled; the previous index (if any) is unchanged.",
                             "Run the build again: embeddings already computed are cached.")


def _old_documents(out: Path) -> dict:
    """The documents recorded by an existing manifest (for reporting what changed), or {}."""
    try:
        return read_manifest(out).get("documents", {}) if (out / MANIFEST).exists() else {}
    except (DataError, UsageError):
        return {}


def _previous_state(out: Path, config: IndexConfig, embedder_name: str) -> tuple[dict | None, str | None]:
    """The old index (manifest, chunks, vectors) if it can be reused, else None and why not."""
    if not os.path.lexists(out / MANIFEST):
        if _holds_index_files(out):
            return None, f"the index there was damaged ({MANIFEST} is missing: an interrupted build?)"
        return None, None
    try:
        old = load_rag_index(out)
    except DamagedIndexError as exc:
        return None, f"the index there was damaged ({exc.reason})"
    except TunewiseError as exc:
        return None, f"the index there could not be used ({exc.message.rstrip('.')})"
    if old.manifest["signature"] != config.signature(embedder_name):
        changed = [k for k, v in config.signature(embedder_name).items() if old.manifest["signature"].get(k) != v]
        return None, f"settings changed: {', '.join(changed)}"
    return {"manifest": old.manifest, "chunks": old.chunks, "faiss": old.faiss}, None


def _kept(previous: dict | None, unchanged: set[str]) -> tuple[list[Chunk], np.ndarray | None]:
    """Chunks and vectors of unchanged files, read back from the old index."""
    if not previous or not unchanged:
        return [], None
    rows = [i for i, c in enumerate(previous["chunks"]) if c.file in unchanged]
    index = previous["faiss"]
    vectors = index.reconstruct_n(0, index.ntotal)[rows] if rows else None
    return [previous["chunks"][i] for i in rows], vectors


def _merge(kept_chunks, kept_vectors, new_chunks, new_vectors) -> tuple[list[Chunk], np.ndarray]:
    """All chunks ordered by file then position, with their vectors in the same order."""
    chunks = [*kept_chunks, *new_chunks]
    parts = [v for v in (kept_vectors, new_vectors) if v is not None and len(v)]
    vectors = np.concatenate(parts) if parts else np.zeros((0, 1), np.float32)
    order = sorted(range(len(chunks)), key=lambda i: (chunks[i].file, _source_order(chunks[i].source), chunks[i].start))
    return [chunks[i] for i in order], np.ascontiguousarray(vectors[order], dtype=np.float32)


def _source_order(source: str) -> int:
    """JSONL records (file:line) in line order."""
    tail = source.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def make_faiss_index(vectors: np.ndarray, config: IndexConfig):
    """Flat inner-product index up to config.exact_below vectors, HNSW above (see the module docstring)."""
    import faiss

    from curation.vectors import faiss_threads

    n, dim = vectors.shape
    if n <= config.exact_below:
        index, kind = faiss.IndexFlatIP(dim), "flat"
    else:
        index, kind = faiss.IndexHNSWFlat(dim, config.hnsw_m, faiss.METRIC_INNER_PRODUCT), "hnsw"
        index.hnsw.efConstruction = config.hnsw_ef_construction
        index.hnsw.efSearch = config.hnsw_ef_search
    with faiss_threads(n):
        index.add(vectors)
    return index, kind


def bm25_tokenize(texts: Sequence[str], stemmer_language: str | None, stopwords: str | None) -> list[list[str]]:
    """Lower-cased word tokens (bm25s's scikit-learn pattern), stop words dropped, Snowball-stemmed."""
    import bm25s

    stemmer = _stemmer(stemmer_language)
    return bm25s.tokenize(list(texts), stopwords=stopwords or [], stemmer=stemmer, return_ids=False, show_progress=False)


def _stemmer(language: str | None):
    if not language:
        return None
    try:
        import Stemmer
    except ImportError as exc:
        raise UsageError("BM25 stemming needs PyStemmer, which is not installed.",
                         "pip install PyStemmer, or build with --no-stem.") from exc
    try:
        return Stemmer.Stemmer(language)
    except KeyError as exc:
        raise UsageError(f"No Snowball stemmer for {language!r}.", f"Use one of {', '.join(Stemmer.algorithms())}.") from exc


def make_bm25(chunks: Sequence[Chunk], config: IndexConfig):
    """A bm25s BM25 index (Lucene variant, k1 1.5, b 0.75) over each chunk's heading path and text."""
    import bm25s

    tokens = bm25_tokenize([c.embed_text for c in chunks], config.bm25_stemmer, config.bm25_stopwords)
    bm25 = bm25s.BM25()
    bm25.index(tokens, show_progress=False)
    return bm25


# --- writing and loading --------------------------------------------------------------------------


def write_index(out: Path, index, index_type, chunks, bm25, documents, config, embedder, skipped) -> None:
    """Write every file under a temporary name, move them into place, and write the manifest last.

    Whatever stands in the way is replaced: a folder where a file belongs (or the reverse), a link, and the
    temporary files of builds that were killed. A build that fails here removes its own temporary files.
    """
    import faiss

    tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    temps = [staging_path(out / name, "tmp", tag) for name in _INDEX_ENTRIES]
    tmp_manifest, tmp_faiss, tmp_chunks, tmp_bm25 = temps
    try:
        out.mkdir(parents=True, exist_ok=True)
        remove_stale_staging(out, _INDEX_ENTRIES)  # what builds that were killed left (a running build's are kept)
        faiss.write_index(index, str(tmp_faiss))
        with open(tmp_chunks, "w", encoding="utf-8") as handle:
            for i, chunk in enumerate(chunks):
                handle.write(json.dumps({"id": i, **chunk.to_record()}, ensure_ascii=False) + "\n")
        bm25.save(str(tmp_bm25), allow_pickle=False)
        files = {FAISS_FILE: _file_entry(tmp_faiss), CHUNKS_FILE: _file_entry(tmp_chunks)}
        files.update({f"{BM25_DIR}/{p.name}": _file_entry(p) for p in sorted(tmp_bm25.iterdir())})
        manifest = {
            "format": FORMAT, "version": VERSION,
            "created": _now(), "signature": config.signature(embedder.name),
            "embedder": {"name": embedder.name, "model": config.embedder, "dimension": int(index.d)},
            "chunking": {"chunk_tokens": config.chunk_tokens, "overlap_tokens": config.overlap_tokens,
                         "tokenizer": "embedder", "heading_separator": " > "},
            "index": {"type": index_type, "vectors": int(index.ntotal), "metric": "inner_product",
                      **({"hnsw_m": config.hnsw_m, "ef_construction": config.hnsw_ef_construction,
                          "ef_search": config.hnsw_ef_search} if index_type == "hnsw" else {})},
            "bm25": {"stemmer": config.bm25_stemmer, "stopwords": config.bm25_stopwords, "method": "lucene",
                     "k1": 1.5, "b": 0.75},
            "settings": asdict(config),
            "documents": dict(sorted(documents.items())),
            "skipped": [{"path": p, "reason": r} for p, r in skipped],
            "files": files,
        }
        problem = manifest_problem(manifest)
        if problem:  # never write an index that would not load
            raise DataError(f"The index was not written to {out}: its manifest fails its own check ({problem}).",
                            "Check the build settings; if they look right, report this as a tunewise bug.")
        for tmp, name in ((tmp_faiss, FAISS_FILE), (tmp_chunks, CHUNKS_FILE)):
            _clear_for_file(out / name)
            os.replace(tmp, out / name)
        replace_folder(tmp_bm25, out / BM25_DIR)
        tmp_manifest.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        _clear_for_file(out / MANIFEST)
        os.replace(tmp_manifest, out / MANIFEST)
    except BaseException as exc:
        for tmp in temps:
            remove_path(tmp)
        if isinstance(exc, OSError):
            raise UsageError(f"Cannot write the index to {out}: {exc.strerror or exc}.",
                             "Check the free disk space and the folder's permissions, then build again.") from exc
        raise


def _clear_for_file(path: Path) -> None:
    """Make way for a file: a folder in its place is removed (os.replace cannot replace one with a file)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)


def _is_temp(name: str) -> bool:
    """Whether a name is one write_index gives its temporary files (.NAME.PID-TAG.tmp, .bm25.PID-TAG.old)."""
    match = STAGING_NAME.match(name)
    return bool(match) and match["name"] in _INDEX_ENTRIES


def _holds_index_files(root: Path) -> bool:
    """Whether a folder holds an index's data files (with or without a manifest)."""
    return any(os.path.lexists(root / name) for name in (FAISS_FILE, CHUNKS_FILE, BM25_DIR))


def _file_entry(path: Path) -> dict:
    return {"sha256": sha256_file(path), "bytes": path.stat().st_size}


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


@dataclass
class RagIndex:
    """A loaded index: FAISS vectors, chunks (same order), BM25, and the manifest they were checked against."""

    root: Path
    manifest: dict
    chunks: list[Chunk]
    faiss: object
    bm25: object

    @property
    def embedder_name(self) -> str:
        """Fingerprint of the embedder the vectors were made with."""
        return self.manifest["embedder"]["name"]

    @property
    def embedder_model(self) -> str | None:
        """The embedder as it was given at build time (None: the packaged default)."""
        return self.manifest["embedder"].get("model")


def load_rag_index(index_dir: str | Path, embedder_name: str | None = None, verify: bool = True) -> RagIndex:
    """Load and check an index; embedder_name (an Embedder's .name) must match the one it was built with.

    The manifest is checked against its JSON schema, every file it lists for presence, size and (verify) SHA-256,
    then each file as it is read: FAISS type, metric and size, every chunk record, the BM25 arrays' shapes and
    ranges. Any failure is a DamagedIndexError naming the file; nothing is ever unpickled.
    """
    root = Path(index_dir)
    manifest = read_manifest(root)
    if embedder_name is not None and embedder_name != manifest["embedder"]["name"]:
        raise DataError(
            f"The index in {root} was built with the embedder {manifest['embedder']['name']}, "
            f"not {embedder_name}: its vectors cannot be compared with this embedder's.",
            f"Query with --embedder {manifest['embedder'].get('model') or 'default'}, or rebuild the index with this embedder.",
        )
    for name, entry in manifest["files"].items():
        _check_file(root, name, entry, verify)
    index = _read_faiss(root, manifest)
    chunks = _read_chunks(root)
    _check_counts(root, manifest, index, chunks)
    if manifest["index"]["type"] == "hnsw":
        index.hnsw.efSearch = manifest["index"]["ef_search"]
    bm25 = _read_bm25(root, len(chunks))
    _check_bm25_settings(root, manifest["bm25"])
    return RagIndex(root, manifest, chunks, index, bm25)


def _check_file(root: Path, name: str, entry: dict, verify: bool) -> None:
    """One file the manifest lists: present, a regular file, its recorded size and (verify) SHA-256."""
    path = root / name
    if not os.path.lexists(path):
        raise DamagedIndexError(root, f"{name} is missing")
    try:
        check_regular_file(path, "index file")
        size = path.stat().st_size
        if size != entry["bytes"]:
            raise DamagedIndexError(root, f"{name} is corrupt: {size} bytes where {MANIFEST} records {entry['bytes']} "
                                          "(changed or damaged since the build, or the build was interrupted)")
        if verify and _file_entry(path)["sha256"] != entry["sha256"]:
            raise DamagedIndexError(root, f"{name} is corrupt: it does not match its checksum in {MANIFEST} "
                                          "(changed or damaged since the build, or the build was interrupted)")
    except UsageError as exc:  # a folder, a FIFO, a broken link in the file's place
        raise DamagedIndexError(root, _reason(exc)) from None
    except OSError as exc:
        raise DamagedIndexError(root, f"{name} cannot be read: {exc.strerror or exc}") from None


_FAISS_CLASSES = {"flat": "IndexFlatIP", "hnsw": "IndexHNSWFlat"}


def _read_faiss(root: Path, manifest: dict):
    """index.faiss, checked to be the type of index the manifest records (inner product)."""
    import faiss

    try:
        index = faiss.read_index(str(root / FAISS_FILE))
    except (RuntimeError, MemoryError, OverflowError) as exc:
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[-1][:200]
        raise DamagedIndexError(root, f"{FAISS_FILE} is corrupt: FAISS cannot read it ({detail})") from exc
    kind = manifest["index"]["type"]
    if type(index).__name__ != _FAISS_CLASSES[kind] or index.metric_type != faiss.METRIC_INNER_PRODUCT:
        raise DamagedIndexError(root, f"{FAISS_FILE} holds an index of type {type(index).__name__}, where {MANIFEST} "
                                      f"records a {kind} inner-product one")
    return index


_CHUNK_FIELDS = {"source": str, "file": str, "heading": str, "start": int, "end": int, "text": str, "tokens": int}


def _read_chunks(root: Path) -> list[Chunk]:
    """chunks.jsonl, every record checked for the fields and types of a Chunk."""
    chunks: list[Chunk] = []
    number = 0
    try:
        with open(root / CHUNKS_FILE, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):  # noqa: B007 - number is used after the loop on failure
                chunks.append(_chunk(line))
    except UnicodeDecodeError:
        raise DamagedIndexError(root, f"{CHUNKS_FILE} is corrupt: it is not UTF-8 text") from None
    except OSError as exc:
        raise DamagedIndexError(root, f"{CHUNKS_FILE} cannot be read: {exc.strerror or exc}") from None
    except (ValueError, TypeError, RecursionError) as exc:
        raise DamagedIndexError(root, f"{CHUNKS_FILE} is corrupt: line {number} {_short(exc)}") from None
    return chunks


def _chunk(line: str) -> Chunk:
    """One chunks.jsonl record; ValueError saying what is wrong with it."""
    try:
        record = json.loads(line)
    except ValueError as exc:
        raise ValueError(f"is not valid JSON ({_short(exc)})") from None
    if not isinstance(record, dict):
        raise ValueError("is not a JSON object")
    record.pop("id", None)
    if set(record) != set(_CHUNK_FIELDS):
        raise ValueError(f"has the fields {', '.join(sorted(map(str, record)))[:200]}, not {', '.join(_CHUNK_FIELDS)}")
    for name, kind in _CHUNK_FIELDS.items():
        value = record[name]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ValueError(f"has a {name} field that is not {'an integer' if kind is int else 'a string'}")
    if not 0 <= record["start"] <= record["end"] or record["tokens"] < 0:
        raise ValueError("has an impossible character span or token count")
    return Chunk(**record)


def _check_counts(root: Path, manifest: dict, index, chunks: list[Chunk]) -> None:
    """Vectors, chunks and the manifest agree: one vector per chunk, the right dimension, each file's chunk count."""
    vectors, dimension = manifest["index"]["vectors"], manifest["embedder"]["dimension"]
    if not index.ntotal == len(chunks) == vectors or index.d != dimension:
        raise DamagedIndexError(root, f"its files do not agree: {FAISS_FILE} holds {index.ntotal} vectors of {index.d} "
                                      f"dimensions, {CHUNKS_FILE} {len(chunks)} chunks, and {MANIFEST} records {vectors} "
                                      f"vectors of {dimension} dimensions")
    counts = Counter(c.file for c in chunks)
    recorded = {key: entry["chunks"] for key, entry in manifest["documents"].items() if entry["chunks"]}
    if counts != recorded:
        wrong = sorted(k for k in set(counts) | set(recorded) if counts.get(k, 0) != recorded.get(k, 0))
        key = wrong[0]
        raise DamagedIndexError(root, f"its files do not agree: {CHUNKS_FILE} holds {counts.get(key, 0)} chunk(s) of {key}, "
                                      f"{MANIFEST} records {recorded.get(key, 0)}")


_BM25_PARAMS = {"num_docs": int, "method": str, "k1": (int, float), "b": (int, float), "delta": (int, float),
                "dtype": str, "int_dtype": str, "idf_method": (str, type(None)), "version": (str, type(None)),
                "backend": str}


def _read_bm25(root: Path, n_chunks: int):
    """bm25/ through bm25s (no pickle), its parameters, vocabulary and score arrays checked against the chunks."""
    import bm25s

    folder = root / BM25_DIR
    params_path = folder / BM25_FILES[0]
    name = f"{BM25_DIR}/{BM25_FILES[0]}"
    try:
        params = parse_json(read_text_limited(params_path, CONFIG_LIMIT, "index file"), str(params_path), "BM25 parameters")
    except TunewiseError as exc:
        raise DamagedIndexError(root, _reason(exc)) from None
    if not isinstance(params, dict) or params.get("method") != "lucene" or params.get("num_docs") != n_chunks or any(
            key in params and (not isinstance(params[key], kind) or isinstance(params[key], bool))
            for key, kind in _BM25_PARAMS.items()):
        raise DamagedIndexError(root, f"{name} is corrupt: not the parameters of a Lucene BM25 index of {n_chunks} chunks")
    if params.get("dtype", "float32") not in ("float32", "float64") or params.get("int_dtype", "int32") not in ("int32", "int64"):
        raise DamagedIndexError(root, f"{name} is corrupt: unknown number types {params.get('dtype')}/{params.get('int_dtype')}")
    try:
        bm25 = bm25s.BM25.load(str(folder), allow_pickle=False, mmap=False, load_corpus=False, show_progress=False)
        _check_bm25(bm25, n_chunks)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError, EOFError, RecursionError) as exc:
        raise DamagedIndexError(root, f"its BM25 index ({BM25_DIR}/) cannot be read: {_short(exc)}") from exc
    return bm25


def _check_bm25(bm25, n_chunks: int) -> None:
    """The loaded BM25 arrays form a valid sparse matrix of n_chunks documents that the vocabulary indexes into."""
    data, indices, indptr = (np.asarray(bm25.scores[k]) for k in ("data", "indices", "indptr"))
    if bm25.scores.get("num_docs") != n_chunks:
        raise ValueError(f"it scores {bm25.scores.get('num_docs')} documents, not {n_chunks}")
    if any(a.ndim != 1 for a in (data, indices, indptr)) or data.dtype.kind != "f" or indices.dtype.kind not in "iu" \
            or indptr.dtype.kind not in "iu" or not len(indptr):
        raise ValueError("its score arrays have the wrong shapes or types")
    if indptr[0] != 0 or indptr[-1] != len(data) or len(indices) != len(data) or (np.diff(indptr) < 0).any():
        raise ValueError("its score arrays do not fit together")
    if len(indices) and (indices.min() < 0 or indices.max() >= n_chunks):
        raise ValueError("its score arrays point at documents that do not exist")
    vocab = bm25.vocab_dict
    terms = len(indptr) - 1
    if not isinstance(vocab, dict) or not all(
            isinstance(term, str) and type(i) is int and (0 <= i < terms or (term == "" and i == terms))
            for term, i in vocab.items()):
        raise ValueError(f"its vocabulary does not match its {terms} terms")


def _reason(exc: TunewiseError) -> str:
    """Another error's message as the reason in a DamagedIndexError's parentheses."""
    text = exc.message.rstrip(".")
    return text[0].lower() + text[1:] if text.startswith("The ") else text


def _check_bm25_settings(root: Path, settings: dict) -> None:
    """The manifest's stemmer and stop-word list are ones queries can be tokenized with."""
    if settings["stemmer"]:
        try:
            import Stemmer
        except ImportError:
            pass  # a query says how to install it
        else:
            try:
                Stemmer.Stemmer(settings["stemmer"])
            except (KeyError, ValueError, TypeError):
                raise DamagedIndexError(root, f"{MANIFEST}['bm25']['stemmer'] names no Snowball stemmer: "
                                              f"{settings['stemmer'][:80]!r}") from None
    try:
        bm25_tokenize(["check"], None, settings["stopwords"])
    except (ValueError, KeyError, TypeError):
        raise DamagedIndexError(root, f"{MANIFEST}['bm25']['stopwords'] names no stop-word list: "
                                      f"{settings['stopwords'][:80]!r}") from None


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if "Exceeds the limit" in text and "digits" in text:
        return "a number has too many digits"
    return text if len(text) <= 200 else text[:200] + "…"


def read_manifest(root: str | Path) -> dict:
    """manifest.json of an index folder, checked against MANIFEST_SCHEMA (DamagedIndexError saying where it fails).

    UsageError when the folder does not exist or holds no index at all; an index's files without a manifest (a
    first build killed before writing it) are a damaged index.
    """
    root = Path(root)
    path = root / MANIFEST
    if not root.is_dir():
        raise UsageError(f"No index folder at {root}.", "Build one first: tunewise rag build DOCS --index DIR.")
    if not os.path.lexists(path):
        if _holds_index_files(root):
            raise DamagedIndexError(root, f"{MANIFEST} is missing: the build was interrupted, or the file was deleted")
        raise UsageError(f"{root} is not a tunewise RAG index (no {MANIFEST}).", "Build one first: tunewise rag build DOCS --index DIR.")
    try:
        manifest = parse_json(read_text_limited(path, CONFIG_LIMIT, "index manifest"), str(path), "index manifest")
    except TunewiseError as exc:  # not a regular file, over the size limit, not UTF-8, not JSON, a 5,000-digit number
        raise DamagedIndexError(root, _reason(exc)) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise DamagedIndexError(root, f"{MANIFEST} is not a tunewise RAG index manifest")
    if manifest.get("version") != VERSION:
        version = repr(manifest.get("version"))[:40]
        raise DataError(f"The index at {root} has format version {version}; this tunewise reads version {VERSION}.",
                        rebuild_hint(root))
    problem = manifest_problem(manifest)
    if problem:
        raise DamagedIndexError(root, problem)
    return manifest


def skipped_from(manifest: dict) -> list[Skipped]:
    """Files the build skipped, with reasons."""
    return [Skipped(s["path"], s["reason"]) for s in manifest.get("skipped", [])]
