"""Chat requests to an OpenAI-compatible endpoint through the official `openai` client: one, or many at once.

The openai client does the HTTP, the retries (with the server's Retry-After), the timeouts and the typed
errors; this module measures each reply (tokens from `usage`, latency) and turns failures into messages.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from curation.errors import CancelledError
from training.endpoints.config import Endpoint
from training.endpoints.failures import (
    EMPTY,
    FATAL_KINDS,
    MALFORMED,
    EndpointError,
    EndpointFailure,
    endpoint_error,
)

Messages = list[dict]
#: Called with (done, total): first (0, total), then after each finished request.
BatchProgress = Callable[[int, int], None]
_NO_KEY = "not-needed"  # what the client sends when the endpoint needs no key (local servers ignore it)
_POLL_S = 0.05
_CHAT_API_HINT = "Check that the base URL points at an OpenAI-compatible chat API (it usually ends in /v1)."


@dataclass(frozen=True)
class Reply:
    """One reply of the endpoint, measured: its text, tokens from the server's `usage`, and latency."""

    text: str
    tokens_in: int | None  # prompt tokens the server counted; None if it sent no usage
    tokens_out: int | None  # completion tokens the server counted; None if it sent no usage
    latency_s: float  # from sending the request to the whole reply, retries included
    finish_reason: str | None  # 'stop', 'length', ... as the server said


class ChatCancelled(CancelledError):
    """chat_many was cancelled; `results` keeps what had finished (None where a request had not)."""

    def __init__(self, results: list[Reply | EndpointFailure | None]) -> None:
        done = sum(r is not None for r in results)
        super().__init__(f"Cancelled after {done} of {len(results)} requests.")
        self.results = results


def make_client(endpoint: Endpoint):
    """An openai.OpenAI client for the endpoint; the key is read from its environment variable here, never stored."""
    import openai

    key = os.environ.get(endpoint.api_key_env) if endpoint.api_key_env else None
    return openai.OpenAI(base_url=endpoint.base_url, api_key=key or _NO_KEY, timeout=endpoint.timeout_s,
                         max_retries=endpoint.max_retries)


def chat(endpoint: Endpoint, messages: Messages, max_tokens: int, temperature: float = 0.0, client=None) -> Reply:
    """The endpoint's reply to one conversation (greedy at temperature 0); EndpointError naming it on failure."""
    import openai

    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
    client = client or make_client(endpoint)
    start = time.perf_counter()
    try:
        completion = client.chat.completions.create(model=endpoint.model, messages=messages, max_tokens=max_tokens,
                                                    temperature=temperature)
    except openai.APIError as exc:
        raise endpoint_error(exc, endpoint) from None
    except ValueError as exc:  # a body announced as JSON that is not JSON (a proxy's error page)
        raise EndpointError(f"The endpoint {endpoint.name!r} ({endpoint.base_url}) sent a malformed reply: "
                            f"it is not valid JSON ({type(exc).__name__}).", _CHAT_API_HINT, MALFORMED,
                            endpoint.name) from None
    return read_completion(completion, endpoint, time.perf_counter() - start)


def read_completion(completion: object, endpoint: Endpoint, latency_s: float) -> Reply:
    """A Reply from a parsed chat completion; EndpointError when it is malformed or holds no text."""
    where = f"The endpoint {endpoint.name!r} ({endpoint.base_url})"
    hint = _CHAT_API_HINT
    choices = getattr(completion, "choices", None)
    if not isinstance(choices, list):
        raise EndpointError(f"{where} sent a malformed reply: it is not a chat completion.", hint, MALFORMED, endpoint.name)
    if not choices:
        raise EndpointError(f"{where} sent an empty reply (no choices).", hint, EMPTY, endpoint.name)
    message = getattr(choices[0], "message", None)
    text = getattr(message, "content", None)
    if message is None or (text is not None and not isinstance(text, str)):
        raise EndpointError(f"{where} sent a malformed reply: its first choice has no message text.", hint,
                            MALFORMED, endpoint.name)
    if not text:
        raise EndpointError(f"{where} sent an empty reply (no text).",
                            "Try again; if it persists, check the model and max tokens.", EMPTY, endpoint.name)
    usage = getattr(completion, "usage", None)
    return Reply(text=text, tokens_in=_count(getattr(usage, "prompt_tokens", None)),
                 tokens_out=_count(getattr(usage, "completion_tokens", None)), latency_s=latency_s,
                 finish_reason=getattr(choices[0], "finish_reason", None))


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def test_connection(endpoint: Endpoint) -> Reply:
    """Send one tiny request and return the measured reply (EndpointError naming the endpoint on failure)."""
    return chat(endpoint, [{"role": "user", "content": "Reply with the single word OK."}], max_tokens=8)


test_connection.__test__ = False  # type: ignore[attr-defined]  # not a pytest test, despite its name


def chat_many(
    endpoint: Endpoint,
    conversations: list[Messages],
    max_tokens: int,
    progress: BatchProgress | None = None,
    cancel: threading.Event | None = None,
    temperature: float = 0.0,
    on_result: Callable[[int, Reply | EndpointFailure], None] | None = None,
) -> list[Reply | EndpointFailure]:
    """Each conversation's Reply (or EndpointFailure), in input order, with up to endpoint.concurrency in flight.

    Progress is reported from the calling thread, (0, total) first. `on_result(index, result)` sees each result
    as it arrives (to cache it). Once `cancel` is set nothing more is sent and ChatCancelled is raised holding
    the finished results; requests already in flight are left to finish in the background. After a failure
    that every request would meet (unreachable, refused key, unknown model) the rest are not sent: they get
    the same failure.
    """
    total = len(conversations)
    results: list[Reply | EndpointFailure | None] = [None] * total
    if progress:
        progress(0, total)
    if total == 0:
        return []
    client = make_client(endpoint)
    pool = ThreadPoolExecutor(max_workers=endpoint.concurrency, thread_name_prefix=f"endpoint-{endpoint.name}")
    running: dict[Future, int] = {}
    upcoming = iter(range(total))
    fatal: EndpointFailure | None = None
    done = 0
    try:
        while True:
            if cancel is not None and cancel.is_set():
                raise ChatCancelled(list(results))
            while fatal is None and len(running) < endpoint.concurrency:
                index = next(upcoming, None)
                if index is None:
                    break
                running[pool.submit(_one, client, endpoint, conversations[index], max_tokens, temperature)] = index
            if not running:
                break
            finished, _ = wait(running, timeout=_POLL_S, return_when=FIRST_COMPLETED)
            for future in finished:
                index = running.pop(future)
                result = future.result()
                results[index] = result
                done += 1
                if isinstance(result, EndpointFailure) and result.kind in FATAL_KINDS:
                    fatal = fatal or result
                if on_result:
                    on_result(index, result)
                if progress:
                    progress(done, total)
    finally:
        pool.shutdown(wait=not running, cancel_futures=True)
    if fatal is not None:
        for index in range(total):
            if results[index] is None:
                results[index] = fatal
                if on_result:
                    on_result(index, fatal)
        if progress:
            progress(total, total)
    return results  # type: ignore[return-value]  # every slot is filled here


def _one(client, endpoint: Endpoint, messages: Messages, max_tokens: int, temperature: float) -> Reply | EndpointFailure:
    """One request of a batch: its Reply, or its failure as a value (so the batch goes on)."""
    try:
        return chat(endpoint, messages, max_tokens, temperature, client=client)
    except EndpointError as exc:
        return EndpointFailure.from_error(exc)
