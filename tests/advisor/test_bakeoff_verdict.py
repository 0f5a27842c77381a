"""The advisor reads a bake-off: a measured lead confirms or overturns the interview's verdict; a tie goes simple."""

from __future__ import annotations

from advisor.evidence import evidence_from_report
from advisor.interview import Answers
from advisor.recommend import recommend
from advisor.report import render_markdown
from tests.advisor.test_recommend import EXTRACTION, EXTRACTION_DATA, SUPPORT, SUPPORT_DATA
from training.evaluation.metrics import Interval
from training.evaluation.results import Bakeoff, CandidateResult, Comparison


def bakeoff(scores: dict[str, float], differences: dict[tuple[str, str], tuple[float, float]], n: int = 100) -> Bakeoff:
    """A summary with these primary-metric means and paired difference intervals (low, high) for a - b."""
    kinds = {"zero-shot": "zero-shot", "few-shot": "few-shot", "rag": "rag"}
    candidates = [CandidateResult(name, kinds.get(name, "lora"), name, {"rouge_l": Interval(mean, mean - 0.05, mean + 0.05)})
                  for name, mean in scores.items()]
    comparisons = [Comparison(a, b, Interval(scores[a] - scores[b], low, high)) for (a, b), (low, high) in differences.items()]
    return Bakeoff("2026-11-24T00:00:00+00:00", "/p/evals/x", "/p/curated/eval.jsonl", "f", n, "rouge_l", ["rouge_l"],
                   ["free text"], candidates, comparisons)


def extraction(bake: Bakeoff | None):
    return recommend(Answers.from_dict(EXTRACTION), evidence_from_report(EXTRACTION_DATA), bakeoff=bake)


def test_without_a_bakeoff_the_interview_decides_and_the_report_says_how_to_measure():
    rec = extraction(None)
    assert rec.path == "fine-tune" and rec.bakeoff is None and rec.overturned is None
    assert "Not run yet: `tunewise eval PROJECT`" in render_markdown(rec, Answers.from_dict(EXTRACTION))


def test_a_prompt_that_matches_the_adapter_within_the_interval_overturns_fine_tuning():
    tie = bakeoff({"few-shot": 0.60, "lora:r1": 0.62, "zero-shot": 0.40},
                  {("lora:r1", "few-shot"): (-0.01, 0.05), ("few-shot", "zero-shot"): (0.1, 0.3), ("lora:r1", "zero-shot"): (0.1, 0.3)})
    rec = extraction(tie)
    assert rec.path == "prompt" and rec.overturned == "fine-tune"
    assert "bake-off" in rec.headline and "not paying off yet" in rec.headline
    assert any("not paying off yet" in r.text and r.basis == "eval:rouge_l" for r in rec.reasons)
    assert any("train longer" in s for s in rec.next_steps)


def test_a_clear_lead_of_the_adapter_confirms_fine_tuning_with_more_confidence():
    lead = bakeoff({"few-shot": 0.50, "lora:r1": 0.70}, {("lora:r1", "few-shot"): (0.12, 0.28)})
    before, after = extraction(None), extraction(lead)
    assert after.path == "fine-tune" and after.overturned is None
    assert any("Fine-tuning pays off" in r.text for r in after.reasons)
    assert after.score > before.score


def test_the_adapter_beating_the_prompt_moves_a_prompt_verdict_to_fine_tuning():
    answers = Answers.from_dict({**EXTRACTION, "prompt_score": 9, "prompt_failures": "none"})  # the interview says: stay
    evidence = evidence_from_report(EXTRACTION_DATA)
    assert recommend(answers, evidence).path == "prompt"
    lead = bakeoff({"few-shot": 0.50, "lora:r1": 0.70}, {("lora:r1", "few-shot"): (0.12, 0.28)})
    rec = recommend(answers, evidence, bakeoff=lead)
    assert rec.path == "fine-tune" and rec.overturned == "prompt"
    assert any("The measurement says fine-tune" in r.text for r in rec.reasons)


def test_a_measured_lead_does_not_override_a_blocker():
    answers = Answers.from_dict({**EXTRACTION, "examples_consistent": "no"})
    lead = bakeoff({"few-shot": 0.50, "lora:r1": 0.70}, {("lora:r1", "few-shot"): (0.12, 0.28)})
    rec = recommend(answers, evidence_from_report(EXTRACTION_DATA), bakeoff=lead)
    assert rec.path == "prompt"
    assert any("not advisable yet" in w.text for w in rec.warnings)


def test_rag_plus_fine_tune_falls_back_to_rag_when_the_adapter_does_not_help():
    evidence = evidence_from_report(SUPPORT_DATA)
    answers = Answers.from_dict(SUPPORT)
    assert recommend(answers, evidence).path == "rag+fine-tune"
    measured = bakeoff({"few-shot": 0.3, "rag": 0.4, "rag+lora:r1": 0.41},
                       {("rag", "few-shot"): (0.05, 0.2), ("rag+lora:r1", "rag"): (-0.02, 0.04),
                        ("rag+lora:r1", "few-shot"): (0.0, 0.2)})
    rec = recommend(answers, evidence, bakeoff=measured)
    assert rec.path == "rag" and rec.overturned == "rag+fine-tune"


def test_retrieval_that_scores_below_the_prompt_is_overturned():
    answers = Answers.from_dict({**SUPPORT, "output_strictness": "loose", "output_kind": "free_text",
                                 "prompt_failures": "facts", "jargon": "none"})
    evidence = evidence_from_report(SUPPORT_DATA)
    assert recommend(answers, evidence).path == "rag"
    worse = bakeoff({"few-shot": 0.5, "rag": 0.3}, {("rag", "few-shot"): (-0.3, -0.1)})
    rec = recommend(answers, evidence, bakeoff=worse)
    assert rec.path == "prompt" and any("Retrieval is not helping" in r.text for r in rec.reasons)


def test_a_small_bakeoff_is_flagged_and_no_adapter_yet_is_a_warning():
    small = bakeoff({"few-shot": 0.5, "zero-shot": 0.4}, {("few-shot", "zero-shot"): (0.02, 0.2)}, n=12)
    rec = extraction(small)
    assert rec.path == "fine-tune"
    texts = [w.text for w in rec.warnings]
    assert any("only 12 examples" in t for t in texts) and any("no fine-tuned candidate yet" in t for t in texts)


def test_would_change_keeps_the_measurement():
    tie = bakeoff({"few-shot": 0.60, "lora:r1": 0.62}, {("lora:r1", "few-shot"): (-0.01, 0.05)})
    rec = extraction(tie)
    # every "what would change" line is computed with the bake-off applied: none may claim a fine-tune
    assert not any("becomes fine-tuning" in w for w in rec.would_change)


def test_a_bakeoff_of_an_older_evaluation_set_is_flagged():
    lead = bakeoff({"few-shot": 0.50, "lora:r1": 0.70}, {("lora:r1", "few-shot"): (0.12, 0.28)})
    fresh = extraction(lead)
    lead.stale = True
    stale = extraction(lead)
    assert any("has changed since" in w.text for w in stale.warnings) and stale.score < fresh.score


def test_a_tiny_bakeoff_never_raises_confidence_and_a_tie_on_it_overturns_nothing():
    tie = bakeoff({"few-shot": 0.60, "lora:r1": 0.62}, {("lora:r1", "few-shot"): (0.01, 0.04)}, n=3)
    before, after = extraction(None), extraction(tie)
    # on 3 examples the honest interval is at least ±0.57: the lead is not a lead, and the verdict stands
    assert after.path == "fine-tune" and after.overturned is None and after.score <= before.score
    assert any("Too few examples to tell" in w.text for w in after.warnings)
    assert any("too few to raise confidence" in n for n in after.confidence_notes)


def test_a_clear_lead_on_a_small_bakeoff_may_overturn_but_lowers_confidence():
    lead = bakeoff({"few-shot": 0.20, "lora:r1": 0.95}, {("lora:r1", "few-shot"): (0.7, 0.8)}, n=12)
    answers = Answers.from_dict({**EXTRACTION, "prompt_score": 9, "prompt_failures": "none"})
    evidence = evidence_from_report(EXTRACTION_DATA)
    before, after = recommend(answers, evidence), recommend(answers, evidence, bakeoff=lead)
    assert after.path == "fine-tune" and after.overturned == "prompt" and after.score < before.score
    assert any("[+0.467" in r.text or "95% interval" in r.text for r in after.reasons)  # widened for n
