"""Cost and latency of an endpoint, from the tokens and times measured on its replies."""

from __future__ import annotations

from dataclasses import dataclass

from training.endpoints.client import Reply
from training.endpoints.config import Endpoint
from training.endpoints.failures import EndpointFailure


@dataclass(frozen=True)
class EndpointStats:
    """What a batch of requests measured: counts, mean tokens, cost per 1,000 requests and latency percentiles."""

    requests: int
    failures: int
    tokens_in_mean: float | None  # over replies whose server sent usage
    tokens_out_mean: float | None
    cost_per_1000: float | None  # USD; None without prices or without usage
    latency_p50_s: float | None
    latency_p95_s: float | None
    price_date: str | None
    price_source: str | None


def cost_per_1000(replies: list[Reply | EndpointFailure], endpoint: Endpoint) -> float | None:
    """USD per 1,000 requests at the endpoint's prices and the mean measured tokens (None if either is missing)."""
    tokens_in, tokens_out = _mean_tokens(replies)
    if not endpoint.priced or tokens_in is None or tokens_out is None:
        return None
    per_request = (tokens_in * endpoint.price_in_per_mtok + tokens_out * endpoint.price_out_per_mtok) / 1e6  # type: ignore[operator]
    return per_request * 1000


def latency_percentiles(replies: list[Reply | EndpointFailure]) -> tuple[float, float] | None:
    """(p50, p95) latency in seconds of the successful replies (None when there are none)."""
    import numpy as np

    latencies = [r.latency_s for r in replies if isinstance(r, Reply)]
    if not latencies:
        return None
    p50, p95 = np.percentile(np.asarray(latencies, dtype=float), [50, 95])
    return float(p50), float(p95)


def endpoint_stats(replies: list[Reply | EndpointFailure], endpoint: Endpoint) -> EndpointStats:
    """All the measurements of a batch of replies from endpoint."""
    tokens_in, tokens_out = _mean_tokens(replies)
    latency = latency_percentiles(replies)
    return EndpointStats(
        requests=len(replies), failures=sum(isinstance(r, EndpointFailure) for r in replies),
        tokens_in_mean=tokens_in, tokens_out_mean=tokens_out, cost_per_1000=cost_per_1000(replies, endpoint),
        latency_p50_s=latency[0] if latency else None, latency_p95_s=latency[1] if latency else None,
        price_date=endpoint.price_date, price_source=endpoint.price_source,
    )


def _mean_tokens(replies: list[Reply | EndpointFailure]) -> tuple[float | None, float | None]:
    """Mean prompt and completion tokens over the replies whose server reported usage."""
    import numpy as np

    counted = [r for r in replies if isinstance(r, Reply) and r.tokens_in is not None and r.tokens_out is not None]
    if not counted:
        return None, None
    return float(np.mean([r.tokens_in for r in counted])), float(np.mean([r.tokens_out for r in counted]))
