"""Every failure is one clear message naming the endpoint, never its key: a closed port, and real HTTP answers
(401, 403, 404, 429 with Retry-After, context length, 500, malformed and empty replies) from a tiny http.server,
since `transformers serve` never sends those statuses."""

from __future__ import annotations

import pytest

from tests.servers import free_port
from training.endpoints import Endpoint, EndpointError, EndpointFailure, chat, chat_many, test_connection
from training.endpoints.failures import FATAL_KINDS

KEY = "sk-test-0123456789abcdefSECRET"
MESSAGES = [{"role": "user", "content": "Hello?"}]


@pytest.fixture
def key_in_env(monkeypatch):
    monkeypatch.setenv("TUNEWISE_TEST_KEY", KEY)
    return "TUNEWISE_TEST_KEY"


def at(status_server, scenario: str, **changes) -> Endpoint:
    settings = {"name": f"fake-{scenario}", "base_url": status_server.url(scenario), "model": "m",
                "max_retries": 0, "timeout_s": 10, **changes}
    return Endpoint(**settings)


def failure(endpoint: Endpoint) -> EndpointError:
    with pytest.raises(EndpointError) as caught:
        chat(endpoint, MESSAGES, max_tokens=4)
    error = caught.value
    assert f"'{endpoint.name}'" in error.message and error.endpoint == endpoint.name
    return error


def assert_no_key(*texts: object) -> None:
    for text in texts:
        assert KEY not in str(text) and KEY not in repr(text)


def test_a_closed_port_is_unreachable_naming_the_endpoint():
    port = free_port()
    endpoint = Endpoint("down", f"http://127.0.0.1:{port}/v1", "m", max_retries=0)
    error = failure(endpoint)
    assert error.kind == "unreachable" and "is unreachable" in error.message and f"127.0.0.1:{port}" in error.message
    assert "server is running" in error.hint


def test_a_host_that_does_not_resolve_is_unreachable():
    error = failure(Endpoint("nowhere", "http://no-such-host.invalid/v1", "m", max_retries=0, timeout_s=5))
    assert error.kind == "unreachable" and "no-such-host.invalid" in error.message


def test_401_says_which_variable_to_set_and_never_shows_the_key(status_server, key_in_env, monkeypatch):
    endpoint = at(status_server, "unauthorised", api_key_env=key_in_env)
    error = failure(endpoint)
    assert error.kind == "auth" and error.status == 401 and "refused the key" in error.message
    assert "Incorrect API key provided" in error.message  # the server's words are kept, the key it echoed is not
    assert_no_key(error, error.message, error.hint, endpoint)
    assert f"${key_in_env}" in error.hint
    monkeypatch.delenv(key_in_env)
    assert f"Set the environment variable {key_in_env}" in failure(endpoint).hint


def test_403_is_an_auth_failure(status_server):
    error = failure(at(status_server, "forbidden", api_key_env="SOME_UNSET_VARIABLE_FOR_TESTS"))
    assert error.kind == "auth" and "denied access" in error.message and "SOME_UNSET_VARIABLE_FOR_TESTS" in error.hint


def test_429_is_retried_by_the_client_then_reported_with_retry_after(status_server):
    before = status_server.hits.get("rate-limited", 0)
    error = failure(at(status_server, "rate-limited", max_retries=1))
    assert status_server.hits["rate-limited"] - before == 2  # the openai client retried once, after Retry-After
    assert error.kind == "rate_limited" and "retry after 1 s" in error.message and "after 1 retries" in error.message


@pytest.mark.parametrize(("scenario", "kind", "words"), [
    ("no-model", "not_found", "has no model 'm'"),
    ("context", "context_length", "longer than the model's context"),
    ("bad-request", "bad_request", "temperature must be at most 2"),
    ("server-error", "server_error", "server error (500)"),
    ("not-json", "malformed", "it is not valid JSON"),
    ("html-page", "malformed", "not a chat completion"),
    ("no-choices", "empty", "empty reply (no choices)"),
    ("null-content", "empty", "empty reply (no text)"),
])
def test_each_status_has_its_own_clear_message(status_server, scenario, kind, words):
    error = failure(at(status_server, scenario))
    assert error.kind == kind and words in error.message


def test_a_reply_without_usage_has_no_token_counts(status_server):
    reply = test_connection(at(status_server, "no-usage"))
    assert reply.text == "Hello." and reply.tokens_in is None and reply.tokens_out is None


def test_a_batch_keeps_failures_as_values_and_stops_sending_after_a_fatal_one(status_server, key_in_env):
    before = status_server.hits.get("unauthorised", 0)
    endpoint = at(status_server, "unauthorised", api_key_env=key_in_env, concurrency=1)
    seen = []
    results = chat_many(endpoint, [MESSAGES] * 5, max_tokens=4, progress=lambda d, t: seen.append((d, t)))
    assert all(isinstance(r, EndpointFailure) and r.kind == "auth" for r in results) and "auth" in FATAL_KINDS
    assert status_server.hits["unauthorised"] - before == 1  # the other four were not sent
    assert seen[0] == (0, 5) and seen[-1] == (5, 5)
    assert_no_key(results)
