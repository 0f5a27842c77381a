"""Retrieval over a RagIndex: dense (FAISS), BM25, or both fused by reciprocal rank (Cormack et al., 2009).

RRF score of a chunk = Σ over methods of weight / (rrf_k + rank), rank counted from 1 within each method's
top `depth` candidates; a chunk missing from one list gets nothing from it.

Defaults from bench/rag.py (SQuAD v1.1 dev, tuned on half the questions, scored on the other half): the
paper's rrf_k = 60 gave recall@5 0.934 (BM25 0.921, dense 0.872); rrf_k = 10 gave 0.953, MRR@10 0.838
(BM25 0.830) and recall@1 0.754 (BM25 0.760). Weighting BM25 1.5×
raised recall@1 to 0.770 on SQuAD, whose questions were written while reading the paragraph (a lexical
bias we do not build into the default). Depths from 20 to 200 changed recall@5 by under half a point.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

import numpy as np

from curation.errors import CancelledError, UsageError
from training.rag.index import RagIndex, bm25_tokenize

MODES = ("dense", "bm25", "hybrid")
BATCH = 256  # queries per step (embedding and search), so progress and cancel react within a second or so
FEW = 4  # up to this many queries are embedded on one thread (see embed_queries)


@dataclass
class RetrieveConfig:
    """How chunks are retrieved."""

    k: int = field(default=5, metadata={"help": "Chunks returned per question."})
    mode: str = field(default="hybrid", metadata={"help": "dense (embeddings), bm25 (words) or hybrid (both, RRF)."})
    depth: int = field(default=100, metadata={"help": "Candidates taken from each method before fusing (hybrid)."})
    rrf_k: int = field(default=10, metadata={"help": "RRF constant: larger flattens the weight of top ranks "
                                                     "(60 in Cormack et al.; 10 measured better, see above)."})
    dense_weight: float = field(default=1.0, metadata={"help": "Weight of the dense ranking in the fusion."})
    bm25_weight: float = field(default=1.0, metadata={"help": "Weight of the BM25 ranking in the fusion."})

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise UsageError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}.")
        for name in ("k", "depth", "rrf_k"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < (0 if name == "rrf_k" else 1):
                raise UsageError(f"{name} must be a positive integer, not {getattr(self, name)!r}.")
        for name in ("dense_weight", "bm25_weight"):
            if getattr(self, name) < 0:
                raise UsageError(f"{name} must be ≥ 0, not {getattr(self, name)!r}.")


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk: where it is from (source file, heading path, character span) and its score."""

    source: str
    heading: str
    score: float
    text: str
    span: tuple[int, int]
    chunk: int
    rank: int

    def to_dict(self) -> dict:
        """JSON-ready form (the CLI's --json)."""
        record = asdict(self)
        record["span"] = list(self.span)
        return record


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run torch on n intra-op threads inside the block (process-wide setting, restored after)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def embed_queries(embedder, queries: Sequence[str]) -> np.ndarray:
    """Query vectors; a few queries are embedded on one thread: on 2 busy cores a 2-thread encode of one
    question took 200-500 ms (one thread waiting for the other to be scheduled) against 12-16 ms on one."""
    if len(queries) > FEW:
        return embedder.encode(queries)
    with torch_threads(1):
        return embedder.encode(queries)


def dense_candidates(index: RagIndex, vectors: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-depth chunk ids and cosine similarities per query vector (-1 pads short results)."""
    from curation.vectors import faiss_threads

    depth = min(depth, index.faiss.ntotal)
    # a few queries search on one thread: one query over 100k vectors took 6 ms on one thread, 40 on two busy ones
    with faiss_threads(len(vectors) if len(vectors) <= FEW else index.faiss.ntotal * len(vectors)):
        scores, ids = index.faiss.search(np.ascontiguousarray(vectors, dtype=np.float32), depth)
    return ids, scores


def bm25_candidates(index: RagIndex, queries: Sequence[str], depth: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-depth chunk ids and BM25 scores per query; chunks scoring 0 (no query word) are dropped (id -1)."""
    settings = index.manifest["bm25"]
    tokens = bm25_tokenize(queries, settings["stemmer"], settings["stopwords"])
    depth = min(depth, len(index.chunks))
    ids, scores = index.bm25.retrieve(tokens, k=depth, show_progress=False, n_threads=0)
    ids = np.where(scores > 0, ids, -1)
    return ids, scores


def rrf_fuse(
    rankings: Sequence[np.ndarray],
    weights: Sequence[float],
    rrf_k: int,
    top: int,
    scores: Sequence[np.ndarray] | None = None,
) -> list[tuple[int, float]]:
    """Reciprocal rank fusion of ranked id lists (-1 ignored): the top (id, score) pairs, best first.

    Equal RRF scores are common (one method's 1st against the other's 1st, each missing from the other's
    list); when `scores` are given they are broken by the methods' own scores as z-scores within each
    method's candidates (weighted): the hit that stands further above its own method's other candidates wins.
    """
    fused: dict[int, float] = {}
    tie: dict[int, float] = {}
    for m, (ranking, weight) in enumerate(zip(rankings, weights)):
        if weight == 0:
            continue
        z = _zscores(np.asarray(scores[m], dtype=np.float64), ranking >= 0) if scores is not None else None
        for rank, chunk in enumerate(ranking.tolist(), 1):
            if chunk < 0:
                continue
            fused[chunk] = fused.get(chunk, 0.0) + weight / (rrf_k + rank)
            if z is not None:
                tie[chunk] = tie.get(chunk, 0.0) + weight * float(z[rank - 1])
    return sorted(fused.items(), key=lambda kv: (-kv[1], -tie.get(kv[0], 0.0), kv[0]))[:top]


def _zscores(raw: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(score − mean) / std over the valid entries (0 where invalid or all equal)."""
    if not valid.any():
        return np.zeros(len(raw))
    mean, std = raw[valid].mean(), raw[valid].std()
    return np.where(valid, (raw - mean) / std, 0.0) if std > 0 else np.zeros(len(raw))


def search(
    index: RagIndex,
    queries: Sequence[str],
    config: RetrieveConfig | None = None,
    embedder=None,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> list[list[Hit]]:
    """The top-k hits for each query (dense and hybrid need the index's embedder)."""
    config = config or RetrieveConfig()
    if config.mode != "bm25" and embedder is None:
        raise UsageError(f"mode {config.mode} needs an embedder.", "Pass the embedder the index was built with.")
    if embedder is not None and embedder.name != index.embedder_name and config.mode != "bm25":
        from curation.errors import DataError

        raise DataError(f"The index was built with {index.embedder_name}, not {embedder.name}.",
                        "Query with the embedder the index was built with, or rebuild it.")
    results: list[list[Hit]] = []
    depth = config.k if config.mode != "hybrid" else max(config.depth, config.k)
    for start in range(0, len(queries), BATCH):
        if cancel is not None and cancel.is_set():
            raise CancelledError("Search cancelled.")
        batch = list(queries[start : start + BATCH])
        dense = bm25 = None
        if config.mode in ("dense", "hybrid"):
            dense = dense_candidates(index, embed_queries(embedder, batch), depth)
        if config.mode in ("bm25", "hybrid"):
            bm25 = bm25_candidates(index, batch, depth)
        for q in range(len(batch)):
            if config.mode == "hybrid":
                ranked = rrf_fuse([dense[0][q], bm25[0][q]], [config.dense_weight, config.bm25_weight], config.rrf_k,
                                  config.k, scores=[dense[1][q], bm25[1][q]])
            else:
                ids, scores = dense if config.mode == "dense" else bm25
                ranked = [(int(i), float(s)) for i, s in zip(ids[q], scores[q]) if i >= 0][: config.k]
            results.append([_hit(index, chunk, score, rank) for rank, (chunk, score) in enumerate(ranked, 1)])
        if progress:
            progress(min(start + BATCH, len(queries)), len(queries))
    return results


def _hit(index: RagIndex, chunk_id: int, score: float, rank: int) -> Hit:
    chunk = index.chunks[chunk_id]
    return Hit(chunk.source, chunk.heading, round(float(score), 6), chunk.text, (chunk.start, chunk.end), chunk_id, rank)
