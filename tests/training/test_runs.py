"""Runs: list / use / roll back, merged export equal to base + adapter, data export formats."""

from __future__ import annotations

import json

import pytest

from curation.errors import UsageError
from curation.example import Example
from training import runs
from training.export_data import export_data, render, to_alpaca, to_openai, to_sharegpt

MULTI = Example("m1", [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."},
    {"role": "user", "content": "Price of the Haul?"}, {"role": "assistant", "content": "It costs 3,499 EUR."},
])


def tiny(n: int) -> list[Example]:
    return [Example(f"t{i}", [{"role": "user", "content": f"Code for item {i}?"}, {"role": "assistant", "content": f"Item {i} uses code Z{i * 7}."}])
            for i in range(n)]


@pytest.fixture(scope="module")
def project(tmp_path_factory, tiny_run):
    """A project with two finished runs (copies of the session's tiny run: a strong learning rate, so the adapter
    visibly changes the logits)."""
    from tests.conftest import copy_run
    from training.model import load_model

    base = load_model(device="cpu")
    root = tmp_path_factory.mktemp("proj")
    for name in ("older", "newer"):
        copy_run(tiny_run, runs.runs_root(root), name)
    return root, base


@pytest.mark.slow
def test_list_use_and_roll_back(project):
    root, _ = project
    listed = runs.list_runs(root)
    assert sorted(r.name for r in listed) == ["newer", "older"]
    assert all(r.status == "completed" and r.data == "tiny.jsonl" and r.train_examples == 4 and not r.active for r in listed)
    assert runs.active_run(root) is None
    runs.set_active(root, "newer")
    assert runs.active_run(root) == "newer"
    runs.set_active(root, "older")  # roll back
    assert runs.active_run(root) == "older"
    assert [r.name for r in runs.list_runs(root) if r.active] == ["older"]
    json.dumps([r.to_dict() for r in listed])  # what `runs list --json` prints
    with pytest.raises(UsageError, match="No run named ghost") as err:
        runs.set_active(root, "ghost")
    assert "older" in err.value.hint
    unfinished = runs.runs_root(root) / "half"
    unfinished.mkdir()
    runs.write_json(unfinished / runs.RUN_FILE, {"status": "interrupted", "created": "2000-01-01"})
    with pytest.raises(UsageError, match="no final adapter"):
        runs.set_active(root, "half")
    assert runs.active_run(root) == "older"


@pytest.mark.slow
def test_merged_export_loads_with_plain_transformers_and_matches_base_plus_adapter(project, tmp_path):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    root, base = project
    out = runs.export_merged(runs.find_run(root, "newer"), tmp_path / "merged")
    assert (out / "model.safetensors").exists() and (out / "tokenizer.json").exists()
    assert not list(tmp_path.glob(".merged.*"))
    merged = AutoModelForCausalLM.from_pretrained(out)  # plain transformers, no peft, no tunewise
    tokenizer = AutoTokenizer.from_pretrained(out)
    ids = tokenizer(tokenizer.apply_chat_template([{"role": "user", "content": "Code for item 2?"}], tokenize=False,
                                                   add_generation_prompt=True), return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        plain = base.model(**ids).logits
        adapted = PeftModel.from_pretrained(base.model, str(runs.find_run(root, "newer") / "adapter"))
        with_adapter = adapted(**ids).logits
        adapted.unload()  # take the LoRA layers out of the shared base model again
        from_merged = merged(**ids).logits
    assert (with_adapter - plain).abs().max() > 1e-2  # the adapter matters, so the comparison below means something
    assert torch.allclose(from_merged, with_adapter, rtol=1e-5, atol=1e-3)  # logits up to ~30: float32 merge rounding
    with pytest.raises(UsageError, match="not empty"):
        runs.export_merged(runs.find_run(root, "newer"), out)


def test_export_formats():
    assert to_openai(MULTI) == {"messages": MULTI.messages}
    assert to_sharegpt(MULTI)["conversations"][:2] == [{"from": "system", "value": "Be brief."}, {"from": "human", "value": "Hi"}]
    assert to_sharegpt(MULTI)["conversations"][-1] == {"from": "gpt", "value": "It costs 3,499 EUR."}
    assert to_alpaca(MULTI) == {"instruction": "Price of the Haul?", "input": "", "output": "It costs 3,499 EUR.",
                                "system": "Be brief.", "history": [["Hi", "Hello."]]}
    assert to_alpaca(tiny(1)[0]) == {"instruction": "Code for item 0?", "input": "", "output": "Item 0 uses code Z0."}
    assert json.loads(render([MULTI], "alpaca"))[0]["instruction"] == "Price of the Haul?"
    with pytest.raises(UsageError, match="Unknown export format"):
        render([MULTI], "csv")


def test_export_data_writes_each_split(tmp_path):
    written = export_data({"train": tiny(3), "eval": [MULTI], "empty": []}, "openai", tmp_path / "out")
    assert [p.name for p in written] == ["train.openai.jsonl", "eval.openai.jsonl"]
    lines = (tmp_path / "out" / "train.openai.jsonl").read_text().splitlines()
    assert [json.loads(line)["messages"] for line in lines] == [e.messages for e in tiny(3)]
    assert not list((tmp_path / "out").glob(".*"))  # no temp files left


def test_measured_tokens_per_s_is_the_newest_runs_median(tmp_path):
    assert runs.measured_tokens_per_s(tmp_path) is None
    for name, created, speeds in (("old", "2026-01-01T00:00:00+00:00", [500.0, 500.0]),
                                  ("new", "2026-02-01T00:00:00+00:00", [5.0, 30.0, 40.0, 20.0])):
        folder = tmp_path / "runs" / name
        folder.mkdir(parents=True)
        runs.write_json(folder / runs.RUN_FILE, {"name": name, "created": created, "status": "completed"})
        rows = [{"step": i + 1, "kind": "train", "tokens_per_s": s} for i, s in enumerate(speeds)]
        runs.write_text(folder / runs.METRICS_FILE, "".join(json.dumps(r) + "\n" for r in rows))
    assert runs.measured_tokens_per_s(tmp_path) == 30.0  # first (warm-up) step left out


@pytest.mark.slow
def test_merged_export_of_a_qlora_run_reloads_the_base_unquantised(project, tmp_path):
    """A QLoRA run's adapter was trained on a 4-bit base; its merged export reloads the base in bf16, never 4-bit."""
    import shutil

    import torch
    from safetensors.torch import load_file

    root, _ = project
    qlora = runs.runs_root(root) / "qlora"
    shutil.copytree(runs.find_run(root, "newer"), qlora)
    settings = json.loads((qlora / runs.SETTINGS_FILE).read_text()) | {"quantize": "4bit"}
    runs.write_json(qlora / runs.SETTINGS_FILE, settings)
    assert runs.merge_dtype(qlora) == "bfloat16" and runs.merge_dtype(runs.find_run(root, "newer")) == "float32"
    out = runs.export_merged(qlora, tmp_path / "merged")
    config = json.loads((out / "config.json").read_text())
    assert "quantization_config" not in config
    assert json.loads((out / "tunewise.json").read_text())["dequantized"] is True
    weights = load_file(out / "model.safetensors")
    reference = load_file(runs.export_merged(runs.find_run(root, "newer"), tmp_path / "fp32") / "model.safetensors")
    name = next(k for k in weights if k.endswith("q_proj.weight"))
    assert weights[name].dtype == torch.bfloat16  # full-size weights, not packed 4-bit bytes
    assert weights[name].shape == reference[name].shape
    assert torch.allclose(weights[name].float(), reference[name], atol=2e-2)  # the same merge, in bf16


def _run_with_steps(root, name: str, created: str, rows: list[dict]) -> None:
    folder = root / "runs" / name
    folder.mkdir(parents=True)
    runs.write_json(folder / runs.RUN_FILE, {"name": name, "created": created, "status": "completed"})
    runs.write_text(folder / runs.METRICS_FILE, "".join(json.dumps(r) + "\n" for r in rows))


def test_measured_speed_names_its_run_and_times_its_steps(tmp_path):
    assert runs.measured_speed(tmp_path) is None
    steps = [{"step": i + 1, "kind": "train", "tokens_per_s": 20.0 + i, "time": f"2026-02-01T00:00:{t:02d}+00:00"}
             for i, t in enumerate([0, 4, 8, 14])]
    steps.insert(2, {"step": 2, "kind": "eval", "eval_loss": 1.0, "time": "2026-02-01T00:00:05+00:00"})
    _run_with_steps(tmp_path, "fresh", "2026-02-01T00:00:00+00:00", steps)
    speed = runs.measured_speed(tmp_path)
    assert speed.run == "fresh" and speed.tokens_per_s == 22.0 and speed.step_seconds == 4.0  # gaps 4, 4, 6


def test_cost_estimate_uses_the_measured_speed_and_says_so(tmp_path):
    from curation.tokens import estimate_cost, load_pricing

    pricing = load_pricing()
    assumed = estimate_cost(30_000, 2, pricing)
    assert assumed["local"]["speed_basis"] == "assumed" and assumed["local"]["measured"].startswith("assumed")
    assert assumed["local"]["tokens_per_second"] == pricing["local"]["tokens_per_second"]
    _run_with_steps(tmp_path, "r7", "2026-02-01T00:00:00+00:00",
                    [{"step": i, "kind": "train", "tokens_per_s": 30.0} for i in (1, 2, 3)])
    speed = runs.measured_speed(tmp_path)
    measured = estimate_cost(30_000, 2, pricing, speed.tokens_per_s, speed.run)
    assert measured["local"]["speed_basis"] == "measured" and "run r7" in measured["local"]["measured"]
    assert measured["local"]["tokens_per_second"] == 30.0 and measured["local"]["seconds"] == 2000.0
    assert measured["hosted"] == assumed["hosted"]  # the speed changes the local time only
