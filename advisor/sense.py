"""Answers that contradict each other: each becomes a warning naming both answers and asking which is right.

Pure: reads the answers as given (before applicability sets any aside) and returns (text, basis) pairs; the
recommendation lists them first among the warnings and lowers its confidence for each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from advisor.interview import Question


@dataclass(frozen=True)
class Contradiction:
    """Two answers that cannot both be right, and the question to the user."""

    first: str  # question id
    second: str  # question id
    why: str  # what makes them contradict, in plain words


def _check(first: str, second: str, test: Callable[[object, object], bool], why: str):
    return first, second, test, why


# (first id, second id, test on their values, why they clash)
_CHECKS = (
    _check("output_kind", "output_strictness", lambda a, b: a == "free_text" and b == "strict",
           "free text where any helpful answer will do cannot also have to match exactly"),
    _check("prompting_tried", "prompt_score", lambda a, b: a is False and b is not None,
           "a prompt that was never tried has no score"),
    _check("prompting_tried", "prompt_failures", lambda a, b: a is False and b is not None,
           "a prompt that was never tried has no failures to describe"),
    _check("requests_per_day", "latency_cost", lambda a, b: a == 0 and b == "high",
           "with no requests a day there is no per-request latency or cost to worry about"),
    _check("recurrence", "budget", lambda a, b: a == "one_off" and b == "ample",
           "a one-off job rarely justifies a team and a real budget for training a model"),
    _check("prompt_score", "prompt_failures", lambda a, b: a is not None and a <= 3 and b == "none",
           "a prompt that gets 3 or fewer of 10 cases right fails in some way worth naming"),
    _check("prompt_score", "prompt_failures", lambda a, b: a == 10 and b not in (None, "none"),
           "a prompt that gets all 10 cases right has no failures"),
    _check("private_facts", "prompt_failures", lambda a, b: a == "none" and b in ("facts", "both"),
           "wrong facts in the prompt's answers suggest the task does depend on facts the model lacks"),
)


def contradictions(values: dict[str, object], questions: list[Question]) -> list[Contradiction]:
    """Pairs of given answers that contradict each other, in the order of the checks."""
    out = []
    for first, second, test, why in _CHECKS:
        a, b = values.get(first), values.get(second)
        if a is None or b is None:
            continue
        if test(a, b):
            out.append(Contradiction(first, second, why))
    return out


def describe(c: Contradiction, values: dict[str, object], questions: list[Question]) -> str:
    """The warning for one contradiction: both answers in words, why they clash, and which to check."""
    by_id = {q.id: q for q in questions}

    def said(qid: str) -> str:
        q = by_id[qid]
        return f"“{q.label_of(values[qid])}” to “{q.text}”"

    return f"You answered {said(c.first)} and {said(c.second)}, but {c.why}: which is right? Correct one of the two"
