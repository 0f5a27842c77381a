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
from training.finetune import any_process, check_accelerate_config, is_main_process, resolve_report_to
from training.lora_config import ALL_LINEAR, LoraSettings, peft_targets
from training.memory_estimate import GB, LOGIT_COPIES, check_fits, estimate_memory, weight_bytes
from training.model import check_quantize, resolve_precision

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
def test_two_process_gloo_run_gives_one_metrics_file_and_a_working_adapter_and_resumes(tmp_path):
    from training import runs

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

    # resume the 2-process run, stopped at its max steps: once with 2 processes, then in a single process
    for processes, steps in (("2", "3"), ("1", "4")):
        more = [*cmd[:cmd.index("--processes")], "--processes", processes, "--max-steps", steps, "--batch-size", "2",
                "--max-length", "64", "--eval-steps", "1", "--report-to", "none", "--resume"]
        done = subprocess.run(more, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert runs.latest_checkpoint(run).name == f"checkpoint-{steps}"
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "completed" and record["metrics"]["steps"] == 4 and record["processes"] == 1
    lines = (run / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == len(set(lines))
    assert [json.loads(line)["step"] for line in lines if json.loads(line)["kind"] == "train"] == [1, 2, 3, 4]
    assert runs.has_adapter(run) and sorted(p.name for p in tmp_path.glob("runs/*")) == ["ddp"]


# --- GPUs and QLoRA: settings and error paths on the CPU, the rest where CUDA is -----------------------------


def test_precision_and_quantize_settings_are_checked():
    assert LoraSettings().quantize == "none" and LoraSettings(quantize="4bit", precision="fp16").quantize == "4bit"
    with pytest.raises(UsageError, match="quantize"):
        LoraSettings(quantize="8bit")
    with pytest.raises(UsageError, match="fp16"):
        LoraSettings(precision="fp8")
    assert resolve_precision("auto", "cpu") in ("bf16", "fp32") and resolve_precision("fp32", "cpu") == "fp32"
    with pytest.raises(UsageError, match="fp16 needs a CUDA GPU"):
        resolve_precision("fp16", "cpu")


def test_quantize_4bit_needs_cuda_and_bitsandbytes():
    import importlib.util

    check_quantize("none", "cpu")
    with pytest.raises(UsageError, match="needs a CUDA GPU") as err:
        check_quantize("4bit", "cpu")
    assert "pip install 'tunewise[gpu]'" in err.value.hint
    if importlib.util.find_spec("bitsandbytes") is None:  # the check on a GPU machine without the extra
        with pytest.raises(UsageError, match="bitsandbytes") as err:
            check_quantize("4bit", "cuda")
        assert "pip install 'tunewise[gpu]'" in err.value.hint


def test_cli_quantize_on_cpu_is_a_usage_error_before_any_model_loads(tmp_path, monkeypatch):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: 4-bit can load here")
    monkeypatch.delenv("RANK", raising=False)
    data = _write_data(tmp_path / "data.jsonl")
    result = CliRunner().invoke(finetune_command, [str(data), "--project", str(tmp_path), "--quantize", "4bit",
                                                   "--report-to", "none"])
    assert result.exit_code == 2, result.output
    assert "needs a CUDA GPU" in " ".join(result.output.split()) and "tunewise[gpu]" in result.output


def test_memory_estimate_counts_a_4bit_base_at_about_4_bits_a_weight():
    n = 1_000_000_000
    assert weight_bytes(n) == 4 * n and weight_bytes(n, bytes_per_weight=2) == 2 * n
    assert 0.5 * n < weight_bytes(n, "4bit") < 0.53 * n  # 4 bits + the double-quantised block constants
    full = estimate_memory(CONFIG, n, 900_000, [100], [10], 1, packing=False, checkpointing=True, bytes_per_weight=2)
    qlora = estimate_memory(CONFIG, n, 900_000, [100], [10], 1, packing=False, checkpointing=True,
                            weight_bytes=weight_bytes(n, "4bit"))
    assert full.weights - qlora.weights > 1.3 * GB and qlora.activations == full.activations


def test_any_process_is_the_flag_itself_in_a_single_process():
    assert any_process(True) is True and any_process(False) is False


def test_a_run_completed_at_max_steps_resumes_with_more_steps(tmp_path):
    from training import runs
    from training.finetune import TrainingData, _check_run_folder

    run_dir = tmp_path / "runs" / "r"
    run_dir.mkdir(parents=True)
    data = TrainingData([], [], "x")
    runs.write_json(run_dir / runs.RUN_FILE, {"name": "r", "status": "completed", "metrics": {"steps": 2},
                                              "data": {"fingerprint": data.fingerprint()}})
    with pytest.raises(UsageError, match="already finished") as err:
        _check_run_folder(run_dir, data, True, LoraSettings(max_steps=2))
    assert "--max-steps above 2" in err.value.hint
    assert _check_run_folder(run_dir, data, True, LoraSettings(max_steps=3)) is None  # no checkpoint in this folder
    runs.write_json(run_dir / runs.RUN_FILE, {"name": "r", "status": "early_stopped", "metrics": {"steps": 2}})
    with pytest.raises(UsageError, match="already finished"):
        _check_run_folder(run_dir, data, True, LoraSettings(max_steps=9))


FSDP_CONFIG = """compute_environment: LOCAL_MACHINE
distributed_type: FSDP
mixed_precision: bf16
num_machines: 1
num_processes: 2
fsdp_config:
  fsdp_auto_wrap_policy: TRANSFORMER_BASED_WRAP
  fsdp_sharding_strategy: FULL_SHARD
  fsdp_state_dict_type: SHARDED_STATE_DICT
"""


def test_accelerate_config_is_validated_and_passed_to_accelerate_launch(tmp_path, monkeypatch):
    calls = []
    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.setattr(subprocess, "call", lambda cmd: calls.append(cmd) or 0)
    data = _write_data(tmp_path / "data.jsonl")
    config = tmp_path / "fsdp.yaml"
    config.write_text(FSDP_CONFIG)
    assert check_accelerate_config(config)["distributed_type"] == "FSDP"
    runner = CliRunner()
    base = [str(data), "--project", str(tmp_path), "--report-to", "none"]
    result = runner.invoke(finetune_command, [*base, "--processes", "2", "--accelerate-config", str(config)])
    assert result.exit_code == 0, result.output
    (cmd,) = calls
    assert cmd[cmd.index("--config_file") + 1] == str(config) and cmd[cmd.index("--num_processes") + 1] == "2"
    assert "--multi_gpu" not in cmd and "--accelerate-config" not in cmd  # the file decides the strategy

    bad = {"no-fsdp-config.yaml": (FSDP_CONFIG.split("fsdp_config")[0], "no fsdp_config"),
           "unknown-key.yaml": (FSDP_CONFIG + "colour: red\n", "unknown keys"),
           "single.yaml": (FSDP_CONFIG.replace("distributed_type: FSDP", "distributed_type: 'NO'"), "distributed_type NO"),
           "list.yaml": ("- 1\n- 2\n", "mapping"),
           "broken.yaml": ("distributed_type: [FSDP\n", "broken.yaml")}
    for name, (text, expected) in bad.items():
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(UsageError, match=expected) as err:
            check_accelerate_config(path)
        assert err.value.hint
        result = runner.invoke(finetune_command, [*base, "--processes", "2", "--accelerate-config", str(path)])
        assert result.exit_code == 2 and "Usage error" in result.output, (name, result.output)
    missing = runner.invoke(finetune_command, [*base, "--processes", "2", "--accelerate-config", str(tmp_path / "none.yaml")])
    assert missing.exit_code == 2 and "none.yaml" in missing.output
    alone = runner.invoke(finetune_command, [*base, "--accelerate-config", str(config)])
    assert alone.exit_code == 2 and "--processes" in alone.output
    assert len(calls) == 1  # nothing launched for a bad file


needs_qlora = pytest.mark.skipif(
    not __import__("torch").cuda.is_available() or __import__("importlib").util.find_spec("bitsandbytes") is None,
    reason="QLoRA needs a CUDA GPU and bitsandbytes (pip install 'tunewise[gpu]')")


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_precision_follows_the_gpu():
    import torch

    assert resolve_precision("auto", "cuda") == ("bf16" if torch.cuda.is_bf16_supported() else "fp16")


@needs_qlora
def test_qlora_run_trains_a_4bit_base_and_merges_unquantised(tmp_path):
    from training import runs
    from training.finetune import finetune, load_training_data

    data = load_training_data(_write_data(tmp_path / "data.jsonl", n=16))
    settings = LoraSettings(quantize="4bit", max_steps=2, batch_size=4, max_length=64, report_to="none")
    result = finetune(data, settings, tmp_path / "runs" / "q")
    record = runs.read_run(result.run_dir)
    assert result.status == "completed" and record["quantize"] == "4bit" and record["precision"] in ("bf16", "fp16")
    assert record["metrics"]["memory_estimate_gb"] > 0 and runs.has_adapter(result.run_dir)
    out = runs.export_merged(result.run_dir, tmp_path / "merged")
    assert "quantization_config" not in json.loads((out / "config.json").read_text())


def test_each_process_of_a_multi_process_cpu_run_carries_the_distributed_overhead():
    from training.memory_estimate import DISTRIBUTED_OVERHEAD

    one = estimate_memory(CONFIG, 135_000_000, 900_000, [300] * 4, [100] * 4, 2, packing=False, checkpointing=True)
    two = estimate_memory(CONFIG, 135_000_000, 900_000, [300] * 4, [100] * 4, 2, packing=False, checkpointing=True,
                          processes=2)
    gpu = estimate_memory(CONFIG, 135_000_000, 900_000, [300] * 4, [100] * 4, 2, packing=False, checkpointing=True,
                          processes=2, device="cuda")
    assert two.total - one.total == DISTRIBUTED_OVERHEAD and gpu.overhead == 0
