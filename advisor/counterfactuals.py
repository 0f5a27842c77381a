"""What would change the verdict: each candidate change of the inputs is run through the same rules (with the same
bake-off) and listed only if it changes what to do.

Two kinds of candidates: the changes a team can make (more examples, resolved conflicts, a scored prompt), and each
answer moved to its neighbouring option (one step along an ordered question), so a verdict that hangs on one honest
judgement call says so. A staged verdict sits between prompting and fine-tuning, so one step rarely jumps two.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from advisor.reasons import (
    GOOD_EXAMPLES,
    GOOD_PROMPT_SCORE,
    PATH_LABELS,
    WARN_CONFLICT_RATE,
)

if TYPE_CHECKING:
    from advisor.evidence import Evidence
    from advisor.interview import Question
    from advisor.recommend import Prices, _Decision
    from training.evaluation.results import Bakeoff

#: Choice questions whose options are ordered, so a neighbour is one honest step away.
ORDERED = ("output_strictness", "private_facts", "facts_change", "jargon", "examples_consistent", "eval_set",
           "latency_cost", "recurrence", "budget")


def verdict_of(d: _Decision) -> str:
    """The verdict of a decision: its path, or "now→later" when staged."""
    return f"{d.path}→{d.stage}" if d.stage else d.path


def verdict_words(verdict: str) -> str:
    """A verdict in words."""
    now, _, later = verdict.partition("→")
    return f"{PATH_LABELS[now]} now, {PATH_LABELS[later]} once a measured prompt falls short" if later else PATH_LABELS[now]


def neighbours(question: Question, value: object) -> list[str]:
    """The options next to `value` on an ordered choice question."""
    values = list(question.values)
    if value not in values:
        return []
    i = values.index(value)
    return [values[j] for j in (i - 1, i + 1) if 0 <= j < len(values)]


def _team_changes(v: dict[str, Any], ev: Evidence | None, d: _Decision) -> list[tuple[str, dict[str, Any], Evidence | None]]:
    candidates: list[tuple[str, dict[str, Any], Evidence | None]] = []
    if d.n_examples is not None and d.n_examples < GOOD_EXAMPLES:
        more = GOOD_EXAMPLES + (ev.conflict_examples if ev else 0)
        ev2 = replace(ev, kept=more, valid=max(ev.valid, more)) if ev else None
        candidates.append((f"With {GOOD_EXAMPLES}+ consistent examples (you have {d.n_examples:,})",
                           {**v, "examples": GOOD_EXAMPLES}, ev2))
    if ev is not None and ev.conflict_rate >= WARN_CONFLICT_RATE or v.get("examples_consistent") == "no":
        ev2 = replace(ev, conflict_examples=0, conflict_groups=0) if ev else None
        candidates.append(("If the conflicting answers were resolved", {**v, "examples_consistent": "yes"}, ev2))
    if v.get("prompting_tried") is not True or (v.get("prompt_score") or 0) < GOOD_PROMPT_SCORE:
        candidates.append((f"If your best prompt got {GOOD_PROMPT_SCORE} or more of 10 real cases right",
                           {**v, "prompting_tried": True, "prompt_score": 9, "prompt_failures": "none"}, ev))
    if v.get("prompting_tried") is not True or (v.get("prompt_score") or 0) >= GOOD_PROMPT_SCORE:
        failures = "both" if d.knowledge else "style"
        candidates.append(("If a well-written prompt still got the tone or format wrong in 4 of 10 cases",
                           {**v, "prompting_tried": True, "prompt_score": 6, "prompt_failures": failures}, ev))
    if d.knowledge:
        failures = {"facts": "none", "both": "style"}.get(v.get("prompt_failures"), v.get("prompt_failures"))
        candidates.append(("If answers did not depend on your own facts", {**v, "private_facts": "none",
                                                                          "prompt_failures": failures}, ev))
    else:
        candidates.append(("If answers came to depend on your own, changing facts",
                           {**v, "private_facts": "most", "facts_change": "monthly"}, ev))
    if v.get("output_strictness") != "strict":
        kind = v.get("output_kind") if v.get("output_kind") not in (None, "free_text") else "style"
        candidates.append(("If every output had to match a strict format or voice",
                           {**v, "output_strictness": "strict", "output_kind": kind}, ev))
    if v.get("recurrence") == "one_off":
        candidates.append(("If this became a repeatable, ongoing task", {**v, "recurrence": "repeatable"}, ev))
    elif d.wants_ft:
        candidates.append(("If this were a one-off job", {**v, "recurrence": "one_off"}, ev))
    ref = d.costs["reference"]
    if not d.wants_ft and ref["break_even_requests_per_day"] and d.costs["hosted_allowed"]:
        per_day = ref["break_even_requests_per_day"]
        volume = v.get("requests_per_day") or 0
        text = (f"At {per_day:,}+ requests a day on a repeatable, cost-sensitive task" if volume < per_day else
                "If per-request cost mattered most (at your volume one rented GPU serving a fine-tune costs less than "
                "the hosted prompt)")
        candidates.append((text, {**v, "requests_per_day": max(per_day, volume), "latency_cost": "high",
                                  "recurrence": "repeatable"}, ev))
    return candidates


def would_change(v: dict[str, Any], ev: Evidence | None, prices: Prices, d: _Decision, bakeoff: Bakeoff | None,
                 questions: list[Question]) -> list[str]:
    """Each candidate change of the inputs that changes the verdict, in words."""
    from advisor.applicability import applicable
    from advisor.recommend import decide_measured

    here = verdict_of(d)
    out, seen = [], set()
    for text, v2, ev2 in _team_changes(v, ev, d):
        new = verdict_of(decide_measured(applicable(v2, questions)[0], ev2, prices, bakeoff))
        if new != here:
            out.append(f"{text}, this becomes {verdict_words(new)}.")
            seen.add(text)
    by_id = {q.id: q for q in questions}
    for qid in ORDERED:
        question, value = by_id.get(qid), v.get(qid)
        if question is None or value is None:
            continue
        for other in neighbours(question, value):
            new = verdict_of(decide_measured(applicable({**v, qid: other}, questions)[0], ev, prices, bakeoff))
            if new != here:
                out.append(f"If “{question.text}” were “{question.label_of(other)}” rather than "
                           f"“{question.label_of(value)}”, this becomes {verdict_words(new)}.")
    return out
