"""The advisor against published cases: the verdict and the main reason each source gives (published.yaml).

A case the rules still get wrong carries `known_miss` with why: it is an expected failure (strict), reported by
bench/advise.py, never tuned away case by case.
"""

from __future__ import annotations

import pytest

from advisor.recommend import recommend
from advisor.sensitivity import flips, unexplained
from tests.advisor.scenarios.suite import load_scenarios

SCENARIOS = load_scenarios()


def _marks(s):
    return [pytest.mark.xfail(strict=True, reason=s.known_miss)] if s.known_miss else []


def test_the_suite_covers_every_kind_of_case():
    assert len(SCENARIOS) >= 40
    verdicts = {s.verdict for s in SCENARIOS}
    assert {"prompt", "rag", "fine-tune", "rag+fine-tune", "prompt→fine-tune"} <= verdicts
    assert {"data_size", "data_consistency"} <= {s.reason for s in SCENARIOS}  # too small, inconsistent
    assert len({s.source for s in SCENARIOS}) >= 30


@pytest.mark.parametrize("s", [pytest.param(s, id=s.id, marks=_marks(s)) for s in SCENARIOS])
def test_verdict_and_top_reason_match_the_source(s):
    rec = recommend(s.interview())
    assert rec.verdict == s.verdict, f"{s.id}: {rec.verdict} — {rec.headline}"
    assert rec.top_topic == s.reason, f"{s.id}: top reason {rec.top_topic}: {rec.reasons[0].text}"


@pytest.mark.parametrize("s", [pytest.param(s, id=s.id) for s in SCENARIOS])
def test_one_step_on_one_answer_never_jumps_two_steps_unexplained(s):
    rec, found = flips(s.interview())
    assert not unexplained(rec, found), [(f.qid, f.after, f.verdict_after) for f in unexplained(rec, found)]
