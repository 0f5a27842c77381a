"""`tunewise curate`: outputs, the kept + removed invariant, exit codes, --json, --skip-invalid."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from advisor.cli import cli

FIXTURES = Path(__file__).parent.parent / "fixtures"
SMALL = FIXTURES / "small_chat.jsonl"


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def curated(tmp_path_factory):
    out = tmp_path_factory.mktemp("curated")
    before = SMALL.read_bytes()
    result = CliRunner().invoke(cli, ["curate", str(SMALL), "--out", str(out), "--json", "--eval-fraction", "0.2"])
    assert result.exit_code == 0, result.output
    assert SMALL.read_bytes() == before  # inputs are never modified
    return out, json.loads(result.stdout)


def test_writes_every_output(curated):
    out, _ = curated
    for name in ("clean.jsonl", "removed.jsonl", "flags.jsonl", "clusters.json", "train.jsonl", "eval.jsonl",
                 "report.json", "report.md", "settings.json", "per_example.jsonl"):
        assert (out / name).exists(), name
    assert not list(out.glob(".tunewise-*")), "staging folder left behind"


def test_kept_plus_removed_equals_valid(curated):
    out, report = curated
    clean, removed = _jsonl(out / "clean.jsonl"), _jsonl(out / "removed.jsonl")
    ids = {r["id"] for r in _jsonl(SMALL)}
    assert {r["id"] for r in clean} | {r["id"] for r in removed} == ids
    assert not {r["id"] for r in clean} & {r["id"] for r in removed}
    train, evals = _jsonl(out / "train.jsonl"), _jsonl(out / "eval.jsonl")
    assert sorted(r["id"] for r in train + evals) == sorted(r["id"] for r in clean)
    assert report["counts"]["kept"] == len(clean)


def test_planted_duplicates_removed_with_their_twin(curated):
    out, _ = curated
    removed = {r["id"]: r for r in _jsonl(out / "removed.jsonl")}
    assert removed["a4"]["reason"] == "exact_duplicate" and removed["a4"]["duplicate_of"] == "a1"
    assert removed["a5"]["reason"] == "near_duplicate" and removed["a5"]["duplicate_of"] == "a1"
    assert removed["a5"]["messages"][1]["content"].startswith("how long does shipping")  # the whole example is kept
    assert "a9" not in removed and "a8" not in removed  # same question, different order numbers


def test_conflict_flagged_not_removed(curated):
    out, _ = curated
    conflicts = {f["id"]: f for f in _jsonl(out / "flags.jsonl") if f["kind"] == "conflict"}
    assert set(conflicts) == {"a6", "a7"} and conflicts["a6"]["with"] == ["a7"]
    clean_ids = {r["id"] for r in _jsonl(out / "clean.jsonl")}
    assert {"a6", "a7"} <= clean_ids
    train_ids = {r["id"] for r in _jsonl(out / "train.jsonl")}
    assert ("a6" in train_ids) == ("a7" in train_ids)  # a conflict group stays on one side


def test_report_has_tokens_cost_and_clusters(curated):
    _, report = curated
    assert report["tokens"]["per_example"]["min"] > 0 and report["tokens"]["context_length"] == 8192
    assert report["cost"]["hosted"] and report["cost"]["local"]["seconds"] > 0
    assert sum(c["size"] for c in report["clusters"]["items"]) == report["counts"]["kept"]


def test_invalid_lines_exit_1_and_write_nothing(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(SMALL.read_text().splitlines()[0] + "\n{not json\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["curate", str(bad), "--out", str(out)])
    assert result.exit_code == 1
    assert "bad.jsonl:2" in result.stderr and "Traceback" not in result.output
    assert not out.exists()


def test_skip_invalid_writes_rejected_verbatim(tmp_path):
    lines = SMALL.read_text().splitlines()
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join([*lines[:3], "{not json", *lines[3:]]) + "\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["curate", str(bad), "--out", str(out), "--skip-invalid"])
    assert result.exit_code == 0, result.output
    (rejected,) = _jsonl(out / "rejected.jsonl")
    assert rejected["raw"] == "{not json" and rejected["line"] == 4 and rejected["reasons"][0]["code"] == "invalid_json"


def test_usage_errors_exit_2(tmp_path):
    runner = CliRunner()
    assert runner.invoke(cli, ["curate", str(tmp_path / "missing.jsonl")]).exit_code == 2
    assert runner.invoke(cli, ["curate", str(SMALL), "--threshold", "1.5", "--out", str(tmp_path)]).exit_code == 2
    assert runner.invoke(cli, ["curate"]).exit_code == 2


def test_refuses_to_overwrite_an_input(tmp_path):
    data = tmp_path / "clean.jsonl"
    data.write_text(SMALL.read_text())
    result = CliRunner().invoke(cli, ["curate", str(data), "--out", str(tmp_path)])
    assert result.exit_code == 2 and data.read_text() == SMALL.read_text()


def test_every_command_has_help():
    runner = CliRunner()
    for name, command in cli.commands.items():
        assert command.help, f"{name} has no help text"
        assert runner.invoke(cli, [name, "--help"]).exit_code == 0


def test_ray_engine_gives_the_local_engines_outputs(curated, tmp_path):
    pytest.importorskip("ray")
    out, report = curated
    result = CliRunner().invoke(cli, ["curate", str(SMALL), "--out", str(tmp_path), "--json", "--eval-fraction", "0.2",
                                      "--engine", "ray", "--shard-size", "5"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["counts"] == report["counts"]  # stdout is the report alone
    for name in ("clean.jsonl", "removed.jsonl", "train.jsonl", "eval.jsonl"):
        assert [r["id"] for r in _jsonl(tmp_path / name)] == [r["id"] for r in _jsonl(out / name)], name
    assert (tmp_path / "shards" / "clean-00000.jsonl").exists()


def test_ray_options_need_the_ray_engine(tmp_path):
    result = CliRunner().invoke(cli, ["curate", str(SMALL), "--out", str(tmp_path / "out"), "--address", "localhost:6379"])
    assert result.exit_code == 2
    assert "--engine ray" in result.output and not (tmp_path / "out").exists()


def test_ray_engine_unreachable_address_is_a_usage_error(tmp_path):
    pytest.importorskip("ray")
    import socket

    with socket.socket() as free:  # a port nobody listens on
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    result = CliRunner().invoke(cli, ["curate", str(SMALL), "--out", str(tmp_path / "out"), "--engine", "ray",
                                      "--address", f"127.0.0.1:{port}"])
    assert result.exit_code == 2
    assert f"No Ray cluster answers at 127.0.0.1:{port}" in result.output and "Traceback" not in result.output
