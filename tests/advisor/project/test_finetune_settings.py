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
