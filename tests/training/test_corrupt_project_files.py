"""Every file the training package reads back from a project folder: damaged, it is a message naming the file
and the command that fixes it, never a traceback, a hang on a FIFO, or a silent wrong answer.

No model is loaded here: the run folders, prompts, caches and summaries are written by hand.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from curation.errors import DataError, UsageError
from training import runs

BIG = "7" * 5000  # more digits than Python turns into an int


def write_run(project: Path, name: str, **record) -> Path:
    folder = runs.runs_root(project) / name
    folder.mkdir(parents=True, exist_ok=True)
    runs.write_json(folder / runs.RUN_FILE, {
        "name": name, "created": f"2025-01-0{len(list(runs.runs_root(project).iterdir()))}T00:00:00+00:00",
        "status": "completed", "model": "SmolLM2-135M-Instruct",
        "data": {"source": "tiny.jsonl", "train_examples": 4, "fingerprint": "abc"},
        "metrics": {"eval_loss": 1.25, "steps": 2}, **record})
    runs.write_json(folder / runs.SETTINGS_FILE, {"rank": 8, "max_steps": 2})
    (folder / runs.ADAPTER_DIR).mkdir(exist_ok=True)
    (folder / runs.ADAPTER_DIR / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "x"}))
    return folder


def fifo(path: Path) -> None:
    if path.is_dir():
        path.rmdir()
    else:
        path.unlink(missing_ok=True)
    os.mkfifo(path)


def folder_instead(path: Path) -> None:
    path.unlink(missing_ok=True)
    path.mkdir()


DAMAGE = {
    "not JSON": lambda p: p.write_text("{not json"),
    "empty": lambda p: p.write_text(""),
    "a list": lambda p: p.write_text("[]"),
    "a 5000-digit number": lambda p: p.write_text('{"created": ' + BIG + "}"),
    "deep nesting": lambda p: p.write_text("[" * 50_000 + "]" * 50_000),
    "not UTF-8": lambda p: p.write_bytes(b'{"name": "\xff"}'),
    "a folder": folder_instead,
    "a named pipe": fifo,
    "a broken link": lambda p: (p.unlink(), p.symlink_to(p.parent / "gone")),
}
RUN_DAMAGE = {
    **DAMAGE,
    "metrics as text": lambda p: p.write_text(json.dumps({"created": "x", "metrics": "fast"})),
    "data as a number": lambda p: p.write_text(json.dumps({"created": "x", "data": 5})),
    "created as a number": lambda p: p.write_text(json.dumps({"created": 5})),
    "eval loss as text": lambda p: p.write_text(json.dumps({"metrics": {"eval_loss": "low"}})),
}


@pytest.fixture
def project(tmp_path):
    write_run(tmp_path, "good")
    write_run(tmp_path, "bad")
    runs.set_active(tmp_path, "good")
    return tmp_path


def invoke(*args: str):
    from advisor.commands.runs import runs as runs_command

    result = CliRunner().invoke(runs_command, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output + result.stderr
    return result


# --- run.json ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", list(RUN_DAMAGE))
def test_a_damaged_run_record_is_listed_as_damaged_with_the_fix(project, variant):
    path = runs.runs_root(project) / "bad" / runs.RUN_FILE
    RUN_DAMAGE[variant](path)
    with pytest.raises(DataError) as info:
        runs.read_run(path.parent)
    assert "run.json" in info.value.message or "run record" in info.value.message
    assert str(path.parent) in info.value.hint and "runs list" in info.value.hint

    listed = runs.list_runs(project)
    assert [(r.name, r.status) for r in listed if r.name == "bad"] == [("bad", "damaged")]
    assert [r.name for r in listed if r.active] == ["good"]
    assert len(listed.problems) == 1 and "run.json" in listed.problems[0] and "delete the run folder" in listed.problems[0]

    result = invoke("list", "--project", str(project))
    assert result.exit_code == 0 and "damaged" in result.stdout and "good" in result.stdout
    result = invoke("list", "--project", str(project), "--json")
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["bad"]["status"] == "damaged" and "run.json" in rows["bad"]["problem"]

    result = invoke("use", "bad", "--project", str(project))
    assert result.exit_code in (1, 2) and "run.json" in result.stderr


def test_finetune_refuses_to_resume_a_run_whose_record_is_damaged(project):
    from training.finetune import TrainingData, _check_run_folder

    (runs.runs_root(project) / "bad" / runs.RUN_FILE).write_text("[1, 2]")
    with pytest.raises(DataError, match="run.json"):
        _check_run_folder(runs.runs_root(project) / "bad", TrainingData([], [], "x"), resume=True)


# --- active.json ------------------------------------------------------------------------------------


ACTIVE_DAMAGE = {
    **DAMAGE,
    "a number as the name": lambda p: p.write_text('{"name": 5}'),
    "a path as the name": lambda p: p.write_text('{"name": "../../etc"}'),
    "no name": lambda p: p.write_text('{"since": "now"}'),
}


@pytest.mark.parametrize("variant", list(ACTIVE_DAMAGE))
def test_a_damaged_active_file_is_a_message_and_runs_use_repairs_it(project, variant):
    path = runs.runs_root(project) / runs.ACTIVE_FILE
    ACTIVE_DAMAGE[variant](path)
    with pytest.raises(DataError) as info:
        runs.active_run(project)
    assert "active" in info.value.message and "tunewise runs use NAME" in info.value.hint
    assert "good" in info.value.hint  # the runs to choose from

    listed = runs.list_runs(project)  # the listing still works, marking no run active
    assert sorted(r.name for r in listed) == ["bad", "good"] and not any(r.active for r in listed)
    assert any("active" in p and "runs use" in p for p in listed.problems)
    assert invoke("list", "--project", str(project)).exit_code == 0

    result = invoke("use", "good", "--project", str(project))  # rewrites it, whatever stands in its place
    assert result.exit_code == 0, result.stderr
    assert runs.active_run(project) == "good" and not runs.list_runs(project).problems


def test_the_evaluation_candidates_do_not_fail_on_a_damaged_active_file(project):
    from training.evaluation.candidates import available

    (runs.runs_root(project) / runs.ACTIVE_FILE).write_text("{")
    index = project / "index"
    index.mkdir()
    (index / "manifest.json").write_text("{}")
    names = [c.name for c in available(project, index)]
    assert "lora:good" in names and any(n.startswith("rag+lora:") for n in names)


# --- settings.json ----------------------------------------------------------------------------------


SETTINGS_DAMAGE = {
    **DAMAGE,
    "rank as text": lambda p: p.write_text('{"rank": "8"}'),
    "epochs as true": lambda p: p.write_text('{"epochs": true}'),
    "a huge rank": lambda p: p.write_text('{"rank": 1' + "0" * 100 + "}"),
    "target modules as text": lambda p: p.write_text('{"target_modules": "q_proj"}'),
}


@pytest.mark.parametrize("variant", list(SETTINGS_DAMAGE))
def test_damaged_run_settings_name_the_file(project, variant):
    path = runs.runs_root(project) / "good" / runs.SETTINGS_FILE
    SETTINGS_DAMAGE[variant](path)
    with pytest.raises(DataError) as info:
        runs.read_settings(path.parent)
    assert "settings" in info.value.message and "another --name" in info.value.hint
    with pytest.raises(DataError):
        runs.write_model_card(path.parent)


def test_good_settings_and_model_card(project):
    assert runs.read_settings(runs.runs_root(project) / "good") == {"rank": 8, "max_steps": 2}
    assert runs.read_settings(project / "nowhere") == {}
    card = runs.write_model_card(runs.runs_root(project) / "good").read_text()
    assert "| rank | `8` |" in card


# --- metrics.jsonl and checkpoints ------------------------------------------------------------------


def test_metrics_lines_that_are_not_rows_are_skipped(project):
    run_dir = runs.runs_root(project) / "good"
    (run_dir / runs.METRICS_FILE).write_bytes(b"\n".join([
        json.dumps({"step": 1, "kind": "train", "train_loss": 2.0}).encode(),
        b"[1, 2]", b'{"step": "two", "kind": "train"}', b'{"step": 2, "kind": "eval", "eval_loss": "low"}',
        b'{"step": ' + BIG.encode() + b"}", b"[" * 50_000, b'{"step": 3, "kind": "train", "train_loss": 1.5, "x": "\xff"}',
        b'{"step": true}', json.dumps({"step": 4, "kind": "eval", "eval_loss": 1.0}).encode(), b'{"step": 5, "ki',
    ]))
    rows = runs.read_metrics(run_dir)
    assert [r["step"] for r in rows] == [1, 3, 4]

    from advisor.tui.run_format import TrainingMonitor
    from training.finetune import _trim_metrics

    _trim_metrics(run_dir, 3)
    assert [r["step"] for r in runs.read_metrics(run_dir)] == [1, 3]
    TrainingMonitor.from_metrics(run_dir)  # the TUI's reader takes the rows as they are


@pytest.mark.parametrize("variant", ["a folder", "a named pipe"])
def test_a_metrics_file_that_is_not_a_file_is_a_message(project, variant):
    path = runs.runs_root(project) / "good" / runs.METRICS_FILE
    path.write_text("")
    DAMAGE[variant](path)
    with pytest.raises(DataError, match="metrics"):
        runs.read_metrics(path.parent)


def test_a_checkpoint_with_a_damaged_state_is_passed_over(project):
    run_dir = runs.runs_root(project) / "good"
    for step, state in ((2, {"global_step": 2}), (4, {"global_step": 4}), (6, "{not json"), (8, [8])):
        folder = run_dir / runs.CHECKPOINTS_DIR / f"checkpoint-{step}"
        folder.mkdir(parents=True)
        (folder / "trainer_state.json").write_text(state if isinstance(state, str) else json.dumps(state))
    fifo_dir = run_dir / runs.CHECKPOINTS_DIR / "checkpoint-10"
    fifo_dir.mkdir()
    os.mkfifo(fifo_dir / "trainer_state.json")
    assert runs.latest_checkpoint(run_dir).name == "checkpoint-4"


# --- curated data for fine-tuning ---------------------------------------------------------------------


def curated(project: Path) -> Path:
    folder = project / "curated"
    folder.mkdir()
    record = {"id": "a", "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}]}
    (folder / "train.jsonl").write_text(json.dumps(record) + "\n")
    (folder / "eval.jsonl").write_text(json.dumps(record | {"id": "b"}) + "\n")
    (folder / "settings.json").write_text(json.dumps({"max_tokens": 512}))
    return folder


@pytest.mark.parametrize("variant", [*DAMAGE, "max_tokens as text", "max_tokens huge"])
def test_damaged_curation_settings_name_the_file(tmp_path, variant):
    from training.finetune import load_training_data

    folder = curated(tmp_path)
    assert load_training_data(tmp_path / "curated").max_tokens == 512
    path = folder / "settings.json"
    {**DAMAGE, "max_tokens as text": lambda p: p.write_text('{"max_tokens": "512"}'),
     "max_tokens huge": lambda p: p.write_text('{"max_tokens": 1' + "0" * 40 + "}")}[variant](path)
    with pytest.raises(DataError) as info:
        load_training_data(tmp_path / "curated")
    assert "settings.json" in info.value.message and "tunewise curate" in info.value.hint


@pytest.mark.parametrize("line", [
    "[1]", '{"id": "x"}', '{"id": "x", "messages": "hi"}', '{"id": "x", "messages": [{"role": "robot", "content": "x"}]}',
    '{"id": "x", "messages": [{"role": "user", "content": 5}]}', '{"id": "x", "messages": [{"role": "user", "content": "q"}]}',
    '{"id": ' + BIG + "}", "{cut", '{"id": true, "messages": []}',
])
def test_a_bad_curated_record_names_the_file_and_record(tmp_path, line):
    from training.finetune import load_training_data

    folder = curated(tmp_path)
    with (folder / "train.jsonl").open("a") as handle:
        handle.write(line + "\n")
    with pytest.raises(DataError) as info:
        load_training_data(tmp_path / "curated")
    assert "train.jsonl" in info.value.message and "tunewise curate" in info.value.hint


def test_a_curated_file_that_is_a_pipe_is_refused(tmp_path):
    from training.finetune import load_training_data

    folder = curated(tmp_path)
    fifo(folder / "eval.jsonl")
    with pytest.raises((DataError, UsageError), match="eval.jsonl"):
        load_training_data(tmp_path / "curated")


# --- adapters -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["tunewise.json", "adapter_config.json"])
@pytest.mark.parametrize("variant", [*DAMAGE, "base model as a number"])
def test_damaged_adapter_files_name_the_file(project, name, variant):
    from training.generate import adapter_base_model

    adapter = runs.runs_root(project) / "good" / runs.ADAPTER_DIR
    path = adapter / name
    if name == "tunewise.json":
        path.write_text(json.dumps({"base_model": None}))
        assert adapter_base_model(adapter) is None
    if variant == "a broken link" and name == "adapter_config.json":
        return  # then it is no adapter folder at all: adapter_dir says so
    {**DAMAGE, "base model as a number": lambda p: p.write_text(
        json.dumps({"base_model": 5, "base_model_name_or_path": 5}))}[variant](path)
    with pytest.raises(DataError) as info:
        adapter_base_model(adapter)
    assert name in info.value.message and "--model" in info.value.hint


# --- prompts ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", [*(v for v in DAMAGE if v != "a list"), "not messages"])  # [] is an empty prompt
def test_damaged_prompt_files_name_the_file(tmp_path, variant):
    from training.prompting import load_prompt

    path = tmp_path / "messages.json"
    path.write_text(json.dumps([{"role": "system", "content": "Be brief."}]))
    assert load_prompt(tmp_path) == [{"role": "system", "content": "Be brief."}]
    {**DAMAGE, "not messages": lambda p: p.write_text('[{"role": "system"}]')}[variant](path)
    with pytest.raises(DataError) as info:
        load_prompt(tmp_path)
    assert "messages.json" in info.value.message and "tunewise prompt build" in info.value.hint


@pytest.mark.parametrize("data", [b"task: [unclosed", b"task_description: " + BIG.encode(), b"a:\n  - " + b"[" * 200 + b"]" * 200,
                                  b"task: \xff"])
def test_damaged_answers_yaml_names_the_file(tmp_path, data):
    from training.prompting import task_from_answers

    path = tmp_path / "answers.yaml"
    path.write_bytes(data)
    with pytest.raises(DataError) as info:
        task_from_answers(path)
    assert "answers.yaml" in info.value.message and "interview" in info.value.hint


def test_answers_yaml_that_is_a_pipe_is_refused(tmp_path):
    from training.prompting import task_from_answers

    os.mkfifo(tmp_path / "answers.yaml")
    with pytest.raises(UsageError, match="named pipe"):
        task_from_answers(tmp_path / "answers.yaml")


# --- evaluation: cache, summary, schema ---------------------------------------------------------------------


def test_a_damaged_generation_cache_line_is_skipped(tmp_path):
    from training.evaluation.cache import GenerationCache

    path = tmp_path / "generations.jsonl"
    path.write_bytes(b"\n".join([
        b'{"key": "a", "output": "one"}', b'{"key": "b", "output": "\xff\xfe"}', b"[1]", b'{"key": 5, "output": "x"}',
        b'{"key": "c", "output": ' + BIG.encode() + b"}", b"{" * 50_000, b'{"key": "d", "output": ["x"]}',
        b'{"key": "e", "output": "five"}', b'{"key": "f", "outp',
    ]))
    cache = GenerationCache(path)
    assert cache.outputs == {"a": "one", "e": "five"} and cache.skipped == 7
    cache.put({"g": "seven"})
    assert GenerationCache(path).get("g") == "seven"


@pytest.mark.parametrize("variant", ["a folder", "a named pipe"])
def test_a_generation_cache_that_is_not_a_file_is_a_message(tmp_path, variant):
    from training.evaluation.cache import GenerationCache

    path = tmp_path / "generations.jsonl"
    path.write_text("")
    DAMAGE[variant](path)
    with pytest.raises(DataError) as info:
        GenerationCache(path)
    assert "generations.jsonl" in info.value.message and "Delete" in info.value.hint


def summary() -> dict:
    interval = {"mean": 0.5, "low": 0.4, "high": 0.6}
    return {"created": "2025-01-01", "folder": "evals/x", "eval_source": "eval.jsonl", "eval_fingerprint": "f",
            "examples": 3, "primary": "rouge_l", "metrics": ["rouge_l"], "metric_reasons": [],
            "candidates": [{"name": "zero-shot", "kind": "zero-shot", "scores": {"rouge_l": interval}},
                           {"name": "few-shot", "kind": "few-shot", "scores": {"rouge_l": interval}}],
            "comparisons": [{"a": "few-shot", "b": "zero-shot", "difference": interval}], "settings": {"limit": None}}


SUMMARY_DAMAGE = {
    **DAMAGE,
    "no candidates": lambda p: p.write_text(json.dumps(summary() | {"candidates": []})),
    "scores as a list": lambda p: p.write_text(json.dumps(summary() | {"candidates": [
        {"name": "a", "kind": "zero-shot", "scores": [1]}]})),
    "a mean as text": lambda p: p.write_text(json.dumps(summary()).replace('"mean": 0.5', '"mean": "half"', 1)),
    "primary not scored": lambda p: p.write_text(json.dumps(summary() | {"primary": "exact_match"})),
    "a comparison of strangers": lambda p: p.write_text(json.dumps(summary() | {"comparisons": [
        {"a": "x", "b": "y", "difference": {"mean": 0, "low": 0, "high": 0}}]})),
    "limit as text": lambda p: p.write_text(json.dumps(summary() | {"settings": {"limit": "ten"}})),
}


@pytest.mark.parametrize("variant", list(SUMMARY_DAMAGE))
def test_a_damaged_bakeoff_summary_names_the_file(tmp_path, variant):
    from training.evaluation.results import load_bakeoff

    path = tmp_path / "summary.json"
    path.write_text(json.dumps(summary()))
    assert load_bakeoff(tmp_path).winner.name in ("zero-shot", "few-shot")
    SUMMARY_DAMAGE[variant](path)
    with pytest.raises(DataError) as info:
        load_bakeoff(tmp_path)
    assert "summary.json" in info.value.message and "tunewise eval" in info.value.hint


SCHEMA_DAMAGE = {
    "not JSON": ("{", "not valid JSON"),
    "not a schema": ('{"type": "no-such-type"}', "not a valid JSON schema"),
    "a ref to nowhere": ('{"$ref": "#/$defs/nope"}', "not a usable JSON schema"),
    "a ref to the network": ('{"$ref": "https://example.com/schema.json"}', "not a usable JSON schema"),
    "a ref loop": ('{"$ref": "#"}', "loop"),
    "a bad pattern": ('{"pattern": "("}', "schema"),
    "a 5000-digit number": ('{"maxLength": ' + BIG + "}", "too many digits"),
}


@pytest.mark.parametrize("variant", list(SCHEMA_DAMAGE))
def test_a_bad_eval_schema_file_is_a_usage_error(tmp_path, variant):
    from training.evaluation.config import load_schema

    text, words = SCHEMA_DAMAGE[variant]
    path = tmp_path / "schema.json"
    path.write_text(text)
    with pytest.raises(UsageError, match=words):
        load_schema(str(path))


def test_an_eval_schema_that_is_a_pipe_is_refused(tmp_path):
    from training.evaluation.config import load_schema

    os.mkfifo(tmp_path / "schema.json")
    with pytest.raises(UsageError, match="named pipe"):
        load_schema(str(tmp_path / "schema.json"))


def test_the_schema_metric_never_raises_on_an_output():
    from training.evaluation.metrics import parse_json, schema_metric

    check = schema_metric({"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}})
    assert check('{"a": 1}', "") == 0.0 and check('{"b": 1}', "") == 1.0
    assert parse_json("[" * 50_000) is None and parse_json('{"n": ' + BIG + "}") is None
