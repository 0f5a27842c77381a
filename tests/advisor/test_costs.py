"""Per-request cost of the few-shot prompt on a hosted model vs our fine-tune served on a rented GPU."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from advisor.costs import (
    RequestShape,
    break_even_requests_per_day,
    cheapest_gpu,
    compare_per_request,
    cost_summary,
    load_inference_pricing,
    request_cost,
)
from curation.errors import DataError
from curation.tokens import estimate_cost, load_pricing

# One model and one GPU with round prices, so every expected figure below can be checked by hand.
TABLE = {"currency": "USD", "as_of": "2026-12-02", "source": "https://example.com/prices",
         "models": [{"provider": "Test", "model": "m", "status": "current", "base": {"input": 1.0, "output": 2.0}}],
         "serving": {"as_of": "2026-12-02", "gpus": [{"provider": "P", "gpu": "G", "per_hour": 0.5, "source": "s"},
                                                     {"provider": "Q", "gpu": "H", "per_hour": 2.0, "source": "t"}]}}


def test_request_cost_is_per_million_tokens():
    assert request_cost(1_000_000, 0, {"input": 0.15, "output": 0.60}) == pytest.approx(0.15)
    assert request_cost(2000, 500, {"input": 1.0, "output": 2.0}) == pytest.approx(0.002 + 0.001)


def test_break_even_per_day():
    assert break_even_requests_per_day(12.0, 0.001) == 12_000
    assert break_even_requests_per_day(12.0, 0.0) is None


def test_shape_token_arithmetic():
    shape = RequestShape(system_tokens=100, user_tokens=50, output_tokens=150, shots=4, rag_tokens=200)
    assert shape.shot_tokens == 200
    assert shape.few_shot_input == 100 + 4 * 200 + 200 + 50
    assert shape.tuned_input(True) == 350 and shape.tuned_input(False) == 250
    with pytest.raises(ValueError, match="shots"):
        RequestShape(1, 1, 1, shots=-1)


def test_cheapest_gpu_and_its_day():
    gpu = cheapest_gpu(TABLE)
    assert gpu["gpu"] == "G" and gpu["per_day"] == 12.0 and gpu["as_of"] == "2026-12-02"
    assert cheapest_gpu({"models": []}) is None


def test_hand_computed_row():
    shape = RequestShape(system_tokens=100, user_tokens=100, output_tokens=100, shots=5)
    (row,) = compare_per_request(shape, TABLE, requests_per_day=1000)
    # few-shot: 1200 in × $1 + 100 out × $2 = $0.0014; without demonstrations: 200 × $1 + 100 × $2 = $0.0004
    assert row["few_shot_per_1k"] == pytest.approx(1.4)
    assert row["instructions_only_per_1k"] == pytest.approx(0.4)
    assert row["hosted_per_day"] == pytest.approx(1.4)
    # one GPU at $0.50 an hour = $12 a day: cheaper than $0.0014 a request from 12 / 0.0014 = 8,572 a day
    assert row["break_even_requests_per_day"] == 8572
    assert row["gpu_per_1k"] == pytest.approx(12.0)  # $12 a day over 1,000 requests


def test_no_gpu_price_gives_no_break_even():
    (row,) = compare_per_request(RequestShape(100, 100, 100), {**TABLE, "serving": {}})
    assert row["break_even_requests_per_day"] is None


@given(st.integers(0, 9), st.floats(10, 2000), st.floats(10, 2000))
def test_more_demonstrations_never_raise_the_break_even(shots, user, output):
    def per_day(k: int) -> int:
        (row,) = compare_per_request(RequestShape(50, user, output, shots=k), TABLE)
        return row["break_even_requests_per_day"]

    assert per_day(shots + 1) <= per_day(shots)


def test_packaged_prices_are_dated_sourced_and_quote_a_current_model():
    inference = load_inference_pricing()
    assert inference["as_of"] and inference["source"].startswith("https://")
    rows = {m["model"]: m for m in inference["models"]}
    assert rows[inference["reference_model"]]["status"] == "current"
    for m in inference["models"]:
        assert m["source"].startswith("https://")
        assert m["status"] in ("current", "retiring") and (m["status"] == "current" or m["shutdown"])
    assert cheapest_gpu(inference)["source"].startswith("https://")


def test_bad_price_table_is_a_data_error(tmp_path):
    path = tmp_path / "prices.yaml"
    path.write_text("models:\n  - {provider: X, model: y, base: {input: 1}}\n")
    with pytest.raises(DataError, match="models\\[0\\]"):
        load_inference_pricing(path)
    path.write_text("reference_model: y\nmodels:\n  - {provider: X, model: y, status: retiring, base: {input: 1, output: 2}}\n")
    with pytest.raises(DataError, match="current"):
        load_inference_pricing(path)


def test_summary_quotes_the_reference_and_says_when_the_gpu_pays():
    training = estimate_cost(100_000, 3, load_pricing())
    shape = RequestShape(150, 40, 120, shots=5)
    low = cost_summary(shape, training, load_inference_pricing(), requests_per_day=100)
    ref = low["reference"]
    assert ref["model"] == load_inference_pricing()["reference_model"]
    assert not low["fine_tuning_pays_off"]
    high = cost_summary(shape, training, load_inference_pricing(), requests_per_day=ref["break_even_requests_per_day"])
    assert high["fine_tuning_pays_off"]
    best = low["cheapest_break_even"]
    assert best["status"] == "current" and best["break_even_requests_per_day"] == min(
        r["break_even_requests_per_day"] for r in low["per_request"] if r["status"] == "current")
    assert low["request"]["few_shot_input_tokens"] == 150 + 5 * 160 + 40
