"""What answering cost each candidate: tokens in/out per request, cost per 1,000 requests, latency, failures.

Endpoint candidates are measured by the endpoint itself (tokens from the server's `usage`, latency per request as
the client saw it, network and retries included) and priced at the endpoint's dated price. Local candidates count
their tokens with the model's tokenizer and chat template; their latency is each generation chunk's time divided
by its size (replies are generated in batches); they have no price here (the advisor prices serving them).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

#: How latency was measured, per kind of candidate (shown in the summary).
ENDPOINT_LATENCY = "per request, as the client measured it (network and retries included)"
LOCAL_LATENCY = "generation time of each batch divided by its size (this machine)"
#: The rule the cost verdict follows (stated in the summary).
COST_RULE = ("the cheapest candidate whose paired interval against the best includes 0 or favours it; candidates "
             "with no price (local ones: the advisor prices serving them) are compared on quality only")


@dataclass(frozen=True)
class Measures:
    """One candidate's measured cost and latency over the bake-off's requests."""

    requests: int
    failures: int = 0
    tokens_in_mean: float | None = None
    tokens_out_mean: float | None = None
    cost_per_1000: float | None = None  # USD per 1,000 requests; None without a price
    price_date: str | None = None
    price_source: str | None = None
    latency_p50_s: float | None = None
    latency_p95_s: float | None = None
    latency_basis: str | None = None
    token_basis: str | None = None  # "usage" (the server's count) or "tokenizer" (counted here)
    failure: str | None = None  # the first failure's message (the rest were scored as empty outputs too)

    def to_dict(self) -> dict[str, Any]:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Measures | None:
        if not isinstance(data, dict):
            return None
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known) if "requests" in known else None


def _mean(values: list[int | float]) -> float | None:
    return float(sum(values) / len(values)) if values else None


def endpoint_measures(meta: list[dict[str, Any] | None], failures: list[str | None], endpoint) -> Measures:
    """Measures of an endpoint candidate from each request's cached measurements (None where it failed)."""
    from training.endpoints import EndpointFailure, Reply, endpoint_stats

    replies = [Reply("", m.get("tokens_in"), m.get("tokens_out"), float(m.get("latency_s") or 0.0), None)
               if m is not None and f is None else EndpointFailure("failed", f or "no output")
               for m, f in zip(meta, failures)]
    stats = endpoint_stats(replies, endpoint)
    first = next((f for f in failures if f), None)
    return Measures(requests=stats.requests, failures=stats.failures, tokens_in_mean=stats.tokens_in_mean,
                    tokens_out_mean=stats.tokens_out_mean, cost_per_1000=stats.cost_per_1000,
                    price_date=stats.price_date, price_source=stats.price_source, latency_p50_s=stats.latency_p50_s,
                    latency_p95_s=stats.latency_p95_s, latency_basis=ENDPOINT_LATENCY, token_basis="usage",
                    failure=first)


def local_measures(tokens_in: list[int], tokens_out: list[int], latencies: list[float | None]) -> Measures:
    """Measures of a local candidate: tokenizer counts, and latency where the output was generated and timed."""
    from training.endpoints import Reply, latency_percentiles

    timed = [Reply("", None, None, t, None) for t in latencies if t is not None]
    latency = latency_percentiles(timed)
    return Measures(requests=len(tokens_in), tokens_in_mean=_mean(tokens_in), tokens_out_mean=_mean(tokens_out),
                    latency_p50_s=latency[0] if latency else None, latency_p95_s=latency[1] if latency else None,
                    latency_basis=LOCAL_LATENCY, token_basis="tokenizer")


def count_tokens(tokenizer, conversations: list[list[dict]], outputs: list[str]) -> tuple[list[int], list[int]]:
    """Prompt tokens (the chat template applied, as the model sees it) and output tokens, per request."""
    tokens_in = []
    for conversation in conversations:
        ids = tokenizer.apply_chat_template(list(conversation), tokenize=True, add_generation_prompt=True)
        tokens_in.append(len(ids["input_ids"] if hasattr(ids, "keys") else ids))
    tokens_out = [len(ids) for ids in tokenizer(list(outputs), add_special_tokens=False)["input_ids"]] if outputs else []
    return tokens_in, tokens_out
