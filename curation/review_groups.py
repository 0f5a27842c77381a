"""Possible duplicates reviewed by the group: pairs joined into groups, ranked, each with a proposed keeper.

Curation flags pairs between the review threshold and the removal threshold, and, at any similarity above the review
threshold, pairs it kept from removal because one text states numbers or a question kind the other leaves out
(curation.pair_rules.specifics_gap). Reviewing them one pair at a time does not scale, so pairs are joined into connected components (scipy), each group is ranked by how likely it is
to be one thing said several times, and a curator accepts (keep the keeper, remove the rest) or rejects (keep all)
a whole group at once. Decisions are plain keep/remove marks (curation.decisions), so export applies them.

A group's score is its *bottleneck* similarity: the highest similarity at which it still holds together (the
weakest link of its maximum spanning tree). A group chained A~B~C through weak links scores low even if one pair
is close. A pair whose texts differ in a negation, or swap a word of comparison, order or logic ("more" vs "less", "first"
vs "last", "and" vs "or"; curation.pair_rules.MEANING_WORDS), or that curation kept from removal because one text
states numbers the other leaves out (its rule says so: kept_numbers), is a *caution*: such groups rank after every
other group and are never accepted in bulk.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

GROUP_DECISIONS = ("accept", "reject")
STATUSES = ("open", "accepted", "rejected", "mixed")


@dataclass(frozen=True)
class CandidatePair:
    """Two examples flagged as possibly the same, with their similarity and the rule that let them through."""

    a: str
    b: str
    similarity: float
    rule: str = ""


@dataclass
class PairEvidence:
    """One pair inside a group, with a caution when the texts differ in a word that changes meaning."""

    a: str
    b: str
    similarity: float
    rule: str = ""
    caution: str = ""  # e.g. "differs in: more vs less"; "" when none


@dataclass
class ReviewGroup:
    """Examples linked by possible-duplicate pairs; `id` is the rank (1 = most likely duplicates)."""

    id: int
    members: list[str]  # input order
    keeper: str
    score: float  # bottleneck similarity: the group holds together at this similarity
    mean_similarity: float
    pairs: list[PairEvidence] = field(default_factory=list)

    @property
    def caution(self) -> bool:
        """Whether some pair differs in a word that changes meaning (never accepted in bulk)."""
        return any(p.caution for p in self.pairs)

    def removals(self, keeper: str | None = None) -> dict[str, dict[str, Any]]:
        """What accepting removes: member id → its reason (duplicate_of, similarity, rule, group)."""
        keeper = keeper or self.keeper
        if keeper not in self.members:
            raise ValueError(f"{keeper!r} is not in group {self.id}")
        reasons = {}
        for member in self.members:
            if member == keeper:
                continue
            pair = self._pair(member, keeper) or max((p for p in self.pairs if member in (p.a, p.b)), key=lambda p: p.similarity)
            other = pair.b if pair.a == member else pair.a
            via = "" if other == keeper else f" via {other}"
            reasons[member] = {"reason": f"possible duplicate accepted in review (group {self.id}){via}",
                               "duplicate_of": keeper, "similarity": round(pair.similarity, 4), "rule": pair.rule}
        return reasons

    def _pair(self, a: str, b: str) -> PairEvidence | None:
        return next((p for p in self.pairs if {p.a, p.b} == {a, b}), None)

    def status(self, marks: Mapping[str, str]) -> str:
        """open (no marks), accepted (one kept, the rest removed), rejected (all marked keep), or mixed."""
        marked = [marks.get(m) for m in self.members]
        if not any(marked):
            return "open"
        if all(d == "keep" for d in marked):
            return "rejected"
        kept = [m for m, d in zip(self.members, marked) if d != "remove"]
        return "accepted" if len(kept) == 1 else "mixed"

    def to_dict(self, marks: Mapping[str, str] | None = None) -> dict[str, Any]:
        """JSON-ready; with marks, the group's status too."""
        data = {"id": self.id, "score": round(self.score, 4), "mean_similarity": round(self.mean_similarity, 4),
                "size": len(self.members), "keeper": self.keeper, "members": list(self.members),
                "caution": self.caution, "pairs": [asdict(p) for p in self.pairs]}
        if marks is not None:
            data["status"] = self.status(marks)
        return data


NEGATIONS = frozenset("not no nor never none neither without".split())


def caution_of(a: str, b: str) -> str:
    """Why two similar texts may still mean different things: a negation only one of them has, or meaning words
    swapped ("more" vs "less", "first" vs "last", "and" vs "or"). A meaning word merely dropped is no caution:
    rewording drops "and", "more" or "first" all the time (on ASSET, 58% of true groups otherwise)."""
    from curation.pair_rules import MEANING_WORDS, differing_words

    only_a, only_b = differing_words(_spell_negation(a), _spell_negation(b))
    wa, wb = only_a & MEANING_WORDS, only_b & MEANING_WORDS
    if not (wa | wb) & NEGATIONS and not (wa and wb):
        return ""
    return f"differs in: {', '.join(sorted(wa)) or '(none)'} vs {', '.join(sorted(wb)) or '(none)'}"


def kept_numbers(rule: str) -> str:
    """The numbers only one text of a pair states, as the rule of a pair that curation kept from removal names them
    ("numbers only one states: (none) vs 1928"); "" when it names none. Accepting such a pair drops a fact."""
    from curation.pair_rules import NUMBERS_GAP

    match = re.search(re.escape(NUMBERS_GAP) + r": [^:;]+", rule)
    return match.group(0).strip() if match else ""


def _spell_negation(text: str) -> str:
    """"don't", "can't", "won’t" with their negation as a word ("do not"), so it counts as one."""
    return re.sub(r"n[\'’]t\b", " not", text, flags=re.IGNORECASE)


def group_candidates(
    pairs: Iterable[CandidatePair], order: Sequence[str] | None = None, texts: Mapping[str, str] | None = None
) -> list[ReviewGroup]:
    """Join possible-duplicate pairs into ranked review groups.

    Args:
        pairs: the flagged pairs (a pair seen twice, either way round, counts once at its highest similarity).
        order: example ids in input order (members are listed, and keeper ties broken, in this order).
        texts: id → text compared for cautions (e.g. question and reply); without it there are none.
    Returns:
        Groups ranked: no caution first, then by score, then by mean similarity (highest first), then size.
    """
    import numpy as np
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components, minimum_spanning_tree

    best: dict[tuple[str, str], CandidatePair] = {}
    for p in pairs:
        if p.a == p.b:
            continue
        key = (p.a, p.b) if p.a < p.b else (p.b, p.a)
        if key not in best or p.similarity > best[key].similarity:
            best[key] = p
    if not best:
        return []
    position = {i: n for n, i in enumerate(order or [])}
    ids = sorted({i for key in best for i in key}, key=lambda i: (position.get(i, len(position)), i))
    index = {i: n for n, i in enumerate(ids)}
    rows = np.array([index[a] for a, _ in best], dtype=np.int64)
    cols = np.array([index[b] for _, b in best], dtype=np.int64)
    sims = np.array([p.similarity for p in best.values()], dtype=np.float64)
    n = len(ids)
    _, labels = connected_components(coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n)), directed=False)
    # maximum spanning tree = minimum spanning tree of (2 - similarity): positive weights, the strongest links
    tree = minimum_spanning_tree(coo_matrix((2.0 - sims, (rows, cols)), shape=(n, n)).tocsr()).tocoo()
    bottleneck = np.full(n, np.inf)
    for r, w in zip(tree.row, tree.data):
        bottleneck[labels[r]] = min(bottleneck[labels[r]], round(2.0 - float(w), 6))
    by_label: dict[int, list[CandidatePair]] = {}
    for r, pair in zip(rows, best.values()):
        by_label.setdefault(int(labels[r]), []).append(pair)
    members_of: dict[int, list[str]] = {}
    for p, label in enumerate(labels.tolist()):
        members_of.setdefault(label, []).append(ids[p])  # ids are in input order, so members are too
    groups = []
    for label, found in sorted(by_label.items()):
        members = members_of[label]
        evidence = [PairEvidence(p.a, p.b, float(p.similarity), p.rule, _caution(p, texts)) for p in found]
        evidence.sort(key=lambda p: (-p.similarity, index[p.a], index[p.b]))
        strength = dict.fromkeys(members, 0.0)
        for p in evidence:
            strength[p.a] += p.similarity
            strength[p.b] += p.similarity
        keeper = max(members, key=lambda m: (strength[m], -index[m]))  # most central; ties: first in input order
        mean = float(np.mean([p.similarity for p in evidence]))
        groups.append(ReviewGroup(0, members, keeper, float(bottleneck[label]), mean, evidence))
    groups.sort(key=lambda g: (g.caution, -round(g.score, 6), -round(g.mean_similarity, 6), -len(g.members), index[g.members[0]]))
    for rank, group in enumerate(groups, 1):
        group.id = rank
    return groups


def _caution(pair: CandidatePair, texts: Mapping[str, str] | None) -> str:
    """A pair's cautions: from its texts (caution_of) and from its rule (kept_numbers)."""
    found = [caution_of(texts[pair.a], texts[pair.b]) if texts and pair.a in texts and pair.b in texts else "",
             kept_numbers(pair.rule)]
    return "; ".join(c for c in found if c)


def decision_marks(group: ReviewGroup, decision: str, keeper: str | None = None) -> tuple[dict[str, str], dict[str, dict | None]]:
    """The marks and reasons a group decision sets: accept keeps the keeper and removes the rest; reject keeps all."""
    if decision not in GROUP_DECISIONS:
        raise ValueError(f"decision must be one of {GROUP_DECISIONS}, not {decision!r}")
    if decision == "reject":
        return {m: "keep" for m in group.members}, {m: None for m in group.members}
    keeper = keeper or group.keeper
    reasons: dict[str, dict | None] = dict(group.removals(keeper))
    marks = {m: ("keep" if m == keeper else "remove") for m in group.members}
    reasons[keeper] = None
    return marks, reasons


def groups_above(groups: Iterable[ReviewGroup], score: float, marks: Mapping[str, str]) -> list[ReviewGroup]:
    """Open groups scoring at least `score` and without a caution: what a bulk accept takes."""
    return [g for g in groups if g.score >= score and not g.caution and g.status(marks) == "open"]
