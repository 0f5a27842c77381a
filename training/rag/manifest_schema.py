"""The JSON schema of a RAG index's manifest.json (format version 1), and the check that applies it.

Everything `load_rag_index` and `build_rag_index` read from the manifest is described here, so a manifest that
passes can be used without further type checks: `{}`, a missing `files` table or byte count, `files` written as a
list, an unknown index type, a path outside the index folder or a negative size are all refused up front with
the place they occur. Integers are strict (JSON Schema's own "integer" also accepts 5.0).
"""

from __future__ import annotations

from typing import Any

from training.schema import schema_problem

FORMAT = "tunewise-rag-index"
VERSION = 1
MANIFEST, FAISS_FILE, CHUNKS_FILE, BM25_DIR = "manifest.json", "index.faiss", "chunks.jsonl", "bm25"
#: The files bm25s writes (lucene method, no corpus) and reads back; each must be listed in the manifest.
BM25_FILES = ("params.index.json", "vocab.index.json", "data.csc.index.npy", "indices.csc.index.npy", "indptr.csc.index.npy")
INDEX_TYPES = ("flat", "hnsw")

_COUNT = {"type": "integer", "minimum": 0, "maximum": 2**53}
_POSITIVE = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}  # FAISS and the chunker take C ints
_SHA256 = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
_TEXT = {"type": "string"}
_OPTIONAL_TEXT = {"type": ["string", "null"]}
_FILE_ENTRY = {
    "type": "object",
    "required": ["sha256", "bytes"],
    "properties": {"sha256": _SHA256, "bytes": _COUNT},
}

MANIFEST_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "tunewise RAG index manifest (manifest.json), format version 1",
    "type": "object",
    "required": ["format", "version", "signature", "embedder", "index", "bm25", "documents", "files"],
    "properties": {
        "format": {"const": FORMAT},
        "version": {"const": VERSION},
        "created": _TEXT,
        "signature": {
            "description": "What must match for an old index's chunks and vectors to be reused.",
            "type": "object",
            "required": ["embedder", "chunk_tokens", "overlap_tokens", "text_field", "chunker"],
            "properties": {
                "embedder": _TEXT, "chunk_tokens": _POSITIVE, "overlap_tokens": _COUNT,
                "text_field": _OPTIONAL_TEXT, "chunker": _POSITIVE,
            },
        },
        "embedder": {
            "type": "object",
            "required": ["name", "dimension"],
            "properties": {"name": {**_TEXT, "minLength": 1}, "model": _OPTIONAL_TEXT,
                           "dimension": {"type": "integer", "minimum": 1, "maximum": 65536}},
        },
        "chunking": {"type": "object"},
        "index": {
            "type": "object",
            "required": ["type", "vectors", "metric"],
            "properties": {
                "type": {"enum": list(INDEX_TYPES)}, "vectors": _COUNT, "metric": {"const": "inner_product"},
                "hnsw_m": _POSITIVE, "ef_construction": _POSITIVE, "ef_search": _POSITIVE,
            },
            "if": {"properties": {"type": {"const": "hnsw"}}},
            "then": {"required": ["ef_search"]},
        },
        "bm25": {
            "type": "object",
            "required": ["stemmer", "stopwords"],
            "properties": {"stemmer": _OPTIONAL_TEXT, "stopwords": _OPTIONAL_TEXT, "method": {"const": "lucene"},
                           "k1": {"type": "number"}, "b": {"type": "number"}},
        },
        "settings": {"type": "object"},
        "documents": {
            "description": "Source file (relative key) -> content hash, size and how many chunks/documents it gave.",
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["sha256", "bytes", "chunks"],
                "properties": {"sha256": _SHA256, "bytes": _COUNT, "chunks": _COUNT, "documents": _COUNT},
            },
        },
        "skipped": {
            "type": "array",
            "items": {"type": "object", "required": ["path", "reason"],
                      "properties": {"path": {"type": "string"}, "reason": {"type": "string"}}},
        },
        "files": {
            "description": "Every file of the index (relative to its folder) with its SHA-256 and size.",
            "type": "object",
            "required": [FAISS_FILE, CHUNKS_FILE, *(f"{BM25_DIR}/{name}" for name in BM25_FILES)],
            "propertyNames": {"pattern": r"^(index\.faiss|chunks\.jsonl|bm25/[A-Za-z0-9_][A-Za-z0-9._-]{0,199})$"},
            "additionalProperties": _FILE_ENTRY,
        },
    },
}


def manifest_problem(manifest: Any) -> str | None:
    """None if manifest follows MANIFEST_SCHEMA, else where and how it does not (one line, for messages)."""
    return schema_problem(MANIFEST_SCHEMA, manifest, MANIFEST)
