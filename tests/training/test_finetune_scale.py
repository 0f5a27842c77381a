"""Fine-tuning past the packaged model: settings, the memory estimate, the chat-template check, tracking, processes."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from advisor.commands.finetune import finetune as finetune_command
from curation.errors import ModelError, UsageError
from training.finetune import is_main_process, resolve_report_to
from training.lora_config import ALL_LINEAR, LoraSettings, peft_targets
from training.memory_estimate import GB, LOGIT_COPIES, check_fits, estimate_memory

CONFIG = SimpleNamespace(hidden_size=576, num_hidden_layers=30, vocab_size=49152)


def _write_data(path, n=12):
    rows = [{"id": f"q{i}", "messages": [{"role": "user", "content": f"Opening hours of shop {i}?"},
                                         {"role": "assistant", "content": f"Shop {i} opens at {8 + i % 3} am."}]} for i in range(n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_new_settings_have_defaults_and_are_checked():
    settings = LoraSettings()
    assert settings.gradient_checkpointing is True and settings.report_to == "auto"
    assert LoraSettings.from_dict(settings.to_dict()) == settings
    assert LoraSettings(target_modules=[ALL_LINEAR]).target_modules == [ALL_LINEAR]
    with pytest.raises(UsageError, match="all-linear stands alone"):
        LoraSettings(target_modules=[ALL_LINEAR, "q_proj"])
    with pytest.raises(UsageError, match="report_to"):
        LoraSettings(report_to="neptune")
    with pytest.raises(UsageError, match="gradient_checkpointing"):
        LoraSettings.from_dict({"gradient_checkpointing": "yes"})


def test_peft_targets_passes_all_linear_as_peft_names_it():
    assert peft_targets([ALL_LINEAR]) == "all-linear"
    assert peft_targets(["q_proj", "v_proj"]) == ["q_proj", "v_proj"]


def test_memory_estimate_counts_the_largest_padded_batch():
    lengths, trained = [100, 400, 50, 300], [10, 40, 5, 30]
    padded = estimate_memory(CONFIG, 135_000_000, 900_000, lengths, trained, 2, packing=False, checkpointing=True)
    packed = estimate_memory(CONFIG, 135_000_000, 900_000, lengths, trained, 2, packing=True, checkpointing=True)
    full = estimate_memory(CONFIG, 135_000_000, 900_000, lengths, trained, 2, packing=False, checkpointing=False)
    assert padded.batch_tokens == 800 and packed.batch_tokens == 700  # the two longest: padded to 400, or concatenated
    assert padded.weights == 135_000_000 * 4 and padded.lora == 900_000 * 16
    assert padded.logits == 70 * 49152 * 4 * LOGIT_COPIES
    assert full.activations > 3 * padded.activations  # checkpointing keeps a few times less
    assert 0.5 * GB < padded.total < 2 * GB
    assert padded.to_dict()["total"] == round(padded.total / GB, 3)


def test_memory_check_names_the_fix():
    estimate = estimate_memory(CONFIG, 135_000_000, 900_000, [2000] * 8, [500] * 8, 8, packing=False, checkpointing=False)
    check_fits(estimate, estimate.total, 8, 1, 2048, False)  # fits exactly
    with pytest.raises(ModelError) as err:
        check_fits(estimate, estimate.total // 2, 8, 1, 2048, False)
    assert "GiB" in err.value.message and "16000 tokens" in err.value.message
    assert "--batch-size 4 --grad-accum 2" in err.value.hint and "--no-gradient-checkpointing" in err.value.hint


def test_chat_template_check():
    from training.model import check_assistant_masking, load_model_tokenizer

    tokenizer, _ = load_model_tokenizer()
    check_assistant_masking(tokenizer, "packaged")  # SmolLM2's template marks assistant turns
    broken = copy.deepcopy(tokenizer)
    broken.chat_template = "{% for m in messages %}<{{ m['role'] }}>{% endfor %}"  # drops every message's text
    with pytest.raises(ModelError, match="assistant") as err:
        check_assistant_masking(broken, "no-content")
    assert "chat template" in err.value.hint and "eos token" in err.value.hint


def test_report_to_resolves_or_names_the_package(monkeypatch):
    import importlib.util

    assert resolve_report_to("none") == []
    installed = importlib.util.find_spec("tensorboard") is not None
    assert resolve_report_to("auto") == (["tensorboard"] if installed else [])
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
    with pytest.raises(UsageError, match="wandb") as err:
        resolve_report_to("wandb")
    assert "pip install wandb" in err.value.hint


def test_only_rank_zero_is_main(monkeypatch):
    monkeypatch.delenv("RANK", raising=False)
    assert is_main_process()
    monkeypatch.setenv("RANK", "1")
    assert not is_main_process()
    monkeypatch.setenv("RANK", "0")
    assert is_main_process()


def test_processes_starts_accelerate_launch_with_the_options_given(tmp_path, monkeypatch):
    calls = []
    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.setattr(subprocess, "call", lambda cmd: calls.append(cmd) or 0)
    data = _write_data(tmp_path / "data.jsonl")
    result = CliRunner().invoke(finetune_command, [str(data), "--project", str(tmp_path), "--processes", "2",
                                                   "--max-steps", "2", "--no-gradient-checkpointing", "--report-to", "none"])
    assert result.exit_code == 0, result.output
    (cmd,) = calls
    assert cmd[:3] == [sys.executable, "-m", "accelerate.commands.launch"]
    assert cmd[cmd.index("--num_processes") + 1] == "2"
    args = cmd[cmd.index("advisor.commands.finetune") + 1:]
    assert args[0] == str(data) and "--processes" not in args
    assert args[args.index("--max-steps") + 1] == "2" and "--no-gradient-checkpointing" in args
    assert args[args.index("--report-to") + 1] == "none" and args[args.index("--name") + 1].startswith("run-")


def test_processes_refused_inside_a_launcher(tmp_path, monkeypatch):
    monkeypatch.setenv("RANK", "0")
    data = _write_data(tmp_path / "data.jsonl")
    result = CliRunner().invoke(finetune_command, [str(data), "--project", str(tmp_path), "--processes", "2"])
    assert result.exit_code == 2 and "inside accelerate launch" in " ".join(result.output.split())


@pytest.mark.slow
def test_two_process_gloo_run_gives_one_metrics_file_and_a_working_adapter(tmp_path):
    data = _write_data(tmp_path / "data.jsonl", n=16)
    cmd = [sys.executable, "-m", "advisor.cli", "finetune", str(data), "--project", str(tmp_path), "--name", "ddp",
           "--processes", "2", "--max-steps", "2", "--batch-size", "2", "--max-length", "64", "--eval-steps", "1",
           "--report-to", "none", "--json"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    run = tmp_path / "runs" / "ddp"
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "completed" and record["processes"] == 2
    lines = (run / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == len(set(lines))  # one process wrote them
    train_steps = [json.loads(line)["step"] for line in lines if json.loads(line)["kind"] == "train"]
    assert train_steps == [1, 2]
    assert sorted(p.name for p in tmp_path.glob("runs/*")) == ["ddp"]

    from training.generate import load_generator

    (reply,) = load_generator(adapter=run).chat([[{"role": "user", "content": "Opening hours of shop 3?"}]], max_new_tokens=8)
    assert isinstance(reply, str) and reply
