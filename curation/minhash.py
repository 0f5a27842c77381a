"""Near-exact duplicates before embedding: MinHash signatures of character shingles and LSH buckets (datasketch).

At millions of rows many examples are the same text give or take a typo, a space or a punctuation mark. Finding
them here, before the embedder, means each is embedded and searched once. Candidates from LSH are checked with
the exact Jaccard of each view and the same guards as the embedding path (numbers, question kind, negation and
operators, structure of SQL/JSON/code via pair_rules), so two distinct examples are never merged here.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from curation import dedupe, pair_rules, structure
from curation.errors import CancelledError

NGRAM = 5  # character shingles: a one-letter typo changes at most 5 of them
NUM_PERM = 128  # signature length: the Jaccard estimate's standard error at 0.9 is about 0.03
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class NearExact:
    """Pairs (left < right) of near-identical examples, with the MinHash estimate and the rule that decided."""

    left: np.ndarray
    right: np.ndarray
    jaccard: np.ndarray  # exact Jaccard of the shingles, the lower of the two views
    estimate: np.ndarray  # MinHash estimate on the whole example
    rules: list[str]


def shingles(text: str, n: int = NGRAM) -> set[bytes]:
    """Character n-grams of the normalised text (the whole text when shorter than n)."""
    text = dedupe.normalise_text(text)
    return {text[i : i + n].encode("utf-8", "surrogatepass") for i in range(max(1, len(text) - n + 1))}


def jaccard(a: str, b: str) -> float:
    """Exact Jaccard similarity of two texts' shingle sets."""
    sa, sb = shingles(a), shingles(b)
    return len(sa & sb) / len(sa | sb) if sa or sb else 1.0


def candidate_pairs(
    texts: Sequence[str], threshold: float, progress: Progress | None = None, cancel: threading.Event | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """LSH candidate pairs (i < j) whose MinHash Jaccard estimate is ≥ threshold, with the estimate.

    One pass: each text is queried against those before it, then inserted; only the signatures (uint32,
    NUM_PERM per text) are kept. Shingles are hashed with CRC-32 (half the time of datasketch's SHA-1 default).
    """
    from datasketch import MinHash, MinHashLSH

    n = len(texts)
    signatures = np.zeros((n, NUM_PERM), dtype=np.uint32)
    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    left: list[int] = []
    right: list[int] = []
    every = max(1, n // 100)
    sketches = MinHash.generator((shingles(t) for t in texts), num_perm=NUM_PERM, seed=1, hashfunc=zlib.crc32)
    for i, sig in enumerate(sketches):
        if i % every == 0:
            if cancel is not None and cancel.is_set():
                raise CancelledError("Curation cancelled.", "Run it again.")
            if progress:
                progress(i, n)
        signatures[i] = sig.hashvalues
        for j in lsh.query(sig):
            left.append(int(j))
            right.append(i)
        lsh.insert(i, sig, check_duplication=False)
    if progress:
        progress(n, n)
    a, b = np.array(left, dtype=np.int64), np.array(right, dtype=np.int64)
    estimate = (signatures[a] == signatures[b]).mean(axis=1) if len(a) else np.zeros(0)
    keep = estimate >= threshold
    return a[keep], b[keep], estimate[keep].astype(np.float32)


def near_exact_pairs(
    inputs: Sequence[str],
    outputs: Sequence[str],
    raw: tuple[Sequence[str], Sequence[str]],
    kinds: tuple[str, str],
    threshold: float = 0.9,
    mask_literals: bool = False,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> NearExact:
    """Pairs of examples whose input and output are each near-identical text (Jaccard ≥ threshold) and
    that pass the pair rules: same numbers and question kind, no differing negation or operator word, and the
    same normalised structure for SQL, JSON, code, labels and numbers (pair_rules.judge_views).

    `inputs`/`outputs` are the views as dedupe compares them (boilerplate removed); `raw` are the texts as
    written, which structured views are parsed from.
    """
    whole = [f"{i}\x1e{o}" for i, o in zip(inputs, outputs)]
    left, right, estimate = candidate_pairs(whole, threshold, progress, cancel)
    ok = np.zeros(len(left), dtype=bool)
    exact = np.zeros(len(left), dtype=np.float32)
    rules: list[str] = []
    is_text = [k == structure.TEXT for k in kinds]
    for p, (a, b) in enumerate(zip(left.tolist(), right.tolist())):
        views = [(inputs[a], inputs[b]), (outputs[a], outputs[b])]
        sims = [jaccard(x, y) for x, y in views]
        exact[p] = min(sims)
        if exact[p] < threshold or not _same_specifics(views, is_text):
            continue
        raw_views = [(raw[0][a], raw[0][b]), (raw[1][a], raw[1][b])]
        verdict = pair_rules.judge_views([v if t else r for v, r, t in zip(views, raw_views, is_text)],
                                         kinds, sims, threshold, mask_literals)
        if verdict.same:
            ok[p] = True
            rule = f"near-identical text (MinHash Jaccard {estimate[p]:.2f}; input {sims[0]:.2f}, output {sims[1]:.2f})"
            structured = [r for r in verdict.rule.split("; ") if not r.startswith("text ")]
            rules.append("; ".join([rule, *structured]))
    return NearExact(left[ok], right[ok], exact[ok], estimate[ok], rules)


def _same_specifics(views: list[tuple[str, str]], is_text: list[bool]) -> bool:
    """Free-text views must state the same numbers, ask the same kind of question and differ in no meaning word."""
    for (a, b), text in zip(views, is_text):
        if not text:
            continue
        if dedupe.numbers_in(a) != dedupe.numbers_in(b) or dedupe.question_kinds(a) != dedupe.question_kinds(b):
            return False
        only_a, only_b = pair_rules.differing_words(a, b)
        if (only_a | only_b) & pair_rules.MEANING_WORDS:
            return False
    return True
