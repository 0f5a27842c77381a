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

import hashlib
import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from curation.errors import CancelledError, DataError, UsageError
from training.rag.chunk import Chunk, ChunkConfig, chunk_documents
from training.rag.ingest import Skipped, read_sources, scan

FORMAT = "tunewise-rag-index"
VERSION = 1
MANIFEST, FAISS_FILE, CHUNKS_FILE, BM25_DIR = "manifest.json", "index.faiss", "chunks.jsonl", "bm25"
Progress = Callable[[str, int, int], None]


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
    from curation.embed import Embedder

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
        from curation.dedupe import faiss_threads

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
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST).exists():
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
    if not (out / MANIFEST).exists():
        return None, None
    try:
        old = load_rag_index(out)
    except DataError as exc:
        return None, f"the existing index could not be loaded ({exc.message})"
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

    from curation.dedupe import faiss_threads

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
    """Write every file under a temporary name, move them into place, and write the manifest last."""
    import faiss

    out.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:8]
    tmp_faiss = out / f".{FAISS_FILE}.{tag}.tmp"
    faiss.write_index(index, str(tmp_faiss))
    tmp_chunks = out / f".{CHUNKS_FILE}.{tag}.tmp"
    with open(tmp_chunks, "w", encoding="utf-8") as handle:
        for i, chunk in enumerate(chunks):
            handle.write(json.dumps({"id": i, **chunk.to_record()}, ensure_ascii=False) + "\n")
    tmp_bm25 = out / f".{BM25_DIR}.{tag}.tmp"
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
    os.replace(tmp_faiss, out / FAISS_FILE)
    os.replace(tmp_chunks, out / CHUNKS_FILE)
    old_bm25 = out / f".{BM25_DIR}.{tag}.old"
    if (out / BM25_DIR).exists():
        os.replace(out / BM25_DIR, old_bm25)
    os.replace(tmp_bm25, out / BM25_DIR)
    shutil.rmtree(old_bm25, ignore_errors=True)
    tmp_manifest = out / f".{MANIFEST}.{tag}.tmp"
    tmp_manifest.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp_manifest, out / MANIFEST)


def _file_entry(path: Path) -> dict:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"sha256": digest.hexdigest(), "bytes": path.stat().st_size}


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
    """Load and check an index; embedder_name (an Embedder's .name) must match the one it was built with."""
    import bm25s
    import faiss

    root = Path(index_dir)
    manifest = read_manifest(root)
    if embedder_name is not None and embedder_name != manifest["embedder"]["name"]:
        raise DataError(
            f"The index in {root} was built with the embedder {manifest['embedder']['name']}, "
            f"not {embedder_name}: its vectors cannot be compared with this embedder's.",
            f"Query with --embedder {manifest['embedder'].get('model') or 'default'}, or rebuild the index with this embedder.",
        )
    for name, entry in manifest["files"].items():
        path = root / name
        if not path.is_file():
            raise DataError(f"The index in {root} is incomplete: {name} is missing.", _REBUILD)
        if path.stat().st_size != entry["bytes"] or (verify and _file_entry(path)["sha256"] != entry["sha256"]):
            raise DataError(f"The index in {root} is corrupt: {name} does not match its checksum in {MANIFEST} "
                            "(changed or damaged since the build, or the build was interrupted).", _REBUILD)
    try:
        index = faiss.read_index(str(root / FAISS_FILE))
    except RuntimeError as exc:
        raise DataError(f"The index in {root} is corrupt: FAISS cannot read {FAISS_FILE} "
                        f"({str(exc).strip().splitlines()[-1][:200]}).", _REBUILD) from exc
    chunks = []
    try:
        with open(root / CHUNKS_FILE, encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line)
                record.pop("id", None)
                chunks.append(Chunk(**record))
    except (json.JSONDecodeError, TypeError, UnicodeDecodeError) as exc:
        raise DataError(f"The index in {root} is corrupt: {CHUNKS_FILE} cannot be read ({exc}).", _REBUILD) from exc
    if index.ntotal != len(chunks) or index.d != manifest["embedder"]["dimension"]:
        raise DataError(f"The index in {root} is inconsistent: {index.ntotal} vectors of {index.d} dimensions for "
                        f"{len(chunks)} chunks ({manifest['embedder']['dimension']} dimensions expected).", _REBUILD)
    if manifest["index"]["type"] == "hnsw":
        index.hnsw.efSearch = manifest["index"]["ef_search"]
    try:
        bm25 = bm25s.BM25.load(str(root / BM25_DIR), allow_pickle=False, show_progress=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"The index in {root} is corrupt: its BM25 index cannot be read ({exc}).", _REBUILD) from exc
    return RagIndex(root, manifest, chunks, index, bm25)


_REBUILD = "Build it again: tunewise rag build DOCS --index DIR (delete the folder first if it keeps failing)."


def read_manifest(root: Path) -> dict:
    """manifest.json of an index folder, checked for format and version."""
    path = root / MANIFEST
    if not root.is_dir():
        raise UsageError(f"No index folder at {root}.", "Build one first: tunewise rag build DOCS --index DIR.")
    if not path.is_file():
        raise UsageError(f"{root} is not a tunewise RAG index (no {MANIFEST}).", "Build one first: tunewise rag build DOCS --index DIR.")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"The index in {root} is corrupt: {MANIFEST} is not valid JSON ({exc}).", _REBUILD) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise DataError(f"{path} is not a tunewise RAG index manifest.", _REBUILD)
    if manifest.get("version") != VERSION:
        raise DataError(f"The index in {root} has format version {manifest.get('version')}; this tunewise reads {VERSION}.", _REBUILD)
    return manifest


def skipped_from(manifest: dict) -> list[Skipped]:
    """Files the build skipped, with reasons."""
    return [Skipped(s["path"], s["reason"]) for s in manifest.get("skipped", [])]
