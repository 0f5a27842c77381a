"""A real LoRA run on the packaged model: weights change, loss falls, the adapter reloads; cancel + resume; bad input."""

from __future__ import annotations

import json
import threading

import pytest

from curation.errors import DataError, ModelError, UsageError
from curation.example import Example
from training import runs
from training.chat_data import ChatCollator, kept_logits_loss, tokenize_examples
from training.finetune import TrainingData, cancel_on_sigint, finetune, load_training_data
from training.lora_config import LoraSettings

pytestmark = pytest.mark.slow

COLOURS = ["red", "blue", "green", "black", "white", "orange", "yellow", "purple", "grey", "silver"]
SYSTEM = {"role": "system", "content": "Answer in one short sentence."}


def tiny_examples(n: int, offset: int = 0) -> list[Example]:
    """Short conversations with a learnable pattern (about 40 tokens each)."""
    out = []
    for i in range(offset, offset + n):
        colour = COLOURS[i % len(COLOURS)]
        out.append(Example(f"ex{i}", [SYSTEM, {"role": "user", "content": f"What colour is bike {i}?"},
                                      {"role": "assistant", "content": f"Bike {i} is {colour}."}]))
    return out


@pytest.fixture(scope="module")
def base():
    from training.model import load_model

    return load_model(device="cpu")


def batch_loss(model, tokenizer, examples) -> float:
    import torch

    items = tokenize_examples(examples, tokenizer, 128).items
    batch = ChatCollator(tokenizer.pad_token_id)(items)
    labels = batch.pop("labels")
    model.eval()
    with torch.no_grad():
        return float(kept_logits_loss(model(**batch), labels))


@pytest.fixture(scope="module")
def trained(base, tmp_path_factory):
    data = TrainingData(tiny_examples(8), tiny_examples(2, offset=8), "tiny")
    settings = LoraSettings(max_steps=3, batch_size=4, eval_steps=2, learning_rate=3e-3, max_length=128, warmup_ratio=0.0)
    before = batch_loss(base.model, base.tokenizer, data.train[:4])
    rows, steps = [], []
    run_dir = tmp_path_factory.mktemp("project") / "runs" / "first"
    result = finetune(data, settings, run_dir, loaded=base, on_log=rows.append, progress=lambda *a: steps.append(a))
    return result, before, rows, steps, data


def test_run_completes_and_writes_its_folder(trained):
    result, _, rows, steps, _ = trained
    assert result.status == "completed" and result.metrics["steps"] == 3
    folder = result.run_dir
    for name in ("settings.json", "metrics.jsonl", "run.json", "README.md", "adapter/adapter_model.safetensors",
                 "adapter/adapter_config.json", "adapter/tokenizer.json", "adapter/chat_template.jinja"):
        assert (folder / name).exists(), name
    assert LoraSettings.from_dict(json.loads((folder / "settings.json").read_text())).target_modules == ["q_proj", "k_proj", "v_proj", "o_proj"]
    assert ("train", 3, 3) in steps
    card = (folder / "README.md").read_text()
    assert "train examples: 8" in card and "PeftModel.from_pretrained" in card and "eval_loss" in card


def test_metrics_every_step_with_eval_and_speed(trained):
    result, _, rows, _, _ = trained
    written = runs.read_metrics(result.run_dir)
    assert [r for r in written if r["kind"] in ("train", "eval")] == [r for r in rows if r["kind"] in ("train", "eval")]
    assert [r["step"] for r in written if r["kind"] == "train"] == [1, 2, 3]
    assert all(r["tokens_per_s"] > 0 for r in written if r["kind"] == "train")
    assert [r["step"] for r in written if r["kind"] == "eval"][:2] == [0, 2]  # before training, then every eval_steps
    assert 0 <= result.metrics["padding_waste"] < 0.2 and result.metrics["tokens_per_s"] > 0  # length-grouped batches
    assert result.metrics["eval_loss"] < result.metrics["eval_loss_start"]


def test_adapter_weights_changed(trained):
    from safetensors.torch import load_file

    weights = load_file(str(trained[0].run_dir / "adapter" / "adapter_model.safetensors"))
    lora_b = [t for name, t in weights.items() if "lora_B" in name]
    assert len(lora_b) == 30 * 4  # 30 layers x q/k/v/o
    assert all(float(t.abs().max()) > 0 for t in lora_b)  # B starts at zero: every adapted layer was trained


def test_saved_adapter_reloads_lowers_the_batch_loss_and_generates(trained):
    from training.generate import load_generator

    result, before, _, _, data = trained
    generator = load_generator(adapter=result.run_dir)
    assert generator.name == "SmolLM2-135M-Instruct + first"
    after = batch_loss(generator.model, generator.tokenizer, data.train[:4])
    assert after < before - 0.3, (before, after)
    replies = generator.chat([[SYSTEM, {"role": "user", "content": "What colour is bike 3?"}]], max_new_tokens=8)
    assert len(replies) == 1 and replies[0].strip()


def test_cancel_checkpoints_then_resume_continues_at_the_right_step(base, tmp_path):
    data = TrainingData(tiny_examples(8), [], "tiny-no-eval")
    settings = LoraSettings(max_steps=3, batch_size=4, eval_steps=10, max_length=128, packing=True)
    cancel = threading.Event()
    run_dir = tmp_path / "runs" / "cut"

    def stop_after_first(row):
        if row.get("kind") == "train" and row["step"] == 1:
            cancel.set()

    first = finetune(data, settings, run_dir, loaded=base, cancel=cancel, on_log=stop_after_first)
    assert first.status == "interrupted" and first.metrics["steps"] == 1
    assert any("No eval set" in w for w in first.warnings)
    assert runs.latest_checkpoint(run_dir).name == "checkpoint-1"
    assert not runs.has_adapter(run_dir) and runs.read_run(run_dir)["status"] == "interrupted"
    killed = run_dir / "checkpoints" / "checkpoint-7"  # a save cut short by a kill: no trainer_state.json
    killed.mkdir()
    (killed / "adapter_config.json").write_text("{}")
    with pytest.raises(UsageError, match="already exists"):
        finetune(data, settings, run_dir, loaded=base)
    second = finetune(data, settings, run_dir, resume=True, loaded=base)
    assert second.status == "completed" and second.metrics["steps"] == 3 and second.metrics["padding_waste"] == 0.0
    train_steps = [r["step"] for r in runs.read_metrics(run_dir) if r["kind"] == "train"]
    assert train_steps == [1, 2, 3]  # step 1 from the first session, 2-3 after resuming at 1
    assert json.loads((run_dir / "checkpoints" / "checkpoint-3" / "trainer_state.json").read_text())["global_step"] == 3
    assert runs.has_adapter(run_dir)
    with pytest.raises(UsageError, match="already finished"):
        finetune(data, settings, run_dir, resume=True, loaded=base)


def test_a_run_stopped_at_max_steps_trains_on_when_resumed_with_more(base, tmp_path):
    data = TrainingData(tiny_examples(8), tiny_examples(2, offset=8), "tiny")
    settings = LoraSettings(max_steps=2, batch_size=4, eval_steps=1, max_length=128, learning_rate=3e-3, warmup_ratio=0.0)
    run_dir = tmp_path / "runs" / "extend"
    assert finetune(data, settings, run_dir, loaded=base).status == "completed"
    with pytest.raises(UsageError, match="already finished") as err:
        finetune(data, settings, run_dir, resume=True, loaded=base)
    assert "--max-steps above 2" in err.value.hint
    more = finetune(data, LoraSettings(**settings.to_dict() | {"max_steps": 3}), run_dir, resume=True, loaded=base)
    assert more.status == "completed" and more.metrics["steps"] == 3 and runs.has_adapter(run_dir)
    evals = {r["step"]: r["eval_loss"] for r in runs.read_metrics(run_dir) if r["kind"] == "eval" and not r.get("final")}
    assert evals[3] != evals[2]  # the extra step trained (the old schedule had decayed the learning rate to 0)
    assert [r["step"] for r in runs.read_metrics(run_dir) if r["kind"] == "train"] == [1, 2, 3]


def test_bad_input(base, tmp_path):
    settings = LoraSettings(max_steps=1, max_length=128)
    with pytest.raises(DataError, match="empty"):
        finetune(TrainingData([], [], "none"), settings, tmp_path / "runs" / "empty", loaded=base)
    too_long = [Example("long", [{"role": "user", "content": "word " * 200}, {"role": "assistant", "content": "ok"}])]
    with pytest.raises(DataError, match="fits in 128 tokens"):
        finetune(TrainingData(too_long, [], "long"), settings, tmp_path / "runs" / "long", loaded=base)
    with pytest.raises(UsageError, match="no run"):
        finetune(TrainingData(tiny_examples(2), [], "x"), settings, tmp_path / "runs" / "ghost", resume=True, loaded=base)
    with pytest.raises(UsageError, match="batch_size"):
        LoraSettings(batch_size=0)
    with pytest.raises(UsageError, match="not allowed"):
        finetune(TrainingData(tiny_examples(2), [], "x"), settings, tmp_path / "runs" / "../x y", loaded=base)


def test_out_of_memory_is_a_clear_error_with_a_smaller_batch(base, tmp_path, monkeypatch):
    from transformers import Trainer

    def out_of_memory(self, *args, **kwargs):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory: you tried to allocate 8589934592 bytes")

    monkeypatch.setattr(Trainer, "train", out_of_memory)
    with pytest.raises(ModelError, match="Out of memory at batch size 8") as err:
        finetune(TrainingData(tiny_examples(2), [], "x"), LoraSettings(max_steps=1, max_length=128), tmp_path / "runs" / "oom", loaded=base)
    assert "--batch-size 4 --grad-accum 2" in err.value.hint


def test_first_ctrl_c_asks_for_a_checkpoint_second_one_interrupts():
    import os
    import signal

    cancel, before = threading.Event(), signal.getsignal(signal.SIGINT)
    with cancel_on_sigint(cancel):
        os.kill(os.getpid(), signal.SIGINT)
        assert cancel.is_set()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before  # restored


def test_load_training_data_from_a_split_folder_or_a_file(tmp_path):
    curated = tmp_path / "proj" / "curated"
    curated.mkdir(parents=True)
    (curated / "train.jsonl").write_text("".join(json.dumps(e.to_record()) + "\n" for e in tiny_examples(5)))
    (curated / "eval.jsonl").write_text("".join(json.dumps(e.to_record()) + "\n" for e in tiny_examples(1, 5)))
    (curated / "settings.json").write_text(json.dumps({"max_tokens": 512}))
    data = load_training_data(curated)  # a project picks its split with advisor.project.layout
    assert [e.id for e in data.train] == [f"ex{i}" for i in range(5)] and [e.id for e in data.eval] == ["ex5"]
    assert data.max_tokens == 512
    single = tmp_path / "data.jsonl"
    single.write_text("".join(json.dumps(e.to_record()) + "\n" for e in tiny_examples(20)))
    split = load_training_data(single, eval_fraction=0.1, seed=3)
    assert len(split.eval) == 2 and len(split.train) == 18
    assert {e.id for e in split.eval} == {e.id for e in load_training_data(single, eval_fraction=0.1, seed=3).eval}
    with pytest.raises(UsageError, match="No curated data"):
        load_training_data(tmp_path)
    with pytest.raises(UsageError, match="does not exist"):
        load_training_data(tmp_path / "missing.jsonl")
