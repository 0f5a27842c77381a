"""Review at scale on ASSET: how many groups of possible duplicates a curator decides to reach a surfaced recall of
0.8, against deciding the same pairs one by one, and at what precision (issue #14, item 2).

ASSET (bench/_data.py asset_groups: 359 sentences, each with 9 human rewrites) is curated the way `tunewise curate`
does it on one text view: candidate pairs at the review threshold (curation.curate.near_candidates: cosine, and the
numbers and question kind each text states); removable pairs at or above the removal threshold (0.90) removed
(dedupe.group_pairs); the rest flagged as possible duplicates (those between the two thresholds, and those kept from
removal because one text states numbers or a question kind the other leaves out) among examples neither of which was
removed, as curation writes them. The flags are then grouped and ranked by curation.review_groups, as `tunewise
review list` shows them.

Curators simulated:
- by group, in rank order, an oracle: accepts a group when all its members are rewrites of one sentence, else
  rejects it;
- pair by pair, highest similarity first, the same oracle on each pair (today's review, one pair at a time);
- bulk: `tunewise review accept --all-above S`, no human look at all.
Recall and precision are pairwise over the merged groups (transitive, as bench/curate.py's pair_scores): removed
plus accepted. With --others, where false pairs occur: product titles (hard negatives) curated the same way, and
SParC (text → SQL) and E2E (text → JSON) through curate(), with the strict precision of their flags.
Run: .venv/bin/python bench/review.py [--quick] [--json] [--others]
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
REVIEW_ONLY = "not removed"  # in the rule of a pair that numbers or a question kind only one text states kept from removal


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
    from curation import dedupe, structure
    from curation.curate import CurateConfig, Views, near_candidates
    from curation.review_groups import CandidatePair

    n = len(texts)
    views = Views(list(texts), [""] * n, [], list(texts), [""] * n, (structure.TEXT, structure.TEXT))
    config = CurateConfig(threshold=REMOVAL_THRESHOLD, review_threshold=review)
    found, rules, removable = near_candidates(np.arange(n), vectors, vectors, views, config)
    sure = (found.similarity >= REMOVAL_THRESHOLD) & removable
    removal = dedupe.group_pairs(n, dedupe.Pairs(found.left[sure], found.right[sure], found.similarity[sure]))
    removed = {m for g in removal for m in g.members}
    flags = [CandidatePair(str(b), str(a), float(s), r) for a, b, s, r, ok in
             zip(found.left.tolist(), found.right.tolist(), found.similarity.tolist(), rules, sure.tolist())
             if not ok and a not in removed and b not in removed]
    return removal, flags


def _true_share(truth: np.ndarray, flags) -> float | None:
    """Share of flagged pairs that are rewrites of one sentence."""
    return sum(truth[int(p.a)] == truth[int(p.b)] for p in flags) / len(flags) if flags else None


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
    review_only = [p for p in flags if REVIEW_ONLY in p.rule]
    out = {"review_threshold": review, "flagged_pairs": len(flags), "groups": len(groups),
           "flag_precision": _true_share(truth, flags), "review_only_flags": len(review_only),
           "review_only_precision": _true_share(truth, review_only),
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


def _bench_curate():
    """bench/curate.py as a module (its name would clash with curation.curate)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_curate", Path(__file__).resolve().parent / "curate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def products(embedder) -> list[dict]:
    """Product titles (50 same-product pairs, 383 hard negatives of the same brand) on one text view, as ASSET:
    false merges by removal, and the flagged pairs that are labelled same / different product, per review threshold."""
    pairs = _data.product_pairs()
    titles = sorted({t for a, b, _ in pairs for t in (a, b)})
    index = {t: i for i, t in enumerate(titles)}
    label = {frozenset((index[a], index[b])): same for a, b, same in pairs}
    vectors = embedder.encode(titles)
    rows = []
    for review in REVIEW_THRESHOLDS:
        removal, flags = curate_like(vectors, titles, review)
        group = {m: g.keep for g in removal for m in [g.keep, *g.members]}
        merged = [same for a, b, same in pairs if group.get(index[a], -1) == group.get(index[b], -2)]
        labels = [label.get(frozenset((int(p.a), int(p.b)))) for p in flags]
        only = [label.get(frozenset((int(p.a), int(p.b)))) for p in flags if REVIEW_ONLY in p.rule]
        rows.append({"review_threshold": review, "removed": sum(len(g.members) for g in removal),
                     "false_merges": merged.count(False), "true_merges": merged.count(True), "flagged_pairs": len(flags),
                     "flagged_same_product": labels.count(True), "flagged_other_product": labels.count(False),
                     "review_only_flags": len(only), "review_only_same_product": only.count(True),
                     "review_only_other_product": only.count(False)})
    return rows


def structured(quick: bool) -> dict:
    """SParC (text → SQL) and E2E (text → JSON) through curate() with default settings, as bench/curate.py
    --structured runs them: removals, conflicts, and the possible-duplicate flags with their strict precision."""
    bc = _bench_curate()
    sparc = bc.sparc_examples(300 if quick else None)
    for row in sparc:
        row["key"] = (row["db"], row["sql"]) if "value" not in row["sql"].split() else (row["db"], row["sql"], bc._plain(row["question"]))
    e2e = [{"question": text, "json": json.dumps(attrs, ensure_ascii=False), "key": tuple(sorted(attrs.items()))}
           for text, attrs in _data.e2e_records()[: 300 if quick else None]]
    runs = {
        "sparc": (sparc, [(r["input"], r["sql"]) for r in sparc], bc.sparc_truth_duplicate, bc.sparc_truth_conflict),
        "e2e_json": (e2e, [(r["question"], r["json"]) for r in e2e], lambda a, b: a["key"] == b["key"],
                     lambda a, b: bc._plain(a["question"]) == bc._plain(b["question"]) and a["key"] != b["key"]),
    }
    out = {}
    for name, (rows, pairs, is_dup, is_conflict) in runs.items():
        result = bc._run_pipeline(pairs)
        score = bc._score(rows, result, is_dup, is_conflict, lambda a, b, rule: {})
        flags = [(f.index, f.details["with"][0], f.details["rule"]) for f in result.flags if f.kind == "possible_duplicate"]
        true = [is_dup(rows[a], rows[b]) for a, b, _ in flags]
        only = [is_dup(rows[a], rows[b]) for a, b, rule in flags if REVIEW_ONLY in rule]
        out[name] = {k: score[k] for k in ("examples", "near_removed", "removal_precision", "removal_recall",
                                             "true_duplicates", "conflicts_flagged", "conflict_precision")}
        out[name].update({"flagged_pairs": len(flags), "flag_precision": sum(true) / len(true) if true else None,
                          "review_only_flags": len(only), "review_only_true": sum(only),
                          "review_only_examples": [{"a": bc.short(rows[a].get("question", ""), 80),
                                                    "b": bc.short(rows[b].get("question", ""), 80), "rule": rule}
                                                   for a, b, rule in flags if REVIEW_ONLY in rule][:10]})
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the first 60 ASSET sentences only")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--others", action="store_true",
                        help="also the flags on product titles (hard negatives), SParC and E2E (--quick: 300 of each)")
    args = parser.parse_args(argv)
    from curation.embed import Embedder

    embedder = Embedder(cache_dir=_data.cache_dir() / "embeddings", batch_size=64)
    sets = _data.asset_groups()[: 60 if args.quick else None]
    texts = [t for g in sets for t in g]
    truth = np.array([gi for gi, g in enumerate(sets) for _ in g])
    vectors = embedder.encode(texts)
    results = {"items": len(texts), "sets": len(sets), "removal_threshold": REMOVAL_THRESHOLD,
               "runs": [simulate(truth, texts, vectors, r) for r in REVIEW_THRESHOLDS]}
    if args.others:
        results["products"] = products(embedder)
        results["structured"] = structured(args.quick)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"ASSET: {results['items']} sentences in {results['sets']} sets; removal at cos ≥ {REMOVAL_THRESHOLD:.2f}; "
          f"target surfaced recall {TARGET_RECALL}")
    for r in results["runs"]:
        g, p = r["by_group"], r["pair_by_pair"]
        print(f"\nreview threshold {r['review_threshold']:.2f}: {r['flagged_pairs']} flagged pairs in {r['groups']} groups "
              f"(largest {r['largest_group']}, {r['pure_groups']} pure; grouped in {r['grouping_seconds']:.2f} s)")
        print(f"  flags that are rewrites of one sentence: {_share(r['flag_precision'])}; shown for review only (numbers or "
              f"question kind only one states): {r['review_only_flags']}, {_share(r['review_only_precision'])} rewrites")
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
    for r in results.get("products", []):
        print(f"\nproducts, review threshold {r['review_threshold']:.2f}: removed {r['removed']}, false merges {r['false_merges']} "
              f"(true {r['true_merges']}); flagged pairs {r['flagged_pairs']}: labelled same product {r['flagged_same_product']}, "
              f"other product {r['flagged_other_product']}; review only {r['review_only_flags']} "
              f"({r['review_only_same_product']} same, {r['review_only_other_product']} other)")
    for name, r in results.get("structured", {}).items():
        print(f"\n{name} (curate(), defaults): {r['examples']} examples; removed {r['near_removed']}, precision "
              f"{r['removal_precision']:.3f}, recall {r['removal_recall']:.3f} of {r['true_duplicates']}; conflicts "
              f"{r['conflicts_flagged']} (precision {r['conflict_precision']:.3f}); flagged pairs {r['flagged_pairs']}, "
              f"strict precision {_share(r['flag_precision'])}; review only {r['review_only_flags']} ({r['review_only_true']} true)")
        for e in r["review_only_examples"]:
            print(f"  review only: {e['a']} | {e['b']} | {e['rule']}")
    return 0


def _share(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


if __name__ == "__main__":
    raise SystemExit(main())
