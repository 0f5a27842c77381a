"""The app and `tunewise` as thin twins over the project layer: where they used to disagree, they now agree.

- On a project whose latest bake-off overturns the interview, the Run step opens the tab of the path `tunewise
  advise` gives (it used to recommend without the bake-off).
- Resuming a run in the app trains with the settings `tunewise finetune --resume` would (the app used to ignore
  the epochs and max steps typed in, and the CLI took them).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from textual.widgets import Button, Input, Static, TabbedContent

from advisor.commands.advise import advise as advise_command
from advisor.commands.finetune import finetune as finetune_command
from advisor.project import create_project
from advisor.tui.app import TunewiseApp
from advisor.tui.run_format import PATH_TABS, form_values
from advisor.tui.screens.recommendation import RecommendationScreen
from advisor.tui.screens.run import RunScreen
from advisor.tui.widgets.finetune_panel import FinetunePanel
from tests.advisor.project.test_advice import _project_with_an_overturning_bakeoff
from training import runs
from training.finetune import FinetuneResult
from training.lora_config import LoraSettings

SIZE = (100, 40)
SAVED = LoraSettings(rank=16, alpha=32, epochs=2.0, max_steps=7, learning_rate=1e-4, max_length=256)


def _cli_path(project) -> str:
    result = CliRunner().invoke(advise_command, ["--answers", str(project.answers_path), "--data", str(project.curated_dir),
                                                 "--no-ask", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)["recommendation"]["path"]


async def test_the_run_step_opens_the_path_advise_gives_when_the_bakeoff_overturns_the_interview(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    project = _project_with_an_overturning_bakeoff(tmp_path)
    path = _cli_path(project)
    assert path == "prompt"  # the interview alone says fine-tune; the latest bake-off says prompt
    project.reach("run")  # reopening the project at the run step: it works the path out again
    app = TunewiseApp(project.root)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, RunScreen)
        assert app.screen.path == path and app.screen.query_one("#run-tabs", TabbedContent).active == PATH_TABS[path]

        app.goto("recommendation")  # the recommendation screen gives the same path on to the run step
        await pilot.pause()
        assert isinstance(app.screen, RecommendationScreen)
        assert app.screen.recommendation.path == path and app.screen.recommendation.overturned == "fine-tune"
        rec = app.screen.recommendation
        assert str(app.screen.query_one("#verdict", Static).render()).startswith(f"Verdict: {rec.verdict_label} ")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, RunScreen) and app.screen.path == path
        assert app.screen.query_one("#run-tabs", TabbedContent).active == PATH_TABS[path]


def _record(i: int) -> dict:
    return {"id": f"ex{i}", "messages": [{"role": "user", "content": f"Opening hours of shop {i}?"},
                                         {"role": "assistant", "content": f"Shop {i} opens at {8 + i % 3} am."}]}


@pytest.fixture
def interrupted(tmp_path, monkeypatch):
    """A curated project holding run r1, interrupted, with its saved settings (SAVED)."""
    monkeypatch.chdir(tmp_path)
    project = create_project(tmp_path / "proj")
    curated = project.curated_dir
    curated.mkdir()
    (curated / "train.jsonl").write_text("".join(json.dumps(_record(i)) + "\n" for i in range(8)))
    (curated / "eval.jsonl").write_text("".join(json.dumps(_record(i)) + "\n" for i in range(8, 10)))
    run_dir = runs.runs_root(project.root) / "r1"
    run_dir.mkdir(parents=True)
    (run_dir / runs.SETTINGS_FILE).write_text(json.dumps(SAVED.to_dict()))
    (run_dir / runs.RUN_FILE).write_text(json.dumps({"name": "r1", "status": "interrupted"}))
    project.reach("run")
    return project


@pytest.fixture
def captured(monkeypatch):
    """training.finetune.finetune replaced by a stub that records the settings it was given (as in
    tests/advisor/project/test_finetune_settings.py)."""
    seen: list[LoraSettings] = []

    def fake(data, settings, run_dir, resume=False, progress=None, cancel=None, on_log=None, loaded=None):
        seen.append(settings)
        return FinetuneResult(Path(run_dir), "completed", {"steps": 1, "max_steps": 1, "epochs": 1.0}, {})

    monkeypatch.setattr("training.finetune.finetune", fake)
    return seen


@pytest.mark.parametrize("options", [[], ["--epochs", "5"], ["--epochs", "5", "--max-steps", "0"]])
async def test_app_and_cli_resume_a_run_with_the_same_settings(interrupted, captured, options):
    project = interrupted
    app = TunewiseApp(project.root)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        app.goto("run", SimpleNamespace(path="fine-tune"))
        await pilot.pause()
        panel = app.screen.query_one(FinetunePanel)
        panel.compare_examples = 0  # no base/tuned replies: only the settings matter here
        panel.query_one("#ft-name", Input).value = "r1"
        await pilot.pause()
        shown = {name: panel.query_one(f"#ft-{name}", Input).value for name in form_values()}
        assert shown == form_values(SAVED)  # naming a resumable run shows the settings it will resume with
        for flag, value in zip(options[::2], options[1::2]):  # what the user types, as the CLI's options say
            panel.query_one(f"#ft-{flag.removeprefix('--').replace('-', '_')}", Input).value = value
        resume = panel.query_one("#ft-resume", Button)
        assert not resume.disabled
        resume.press()
        for _ in range(200):
            await pilot.pause()
            if captured and not panel.job.running:
                break
            await asyncio.sleep(0.02)
        assert panel.state == "done", [n.message for n in app._notifications]

    result = CliRunner().invoke(finetune_command, [str(project.root), "--name", "r1", "--resume", *options, "--json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    app_settings, cli_settings = captured
    assert app_settings == cli_settings
    assert app_settings.rank == SAVED.rank and app_settings.epochs == (5.0 if options else SAVED.epochs)
    assert app_settings.max_steps == (0 if "--max-steps" in options else SAVED.max_steps)
