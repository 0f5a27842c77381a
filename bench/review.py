"""Review at scale on ASSET: how many groups of possible duplicates a curator decides to reach a surfaced recall of
0.8, against deciding the same pairs one by one, and at what precision (issue #14, item 2).

ASSET (bench/_data.py asset_groups: 359 sentences, each with 9 human rewrites) is curated the way `tunewise curate`
does it on one text view: candidate pairs at the review threshold (curation.dedupe.duplicate_pairs: cosine and the
same-numbers/question-kind guards), pairs at or above the removal threshold (0.90) removed (dedupe.group_pairs),
the rest between the two flagged as possible duplicates — among examples neither of which was removed, as curation
writes them. The flags are then grouped and ranked by curation.review_groups, as `tunewise review list` shows them.

Curators simulated:
- by group, in rank order, an oracle: accepts a group when all its members are rewrites of one sentence, else
  rejects it;
- pair by pair, highest similarity first, the same oracle on each pair (today's review, one pair at a time);
- bulk: `tunewise review accept --all-above S`, no human look at all.
Recall and precision are pairwise over the merged groups (transitive, as bench/curate.py's pair_scores): removed
plus accepted. Run: .venv/bin/python bench/review.py [--quick] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import _data  # noqa: E402

REVIEW_THRESHOLDS = (0.80, 0.75, 0.70, 0.65, 0.60)
REMOVAL_THRESHOLD = 0.90
TARGET_RECALL = 0.8
RECALL_STEPS = (0.5, 0.6, 0.7, 0.75, 0.8)  # decisions needed to reach each
BULK_SCORES = (0.88, 0.85, 0.82, 0.80, 0.75, 0.70)


class Merges:
    """Union-find that keeps pairwise precision and recall exact as groups merge (counts of true labels per set)."""

    def __init__(self, truth: np.ndarray) -> None:
        self.parent = list(range(len(truth)))
        self.counts = [Counter({int(t): 1}) for t in truth]
        sizes = np.bincount(truth)
        self.true_pairs = int((sizes * (sizes - 1) // 2).sum())
        self.predicted = 0
        self.correct = 0

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        ca, cb = self.counts[ra], self.counts[rb]
        if len(ca) < len(cb):
            ra, rb, ca, cb = rb, ra, cb, ca
        self.predicted += sum(ca.values()) * sum(cb.values())
        self.correct += sum(n * ca.get(t, 0) for t, n in cb.items())
        ca.update(cb)
        self.parent[rb] = ra

    def merge(self, members) -> None:
        first, *rest = members
        for m in rest:
            self.union(first, m)

    @property
    def recall(self) -> float:
        return self.correct / self.true_pairs if self.true_pairs else 1.0

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 1.0


def curate_like(vectors: np.ndarray, texts: list[str], review: float):
    """Removal groups and the possible-duplicate flags as curation writes them, for one text view."""
    from curation import dedupe
    from curation.review_groups import CandidatePair

    found = dedupe.duplicate_pairs([vectors], review, texts)
    sure = found.similarity >= REMOVAL_THRESHOLD
    removal = dedupe.group_pairs(len(texts), dedupe.Pairs(found.left[sure], found.right[sure], found.similarity[sure]))
    removed = {m for g in removal for m in g.members}
    flags = [CandidatePair(str(b), str(a), float(s)) for a, b, s in
             zip(found.left[~sure].tolist(), found.right[~sure].tolist(), found.similarity[~sure].tolist())
             if a not in removed and b not in removed]
    return removal, flags


def simulate(truth: np.ndarray, texts: list[str], vectors: np.ndarray, review: float) -> dict:
    """Every curator on the flags of one review threshold."""
    from curation.review_groups import group_candidates

    removal, flags = curate_like(vectors, texts, review)

    def start() -> Merges:
        m = Merges(truth)
        for g in removal:
            m.merge([g.keep, *g.members])
        return m

    t0 = time.perf_counter()
    groups = group_candidates(flags, [str(i) for i in range(len(texts))], {str(i): t for i, t in enumerate(texts)})
    grouping_s = time.perf_counter() - t0
    members = [[int(x) for x in g.members] for g in groups]
    pure = [len({int(truth[x]) for x in ms}) == 1 for ms in members]

    base = start()
    out = {"review_threshold": review, "flagged_pairs": len(flags), "groups": len(groups),
           "largest_group": max((len(ms) for ms in members), default=0), "grouping_seconds": round(grouping_s, 3),
           "pure_groups": sum(pure), "removed_only": {"recall": base.recall, "precision": base.precision}}
    everything = start()
    for ms in members:
        everything.merge(ms)
    out["all_flags_accepted"] = {"recall": everything.recall, "precision": everything.precision}

    def reach(steps) -> dict:
        """Decisions taken in order until each recall step is reached (None: never), and the final recall/precision."""
        m = start()
        needed: dict[str, int | None] = {f"{r:.2f}": None for r in RECALL_STEPS}
        for n, (accept, ms) in enumerate(steps, 1):
            if accept:
                m.merge(ms)
            for r in RECALL_STEPS:
                if needed[f"{r:.2f}"] is None and m.recall >= r:
                    needed[f"{r:.2f}"] = n
        return {"decisions_to_reach": needed, "decisions": len(steps), "recall": m.recall, "precision": m.precision}

    out["by_group"] = reach([(ok, ms) for ok, ms in zip(pure, members)])
    ranked_pairs = sorted(flags, key=lambda p: -p.similarity)
    out["pair_by_pair"] = reach([(truth[int(p.a)] == truth[int(p.b)], [int(p.a), int(p.b)]) for p in ranked_pairs])
    bulk = []
    for score in BULK_SCORES:
        m = start()
        chosen = [ms for g, ms in zip(groups, members) if g.score >= score and not g.caution]
        for ms in chosen:
            m.merge(ms)
        left = len(groups) - len(chosen)
        bulk.append({"score": score, "groups_accepted": len(chosen), "groups_left": left,
                     "recall": m.recall, "precision": m.precision})
    out["bulk_accept"] = bulk
    # how well the rank orders groups: share of pure groups in each fifth of the ranking
    fifths = np.array_split(np.array(pure, dtype=float), 5) if pure else []
    out["pure_share_by_rank_fifth"] = [round(float(f.mean()), 3) if len(f) else None for f in fifths]
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the first 60 ASSET sentences only")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    from curation.embed import Embedder

    sets = _data.asset_groups()[: 60 if args.quick else None]
    texts = [t for g in sets for t in g]
    truth = np.array([gi for gi, g in enumerate(sets) for _ in g])
    vectors = Embedder(cache_dir=_data.cache_dir() / "embeddings", batch_size=64).encode(texts)
    results = {"items": len(texts), "sets": len(sets), "removal_threshold": REMOVAL_THRESHOLD,
               "runs": [simulate(truth, texts, vectors, r) for r in REVIEW_THRESHOLDS]}
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"ASSET: {results['items']} sentences in {results['sets']} sets; removal at cos ≥ {REMOVAL_THRESHOLD:.2f}; "
          f"target surfaced recall {TARGET_RECALL}")
    for r in results["runs"]:
        g, p = r["by_group"], r["pair_by_pair"]
        print(f"\nreview threshold {r['review_threshold']:.2f}: {r['flagged_pairs']} flagged pairs in {r['groups']} groups "
              f"(largest {r['largest_group']}, {r['pure_groups']} pure; grouped in {r['grouping_seconds']:.2f} s)")
        print(f"  removed only: recall {r['removed_only']['recall']:.3f} precision {r['removed_only']['precision']:.3f}; "
              f"every flag accepted: recall {r['all_flags_accepted']['recall']:.3f} precision {r['all_flags_accepted']['precision']:.3f}")
        for name, x in (("by group    ", g), ("pair by pair", p)):
            steps = ", ".join(f"{k}: {v if v is not None else '-'}" for k, v in x["decisions_to_reach"].items())
            print(f"  {name}: decisions to reach recall {steps}; all {x['decisions']} decided: recall {x['recall']:.3f} "
                  f"precision {x['precision']:.3f}")
        for b in r["bulk_accept"]:
            print(f"  accept --all-above {b['score']:.2f}: {b['groups_accepted']} groups, {b['groups_left']} left to review; "
                  f"recall {b['recall']:.3f} precision {b['precision']:.3f}")
        print(f"  pure groups by rank fifth: {r['pure_share_by_rank_fifth']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
