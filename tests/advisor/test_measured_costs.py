"""The advisor prices with the bake-off's measurements: the ship line, measured payback, only buyable offers."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from advisor.costs import cheapest_gpu, load_inference_pricing
from advisor.interview import Answers
from advisor.measured_costs import measured_costs
from advisor.recommend import recommend
from advisor.report import render_markdown
from curation.tokens import load_pricing
from training.evaluation.measures import Measures
from training.evaluation.metrics import Interval
from training.evaluation.results import Bakeoff, CandidateResult, Comparison

PRICE_IN, PRICE_OUT = 0.15, 0.60  # USD per 1M tokens of the hosted endpoint


def _hosted(tokens_in: float, tokens_out: float = 40.0) -> Measures:
    cost = (tokens_in * PRICE_IN + tokens_out * PRICE_OUT) / 1e6 * 1000
    return Measures(requests=50, tokens_in_mean=tokens_in, tokens_out_mean=tokens_out, cost_per_1000=cost,
                    price_date="2026-11-30", price_source="https://example.com/pricing", latency_p50_s=0.8,
                    latency_p95_s=1.6, token_basis="usage")


def _bakeoff(prompt_tokens: float = 900.0, cheap_tokens: float = 300.0) -> Bakeoff:
    def cand(name: str, kind: str, score: float, measures: Measures, endpoint: str | None = None) -> CandidateResult:
        return CandidateResult(name, kind, name, {"exact_match": Interval(score, score - 0.05, score + 0.05)},
                               measures=measures, endpoint={"name": endpoint} if endpoint else None)

    local = Measures(requests=50, tokens_in_mean=120.0, tokens_out_mean=40.0, latency_p50_s=0.5, latency_p95_s=0.9,
                     token_basis="tokenizer")
    candidates = [cand("prompt@big", "prompt@", 0.80, _hosted(prompt_tokens), "big"),
                  cand("prompt@small", "prompt@", 0.78, _hosted(cheap_tokens, 30.0) if cheap_tokens else
                       replace(_hosted(300.0), cost_per_1000=None), "small"),
                  cand("lora:run1", "lora", 0.76, local),
                  cand("zero-shot", "zero-shot", 0.40, local)]
    comparisons = [Comparison("prompt@small", "prompt@big", Interval(-0.02, -0.06, 0.02)),
                   Comparison("lora:run1", "prompt@big", Interval(-0.04, -0.09, 0.01)),
                   Comparison("zero-shot", "prompt@big", Interval(-0.40, -0.5, -0.3)),
                   Comparison("lora:run1", "zero-shot", Interval(0.36, 0.30, 0.42))]
    return Bakeoff("2026-12-01", "/tmp/evals/x", "eval.jsonl", "fp", 50, "exact_match", ["exact_match"], [],
                   candidates, comparisons)


def test_ship_line_names_cheapest_not_worse_candidate_with_cost_and_date():
    answers = Answers({"task": "Classify tickets", "requests_per_day": 10_000})
    rec = recommend(answers, bakeoff=_bakeoff())
    measured = rec.costs["measured"]
    assert measured["ship"]["name"] == "prompt@small" and measured["best"] == "prompt@big"
    text = render_markdown(rec, answers)
    ship = next(line for line in text.splitlines() if line.startswith("- **Ship:**"))
    cost = measured["ship"]["cost_per_1000"]
    assert "prompt@small" in ship and "2026-11-30" in ship and "not clearly worse than the best, prompt@big" in ship
    assert f"${cost:.2g}" in ship or f"${cost:,.2f}" in ship
    assert "-0.020" in ship and "0.80 s" in ship
    assert "Estimate:" not in text  # measured, not estimated


def test_without_a_priced_candidate_the_best_is_shipped_on_quality():
    b = _bakeoff()
    b.candidates = [c for c in b.candidates if c.kind != "prompt@"]
    m = measured_costs(b, load_inference_pricing(), None)
    assert m["ship"]["name"] == "lora:run1" and m["ship"]["rule"] == "best" and m["serving"] is None


def test_payback_uses_measured_tokens():
    inference = load_inference_pricing()
    gpu = cheapest_gpu(inference)
    short = measured_costs(_bakeoff(prompt_tokens=900.0), inference, 10_000)["serving"]
    long = measured_costs(_bakeoff(prompt_tokens=1800.0), inference, 10_000)["serving"]
    per_request = (900.0 * PRICE_IN + 40.0 * PRICE_OUT) / 1e6
    assert short["break_even_requests_per_day"] == round(gpu["per_hour"] * 24 / per_request)
    assert long["break_even_requests_per_day"] < short["break_even_requests_per_day"]  # a longer prompt pays back sooner
    assert short["prompt_tokens_saved"] == 900.0 - 120.0 and long["prompt_tokens_saved"] == 1800.0 - 120.0
    assert short["cpu_seconds_per_request"] == 0.5


def test_estimates_say_they_are_estimates():
    answers = Answers({"requests_per_day": 1000})
    text = render_markdown(recommend(answers), answers)
    assert "**Estimate:**" in text


def test_cost_tables_recommend_no_closed_offer():
    inference, training = load_inference_pricing(), load_pricing()
    closed = {o["provider"] for o in inference["hosted_fine_tuning"]["offers"]}
    assert {"OpenAI", "Cohere", "Mistral"} <= closed
    for row in training["hosted"]:  # hosted fine-tuning rows: a reference, never an offer
        assert row.get("status") == "closing", row
    for row in inference["models"]:  # prompting prices: no fine-tuned price left to recommend
        assert "fine_tuned" not in row and row["status"] in ("current", "retiring"), row
    for offer in inference["open_weight_fine_tuning"]["offers"]:
        assert offer["provider"] not in closed and offer["source"].startswith("https://")
    for gpu in inference["serving"]["gpus"]:
        assert gpu["per_hour"] > 0 and gpu["source"].startswith("https://")
    assert inference["serving"]["as_of"] and inference["open_weight_fine_tuning"]["as_of"]
    # the measured fine-tune side is our LoRA on a GPU or CPU, never a hosted fine-tune
    m = measured_costs(_bakeoff(), inference, 1000)
    assert m["serving"]["gpu"]["provider"] not in closed
    assert "fine_tuned" not in json.dumps(m["serving"])


@pytest.mark.parametrize("tokens", [300.0, 600.0])
def test_cheapest_follows_measured_cost(tokens):
    m = measured_costs(_bakeoff(cheap_tokens=tokens), load_inference_pricing(), None)
    assert m["ship"]["cost_per_1000"] == pytest.approx((tokens * PRICE_IN + 30.0 * PRICE_OUT) / 1e6 * 1000)
