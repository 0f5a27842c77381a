"""Cost per 1,000 requests from measured tokens and dated prices; latency percentiles of the replies."""

from __future__ import annotations

import pytest

from training.endpoints import (
    Endpoint,
    EndpointFailure,
    Reply,
    cost_per_1000,
    endpoint_stats,
    latency_percentiles,
)

PRICED = Endpoint("hosted", "https://api.example.com/v1", "m", price_in_per_mtok=0.5, price_out_per_mtok=2.0,
                  price_date="2026-11-30", price_source="https://example.com/pricing")


def reply(tokens_in, tokens_out, latency=1.0) -> Reply:
    return Reply("text", tokens_in, tokens_out, latency, "stop")


def test_cost_per_1000_requests_comes_from_the_mean_measured_tokens():
    replies = [reply(1000, 100), reply(3000, 300), EndpointFailure("timeout", "slow")]
    # mean 2000 in, 200 out: (2000 * 0.5 + 200 * 2.0) / 1e6 USD per request = 0.0014; per 1,000 = 1.4
    assert cost_per_1000(replies, PRICED) == pytest.approx(1.4)


def test_no_cost_without_prices_or_without_usage():
    unpriced = Endpoint("local", "http://127.0.0.1:8000/v1", "m")
    assert cost_per_1000([reply(10, 10)], unpriced) is None
    assert cost_per_1000([reply(None, None)], PRICED) is None


def test_latency_percentiles_and_stats():
    replies = [reply(10, 5, latency=float(s)) for s in range(1, 101)] + [EndpointFailure("timeout", "slow")]
    p50, p95 = latency_percentiles(replies)
    assert p50 == pytest.approx(50.5) and p95 == pytest.approx(95.05)
    stats = endpoint_stats(replies, PRICED)
    assert (stats.requests, stats.failures, stats.tokens_in_mean, stats.tokens_out_mean) == (101, 1, 10.0, 5.0)
    assert stats.price_date == "2026-11-30" and stats.cost_per_1000 == pytest.approx((10 * 0.5 + 5 * 2.0) / 1000)
    assert latency_percentiles([EndpointFailure("timeout", "slow")]) is None
