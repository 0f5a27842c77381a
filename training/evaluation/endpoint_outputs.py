"""A prompt@/rag@ candidate's outputs: the endpoint answers what the generation cache lacks, each reply cached as
it arrives (with its tokens and latency), so a re-run sends nothing and a cancel keeps every finished reply.

A failure every further request would meet too (unreachable, refused key, unknown model) stops the bake-off with
one message naming the endpoint; other failures (rate limit, timeout, an empty or malformed reply, a prompt over
the model's context) are counted for the candidate and scored as empty outputs. Failures are never cached: a
re-run asks again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from curation.errors import CancelledError
from training.evaluation.cache import GenerationCache

Progress = Callable[[str, int, int], None]


@dataclass
class EndpointOutcome:
    """What a candidate's requests did: replies generated now, outputs found cached, and per example the
    failure's message (None where it has an output)."""

    generated: int
    cached: int
    failures: list[str | None]


def generate_endpoint(name: str, endpoint, conversations: list[list[dict]], keys: list[str], cache: GenerationCache,
                      max_tokens: int, progress: Progress | None = None,
                      cancel: threading.Event | None = None) -> EndpointOutcome:
    """Ask the endpoint (greedy, temperature 0) for every conversation the cache lacks, caching each reply."""
    from training.endpoints import ChatCancelled, EndpointError, EndpointFailure, Reply, chat_many
    from training.endpoints.failures import FATAL_KINDS

    missing = [i for i, k in enumerate(keys) if cache.get(k) is None]
    failures: list[str | None] = [None] * len(keys)
    stage = f"generate {name}"
    cached = len(keys) - len(missing)
    if progress:
        progress(stage, cached, len(keys))
    if not missing:
        return EndpointOutcome(0, cached, failures)
    fatal: list[EndpointFailure] = []

    def keep(j: int, result) -> None:  # called in this thread as each reply arrives
        i = missing[j]
        if isinstance(result, Reply):
            cache.put({keys[i]: result.text.strip()}, {keys[i]: {
                "tokens_in": result.tokens_in, "tokens_out": result.tokens_out,
                "latency_s": round(result.latency_s, 6), "finish_reason": result.finish_reason}})
        else:
            failures[i] = result.message
            if result.kind in FATAL_KINDS and not fatal:
                fatal.append(result)

    try:
        chat_many(endpoint, [conversations[i] for i in missing], max_tokens, temperature=0.0, cancel=cancel,
                  on_result=keep, progress=(lambda d, t: progress(stage, cached + d, len(keys))) if progress else None)
    except ChatCancelled:
        raise CancelledError(f"Evaluation cancelled; {len(cache.outputs)} outputs are cached and a re-run "
                             "continues from them.") from None
    if fatal:
        failure = fatal[0]
        raise EndpointError(f"{failure.message} The candidate {name} was stopped; the {len(cache.outputs)} outputs "
                            "cached so far are kept and a re-run continues from them.", failure.hint, failure.kind,
                            endpoint.name, failure.status)
    return EndpointOutcome(sum(failures[i] is None for i in missing), cached, failures)
