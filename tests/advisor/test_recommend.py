"""The recommendation over a table of scenarios in plain words, plus the properties every verdict must have."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advisor.evidence import Evidence, evidence_from_report
from advisor.interview import Answers, load_questions
from advisor.recommend import PATHS, recommend
from curation.errors import DataError
from curation.tokens import estimate_cost, load_pricing

QUESTION_IDS = {q.id for q in load_questions()}

# What every scenario starts from: a repeatable task on general knowledge, loose format, a held-out eval set.
BASE = {
    "task": "Answer customer questions", "output_kind": "free_text", "output_strictness": "loose",
    "private_facts": "none", "jargon": "none", "examples_consistent": "yes", "eval_set": "held_out",
    "requests_per_day": 500, "latency_cost": "medium", "data_location": "hosted", "recurrence": "repeatable",
    "budget": "moderate",
}


def report(valid: int, kept: int, exact: int = 0, near: int = 0, conflicts: int = 0, groups: int = 0, outliers: int = 0,
           too_long: int = 0, tokens: float = 300, reply: float = 100, eval_fraction: float = 0.1) -> dict:
    """A curation report.json with the keys curation.report.build_report writes."""
    n_eval = round(kept * eval_fraction)
    train = kept - n_eval
    return {
        "counts": {"valid": valid, "invalid": 0, "exact_duplicates": exact, "near_duplicates": near,
                   "removed": exact + near, "kept": kept, "train": train, "eval": n_eval, "conflict_groups": groups,
                   "flagged_conflict": conflicts, "flagged_outlier": outliers, "flagged_too_long": too_long},
        "tokens": {"model": "SmolLM2-135M-Instruct", "context_length": 8192, "max_tokens": 2048,
                   "per_example": {"min": 50, "p10": tokens * 0.8, "median": tokens, "p90": tokens * 1.2, "max": int(tokens * 2),
                                   "mean": tokens, "total": int(tokens * kept)},
                   "assistant": {"min": 1, "p10": reply, "median": reply, "p90": reply, "max": int(reply), "mean": reply,
                                 "total": int(reply * kept)}},
        "cost": estimate_cost(int(tokens * train), 3, load_pricing()),
        "clusters": {"k": 2, "method": "silhouette", "items": [
            {"id": 0, "size": kept // 2, "keywords": ["order", "refund"], "medoid": "ex-1"},
            {"id": 1, "size": kept - kept // 2, "keywords": ["battery", "range"], "medoid": "ex-2"}]},
    }


@dataclass
class Scenario:
    """One situation in plain words, what the advisor must say, and the statement that must appear."""

    story: str
    answers: dict
    path: str
    must_say: str  # a fragment that must appear in the part named by `where`
    where: str = "reasons"  # reasons | warnings | would_change | headline
    data: dict | None = None
    system_fraction: float | None = None
    extra: dict = field(default_factory=dict)


SUPPORT = {**BASE, "output_kind": "style", "output_strictness": "strict", "private_facts": "most", "facts_change": "monthly",
           "jargon": "some", "examples": 320, "examples_consistent": "mostly", "eval_set": "spot_checks",
           "prompting_tried": True, "prompt_score": 5, "prompt_failures": "both"}
SUPPORT_DATA = report(324, 316, exact=6, near=2, conflicts=12, groups=6, outliers=2, too_long=1)
EXTRACTION = {**BASE, "output_kind": "structured", "output_strictness": "strict", "examples": 600, "eval_set": "metric",
              "prompting_tried": True, "prompt_score": 4, "prompt_failures": "style"}
EXTRACTION_DATA = report(640, 610, exact=20, near=10, conflicts=4, groups=2)
VOICE = {**BASE, "output_kind": "style", "output_strictness": "strict", "examples": 500, "prompting_tried": True,
         "prompt_score": 4, "prompt_failures": "style"}

SCENARIOS = [
    Scenario("A support team: strict brand voice, answers need facts from docs that change monthly, 324 examples "
             "(8 duplicates, 12 conflicting), the prompt gets 5 of 10 right and fails on both facts and voice",
             SUPPORT, "rag+fine-tune", "depend on your own facts", data=SUPPORT_DATA),
    Scenario("The same support team: the data part of the verdict cites the measured count",
             SUPPORT, "rag+fine-tune", "304 consistent examples (324 valid, 8 duplicates removed (6 exact, 2 near)",
             data=SUPPORT_DATA),
    Scenario("Strict JSON extraction from invoices, no private facts, 610 curated examples, the prompt breaks the "
             "format in 6 of 10 cases", EXTRACTION, "fine-tune", "strict and consistent (a strict structure)",
             data=EXTRACTION_DATA),
    Scenario("An internal policy FAQ bot, loose style, policies change weekly, the prompt's mistakes are wrong facts",
             {**BASE, "private_facts": "most", "facts_change": "weekly", "prompting_tried": True, "prompt_score": 6,
              "prompt_failures": "facts"}, "rag", "retrieval will"),
    Scenario("A general writing helper whose prompt already gets 9 of 10 right",
             {**BASE, "prompting_tried": True, "prompt_score": 9, "prompt_failures": "none"}, "prompt",
             "already gets 9 of 10"),
    Scenario("A strict voice is needed and there are 500 examples, but nobody has tried a prompt yet",
             {**VOICE, "prompting_tried": False, "prompt_score": None, "prompt_failures": None}, "prompt",
             "have not tried prompting yet"),
    Scenario("Not tried prompting yet: what would make it a fine-tune is a prompt that measurably fails on voice",
             {**VOICE, "prompting_tried": False, "prompt_score": None, "prompt_failures": None}, "prompt",
             "still got the tone or format wrong in 4 of 10 cases, this becomes fine-tuning", where="would_change"),
    Scenario("A strict voice the prompt misses, but 60 examples shrink to 38 after removing 22 duplicates",
             {**VOICE, "examples": 60}, "prompt", "Only 38 consistent examples", data=report(60, 38, exact=10, near=12)),
    Scenario("Too few examples after dedupe: with 100+ consistent ones it would be a fine-tune",
             {**VOICE, "examples": 60}, "prompt", "With 100+ consistent examples (you have 38), this becomes fine-tuning",
             where="would_change", data=report(60, 38, exact=10, near=12)),
    Scenario("Strict labels the prompt gets wrong, but 24 of 200 examples (12%) contradict each other",
             {**VOICE, "output_kind": "labels"}, "prompt", "12% of examples conflict",
             data=report(220, 200, exact=20, conflicts=24, groups=10)),
    Scenario("Many conflicts: resolving them is what would unlock fine-tuning",
             {**VOICE, "output_kind": "labels"}, "prompt", "If the conflicting answers were resolved, this becomes fine-tuning",
             where="would_change", data=report(220, 200, exact=20, conflicts=24, groups=10)),
    Scenario("A strict format, 1,000 examples, but the model simply cannot do the task (multi-step maths)",
             {**EXTRACTION, "examples": 1000, "prompt_score": 3, "prompt_failures": "capability"}, "prompt",
             "will not make a model able to do what it cannot", where="warnings"),
    Scenario("A one-off batch of 5,000 documents to label in a strict scheme", {**VOICE, "output_kind": "labels",
             "recurrence": "one_off", "examples": 400}, "prompt", "one-off job"),
    Scenario("Strict extraction with curated data but no evaluation set: the held-out split is offered",
             {**EXTRACTION, "eval_set": "none"}, "fine-tune", "Curation held out 61 examples (eval.jsonl)", where="warnings",
             data=EXTRACTION_DATA),
    Scenario("A fine-tune for a model that must stay good at everything else",
             {**EXTRACTION, "stay_general": True}, "fine-tune", "catastrophic forgetting", where="warnings",
             data=EXTRACTION_DATA),
    Scenario("The support team's data may not leave the company", {**SUPPORT, "data_location": "local"}, "rag+fine-tune",
             "fine-tune locally with LoRA", data=SUPPORT_DATA),
    Scenario("A niche query language (an in-house DSL), the prompt gets the syntax wrong, 800 examples",
             {**BASE, "jargon": "heavy", "examples": 800, "prompting_tried": True, "prompt_score": 5,
              "prompt_failures": "style"}, "fine-tune", "niche language"),
    Scenario("High-volume ticket tagging: the prompt is good (9/10) but every request carries 5 long demonstrations; "
             "200,000 requests a day, cost-sensitive", {**BASE, "output_kind": "labels", "output_strictness": "moderate",
             "examples": 2000, "prompting_tried": True, "prompt_score": 9, "prompt_failures": "none",
             "latency_cost": "high", "requests_per_day": 200_000}, "fine-tune", "serving a fine-tune costs",
             data=report(2100, 2000, exact=100, tokens=400, reply=5), system_fraction=0.5),
    Scenario("75 consistent examples: enough to try a fine-tune, thin to rely on", EXTRACTION, "fine-tune",
             "enough to try, thin to rely on", where="warnings", data=report(80, 75, exact=5)),
    Scenario("The experts themselves would write different answers", {**VOICE, "examples_consistent": "no"}, "prompt",
             "agree on the answers first"),
    Scenario("The team estimated 1,000 examples; the data holds 606 consistent ones", {**EXTRACTION, "examples": 1000},
             "fine-tune", "You estimated 1,000 examples; the data holds 606", where="warnings", data=EXTRACTION_DATA),
    Scenario("Nearly a third of the examples are duplicates", EXTRACTION, "fine-tune", "31% of the examples were duplicates",
             where="warnings", data=report(640, 440, exact=150, near=50)),
    Scenario("A fine-tune on a minimal budget", {**EXTRACTION, "budget": "minimal"}, "fine-tune", "budget is minimal",
             where="warnings", data=EXTRACTION_DATA),
    Scenario("A fine-tune that pays off on quality, not price: 500 requests a day cost less than one rented GPU",
             SUPPORT, "rag+fine-tune", "pays on cost only from about", data=SUPPORT_DATA,
             system_fraction=0.8),
]


def _evidence(s: Scenario) -> Evidence | None:
    if s.data is None:
        return None
    evidence = evidence_from_report(s.data, source="scenario")
    evidence.system_fraction = s.system_fraction
    return evidence


def _answers(values: dict) -> Answers:
    return Answers.from_dict({k: v for k, v in values.items() if v is not None})


@pytest.mark.parametrize("s", SCENARIOS, ids=[s.story[:60] for s in SCENARIOS])
def test_scenario(s: Scenario):
    rec = recommend(_answers(s.answers), _evidence(s))
    assert rec.path == s.path, f"{s.story}: got {rec.path}: {rec.headline}"
    part = getattr(rec, s.where)
    texts = [part] if isinstance(part, str) else [getattr(x, "text", x) for x in part]
    assert any(s.must_say in t for t in texts), f"{s.story}: {s.must_say!r} not in {texts}"


def test_enough_scenarios_in_plain_words():
    assert len(SCENARIOS) >= 12
    assert {s.path for s in SCENARIOS} == set(PATHS)
    assert sum(s.data is not None for s in SCENARIOS) >= 6  # verdicts driven by measured data, not only answers


@pytest.mark.parametrize("s", SCENARIOS, ids=[s.story[:60] for s in SCENARIOS])
def test_every_statement_names_its_basis(s: Scenario):
    data = s.data or {}
    rec = recommend(_answers(s.answers), _evidence(s))
    assert rec.reasons and rec.next_steps
    for r in rec.reasons + rec.warnings:
        kind, _, what = r.basis.partition(":")
        assert kind in ("answer", "data"), r.basis
        if kind == "answer":
            assert what in QUESTION_IDS, r.basis
        else:
            assert s.data is not None, f"data basis {r.basis} without data"
            section, _, key = what.partition(".")
            assert key in data[section], r.basis
    json.dumps(rec.to_dict())  # JSON-able


def test_pure_and_deterministic():
    answers, evidence = _answers(SUPPORT), evidence_from_report(SUPPORT_DATA)
    before = (copy.deepcopy(answers.values), copy.deepcopy(evidence))
    first, second = recommend(answers, evidence), recommend(answers, evidence)
    assert first.to_dict() == second.to_dict()
    assert (answers.values, evidence) == before


def test_unanswered_questions_lower_confidence_and_are_listed():
    full = recommend(_answers(EXTRACTION), evidence_from_report(EXTRACTION_DATA))
    partial_values = {k: v for k, v in EXTRACTION.items() if k not in ("eval_set", "requests_per_day", "recurrence")}
    partial = recommend(_answers(partial_values), evidence_from_report(EXTRACTION_DATA))
    assert partial.score < full.score
    assert {"eval_set", "requests_per_day", "recurrence"} <= set(partial.missing)
    nothing = recommend(Answers({}))
    assert nothing.path == "prompt" and nothing.confidence == "low"
    assert "prompting_tried" in nothing.missing


def test_fine_tuning_without_an_eval_set_is_never_high_confidence():
    with_eval = recommend(_answers(EXTRACTION), evidence_from_report(EXTRACTION_DATA))
    without = recommend(_answers({**EXTRACTION, "eval_set": "none"}), evidence_from_report(EXTRACTION_DATA))
    assert with_eval.confidence == "high" and without.path == "fine-tune" and without.confidence != "high"


def test_measured_data_beats_the_estimate():
    # the team says 800 examples, the data has 40 consistent ones: the verdict follows the data
    rec = recommend(_answers({**VOICE, "examples": 800}), evidence_from_report(report(45, 40, exact=5)))
    assert rec.path == "prompt" and rec.blocked


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 3000), st.integers(0, 3000))
def test_more_consistent_examples_never_undo_a_fine_tune(a, b):
    small, large = sorted((a, b))
    paths = [recommend(_answers(VOICE), evidence_from_report(report(n, n))).path for n in (small, large)]
    assert not (paths[0] == "fine-tune" and paths[1] != "fine-tune")


def test_bad_report_is_a_data_error():
    with pytest.raises(DataError, match="counts"):
        evidence_from_report({"tokens": {}, "cost": {}})
    broken = report(10, 10)
    broken["counts"]["kept"] = "ten"
    with pytest.raises(DataError, match="counts.kept"):
        evidence_from_report(broken)


def test_costs_follow_the_measured_tokens():
    rec = recommend(_answers(EXTRACTION), evidence_from_report(EXTRACTION_DATA))
    costs = rec.costs
    assert costs["training"]["basis"] == "measured"
    assert costs["training"]["train_tokens"] == EXTRACTION_DATA["cost"]["train_tokens"]
    assert costs["request"]["measured"] and costs["request"]["output_tokens"] == 100
    estimated = recommend(_answers(EXTRACTION)).costs
    assert estimated["training"]["basis"] == "assumed" and estimated["training"]["train_tokens"] > 0


# --------------------------------------------------------------------------- issue #13: verdicts that hold up

STYLE_CORPUS = {**BASE, "output_kind": "style", "output_strictness": "moderate", "examples_consistent": "yes",
                "prompting_tried": True, "prompt_score": 6, "prompt_failures": "none"}


def test_a_large_consistent_corpus_counts_toward_fine_tuning_a_house_style():
    small, large = (recommend(_answers({**STYLE_CORPUS, "examples": n})) for n in (300, 3000))
    assert small.path == "prompt" and large.path == "fine-tune"
    assert any("3,000 consistent examples of this style" in r.text for r in large.reasons)


def test_unanswered_and_no_prompting_give_the_same_staged_verdict():
    no, blank = (recommend(_answers({**VOICE, "prompting_tried": tried, "prompt_score": None, "prompt_failures": None}))
                 for tried in (False, None))
    assert no.verdict == blank.verdict == "prompt→fine-tune"
    assert no.stage == "fine-tune" and "scores below 8 of 10" in no.stage_trigger
    for rec in (no, blank):
        assert "consistent behaviour a prompt does not deliver" not in rec.headline  # no prompt was ever scored
        assert any("no prompt has been scored" in n for n in rec.confidence_notes)
    assert "prompting_tried" in blank.missing and "prompting_tried" not in no.missing


def test_answers_to_questions_that_do_not_apply_are_ignored_and_listed():
    stale = {**BASE, "private_facts": "none", "facts_change": "weekly", "prompting_tried": False, "prompt_score": 3,
             "prompt_failures": "facts"}
    rec = recommend(_answers(stale))
    assert rec.path == "prompt"  # "failures: facts" of a prompt never tried does not turn it into RAG
    assert not any(r.basis == "answer:facts_change" for r in rec.reasons + rec.warnings)
    assert len(rec.ignored) == 3 and any("How often do those facts change" in i for i in rec.ignored)


@pytest.mark.parametrize(("change", "names"), [
    ({"output_kind": "free_text", "output_strictness": "strict"}, ("Free text", "Strict")),
    ({"prompting_tried": False, "prompt_score": 6}, ("“no” to", "“6” to")),
    ({"requests_per_day": 0, "latency_cost": "high"}, ("“0” to", "High: real-time")),
    ({"recurrence": "one_off", "budget": "ample"}, ("One-off", "Ample")),
])
def test_contradictions_name_both_answers_and_ask_which_is_right(change, names):
    rec = recommend(_answers({**BASE, **change}))
    assert rec.contradictions and rec.contradictions == rec.warnings[:len(rec.contradictions)]
    text = rec.contradictions[0].text
    assert all(n in text for n in names) and "which is right?" in text
    assert any("contradict" in n for n in rec.confidence_notes)


def test_a_volume_below_the_gpu_break_even_is_no_reason_to_fine_tune():
    rec = recommend(_answers({**EXTRACTION, "requests_per_day": 1}), evidence_from_report(EXTRACTION_DATA))
    assert rec.path == "fine-tune"
    texts = [r.text for r in rec.reasons]
    assert any("pays on cost only from about" in t and "the case for one is consistency" in t for t in texts)
    assert not any("(cheaper from about" in t for t in texts)


def test_large_figures_are_shortened_in_words():
    rec = recommend(_answers({**VOICE, "examples": 10_000_000, "requests_per_day": 1_000_000_000}))
    text = " ".join(r.text for r in rec.reasons + rec.warnings) + " ".join(rec.next_steps)
    assert "10 million" in text and "1000000000" not in text and "10000000" not in text
