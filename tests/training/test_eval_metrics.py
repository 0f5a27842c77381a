"""Metrics on hand-checked cases, bootstrap intervals, metric choice, and the generation cache."""

from __future__ import annotations

import json

import pytest

from curation.errors import UsageError
from training.evaluation.cache import GenerationCache, generation_key
from training.evaluation.candidates import strip_citations
from training.evaluation.config import EvalConfig, choose_metrics
from training.evaluation.metrics import (
    bootstrap_ci,
    contains,
    exact_match,
    json_equal,
    json_valid,
    lcs_length,
    length_ratio,
    normalize,
    paired_difference,
    regex_metric,
    rouge_l,
    schema_metric,
    token_f1,
)


def test_exact_match_normalises_case_punctuation_articles_and_spaces():
    assert normalize("  The Cat, sat!  ") == "cat sat"
    assert exact_match("The answer is: Paris.", "answer is paris") == 1.0
    assert exact_match("Paris", "London") == 0.0
    assert exact_match("", "") == 1.0


def test_token_f1_matches_hand_computed_values():
    # 2 shared words of 3 output and 3 reference words: P = R = 2/3, F1 = 2/3
    assert token_f1("red bike fast", "red bike slow") == pytest.approx(2 / 3)
    # repeated words count once per occurrence on each side: P = 1/2, R = 1, F1 = 2/3
    assert token_f1("bike bike", "bike") == pytest.approx(2 / 3)
    assert token_f1("nothing shared", "at all here") == 0.0
    assert token_f1("", "something") == 0.0


def test_rouge_l_is_the_lcs_f_measure():
    assert lcs_length("a b c d e".split(), "a c e".split()) == 3
    # "the cat sat on the mat" vs "the cat on the mat": LCS 5 words, F = 2*5/(6+5)
    assert rouge_l("the cat sat on the mat", "the cat on the mat") == pytest.approx(10 / 11)
    assert rouge_l("The Cat", "the cat") == 1.0
    assert rouge_l("abc", "xyz") == 0.0


def test_contains_is_whole_word_answer_recall():
    assert contains("The Super Bowl was won by the Denver Broncos.", "Denver Broncos") == 1.0
    assert contains("It was in 1998, I think", "1998") == 1.0
    assert contains("In 19985.", "1998") == 0.0 and contains("anything", "") == 0.0


def test_format_metrics():
    assert json_valid('{"a": 1}', "") == 1.0 and json_valid('```json\n[1, 2]\n```', "") == 1.0
    assert json_valid("42", "") == 0.0 and json_valid("{oops", "") == 0.0
    assert json_equal('{"b": 2, "a": 1}', '{"a":1,"b":2}') == 1.0 and json_equal('{"a": 2}', '{"a": 1}') == 0.0
    order_id = regex_metric(r"ORD-\d{4}")
    assert order_id(" ORD-1234 ", "") == 1.0 and order_id("ORD-12345", "") == 0.0
    schema = schema_metric({"type": "object", "required": ["label"], "properties": {"label": {"enum": ["yes", "no"]}}})
    assert schema('{"label": "yes"}', "") == 1.0 and schema('{"label": "maybe"}', "") == 0.0 and schema("yes", "") == 0.0
    assert length_ratio("one two three four", "one two") == 2.0


def test_bootstrap_interval_contains_the_mean_and_is_reproducible():
    values = [0, 1] * 50
    ci = bootstrap_ci(values, seed=3)
    assert ci.low < 0.5 < ci.high and ci.mean == 0.5 and 0.35 < ci.low and ci.high < 0.65
    assert bootstrap_ci(values, seed=3) == ci
    same = bootstrap_ci([0.7] * 20)
    assert (same.low, same.mean, same.high) == pytest.approx((0.7, 0.7, 0.7))


def test_paired_difference_separates_a_clear_lead_from_a_tie():
    better, worse = [1.0] * 30 + [0.0] * 10, [0.0] * 40
    assert paired_difference(better, worse).low > 0
    noisy_a, noisy_b = [1, 0] * 20, [0, 1] * 20
    tie = paired_difference(noisy_a, noisy_b)
    assert tie.low < 0 < tie.high and not tie.excludes_zero()
    with pytest.raises(ValueError):
        paired_difference([1.0], [1.0, 0.0])


def test_metric_choice_follows_the_references():
    labels = choose_metrics(["refund", "exchange", "repair now"] * 3, EvalConfig())
    assert labels.primary == "exact_match" and "labels" in labels.reasons[0]
    answers = choose_metrics(["Denver Broncos", "1998", "Santa Clara, California"], EvalConfig())
    assert answers.primary == "contains" and "exact_match" in answers.metrics
    structured = choose_metrics(['{"label": "a"}', '{"label": "b"}'], EvalConfig())
    assert structured.primary == "json_equal" and "json_valid" in structured.metrics
    free = choose_metrics(["This is a long free text answer about a bike and its battery."] * 3, EvalConfig())
    assert free.primary == "rouge_l" and "embedding" in free.metrics
    chosen = choose_metrics(["x y z w v"], EvalConfig(metrics=["token_f1", "exact_match"], primary="exact_match"))
    assert list(chosen.metrics) == ["token_f1", "exact_match"] and chosen.primary == "exact_match"
    regex = choose_metrics(["ORD-1"], EvalConfig(regex=r"ORD-\d+"))
    assert "format_regex" in regex.metrics


@pytest.mark.parametrize("kwargs, match", [
    ({"metrics": ["bleu"]}, "Unknown metric"),
    ({"limit": 0}, "limit"),
    ({"regex": "("}, "not a valid regular expression"),
    ({"rag_mode": "fuzzy"}, "rag_mode"),
    ({"schema": "/no/such/schema.json"}, "does not exist"),
])
def test_bad_settings_are_usage_errors(kwargs, match):
    with pytest.raises(UsageError, match=match):
        EvalConfig(**kwargs)


def test_primary_must_be_computed_and_higher_is_better():
    with pytest.raises(UsageError, match="not among"):
        choose_metrics(["a b c d e"], EvalConfig(metrics=["rouge_l"], primary="exact_match"))
    with pytest.raises(UsageError, match="cannot pick a winner"):
        choose_metrics(["a b c d e"], EvalConfig(metrics=["length_ratio"], primary="length_ratio"))


def test_a_schema_file_that_is_not_a_schema_is_a_usage_error(tmp_path):
    bad = tmp_path / "schema.json"
    bad.write_text(json.dumps({"type": "no-such-type"}))
    with pytest.raises(UsageError, match="not a valid JSON schema"):
        choose_metrics(["{}"], EvalConfig(schema=str(bad)))


def test_citations_are_stripped_before_scoring():
    assert strip_citations("The warranty is 2 years [1]. Batteries 1 year [2][3].") == \
        "The warranty is 2 years. Batteries 1 year."


def test_cache_round_trips_and_survives_a_cut_line(tmp_path):
    path = tmp_path / "cache.jsonl"
    key = generation_key("m", None, {"max_new_tokens": 8}, [{"role": "user", "content": "hi"}])
    assert key != generation_key("m", "adapter", {"max_new_tokens": 8}, [{"role": "user", "content": "hi"}])
    assert key != generation_key("m", None, {"max_new_tokens": 9}, [{"role": "user", "content": "hi"}])
    cache = GenerationCache(path)
    cache.put({key: "hello\u2028there"})
    with path.open("a") as handle:
        handle.write('{"key": "cut-off", "outp')  # a crash mid-line
    again = GenerationCache(path)
    assert again.get(key) == "hello\u2028there" and again.get("cut-off") is None
    again.put({"k2": "second"})
    assert GenerationCache(path).get("k2") == "second"


def test_a_pattern_the_references_fail_is_called_out():
    plan = choose_metrics(["ORD-1", "ORD-2", "none"], EvalConfig(regex=r"ORD-\d+"))
    assert any("only 2 of 3 references pass it" in r for r in plan.reasons)
    clean = choose_metrics(["ORD-1", "ORD-2"], EvalConfig(regex=r"ORD-\d+"))
    assert not any("references pass" in r for r in clean.reasons)


def test_eval_inputs_seen_in_training_are_reported_as_leaks():
    from curation.example import Example
    from training.evaluation.eval_set import EvalData

    def ex(i, question):
        return Example(i, [{"role": "user", "content": question}, {"role": "assistant", "content": "a"}])

    data = EvalData([ex("e1", "How long is the warranty?"), ex("e2", "Do you ship to Norway?")],
                    [ex("t1", "how long is the  warranty"), ex("t2", "Can I pay by invoice?")], "x")
    assert data.leaks() == ["e1"]


def test_several_references_for_one_input_are_one_item_scored_against_the_best():
    from curation.example import Example
    from training.evaluation.eval_set import group_references
    from training.evaluation.harness import score_outputs

    def ex(i, question, reply):
        return Example(i, [{"role": "user", "content": question}, {"role": "assistant", "content": reply}])

    items, refs = group_references([ex("a1", "Name: Blue Spice", "Blue Spice is a pub."),
                                    ex("b1", "Name: Wildwood", "Wildwood serves French food."),
                                    ex("a2", "Name: Blue Spice", "The Blue Spice pub is by the river.")])
    assert [e.id for e in items] == ["a1", "b1"] and refs == [["Blue Spice is a pub.", "The Blue Spice pub is by the river."],
                                                              ["Wildwood serves French food."]]
    plan = choose_metrics([r for group in refs for r in group], EvalConfig(metrics=["rouge_l", "length_ratio"]))
    scores = score_outputs({"m": ["The Blue Spice pub is by the river.", "Wildwood serves French food."]}, refs, plan)
    assert scores["m"]["rouge_l"] == [1.0, 1.0]  # the second reference of the first input matches exactly
