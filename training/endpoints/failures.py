"""What can go wrong when calling an endpoint, each as one clear message naming the endpoint (and never its key).

The openai client raises typed errors (connection, timeout, one class per HTTP status); `endpoint_error` turns
each into an `EndpointError` with a `kind` a caller can act on, and scrubs the key's value out of any text the
server sent back.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from curation.errors import TunewiseError
from training.endpoints.config import Endpoint

#: The kinds of failure, for callers that act on them (a bake-off stops early on the fatal ones).
UNREACHABLE, AUTH, NOT_FOUND, RATE_LIMITED, TIMEOUT = "unreachable", "auth", "not_found", "rate_limited", "timeout"
MALFORMED, EMPTY, CONTEXT_LENGTH, BAD_REQUEST, SERVER, STATUS = (
    "malformed", "empty", "context_length", "bad_request", "server_error", "status")
#: Failures that every further request to the endpoint would meet too.
FATAL_KINDS = frozenset({UNREACHABLE, AUTH, NOT_FOUND})

_CONTEXT_WORDS = re.compile(r"context[ _-]?length|context window|maximum context|too many tokens|prompt is too long"
                            r"|exceeds the model|input is too long|reduce the length", re.IGNORECASE)
_KEY_SHAPES = re.compile(r"(?:sk-|sk_|rk-|gsk_|hf_|xai-)[A-Za-z0-9_\-]{8,}|Bearer\s+\S+")
_MAX_DETAIL = 300


class EndpointError(TunewiseError):
    """A request to an OpenAI-compatible endpoint failed; the message names the endpoint and what to do."""

    title = "Endpoint error"

    def __init__(self, message: str, hint: str | None = None, kind: str = STATUS, endpoint: str | None = None,
                 status: int | None = None) -> None:
        super().__init__(message, hint)
        self.kind = kind
        self.endpoint = endpoint
        self.status = status


@dataclass(frozen=True)
class EndpointFailure:
    """One request of a batch that failed: its kind and the message (the batch goes on without it)."""

    kind: str
    message: str
    hint: str | None = None
    status: int | None = None

    @classmethod
    def from_error(cls, error: EndpointError) -> EndpointFailure:
        """The failure recorded for an EndpointError."""
        return cls(error.kind, error.message, error.hint, error.status)


def scrub(text: str, endpoint: Endpoint) -> str:
    """text with the endpoint's key (its value, read from the environment) and anything shaped like a key hidden."""
    key = os.environ.get(endpoint.api_key_env) if endpoint.api_key_env else None
    if key and len(key) >= 4:
        text = text.replace(key, "***")
    return _KEY_SHAPES.sub("***", text)


def endpoint_error(exc: Exception, endpoint: Endpoint) -> EndpointError:
    """The EndpointError for an exception raised by the openai client while calling endpoint."""
    import openai

    where = f"The endpoint {endpoint.name!r} ({endpoint.base_url})"
    if isinstance(exc, openai.APITimeoutError):
        return EndpointError(
            f"{where} did not answer within {endpoint.timeout_s:g} s (after {endpoint.max_retries} retries).",
            "Raise the endpoint's timeout_s, lower its concurrency, or try again when it is less busy.",
            TIMEOUT, endpoint.name)
    if isinstance(exc, openai.APIConnectionError):
        cause = _root_cause(exc)
        return EndpointError(f"{where} is unreachable: {scrub(cause, endpoint)}.",
                             "Check the base URL and that the server is running and reachable from here.",
                             UNREACHABLE, endpoint.name)
    if isinstance(exc, openai.APIResponseValidationError):
        return EndpointError(f"{where} sent a malformed reply: {scrub(_detail(exc), endpoint)}.",
                             "Check that the base URL points at an OpenAI-compatible API (it usually ends in /v1).",
                             MALFORMED, endpoint.name, exc.status_code)
    if isinstance(exc, openai.APIStatusError):
        return _status_error(exc, endpoint, where)
    return EndpointError(f"{where} failed: {scrub(str(exc) or type(exc).__name__, endpoint)}.",
                         "Check the endpoint's settings.", STATUS, endpoint.name)


def _status_error(exc, endpoint: Endpoint, where: str) -> EndpointError:
    """The EndpointError for an HTTP error status."""
    status = exc.status_code
    detail = scrub(_detail(exc), endpoint)
    said = f" The server said: {detail}" if detail else ""
    if status in (401, 403):
        env = endpoint.api_key_env
        if env is None:
            hint = "Set the endpoint's api_key_env to the NAME of the environment variable that holds its key."
        elif os.environ.get(env):
            hint = f"The key in ${env} was refused: check it is valid for this endpoint and model."
        else:
            hint = f"Set the environment variable {env} to the endpoint's key (it is not set)."
        verb = "refused the key (401 unauthorised)" if status == 401 else "denied access (403 forbidden)"
        return EndpointError(f"{where} {verb}.{said}", hint, AUTH, endpoint.name, status)
    if status == 404:
        return EndpointError(f"{where} has no model {endpoint.model!r}, or no chat API at that URL (404).{said}",
                             "Check the model name (GET /v1/models lists them) and that the base URL ends in /v1.",
                             NOT_FOUND, endpoint.name, status)
    if status == 429:
        wait = _retry_after(exc)
        when = f" It asks to retry after {wait}." if wait else ""
        return EndpointError(f"{where} is rate-limiting requests (429), still after {endpoint.max_retries} "
                             f"retries.{when}{said}",
                             "Lower the endpoint's concurrency, raise max_retries, or check your quota with the provider.",
                             RATE_LIMITED, endpoint.name, status)
    if status in (400, 413, 422) and _CONTEXT_WORDS.search(detail or ""):
        return EndpointError(f"{where} refused the request: the prompt is longer than the model's context.{said}",
                             "Shorten the prompt (fewer few-shot examples or retrieved passages) or lower max tokens.",
                             CONTEXT_LENGTH, endpoint.name, status)
    if status in (400, 413, 422):
        return EndpointError(f"{where} refused the request ({status}).{said}",
                             "Check the model name and the endpoint's settings.", BAD_REQUEST, endpoint.name, status)
    if status >= 500:
        return EndpointError(f"{where} failed with a server error ({status}), still after {endpoint.max_retries} "
                             f"retries.{said}", "Try again later, or check the server's logs.", SERVER, endpoint.name, status)
    return EndpointError(f"{where} answered with HTTP status {status}.{said}", "Check the endpoint's settings.",
                         STATUS, endpoint.name, status)


def _detail(exc) -> str:
    """The server's own error message from an openai error's body, shortened."""
    body = getattr(exc, "body", None)
    text = None
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            text = inner.get("message") or inner.get("detail")
        elif isinstance(inner, str):
            text = inner
        text = text or body.get("detail") or body.get("message")
    elif isinstance(body, str):
        text = body
    if text is None:
        text = getattr(exc, "message", None) or str(exc)
    text = " ".join(str(text).split())
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"


def _retry_after(exc) -> str | None:
    """The server's Retry-After (or retry-after-ms) header, as text like '7 s'."""
    headers = getattr(getattr(exc, "response", None), "headers", None)
    if headers is None:
        return None
    if headers.get("retry-after-ms"):
        return f"{headers['retry-after-ms']} ms"
    value = headers.get("retry-after")
    if not value:
        return None
    return f"{value} s" if value.strip().replace(".", "", 1).isdigit() else value.strip()


def _root_cause(exc: BaseException) -> str:
    """The innermost cause's message of a connection error ('[Errno 111] Connection refused')."""
    seen = exc
    while seen.__cause__ is not None or seen.__context__ is not None:
        seen = seen.__cause__ or seen.__context__  # type: ignore[assignment]
    text = " ".join(str(seen).split()) or type(seen).__name__
    return text[:_MAX_DETAIL]
