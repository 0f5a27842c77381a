"""advisor.project.finetune: one resume/override rule, the same through the library (the app) and `tunewise finetune`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from advisor.commands.finetune import finetune as finetune_command
from advisor.project import RESUME_OVERRIDES, finetune_run, resolve_settings, resume_target
from curation.errors import UsageError
from curation.example import Example
from training import runs
from training.finetune import FinetuneResult, TrainingData
from training.lora_config import LoraSettings

SAVED = LoraSettings(rank=16, alpha=32, epochs=2.0, max_steps=7, learning_rate=1e-4, max_length=256)


def _examples(n: int) -> list[Example]:
    return [Example(f"q{i}", [{"role": "user", "content": f"Opening hours of shop {i}?"},
                              {"role": "assistant", "content": f"Shop {i} opens at {8 + i % 3} am."}]) for i in range(n)]


def _saved_run(root: Path, name: str = "r1", status: str = "interrupted") -> Path:
    run_dir = root / runs.RUNS_DIR / name
    run_dir.mkdir(parents=True)
    (run_dir / runs.SETTINGS_FILE).write_text(json.dumps(SAVED.to_dict()))
    return run_dir


def test_a_new_run_takes_curations_max_length_unless_one_is_given(tmp_path):
    data = TrainingData(_examples(4), _examples(1), "x", max_tokens=512)
    assert resolve_settings(tmp_path / "new", data, LoraSettings()).max_length == 512
    assert resolve_settings(tmp_path / "new", data, LoraSettings(max_length=96), given={"max_length"}).max_length == 96
    assert resolve_settings(tmp_path / "new", TrainingData([], [], "x"), LoraSettings()).max_length == LoraSettings().max_length


def test_resuming_keeps_the_saved_settings_and_takes_only_the_overrides_given(tmp_path):
    run_dir = _saved_run(tmp_path)
    data = TrainingData(_examples(4), _examples(1), "x", max_tokens=512)
    form = LoraSettings(rank=4, epochs=5.0, max_steps=0)  # what the CLI's options or the app's form hold
    assert RESUME_OVERRIDES == ("epochs", "max_steps")
    assert resolve_settings(run_dir, data, form, resume=True) == SAVED  # nothing given: the run as it was
    extended = resolve_settings(run_dir, data, form, resume=True, given={"epochs", "rank"})
    assert extended == LoraSettings.from_dict(SAVED.to_dict() | {"epochs": 5.0})  # rank is fixed by the run
    both = resolve_settings(run_dir, data, form, resume=True, given={"epochs", "max_steps"})
    assert (both.epochs, both.max_steps, both.rank, both.max_length) == (5.0, 0, 16, 256)


def test_resuming_without_a_name_takes_the_latest_unfinished_run(tmp_path):
    with pytest.raises(UsageError, match="No unfinished run"):
        resume_target(tmp_path, None, resume=True)
    assert resume_target(tmp_path, "mine", resume=False) == "mine"
    assert resume_target(tmp_path, None, resume=False).startswith("run-")


@pytest.fixture
def captured(monkeypatch):
    """training.finetune.finetune replaced by a stub that records the settings it was given."""
    seen: list[LoraSettings] = []

    def fake(data, settings, run_dir, resume=False, progress=None, cancel=None, on_log=None, loaded=None):
        seen.append(settings)
        return FinetuneResult(Path(run_dir), "completed", {"steps": 1, "epochs": 1.0}, {})

    monkeypatch.setattr("training.finetune.finetune", fake)
    return seen


@pytest.mark.parametrize("options, given", [([], set()), (["--epochs", "5"], {"epochs"}),
                                             (["--epochs", "5", "--max-steps", "0", "--rank", "4"], {"epochs", "max_steps"})])
def test_cli_and_library_resume_with_the_same_settings(tmp_path, captured, options, given):
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps({"id": e.id, "messages": e.messages}) + "\n" for e in _examples(10)))
    run_dir = _saved_run(tmp_path)
    result = CliRunner().invoke(finetune_command, [str(data), "--project", str(tmp_path), "--name", "r1", "--resume",
                                                   *options, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    from training.finetune import load_training_data

    library = finetune_run(load_training_data(data), run_dir, LoraSettings(rank=4, epochs=5.0, max_steps=0), resume=True,
                           given=given)
    assert captured[0] == captured[1] == library.settings
    assert captured[0].rank == SAVED.rank and captured[0].epochs == (5.0 if "epochs" in given else SAVED.epochs)


def test_finetune_pace_measures_each_stage_and_never_guesses_zero():
    from advisor.project.finetune import FinetunePace

    pace = FinetunePace(step_seconds=5.0)
    assert pace.seconds_left() is None  # nothing reported yet
    pace.update("base", 0, 3, now=10.0)
    assert pace.seconds_left() is None  # generating the first base reply: nothing measured yet
    pace.update("base", 1, 3, now=40.0)
    assert pace.seconds_left() == 60.0  # 30 s a reply, 2 left
    pace.update("train", 0, 10, now=45.0)
    assert pace.seconds_left() == 50.0  # no step yet: a past run's 5 s a step
    pace.update("train", 2, 10, now=51.0)
    assert pace.seconds_left() == 24.0  # measured here: 3 s a step, 8 left
    pace.update("train", 10, 10, now=75.0)
    assert pace.wrapping_up and pace.seconds_left() == 0.0
    assert FinetunePace().seconds_left() is None
    unmeasured = FinetunePace()
    unmeasured.update("train", 0, 10, now=1.0)
    assert unmeasured.seconds_left() is None  # no past run, no step yet: unknown, not 0:00


def test_finetune_pace_for_a_project_takes_its_last_runs_step_time(tmp_path):
    from advisor.project.finetune import FinetunePace

    assert FinetunePace.for_project(tmp_path).step_seconds is None
    run_dir = tmp_path / runs.RUNS_DIR / "r1"
    run_dir.mkdir(parents=True)
    runs.write_json(run_dir / runs.RUN_FILE, {"name": "r1", "created": "2026-01-01T00:00:00+00:00", "status": "completed"})
    rows = [{"step": i, "kind": "train", "tokens_per_s": 25.0, "time": f"2026-01-01T00:01:{10 * i:02d}+00:00"} for i in (1, 2, 3)]
    runs.write_text(run_dir / runs.METRICS_FILE, "".join(json.dumps(r) + "\n" for r in rows))
    assert FinetunePace.for_project(tmp_path).step_seconds == 10.0


def test_training_time_estimate_uses_the_last_runs_speed_or_says_it_is_assumed(tmp_path):
    from advisor.project.finetune import training_time_estimate
    from advisor.project.layout import Layout

    assert training_time_estimate(tmp_path, 3.0) is None  # not curated yet
    report = Layout(tmp_path).curation_report
    report.parent.mkdir(parents=True)
    report.write_text(json.dumps({"cost": {"train_tokens": 6000}}))
    assumed = training_time_estimate(tmp_path, 3.0)
    assert assumed["speed_basis"] == "assumed" and "assumed" in assumed["measured"]
    run_dir = tmp_path / runs.RUNS_DIR / "r2"
    run_dir.mkdir(parents=True)
    runs.write_json(run_dir / runs.RUN_FILE, {"name": "r2", "created": "2026-01-01T00:00:00+00:00", "status": "completed"})
    runs.write_text(run_dir / runs.METRICS_FILE, "".join(
        json.dumps({"step": i, "kind": "train", "tokens_per_s": 20.0}) + "\n" for i in (1, 2)))
    measured = training_time_estimate(tmp_path, 3.0)
    assert measured["speed_basis"] == "measured" and "run r2" in measured["measured"]
    assert measured["seconds"] == 900.0 and measured["epochs"] == 3.0  # 6000 tokens x 3 epochs at 20 tokens/s
