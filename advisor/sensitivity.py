"""How much a verdict hangs on one judgement call: each ordered answer moved to its neighbouring option.

A verdict that jumps two steps (prompting ↔ fine-tuning, or RAG ↔ RAG + fine-tuning) when one honest answer moves
one option must say so in "what would change the verdict"; a staged verdict ("prompt now, fine-tune when the
prompt falls short") is the step between them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from advisor.counterfactuals import ORDERED, neighbours
from advisor.interview import Answers

if TYPE_CHECKING:
    from advisor.evidence import Evidence
    from advisor.recommend import Recommendation

#: How far along prompting → fine-tuning a verdict is (retrieval is the other axis).
STEP = {"prompt": 0, "prompt→fine-tune": 1, "fine-tune": 2, "rag": 0, "rag→rag+fine-tune": 1, "rag+fine-tune": 2}


@dataclass(frozen=True)
class Flip:
    """One answer moved to a neighbouring option, and the verdicts before and after."""

    qid: str
    before: object
    after: object
    after_label: str
    verdict_before: str
    verdict_after: str

    @property
    def jumps(self) -> bool:
        """Whether the verdict crossed two steps (prompting ↔ fine-tuning) on the same side of retrieval."""
        same_side = ("rag" in self.verdict_before.split("→")[0]) == ("rag" in self.verdict_after.split("→")[0])
        return same_side and abs(STEP[self.verdict_before] - STEP[self.verdict_after]) >= 2


def flips(answers: Answers, evidence: Evidence | None = None) -> tuple[Recommendation, list[Flip]]:
    """The recommendation, and every neighbour flip of an answered ordered question with the verdict it gives."""
    from advisor.recommend import recommend

    rec = recommend(answers, evidence)
    by_id = {q.id: q for q in answers.questions}
    out = []
    for qid in ORDERED:
        value = answers.values.get(qid)
        question = by_id.get(qid)
        if value is None or question is None:
            continue
        for other in neighbours(question, value):
            moved = Answers({**answers.values, qid: other}, questions=answers.questions)
            verdict = recommend(moved, evidence).verdict
            out.append(Flip(qid, value, other, question.label_of(other), rec.verdict, verdict))
    return rec, out


def unexplained(rec: Recommendation, found: list[Flip]) -> list[Flip]:
    """The two-step jumps that "what would change the verdict" does not mention (by the new option's label)."""
    return [f for f in found if f.jumps and not any(f"“{f.after_label}”" in w for w in rec.would_change)]
