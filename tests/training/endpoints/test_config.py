"""Endpoint settings: every bad value refused with a message naming it; the YAML file round-trips; keys refused."""

from __future__ import annotations

import pytest

from curation.errors import DataError, UsageError
from training.endpoints import (
    Endpoint,
    add_endpoint,
    get_endpoint,
    load_endpoints,
    remove_endpoint,
    save_endpoints,
)

PRICED = {"price_in_per_mtok": 0.15, "price_out_per_mtok": 0.6, "price_date": "2026-11-30",
          "price_source": "https://example.com/pricing"}


def endpoint(**changes) -> Endpoint:
    settings = {"name": "hosted", "base_url": "https://api.example.com/v1", "model": "small-model",
                "api_key_env": "EXAMPLE_API_KEY", **changes}
    return Endpoint(**settings)


@pytest.mark.parametrize(("changes", "words"), [
    ({"base_url": "ftp://example.com/v1"}, "must start with http:// or https://"),
    ({"base_url": "localhost:8000/v1"}, "must start with http:// or https://"),
    ({"base_url": "http:///v1"}, "names no host"),
    ({"name": "my endpoint"}, "endpoint name 'my endpoint' is not valid"),
    ({"name": "a@b"}, "is not valid"),
    ({"model": " "}, "needs a model name"),
    ({"concurrency": 0}, "concurrency 0"),
    ({"concurrency": 2.5}, "concurrency 2.5"),
    ({"timeout_s": 0}, "timeout_s 0"),
    ({"max_retries": -1}, "max_retries -1"),
    ({"api_key_env": "MY KEY"}, "not an environment variable name"),
    ({**PRICED, "price_in_per_mtok": -1.0}, "price_in_per_mtok -1.0"),
    ({**PRICED, "price_out_per_mtok": float("nan")}, "price_out_per_mtok nan"),
    ({**PRICED, "price_out_per_mtok": None}, "only one of its two prices"),
    ({**PRICED, "price_date": None}, "price_date is None"),
    ({**PRICED, "price_date": "30/11/2026"}, "YYYY-MM-DD"),
    ({**PRICED, "price_source": ""}, "no price_source"),
])
def test_each_bad_setting_is_refused_naming_the_endpoint_and_field(changes, words):
    with pytest.raises(UsageError) as caught:
        endpoint(**changes)
    assert words in caught.value.message
    if "name" not in changes:
        assert "'hosted'" in caught.value.message


@pytest.mark.parametrize("key", ["sk-proj-abcdefghijklmnopqrstuvwx1234", "sk-abc123", "hf_AbCdEfGhIjKlMnOpQrStUv",
                                 "Bearer abcdef", "aB3dE5gH7jK9mN1pQ3sT5vX7", "https://user:pw@example.com"])
def test_a_key_given_as_the_variable_name_is_refused_without_showing_it(key):
    changes = {"base_url": key} if key.startswith("https") else {"api_key_env": key}
    with pytest.raises(UsageError) as caught:
        endpoint(**changes)
    assert "environment variable" in str(caught.value)
    secret = key.split("//")[-1].split("@")[0] if key.startswith("https") else key
    assert secret not in str(caught.value) and secret not in repr(caught.value)


def test_a_priced_endpoint_is_valid_and_the_default_needs_no_key():
    assert endpoint(**PRICED).priced
    local = Endpoint("local", "http://127.0.0.1:8000/v1", "SmolLM2")
    assert local.api_key_env is None and not local.priced and local.concurrency == 4


def test_the_file_round_trips_and_holds_no_defaults(tmp_path):
    path = tmp_path / "endpoints.yaml"
    endpoints = [endpoint(**PRICED), Endpoint("local", "http://127.0.0.1:8000/v1", "SmolLM2", concurrency=2)]
    save_endpoints(path, endpoints)
    assert load_endpoints(path) == endpoints
    text = path.read_text()
    assert "EXAMPLE_API_KEY" in text and "timeout_s" not in text and "concurrency: 2" in text
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # written atomically, nothing left over


def test_a_missing_or_empty_file_has_no_endpoints(tmp_path):
    assert load_endpoints(tmp_path / "none.yaml") == []
    (tmp_path / "empty.yaml").write_text("")
    assert load_endpoints(tmp_path / "empty.yaml") == []


@pytest.mark.parametrize(("text", "words"), [
    ("endpoints:\n  - name: a\n    base_url: http://x/v1\n    model: m\n    api_key: sk-123\n", "endpoint 'a' has unknown settings: api_key"),
    ("endpoints:\n  - name: a\n    base_url: http://x/v1\n", "endpoint 'a' is missing model"),
    ("endpoints:\n  - name: a\n    base_url: x\n    model: m\n", "endpoint 'a' has the base URL 'x'"),
    ("endpoints:\n  - name: a\n    base_url: http://x/v1\n    model: m\n    concurrency: 0\n", "endpoint 'a' has concurrency 0"),
    ("endpoints:\n  - just text\n", "endpoint 1 is not a mapping"),
    ("endpoints: 3\n", "must hold `endpoints:`"),
    ("- a\n", "must hold `endpoints:`"),
    ("endpoints:\n  - name: a\n    base_url: http://x/v1\n    model: m\n  - name: a\n    base_url: http://y/v1\n    model: m\n",
     "endpoint 'a' is listed twice"),
    ("endpoints: [\n", "not valid YAML"),
])
def test_a_bad_file_names_the_file_and_the_endpoint(tmp_path, text, words):
    path = tmp_path / "endpoints.yaml"
    path.write_text(text)
    with pytest.raises(DataError) as caught:
        load_endpoints(path)
    assert str(path) in caught.value.message and words in caught.value.message
    assert "sk-123" not in str(caught.value)


def test_add_remove_get_are_pure():
    first, second = endpoint(), Endpoint("local", "http://127.0.0.1:8000/v1", "m")
    one = add_endpoint([], first)
    two = add_endpoint(one, second)
    assert one == [first] and two == [first, second]
    with pytest.raises(UsageError, match="already exists"):
        add_endpoint(two, second)
    changed = Endpoint("local", "http://127.0.0.1:9000/v1", "m")
    assert add_endpoint(two, changed, replace_existing=True) == [first, changed]
    assert get_endpoint(two, "local") is second
    assert remove_endpoint(two, "hosted") == [second] and two == [first, second]
    with pytest.raises(UsageError, match="no endpoint called 'nope' \\(known: hosted, local\\)"):
        get_endpoint(two, "nope")
    with pytest.raises(UsageError, match="no endpoint called"):
        remove_endpoint([], "nope")
