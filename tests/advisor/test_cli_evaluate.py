"""`tunewise eval` with endpoints, the parts that need no model: help, and bad endpoint candidates as messages."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from advisor.cli import cli
from curation.jsonl import dumps_lines

CHAT = {"id": "e1", "messages": [{"role": "user", "content": "Where is parcel 9?"},
                                 {"role": "assistant", "content": "Parcel 9 ships on day 9."}]}


def _project(root: Path, endpoints: str | None = None) -> Path:
    (root / "curated").mkdir(parents=True)
    (root / "curated" / "eval.jsonl").write_text(dumps_lines([CHAT]))
    if endpoints is not None:
        (root / "endpoints.yaml").write_text(endpoints)
    return root


def test_help_names_the_endpoint_candidates_and_the_cost_verdict():
    result = CliRunner().invoke(cli, ["eval", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "prompt@ENDPOINT" in text and "rag@ENDPOINT" in text and "cheapest candidate" in text


def test_an_unknown_endpoint_is_a_usage_error_listing_the_configured_ones(tmp_path):
    root = _project(tmp_path / "p", "endpoints:\n- name: hosted\n  base_url: http://127.0.0.1:9/v1\n  model: m\n")
    result = CliRunner().invoke(cli, ["eval", str(root), "--candidates", "prompt@other"])
    assert result.exit_code == 2, result.output
    assert "No endpoint named 'other'" in result.output and "hosted" in result.output
    assert "Traceback" not in result.output


def test_rag_at_an_endpoint_needs_an_index(tmp_path):
    root = _project(tmp_path / "p", "endpoints:\n- name: hosted\n  base_url: http://127.0.0.1:9/v1\n  model: m\n")
    result = CliRunner().invoke(cli, ["eval", str(root), "--candidates", "rag@hosted"])
    assert result.exit_code == 2 and "needs a RAG index" in result.output, result.output


def test_a_damaged_endpoints_file_is_named_when_endpoints_are_wanted(tmp_path):
    root = _project(tmp_path / "p", "endpoints:\n- name: hosted\n  base_url: ftp://x\n  model: m\n")
    result = CliRunner().invoke(cli, ["eval", str(root), "--candidates", "all"])
    assert result.exit_code == 1, result.output
    assert "endpoints.yaml" in result.output and "Traceback" not in result.output
