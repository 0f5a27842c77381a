"""Exact and near-duplicate detection: hashing, then FAISS nearest neighbours on every view of an example."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from curation import vectors as faiss_index
from curation.vectors import build_index, faiss_threads

POLICIES = ("first", "longest", "central")
RECALL_SAMPLE = 1000  # queries whose approximate neighbours are checked against exact search

_NUMBER = re.compile(r"\d{1,3}(?:,\s?\d{3})+(?:\.\d+)?|\d+(?:[.,]\d+)*")  # "89,148" = "89, 148"
_SPACE = re.compile(r"\s+")
# "three times" = "3 times"; "one" is left out: it is far more often a pronoun than a number.
_NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    "zero _ two three four five six seven eight nine ten eleven twelve".split()) if w != "_"}
_NUMBER_WORD = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b")
# Two questions that embed alike but ask for a different kind of answer ("Who founded X?" / "When was X
# founded?") are different examples; seen among SQuAD questions at cosine 0.90-0.97 (bench/curate.py).
_QUESTION_KINDS = [
    (kind, re.compile(pattern, re.IGNORECASE))
    for kind, pattern in (
        ("person", r"\bwho(m|se)?\b|\b(what|which) (person|man|woman|group|company|team|player|artist)\b"),
        ("time", r"\bwhen\b|\b(what|which) (year|date|day|month|century|decade|time|period|season)\b"),
        ("place", r"\bwhere\b|\b(what|which) (city|country|state|place|region|town|location|continent|venue|stadium)\b"),
        ("quantity", r"\bhow (many|much|long|far|big|large|old|often|fast|high|tall|heavy)\b|\bwhat (percentage|percent|number|amount|size)\b"),
        ("reason", r"\bwhy\b|\bfor what reason\b"),
        ("manner", r"\bhow (do|does|did|can|could|should|would|is|are|was|were|to)\b"),
    )
]


@dataclass
class DuplicateGroup:
    """One kept example and the examples removed as its duplicates."""

    keep: int
    members: list[int]
    similarity: list[float] = field(default_factory=list)
    kind: str = "near"


@dataclass(frozen=True)
class Recall:
    """How many of the exact search's neighbour pairs (≥ threshold) the approximate index found, on a sample."""

    queries: int
    exact_pairs: int
    found: int

    @property
    def value(self) -> float | None:
        """found / exact_pairs, or None when the sample held no pair to find."""
        return self.found / self.exact_pairs if self.exact_pairs else None

    def to_dict(self) -> dict:
        """Plain JSON-able data for the report."""
        value = self.value
        return {"recall": None if value is None else round(value, 4), "queries": self.queries,
                "exact_pairs": self.exact_pairs, "found": self.found}


@dataclass(frozen=True)
class Pairs:
    """Candidate neighbour pairs (i < j) with their similarity in the searched view."""

    left: np.ndarray
    right: np.ndarray
    similarity: np.ndarray
    recall: Recall | None = None  # set when an approximate (IVF) index found them


def normalise_text(text: str) -> str:
    """Case-, width- and whitespace-insensitive form used for exact duplicates."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def text_hash(text: str) -> str:
    """Hash of the normalised text."""
    return hashlib.blake2b(normalise_text(text).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def numbers_in(text: str) -> frozenset[str]:
    """The numbers a text states (order ids, sizes, prices, dates): texts that differ here say different things."""
    digits = {re.sub(r"[,\s]", "", n) for n in _NUMBER.findall(text)}
    words = {_NUMBER_WORDS[w] for w in _NUMBER_WORD.findall(text.lower())}
    return frozenset(digits | words)


def question_kinds(text: str) -> frozenset[str]:
    """What kinds of answer an English question asks for (person, time, place, quantity, reason, manner)."""
    return frozenset(kind for kind, pattern in _QUESTION_KINDS if pattern.search(text))


def exact_duplicate_groups(keys: Sequence[str], priority: Sequence[float] | None = None) -> list[DuplicateGroup]:
    """Groups of items with the same key; the highest priority (then the first) is kept."""
    by_key: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        by_key.setdefault(key, []).append(i)
    groups = []
    for items in by_key.values():
        if len(items) > 1:
            keep = items[0] if priority is None else max(items, key=lambda i: (priority[i], -i))
            members = [i for i in items if i != keep]
            groups.append(DuplicateGroup(keep, members, [1.0] * len(members), kind="exact"))
    return sorted(groups, key=lambda g: g.keep)


def neighbour_pairs(vectors: np.ndarray, threshold: float, k: int = 20, ivf_above: int | None = None) -> Pairs:
    """Pairs (i < j) among each vector's k nearest neighbours with similarity ≥ threshold.

    Past `ivf_above` vectors (None: vectors.IVF_ABOVE) the search is approximate (IVF); its recall against exact search on a sample of
    queries is then measured and returned with the pairs.
    """
    n = len(vectors)
    if n < 2:
        empty = np.zeros(0, dtype=np.int64)
        return Pairs(empty, empty, np.zeros(0, dtype=np.float32))
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    ivf_above = faiss_index.IVF_ABOVE if ivf_above is None else ivf_above
    with faiss_threads(n):
        sims, idx = build_index(vectors, ivf_above=ivf_above).search(vectors, min(k + 1, n))
    recall = search_recall(vectors, idx, sims, threshold) if n > ivf_above else None
    rows = np.repeat(np.arange(n), idx.shape[1])
    cols, sims = idx.ravel(), sims.ravel()
    keep = (cols >= 0) & (cols != rows) & (sims >= threshold)
    left, right = np.minimum(rows[keep], cols[keep]), np.maximum(rows[keep], cols[keep])
    pair_ids, first = np.unique(left * n + right, return_index=True)
    return Pairs(left[first], right[first], sims[keep][first], recall)


def search_recall(
    vectors: np.ndarray, idx: np.ndarray, sims: np.ndarray, threshold: float, sample: int = RECALL_SAMPLE, seed: int = 0
) -> Recall:
    """Recall of an approximate search's neighbours (idx, sims: its result for every vector) against exact
    search, on a random sample of queries: the exact top-k at ≥ threshold, computed block by block."""
    n, kk = idx.shape
    rng = np.random.default_rng(seed)
    queries = np.sort(rng.choice(n, size=min(n, sample), replace=False))
    q = vectors[queries]
    rows, cols, scores = [], [], []
    for start in range(0, n, 16384):  # a block of similarities stays small (16k x 1,000 floats = 64 MB)
        block = np.asarray(vectors[start : start + 16384]) @ q.T
        r, c = np.nonzero(block >= threshold)
        rows.append(c)
        cols.append(r + start)
        scores.append(block[r, c])
    rows, cols, scores = np.concatenate(rows), np.concatenate(cols), np.concatenate(scores)
    order = np.lexsort((-scores, rows))  # by query, best first
    rows, cols = rows[order], cols[order]
    bounds = np.searchsorted(rows, np.arange(len(queries) + 1))
    exact_pairs = found = 0
    for p, query in enumerate(queries.tolist()):
        exact = set(cols[bounds[p] : min(bounds[p + 1], bounds[p] + kk)].tolist()) - {query}
        approx = {int(j) for j, s in zip(idx[query], sims[query]) if j >= 0 and j != query and s >= threshold}
        exact_pairs += len(exact)
        found += len(exact & approx)
    return Recall(len(queries), exact_pairs, found)


def pair_similarity(vectors: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Cosine similarity of each (left, right) pair of normalised vectors."""
    return np.einsum("ij,ij->i", vectors[left], vectors[right])


def same_numbers(texts: Sequence[str], left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Whether each pair of texts states the same numbers."""
    numbers = {int(i): numbers_in(texts[i]) for i in np.union1d(left, right)}
    return np.array(
        [numbers[a] == numbers[b] for a, b in zip(left.tolist(), right.tolist())],
        dtype=bool,
    )


def same_specifics(texts: Sequence[str], left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Whether each pair states the same numbers and, for questions, asks for the same kind of answer."""
    kinds = {int(i): question_kinds(texts[i]) for i in np.union1d(left, right)}
    same_kind = np.array([kinds[a] == kinds[b] for a, b in zip(left.tolist(), right.tolist())], dtype=bool)
    return same_kind & same_numbers(texts, left, right) if len(same_kind) else same_kind


def duplicate_pairs(
    views: Sequence[np.ndarray], threshold: float, texts: Sequence[str] | None = None, k: int = 20
) -> Pairs:
    """Pairs similar in every view (≥ threshold) and, when texts are given, agreeing on specifics (same_specifics)."""
    pairs = similar_in_every_view(neighbour_pairs(views[0], threshold, k), views[1:], threshold)
    if texts is None or not len(pairs.left):
        return pairs
    ok = same_specifics(texts, pairs.left, pairs.right)
    return Pairs(pairs.left[ok], pairs.right[ok], pairs.similarity[ok], pairs.recall)


def similar_in_every_view(pairs: Pairs, other_views: Sequence[np.ndarray], threshold: float) -> Pairs:
    """The pairs (found in one view) that are also ≥ threshold in every other view, scored by their lowest view."""
    score = pairs.similarity
    ok = np.ones(len(score), dtype=bool)
    for view in other_views:
        other = pair_similarity(view, pairs.left, pairs.right)
        ok &= other >= threshold
        score = np.minimum(score, other)
    return Pairs(pairs.left[ok], pairs.right[ok], score[ok], pairs.recall)


def group_pairs(
    n: int, pairs: Pairs, policy: str = "first", lengths: Sequence[int] | None = None
) -> list[DuplicateGroup]:
    """Turn duplicate pairs into groups; each removed item is a direct duplicate of its group's kept item."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, not {policy!r}")
    if not len(pairs.left):
        return []
    graph = coo_matrix((pairs.similarity, (pairs.left, pairs.right)), shape=(n, n)).tocsr()
    graph = graph.maximum(graph.T)
    _, labels = connected_components(graph, directed=False)
    sizes = np.bincount(labels)
    groups = []
    for label in np.flatnonzero(sizes > 1):
        remaining = list(np.flatnonzero(labels == label))
        while len(remaining) > 1:
            sub = graph[remaining][:, remaining]
            keep_pos = _choose_keeper(remaining, sub, policy, lengths)
            row = sub.getrow(keep_pos).toarray().ravel()
            linked = [p for p in np.flatnonzero(row > 0) if p != keep_pos]
            if not linked:
                remaining.pop(keep_pos)
                continue
            groups.append(
                DuplicateGroup(int(remaining[keep_pos]), [int(remaining[p]) for p in linked], [float(row[p]) for p in linked])
            )
            gone = set(linked) | {keep_pos}
            remaining = [item for p, item in enumerate(remaining) if p not in gone]
    return sorted(groups, key=lambda g: g.keep)


def _choose_keeper(items: list[int], sub, policy: str, lengths: Sequence[int] | None) -> int:
    """Position (in items) of the example a group keeps."""
    if policy == "longest" and lengths is not None:
        return max(range(len(items)), key=lambda p: (lengths[items[p]], -items[p]))
    if policy == "central":
        degree = np.asarray(sub.sum(axis=1)).ravel()
        return max(range(len(items)), key=lambda p: (degree[p], -items[p]))
    if policy == "first":
        return min(range(len(items)), key=lambda p: items[p])
    return 0


def near_duplicate_groups(
    views: Sequence[np.ndarray],
    threshold: float,
    texts: Sequence[str] | None = None,
    k: int = 20,
    policy: str = "first",
    lengths: Sequence[int] | None = None,
) -> list[DuplicateGroup]:
    """Near-duplicate groups: similar in every view and, with texts, agreeing on numbers and question kind."""
    pairs = duplicate_pairs(views, threshold, texts, k)
    return group_pairs(len(views[0]), pairs, policy, lengths)
