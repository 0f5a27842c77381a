"""Clusters of examples: FAISS k-means with k chosen by silhouette, keywords by class-based TF-IDF, medoids."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from curation.vectors import build_index, faiss_threads

SILHOUETTE_SAMPLE = 2000  # points used to score each candidate k
MAX_K = 30


@dataclass
class Cluster:
    """One cluster: its members, its most typical member and the words that set it apart."""

    id: int
    size: int
    medoid: int
    keywords: list[str] = field(default_factory=list)
    members: list[int] = field(default_factory=list)


@dataclass
class Clustering:
    """Result of clustering: a label per item, centroids and per-cluster summaries."""

    labels: np.ndarray
    k: int
    centroids: np.ndarray
    clusters: list[Cluster]
    k_scores: dict[int, float] = field(default_factory=dict)  # silhouette per candidate k (auto mode)
    method: str = "auto"


def kmeans(vectors: np.ndarray, k: int, seed: int = 0, niter: int = 25, nredo: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Spherical k-means with FAISS; returns (labels, unit-norm centroids)."""
    import faiss

    km = faiss.Kmeans(
        vectors.shape[1], k, niter=niter, seed=seed, spherical=True, nredo=nredo, verbose=False,
        min_points_per_centroid=1, max_points_per_centroid=256,
    )
    with faiss_threads(len(vectors)):
        km.train(np.ascontiguousarray(vectors, dtype=np.float32))
        _, labels = km.index.search(np.ascontiguousarray(vectors, dtype=np.float32), 1)
    return labels.ravel().astype(np.int64), km.centroids


def candidate_ks(n: int) -> list[int]:
    """k values tried in auto mode: 2 … min(MAX_K, √n·1.5), denser at small k."""
    upper = int(min(MAX_K, max(2, np.sqrt(n) * 1.5), n - 1))
    return sorted({k for k in [*range(2, 13), 14, 16, 18, 20, 24, 28, 30] if 2 <= k <= upper})


def choose_k(vectors: np.ndarray, seed: int = 0) -> tuple[int, dict[int, float]]:
    """The k with the best mean silhouette (cosine) on a sample, the largest within 2% of it; returns (k, scores)."""
    from sklearn.metrics import silhouette_score

    rng = np.random.default_rng(seed)
    sample = vectors if len(vectors) <= SILHOUETTE_SAMPLE else vectors[rng.choice(len(vectors), SILHOUETTE_SAMPLE, replace=False)]
    scores = {}
    for k in candidate_ks(len(vectors)):
        labels, _ = kmeans(sample, k, seed)
        if len(set(labels.tolist())) < 2:
            continue
        scores[k] = float(silhouette_score(sample, labels, metric="cosine"))
    if not scores:
        return 1, scores
    best = max(scores.values())
    # Silhouette is flat on text embeddings: among near-ties prefer the finer clustering (more useful to review).
    return max(k for k, s in scores.items() if s >= best - 0.02 * abs(best)), scores


def _stop_words() -> list[str]:
    """English stop words plus the greetings and contractions that fill chat data."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    chat = "hi hello hey thanks thank please dear regards cheers i'm it's i've i'll i'd you're you'll we're we'll we've don't can't won't didn't doesn't isn't that's there's let's".split()
    return sorted(ENGLISH_STOP_WORDS | set(chat))


def class_tfidf_keywords(texts: Sequence[str], labels: np.ndarray, top: int = 6) -> dict[int, list[str]]:
    """Top words per cluster by class-based TF-IDF (BERTopic's c-TF-IDF: tf · log(1 + A / f))."""
    from sklearn.feature_extraction.text import CountVectorizer

    _STOP_WORDS = _stop_words()
    ids = sorted(set(labels.tolist()))
    documents = [" ".join(texts[i] for i in np.flatnonzero(labels == c)) for c in ids]
    try:
        vectorizer = CountVectorizer(stop_words=_STOP_WORDS, ngram_range=(1, 2), min_df=1, token_pattern=r"(?u)\b[^\W\d_][\w'-]+\b")
        counts = vectorizer.fit_transform(documents).astype(np.float64).toarray()
    except ValueError:  # only stop words / empty texts
        return {c: [] for c in ids}
    words = vectorizer.get_feature_names_out()
    tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    average = counts.sum() / len(ids)
    idf = np.log(1 + average / np.maximum(counts.sum(axis=0), 1))
    scores = tf * idf
    return {c: [str(words[j]) for j in np.argsort(-scores[row])[:top] if scores[row, j] > 0] for row, c in enumerate(ids)}


def cluster_embeddings(
    vectors: np.ndarray, k: int | None = None, texts: Sequence[str] | None = None, seed: int = 0
) -> Clustering:
    """Cluster normalised vectors; k=None chooses k by silhouette."""
    n = len(vectors)
    if n < 3:
        labels = np.zeros(n, dtype=np.int64)
        centroid = vectors.mean(axis=0, keepdims=True) if n else np.zeros((1, vectors.shape[1]), np.float32)
        return _summarise(vectors, labels, centroid, texts, {}, "trivial")
    scores: dict[int, float] = {}
    method = "fixed"
    if k is None:
        k, scores = choose_k(vectors, seed)
        method = "silhouette"
    k = max(1, min(k, n))
    labels, centroids = kmeans(vectors, k, seed, niter=50, nredo=10) if k > 1 else (np.zeros(n, dtype=np.int64), None)
    if centroids is None:
        centroids = vectors.mean(axis=0, keepdims=True)
    return _summarise(vectors, labels, centroids, texts, scores, method)


def _summarise(vectors, labels, centroids, texts, scores, method) -> Clustering:
    """Renumber clusters by size (0 = largest) and fill in medoids and keywords."""
    present = sorted(set(labels.tolist()), key=lambda c: (-int((labels == c).sum()), c))
    remap = {old: new for new, old in enumerate(present)}
    labels = np.array([remap[c] for c in labels.tolist()], dtype=np.int64)
    centroids = np.asarray(centroids, dtype=np.float32)[present]
    norms = np.linalg.norm(centroids, axis=1, keepdims=True)
    centroids = centroids / np.where(norms > 0, norms, 1)
    keywords = class_tfidf_keywords(texts, labels) if texts is not None and len(labels) else {}
    clusters = []
    for c in range(len(present)):
        members = np.flatnonzero(labels == c)
        medoid = int(members[np.argmax(vectors[members] @ centroids[c])])
        clusters.append(Cluster(c, len(members), medoid, keywords.get(c, []), members.tolist()))
    return Clustering(labels, len(present), centroids, clusters, scores, method)


def neighbour_distance(vectors: np.ndarray, k: int = 5) -> np.ndarray:
    """Cosine distance to the k nearest other vectors, averaged (cleanlab's out-of-distribution score)."""
    n = len(vectors)
    if n < 2:
        return np.zeros(n, dtype=np.float32)
    with faiss_threads(n):
        sims, idx = build_index(np.ascontiguousarray(vectors, dtype=np.float32)).search(vectors, min(k + 1, n))
    others = np.where(idx == np.arange(n)[:, None], np.nan, sims)[:, : min(k + 1, n)]
    return (1.0 - np.nanmean(others, axis=1)).astype(np.float32)


def robust_z(values: np.ndarray, floor: float = 1e-9) -> np.ndarray:
    """(x − median) / (1.4826·MAD): how unusual each value is, insensitive to the outliers themselves.

    ``floor`` is the smallest spread that counts: below it (most values equal) a difference in the last float
    digits would otherwise read as many standard deviations."""
    median = np.median(values)
    mad = np.median(np.abs(values - median)) * 1.4826
    return (values - median) / max(mad if mad > 1e-9 else float(np.std(values)), floor)
