"""FAISS helpers shared by curation (duplicates, clusters) and retrieval (the RAG index): how many threads a
job gets, and an inner-product index sized to the number of vectors. FAISS is imported where it is used."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

IVF_ABOVE = 50_000  # exact inner-product search below this many vectors, IVF above (faiss wiki guidance)
SMALL_JOB = 5_000  # below this many items (vectors, or vectors x queries) a job runs on one thread


@contextmanager
def faiss_threads(n_items: int) -> Iterator[None]:
    """One OpenMP thread for small jobs: FAISS's spinning threads slow small searches 5-10x on a busy machine."""
    import faiss

    before = faiss.omp_get_max_threads()
    if n_items < SMALL_JOB:
        faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def build_index(vectors: np.ndarray, seed: int = 0, ivf_above: int | None = None):
    """A FAISS inner-product index: exact (flat) for small sets, IVF past `ivf_above` (None: IVF_ABOVE) vectors (no HNSW);
    dedupe.search_recall measures what the IVF search misses against exact search."""
    import faiss

    n, dim = vectors.shape
    if n <= (IVF_ABOVE if ivf_above is None else ivf_above):
        index = faiss.IndexFlatIP(dim)
    else:
        nlist = int(4 * np.sqrt(n))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(seed)
        index.train(vectors[rng.choice(n, size=min(n, 256 * nlist), replace=False)])
        index.nprobe = 16
    index.add(vectors)
    return index
