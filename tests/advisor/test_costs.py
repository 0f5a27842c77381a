"""Per-request cost of few-shot prompting vs a fine-tuned model, and the break-even volume."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from advisor.costs import (
    RequestShape,
    break_even_requests,
    compare_per_request,
    cost_summary,
    load_inference_pricing,
    request_cost,
)
from curation.errors import DataError
from curation.tokens import estimate_cost, load_pricing

# One model with round prices, so every expected figure below can be checked by hand.
TABLE = {"currency": "USD", "as_of": "2025-06-01",
         "models": [{"provider": "Test", "model": "m", "base": {"input": 1.0, "output": 2.0},
                     "fine_tuned": {"input": 2.0, "output": 4.0}}]}


def test_request_cost_is_per_million_tokens():
    assert request_cost(1_000_000, 0, {"input": 0.15, "output": 0.60}) == pytest.approx(0.15)
    assert request_cost(2000, 500, {"input": 1.0, "output": 2.0}) == pytest.approx(0.002 + 0.001)


def test_break_even():
    assert break_even_requests(1.0, 0.001) == pytest.approx(1000)
    assert break_even_requests(1.0, 0.0) is None
    assert break_even_requests(1.0, -0.5) is None


def test_shape_token_arithmetic():
    shape = RequestShape(system_tokens=100, user_tokens=50, output_tokens=150, shots=4, rag_tokens=200)
    assert shape.shot_tokens == 200
    assert shape.few_shot_input == 100 + 4 * 200 + 200 + 50
    assert shape.tuned_input(True) == 350 and shape.tuned_input(False) == 250
    with pytest.raises(ValueError, match="shots"):
        RequestShape(1, 1, 1, shots=-1)


def test_hand_computed_row():
    shape = RequestShape(system_tokens=100, user_tokens=100, output_tokens=100, shots=5)
    (row,) = compare_per_request(shape, TABLE, {"m": 1.2}, requests_per_day=100)
    # few-shot: 1200 in × $1 + 100 out × $2 = $0.0014; tuned: 200 in × $2 + 100 out × $4 = $0.0008
    assert row["few_shot_per_1k"] == pytest.approx(1.4)
    assert row["fine_tuned_per_1k"] == pytest.approx(0.8)
    assert row["saving_per_1k"] == pytest.approx(0.6)
    assert row["break_even_requests"] == 2000  # $1.20 / $0.0006
    assert row["break_even_days"] == 20.0
    # dropping the 100 instruction tokens too saves $0.0002 more per request: $1.20 / $0.0008
    assert row["break_even_requests_short_prompt"] == 1500


def test_retrieved_context_can_make_fine_tuning_never_pay_off():
    # The fine-tuned model pays double for every retrieved token: 2,000 of them outweigh five short demonstrations.
    shape = RequestShape(system_tokens=100, user_tokens=20, output_tokens=80, shots=5, rag_tokens=2000)
    (row,) = compare_per_request(shape, TABLE, {"m": 1.0})
    assert row["saving_per_1k"] < 0
    assert row["break_even_requests"] is None and row["break_even_days"] is None


def test_unknown_training_price_gives_no_break_even():
    (row,) = compare_per_request(RequestShape(100, 100, 100), TABLE, {})
    assert row["training_cost"] is None and row["break_even_requests"] is None


@given(st.integers(0, 9), st.floats(10, 2000), st.floats(10, 2000))
def test_more_demonstrations_never_delay_the_break_even(shots, user, output):
    def requests(k: int) -> float:
        (row,) = compare_per_request(RequestShape(50, user, output, shots=k), TABLE, {"m": 5.0})
        return row["break_even_requests"] or float("inf")

    assert requests(shots + 1) <= requests(shots)


def test_packaged_prices_cover_every_hosted_training_row():
    inference = load_inference_pricing()
    assert inference["as_of"] and inference["source"].startswith("https://")
    priced = {m["model"] for m in inference["models"]}
    assert {row["model"] for row in load_pricing()["hosted"]} <= priced
    for m in inference["models"]:  # a fine-tuned model is never cheaper per token than its base
        assert m["fine_tuned"]["input"] >= m["base"]["input"] and m["fine_tuned"]["output"] >= m["base"]["output"]


def test_bad_price_table_is_a_data_error(tmp_path):
    path = tmp_path / "prices.yaml"
    path.write_text("models:\n  - {provider: X, model: y, base: {input: 1}, fine_tuned: {input: 1, output: 2}}\n")
    with pytest.raises(DataError, match="models\\[0\\]"):
        load_inference_pricing(path)


def test_summary_uses_training_cost_of_the_same_model():
    pricing = load_pricing()
    training = estimate_cost(100_000, 3, pricing)
    summary = cost_summary(RequestShape(150, 40, 120, shots=5), training, load_inference_pricing(), requests_per_day=1000)
    rows = {r["model"]: r for r in summary["per_request"]}
    for hosted in training["hosted"]:
        assert rows[hosted["model"]]["training_cost"] == hosted["cost"]
    best = summary["cheapest_break_even"]
    assert best is not None and best["break_even_requests"] == min(
        r["break_even_requests"] for r in summary["per_request"] if r["break_even_requests"] is not None)
    assert summary["request"]["few_shot_input_tokens"] == 150 + 5 * 160 + 40
