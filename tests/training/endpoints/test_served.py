"""Against a real `transformers serve` of the packaged SmolLM2: greedy replies equal in-process generation, the
server's usage counts the chat template's tokens, batches keep their order and can be cancelled, failures are
clear, and the key never shows."""

from __future__ import annotations

import os
import threading
import time

import pytest

from training.endpoints import (
    ChatCancelled,
    EndpointError,
    Reply,
    chat,
    chat_many,
    endpoint_stats,
    test_connection,
)
from training.endpoints.config import Endpoint

pytestmark = pytest.mark.slow

CONVERSATIONS = [
    [{"role": "user", "content": "What is the capital of France?"}],
    [{"role": "system", "content": "You are the support desk of Northwind Bikes. Answer in one sentence."},
     {"role": "user", "content": "How long is the warranty on a frame?"}],
]
KEY = "sk-served-0123456789abcdefSECRET"


@pytest.fixture(scope="module")
def generator(served):  # the server first: both load the same converted folder
    """The same model, in this process, through training.generate."""
    from training.generate import load_generator

    return load_generator()


def _replace(endpoint: Endpoint, **changes) -> Endpoint:
    from dataclasses import replace

    return replace(endpoint, **changes)


def test_a_greedy_reply_equals_in_process_generation_and_usage_counts_the_template(served, generator):
    max_tokens = 12
    local = generator.chat(CONVERSATIONS, max_new_tokens=max_tokens)
    for conversation, expected in zip(CONVERSATIONS, local):
        reply = chat(served, conversation, max_tokens=max_tokens)
        assert reply.text.strip() == expected  # training.generate strips the reply; the server sends it as decoded
        prompt = generator.tokenizer.apply_chat_template(conversation, tokenize=True, add_generation_prompt=True)
        prompt_ids = prompt["input_ids"] if hasattr(prompt, "keys") else prompt
        assert reply.tokens_in == len(prompt_ids)
        assert 0 < reply.tokens_out <= max_tokens and reply.finish_reason in ("stop", "length")
        assert reply.latency_s > 0


def test_a_batch_keeps_its_order_and_reports_progress(served):
    conversations = [[{"role": "user", "content": "Say hi" + " please" * i + "."}] for i in range(8)]
    seen: list[tuple[int, int]] = []
    results = chat_many(served, conversations, max_tokens=2, progress=lambda done, total: seen.append((done, total)))
    assert all(isinstance(r, Reply) for r in results)
    lengths = [r.tokens_in for r in results]
    assert lengths == sorted(lengths) and len(set(lengths)) == 8  # each reply is in its conversation's place
    assert seen[0] == (0, 8) and seen[-1] == (8, 8) and [d for d, _ in seen] == list(range(9))
    stats = endpoint_stats(results, served)
    assert stats.failures == 0 and stats.latency_p50_s <= stats.latency_p95_s and stats.cost_per_1000 is None


def test_a_cancel_stops_the_batch_and_keeps_what_finished(served):
    cancel = threading.Event()
    conversations = [[{"role": "user", "content": f"Count to {i}."}] for i in range(8)]

    def progress(done: int, total: int) -> None:
        if done >= 1:
            cancel.set()

    with pytest.raises(ChatCancelled) as caught:
        chat_many(served, conversations, max_tokens=2, progress=progress, cancel=cancel)
    kept = [r for r in caught.value.results if r is not None]
    assert 1 <= len(kept) < 8 and all(isinstance(r, Reply) for r in kept)
    assert "Cancelled after" in caught.value.message


def test_a_tiny_timeout_is_reported_as_a_timeout(served):
    with pytest.raises(EndpointError) as caught:
        chat(_replace(served, timeout_s=0.01), CONVERSATIONS[0], max_tokens=2)
    assert caught.value.kind == "timeout" and "'served'" in caught.value.message
    assert "did not answer within 0.01 s" in caught.value.message


def test_the_key_never_shows_and_a_wrong_model_is_refused_clearly(served, monkeypatch):
    monkeypatch.setenv("SERVED_TEST_KEY", KEY)
    keyed = _replace(served, api_key_env="SERVED_TEST_KEY")
    reply = test_connection(keyed)  # transformers serve accepts any key
    assert reply.text and KEY not in repr(keyed) and KEY not in repr(reply)
    with pytest.raises(EndpointError) as caught:
        chat(_replace(keyed, model="no-such-model"), CONVERSATIONS[0], max_tokens=2)
    error = caught.value
    assert error.kind == "bad_request" and error.status == 400 and "pinned" in error.message
    assert KEY not in str(error) and KEY not in repr(error)


@pytest.mark.skipif(not os.environ.get("TUNEWISE_MEASURE"), reason="a measurement: set TUNEWISE_MEASURE=1 (and -s)")
def test_overhead_of_the_endpoint_against_in_process_generation(served, generator):
    """Printed, not asserted: 8 conversations through the server at concurrency 4 vs in-process generation, both as
    one batch of 8 and one conversation at a time (the server without --continuous-batching runs one at a time)."""
    conversations = [[{"role": "user", "content": f"Give me one tip for cycling in the rain, number {i}."}]
                     for i in range(8)]
    max_tokens = 16
    timings = {}
    for batch_size in (8, 1):
        generator.batch_size = batch_size
        start = time.perf_counter()
        local = generator.chat(conversations, max_new_tokens=max_tokens)
        timings[batch_size] = time.perf_counter() - start
    generator.batch_size = 8
    start = time.perf_counter()
    served_replies = chat_many(served, conversations, max_tokens=max_tokens)
    served_s = time.perf_counter() - start
    same = sum(isinstance(r, Reply) and r.text.strip() == t for r, t in zip(served_replies, local))
    stats = endpoint_stats(served_replies, served)
    print(f"\n[endpoint overhead] 8 conversations, max_tokens={max_tokens}: served at concurrency 4 {served_s:.2f} s; "
          f"in-process one batch of 8 {timings[8]:.2f} s ({served_s / timings[8] - 1:+.0%}), one at a time "
          f"{timings[1]:.2f} s ({served_s / timings[1] - 1:+.0%}); latency p50 {stats.latency_p50_s:.2f} s "
          f"p95 {stats.latency_p95_s:.2f} s; tokens in {stats.tokens_in_mean:.1f} out {stats.tokens_out_mean:.1f} "
          f"per request; identical replies {same}/8")
    assert all(isinstance(r, Reply) for r in served_replies)
