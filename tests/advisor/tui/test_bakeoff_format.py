"""The evaluation screen's pure helpers: the word diff (hand-checked), progress, settings and table rows."""

from __future__ import annotations

import pytest

from advisor.tui.bakeoff_format import (
    coverage,
    eval_config,
    example_rows,
    generation_order,
    outputs_cell,
    overall_fraction,
    split_bold,
    stage_label,
    summary_columns,
    summary_rows,
    word_diff,
)
from curation.errors import UsageError
from training.evaluation.metrics import Interval
from training.evaluation.results import Bakeoff, CandidateResult, Comparison


def test_identical_texts_are_all_equal():
    ref, out = word_diff("Bike 3 is red.", "Bike 3 is red.")
    assert ref == [("Bike", "equal"), ("3", "equal"), ("is", "equal"), ("red.", "equal")]
    assert out == ref
    assert coverage(ref) == (4, 4)


def test_case_and_surrounding_punctuation_do_not_count_as_changes():
    ref, out = word_diff("Bike 3 is red.", "bike 3 is RED")
    assert all(tag == "equal" for _, tag in ref + out)
    assert [w for w, _ in out] == ["bike", "3", "is", "RED"]  # shown as written


def test_one_word_changed_is_missing_in_reference_and_extra_in_output():
    ref, out = word_diff("Bike 3 is red.", "Bike 3 is blue.")
    assert ref == [("Bike", "equal"), ("3", "equal"), ("is", "equal"), ("red.", "missing")]
    assert out == [("Bike", "equal"), ("3", "equal"), ("is", "equal"), ("blue.", "extra")]
    assert coverage(ref) == (3, 4)


def test_extra_words_in_the_output():
    ref, out = word_diff("Charge it overnight.", "Please charge it fully overnight.")
    assert all(tag == "equal" for _, tag in ref)
    assert out == [("Please", "extra"), ("charge", "equal"), ("it", "equal"), ("fully", "extra"), ("overnight.", "equal")]


def test_words_the_output_leaves_out_are_missing():
    ref, out = word_diff("Reset the app then pair again", "Reset then pair")
    assert ref == [("Reset", "equal"), ("the", "missing"), ("app", "missing"), ("then", "equal"), ("pair", "equal"),
                   ("again", "missing")]
    assert all(tag == "equal" for _, tag in out)


def test_empty_output_misses_every_reference_word():
    ref, out = word_diff("Bike 3 is red.", "")
    assert out == [] and [t for _, t in ref] == ["missing"] * 4
    assert coverage(ref) == (0, 4)
    ref, out = word_diff("", "Hello there")
    assert ref == [] and out == [("Hello", "extra"), ("there", "extra")]
    assert word_diff("", "") == ([], [])


def test_split_bold_renders_the_verdict_markdown():
    assert split_bold("**few-shot** scores best, ahead of **zero-shot**.") == [
        ("few-shot", True), (" scores best, ahead of ", False), ("zero-shot", True), (".", False)]
    assert split_bold("no bold here") == [("no bold here", False)]
    assert split_bold("an ** unmatched marker") == [("an ** unmatched marker", False)]


def test_stage_label_names_the_candidate_and_counts():
    assert stage_label("generate few-shot", 12, 40) == "Generating few-shot 12/40"
    assert stage_label("generate lora:r1", 0, 1) == "Generating lora:r1"
    assert stage_label("embed", 3, 9) == "Embedding examples 3/9"
    assert stage_label("score", 2, 2) == "Scoring 2/2"
    assert stage_label("something new", 1, 1) == "Something new"


def test_overall_fraction_follows_the_generation_order():
    names = ["lora:r1", "zero-shot", "few-shot"]
    assert generation_order(names) == ["zero-shot", "few-shot", "lora:r1"]  # adapters last, like the harness
    assert overall_fraction("embed", 0, 10, names) == pytest.approx(0.0)
    assert overall_fraction("embed", 10, 10, names) == pytest.approx(0.10)
    assert overall_fraction("generate zero-shot", 0, 4, names) == pytest.approx(0.10)
    assert overall_fraction("generate few-shot", 2, 4, names) == pytest.approx(0.10 + 0.85 * 1.5 / 3)
    assert overall_fraction("generate lora:r1", 4, 4, names) == pytest.approx(0.95)
    assert overall_fraction("score", 3, 3, names) == pytest.approx(1.0)
    assert overall_fraction("score", 0, 0, names) == pytest.approx(1.0)  # nothing to do counts as done


def test_eval_config_from_the_fields():
    config = eval_config(["zero-shot", "few-shot"], "", "")
    assert config.candidates == ["zero-shot", "few-shot"] and config.limit is None and config.max_new_tokens == 64
    config = eval_config(["zero-shot"], " 2 ", "4")
    assert config.limit == 2 and config.max_new_tokens == 4


@pytest.mark.parametrize(("names", "limit", "tokens", "match"), [
    ([], "", "64", "No candidates selected"),
    (["zero-shot"], "two", "64", "examples \\(limit\\) must be a whole number"),
    (["zero-shot"], "", "4.5", "max new tokens must be a whole number"),
    (["zero-shot"], "0", "64", "limit=0 is invalid"),
    (["zero-shot"], "", "0", "max_new_tokens=0 is invalid"),
])
def test_eval_config_rejects_bad_fields_naming_them(names, limit, tokens, match):
    with pytest.raises(UsageError, match=match):
        eval_config(names, limit, tokens)


def _bakeoff() -> Bakeoff:
    def scores(rouge: float, f1: float) -> dict[str, Interval]:
        return {"token_f1": Interval(f1, f1 - 0.1, f1 + 0.1), "rouge_l": Interval(rouge, rouge - 0.05, rouge + 0.05)}

    return Bakeoff("2025-01-01T00:00:00+00:00", "evals/x", "curated/eval.jsonl", "fp", 3, "rouge_l",
                   ["token_f1", "rouge_l"], ["references are free text"],
                   [CandidateResult("zero-shot", "zero-shot", "", scores(0.2, 0.3), generated=3),
                    CandidateResult("few-shot", "few-shot", "", scores(0.5, 0.4), generated=1, cached=2)],
                   [Comparison("zero-shot", "few-shot", Interval(-0.3, -0.5, -0.1))])


def test_summary_rows_rank_best_first_with_intervals_and_the_primary_marked():
    bakeoff = _bakeoff()
    assert summary_columns(bakeoff) == ["candidate", "rouge_l ★", "token_f1", "outputs"]
    assert summary_rows(bakeoff) == [
        ["few-shot", "0.500 [0.450–0.550]", "0.400 [0.300–0.500]", "1 new · 2 cached"],
        ["zero-shot", "0.200 [0.150–0.250]", "0.300 [0.200–0.400]", "3 new"],
    ]
    assert outputs_cell(CandidateResult("x", "zero-shot", "", {})) == "none"


def test_example_rows_put_the_largest_spread_first():
    rows = [
        {"id": "a", "spread": 0.1, "scores": {"zero-shot": {"rouge_l": 0.2}, "few-shot": {"rouge_l": 0.3}}},
        {"id": "b", "spread": 0.75, "scores": {"zero-shot": {"rouge_l": 0.0}, "few-shot": {"rouge_l": 0.75}}},
        {"id": "c", "spread": 0.1, "scores": {"zero-shot": {"rouge_l": 0.5}}},
    ]
    assert example_rows(rows, ["few-shot", "zero-shot"], "rouge_l") == [
        ["b", "0.75", "0.75", "0.00"],
        ["a", "0.10", "0.30", "0.20"],
        ["c", "0.10", "–", "0.50"],  # ties keep the eval set's order; a missing score shows a dash
    ]


def test_model_loading_has_a_label_and_never_moves_the_bar_back():
    from advisor.tui.bakeoff_format import overall_fraction, stage_label

    assert stage_label("load model", 0, 1) == "Loading the model"
    assert stage_label("load model + r1", 0, 1) == "Loading the model with adapter r1"
    names = ["zero-shot", "lora:r1"]
    after_base = overall_fraction("generate zero-shot", 5, 5, names)
    assert overall_fraction("load model + r1", 0, 1, names) == after_base
    assert overall_fraction("load model", 1, 1, names) <= overall_fraction("generate zero-shot", 0, 5, names)
