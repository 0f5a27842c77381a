"""Which answers the rules may read: only those to questions that apply, by the interview's own `when` conditions.

answers.yaml keeps every answer a user gave, including answers to questions that stopped applying when an earlier
answer changed (a prompt score, then "prompting not tried"; how often facts change, then "no private facts"). The
interview hides those questions; the rules must not read them either. They are listed as ignored instead, so the
user sees what was set aside and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from advisor.interview import Question


@dataclass(frozen=True)
class Ignored:
    """An answer the rules set aside: its question does not apply given the answer it depends on."""

    qid: str
    value: object
    question: str
    because: str  # the answer that makes the question not apply, in words


def applicable(values: dict[str, object], questions: list[Question]) -> tuple[dict[str, object], list[Ignored]]:
    """The answers whose questions apply (conditions read on the kept answers, in interview order), and the rest."""
    kept: dict[str, object] = {}
    ignored: list[Ignored] = []
    by_id = {q.id: q for q in questions}
    for question in questions:
        value = values.get(question.id)
        if value is None:
            continue
        failing = [(qid, allowed) for qid, allowed in question.when if kept.get(qid) not in allowed]
        if not failing:
            kept[question.id] = value
            continue
        qid, _ = failing[0]
        other = by_id.get(qid)
        given = kept.get(qid)
        because = (f"“{other.text}” is answered “{other.label_of(given)}”" if other is not None and given is not None
                   else f"“{other.text if other else qid}” is not answered")
        ignored.append(Ignored(question.id, value, question.text, because))
    return kept, ignored
