"""`tunewise endpoints`: add, list, test against a real server, remove; keys never stored or shown; bad input as messages."""

from __future__ import annotations

import json

from click.testing import CliRunner

from advisor.cli import cli
from tests.servers import free_port


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(cli, ["endpoints", *args], env=env)


def test_add_list_remove_keeps_only_the_key_variable_name(tmp_path):
    secret = "sk-test-0123456789abcdefghijklmnopqrstuv"
    added = run("add", "hosted", "--base-url", "https://api.example.com/v1", "--model", "small-model",
                "--key-env", "EXAMPLE_KEY", "--price-in", "0.15", "--price-out", "0.6", "--price-date", "2026-11-30",
                "--price-source", "https://example.com/pricing", "--project", str(tmp_path), env={"EXAMPLE_KEY": secret})
    assert added.exit_code == 0, added.output
    saved = (tmp_path / "endpoints.yaml").read_text()
    assert "EXAMPLE_KEY" in saved and secret not in saved
    listed = run("list", "--json", "--project", str(tmp_path))
    assert listed.exit_code == 0
    [endpoint] = json.loads(listed.stdout)
    assert endpoint == {"name": "hosted", "base_url": "https://api.example.com/v1", "model": "small-model",
                        "api_key_env": "EXAMPLE_KEY", "price_in_per_mtok": 0.15, "price_out_per_mtok": 0.6,
                        "price_date": "2026-11-30", "price_source": "https://example.com/pricing"}
    again = run("add", "hosted", "--base-url", "http://localhost:1/v1", "--model", "m", "--project", str(tmp_path))
    assert again.exit_code == 2 and "already exists" in again.output
    removed = run("remove", "hosted", "--project", str(tmp_path))
    assert removed.exit_code == 0
    assert json.loads(run("list", "--json", "--project", str(tmp_path)).stdout) == []


def test_a_key_given_as_the_variable_name_is_refused_and_not_echoed(tmp_path):
    secret = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"
    result = run("add", "x", "--base-url", "https://api.example.com/v1", "--model", "m", "--key-env", secret,
                 "--project", str(tmp_path))
    assert result.exit_code == 2
    assert secret not in result.output and "environment variable" in result.output
    assert not (tmp_path / "endpoints.yaml").exists()


def test_unreachable_endpoint_is_a_message_naming_it(tmp_path):
    port = free_port()  # nothing listens there
    assert run("add", "nowhere", "--base-url", f"http://127.0.0.1:{port}/v1", "--model", "m", "--timeout", "5",
               "--project", str(tmp_path)).exit_code == 0
    result = run("test", "nowhere", "--project", str(tmp_path))
    assert result.exit_code == 1
    assert "nowhere" in result.output and "Traceback" not in result.output


def test_unknown_endpoint_and_damaged_file(tmp_path):
    missing = run("test", "ghost", "--project", str(tmp_path))
    assert missing.exit_code == 2 and "ghost" in missing.output
    (tmp_path / "endpoints.yaml").write_text("endpoints: {name: 3}\n")
    damaged = run("list", "--project", str(tmp_path))
    assert damaged.exit_code == 1 and "endpoints.yaml" in damaged.output


def test_test_reports_latency_and_reply_from_a_real_server(tmp_path, served):
    assert run("add", "local", "--base-url", served.base_url, "--model", served.model, "--timeout", "300",
               "--project", str(tmp_path)).exit_code == 0
    result = run("test", "local", "--json", "--project", str(tmp_path))
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["endpoint"] == "local" and report["latency_s"] > 0
    assert report["tokens_in"] > 0 and report["tokens_out"] > 0 and report["reply"].strip()
