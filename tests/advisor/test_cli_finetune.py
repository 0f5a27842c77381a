"""`tunewise finetune / runs / export / export-data / generate`: JSON on stdout, progress on stderr, exit codes."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from advisor.commands.export import export
from advisor.commands.export_data import export_data
from advisor.commands.finetune import finetune
from advisor.commands.generate import generate
from advisor.commands.runs import runs


def _flat(text: str) -> str:
    """Messages as one line (rich wraps long ones)."""
    return " ".join(text.split())


def _write_data(path, n=10):
    rows = [{"id": f"q{i}", "messages": [{"role": "user", "content": f"Opening hours of shop {i}?"},
                                         {"role": "assistant", "content": f"Shop {i} opens at {8 + i % 3} am."}]} for i in range(n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    data = _write_data(root / "data.jsonl")
    before = data.read_bytes()
    result = CliRunner().invoke(finetune, [str(data), "--project", str(root), "--name", "cli1", "--max-steps", "2",
                                           "--batch-size", "4", "--max-length", "96", "--json"])
    assert result.exit_code == 0, result.output + result.stderr
    assert data.read_bytes() == before  # inputs are never modified
    return root, data, json.loads(result.stdout), result.stderr


@pytest.mark.slow
def test_finetune_json_on_stdout_progress_on_stderr(trained):
    root, _, report, stderr = trained
    assert report["run"] == "cli1" and report["status"] == "completed" and report["metrics"]["steps"] == 2
    assert report["data"]["train_examples"] == 9 and report["data"]["eval_examples"] == 1  # seeded 10% split
    assert report["metrics"]["eval_loss"] is not None
    assert "Training" in stderr and "cli1" in stderr
    assert (root / "runs" / "cli1" / "adapter" / "adapter_model.safetensors").exists()


@pytest.mark.slow
def test_runs_list_use_generate_export(trained, tmp_path):
    root, data, _, _ = trained
    runner = CliRunner()
    listed = runner.invoke(runs, ["list", "--project", str(root), "--json"])
    assert listed.exit_code == 0, listed.output
    assert [r["name"] for r in json.loads(listed.stdout)] == ["cli1"]
    assert runner.invoke(runs, ["use", "cli1", "--project", str(root)]).exit_code == 0
    table = runner.invoke(runs, ["list", "--project", str(root)])
    assert "*" in table.stdout and "cli1" in table.stdout
    answer = runner.invoke(generate, ["Opening hours of shop 3?", "--project", str(root), "--max-new-tokens", "6", "--json"])
    assert answer.exit_code == 0, answer.output + answer.stderr
    reply = json.loads(answer.stdout)
    assert reply["model"] == "SmolLM2-135M-Instruct + cli1" and reply["reply"]
    base = runner.invoke(generate, ["hi", "--project", str(root), "--base", "--max-new-tokens", "4", "--json"])
    assert json.loads(base.stdout)["model"] == "SmolLM2-135M-Instruct"
    out = tmp_path / "answers.jsonl"
    batch = runner.invoke(generate, ["--input", str(data), "--output", str(out), "--project", str(root), "--max-new-tokens", "4"])
    assert batch.exit_code == 0, batch.output + batch.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 10 and rows[0]["reference"] == "Shop 0 opens at 8 am." and rows[0]["messages"][-1]["role"] == "user"
    merged = runner.invoke(export, ["cli1", "--merged", str(tmp_path / "merged"), "--project", str(root), "--json"])
    assert merged.exit_code == 0, merged.output + merged.stderr
    exported = json.loads(merged.stdout)
    assert {"model.safetensors", "README.md"} <= set(exported["files"]) and exported["merged_dir"] == str(tmp_path / "merged")
    assert "library_name: transformers" in (tmp_path / "merged" / "README.md").read_text()  # the Hub model card


def test_export_data_formats(tmp_path):
    data = _write_data(tmp_path / "d.jsonl")
    result = CliRunner().invoke(export_data, [str(data), "--format", "sharegpt", "--out", str(tmp_path / "x"), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["examples"] == {"train": 9, "eval": 1}
    first = json.loads((tmp_path / "x" / "train.sharegpt.jsonl").read_text().splitlines()[0])
    assert first["conversations"][0]["from"] == "human"


def test_errors_and_exit_codes(tmp_path):
    runner = CliRunner()
    missing = runner.invoke(finetune, [str(tmp_path / "nope.jsonl")])
    assert missing.exit_code == 2 and "does not exist" in _flat(missing.stderr)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert runner.invoke(finetune, [str(empty), "--project", str(tmp_path)]).exit_code == 1
    data = _write_data(tmp_path / "d.jsonl")
    bad_model = runner.invoke(finetune, [str(data), "--project", str(tmp_path), "--model", str(tmp_path / "no-model")])
    assert bad_model.exit_code == 1 and "No model folder" in _flat(bad_model.stderr) and "Traceback" not in bad_model.output
    bad_setting = runner.invoke(finetune, [str(data), "--project", str(tmp_path), "--rank", "0"])
    assert bad_setting.exit_code == 2 and "rank" in _flat(bad_setting.stderr)
    assert runner.invoke(finetune, [str(data), "--project", str(tmp_path), "--resume"]).exit_code == 2
    assert runner.invoke(generate, ["--project", str(tmp_path)]).exit_code == 2
    assert runner.invoke(runs, ["use", "ghost", "--project", str(tmp_path)]).exit_code == 2
    assert runner.invoke(export, ["ghost", "--merged", str(tmp_path / "m"), "--project", str(tmp_path)]).exit_code == 2
    clash = runner.invoke(export, ["ghost", "--merged", str(tmp_path / "m"), "--format", "gguf", "--project", str(tmp_path)])
    assert clash.exit_code == 2 and "--format merged --out DIR" in _flat(clash.stderr)
    assert runner.invoke(export, ["ghost", "--format", "onnx", "--project", str(tmp_path)]).exit_code == 2


@pytest.mark.parametrize("command", [finetune, runs, export, export_data, generate])
def test_every_command_has_help(command):
    result = CliRunner().invoke(command, ["--help"])
    assert result.exit_code == 0 and len(result.output) > 100
