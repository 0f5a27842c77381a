"""Pilot tests: the whole flow on real data (curation included), marks, resume, cancel, and errors as notices."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import pytest
import yaml
from textual.command import CommandList
from textual.widgets import Button, DataTable, Input, OptionList, Static, TabbedContent

from advisor.evidence import evidence_from_curation_dir
from advisor.interview import load_answers
from advisor.project import create_project, open_project, run_plan
from advisor.recommend import recommend
from advisor.tui.app import TunewiseApp
from advisor.tui.screens.data import DataScreen
from advisor.tui.screens.interview import InterviewScreen
from advisor.tui.screens.project import ProjectScreen
from advisor.tui.screens.recommendation import RecommendationScreen
from advisor.tui.screens.run import RunScreen
from advisor.tui.widgets.progress import ProgressPanel

SMALL = Path(__file__).parents[2] / "fixtures" / "small_chat.jsonl"
# What the walk types for a text or number question (by id); choices take the highlighted option.
TYPED = {"task": "Answer support e-mails", "examples": "300", "prompt_score": "6", "requests_per_day": "1200"}


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _row(table: DataTable, n: int) -> list[str]:
    """A table row as the text shown (the app's tables hold literal Text cells)."""
    return [str(cell) for cell in table.get_row_at(n)]


def _messages(app) -> list[str]:
    return [n.message for n in app._notifications]


async def _type(pilot, text: str) -> None:
    await pilot.press(*["space" if c == " " else c for c in text])


async def _finish_interview(pilot, app) -> None:
    """Answer every remaining question: type for text/number, Enter takes the highlighted choice."""
    for _ in range(40):
        screen = app.screen
        if not isinstance(screen, InterviewScreen):
            return
        question = screen.question
        if question.kind in ("text", "number"):
            field = screen.query_one("#text", Input)
            if not field.value:
                field.value = TYPED.get(question.id, "1")
        await pilot.press("enter")
        await pilot.pause()
    raise AssertionError("the interview did not end")


async def test_walk_the_whole_flow_then_resume(tmp_path, monkeypatch, embedder):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "proj"
    app = TunewiseApp(embedder=embedder)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        # Project: type a new folder, Enter creates it.
        assert isinstance(app.screen, ProjectScreen)
        await _type(pilot, "proj")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, InterviewScreen) and (folder / "tunewise.yaml").is_file()

        # Interview: a text answer, a choice, back, forward; each step saved to answers.yaml.
        app.screen.query_one("#text", Input).value = TYPED["task"]
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.question.id == "output_kind"
        assert yaml.safe_load((folder / "answers.yaml").read_text()) == {"task": TYPED["task"]}
        await pilot.press("down", "enter")  # the second option
        await pilot.pause()
        assert app.screen.question.id == "output_strictness"
        assert load_answers(folder / "answers.yaml").get("output_kind") == "style"
        await pilot.press("ctrl+b", "ctrl+b")
        await pilot.pause()
        assert app.screen.question.id == "task"
        assert app.screen.query_one("#text", Input).value == TYPED["task"]
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.screen.query_one("#choice", OptionList).highlighted == 1  # the saved answer is shown
        assert open_project(folder).state.question == 1
        await pilot.press("enter", "enter", "enter", "enter", "enter")  # strictness, private facts, change, jargon
        await pilot.pause()
        assert app.screen.question.id == "examples"
        await _type(pilot, "lots")
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.question.id == "examples"  # an invalid number stays, with the library's hint
        assert "expected a number" in str(app.screen.query_one("#error", Static).render())
        app.screen.query_one("#text", Input).value = ""
        await _finish_interview(pilot, app)
        assert isinstance(app.screen, DataScreen)
        answers = load_answers(folder / "answers.yaml")
        assert answers.missing() == [] and answers.get("examples") == 300 and answers.get("prompt_score") == 6

        # Data: real curation in the worker, progress to the end.
        data = app.screen
        data.query_one("#data-path", Input).value = str(SMALL)
        await pilot.press("ctrl+r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        panel = data.query_one(ProgressPanel)
        assert panel.state == "done" and panel.fraction == 1.0
        assert json.loads((folder / "curated" / "report.json").read_text())["counts"]["removed"] == 2
        assert data.query_one("#curate", Button).disabled is False

        # Duplicates: restore a4 (an exact duplicate of a1), undo, restore again.
        data.query_one("#tabs", TabbedContent).active = "tab-duplicates"
        await pilot.pause()
        table = data.query_one("#dup-table", DataTable)
        table.focus()
        await pilot.pause()
        assert _row(table, 0)[:2] == ["removed", "a4"]
        await pilot.press("space")
        await pilot.pause()
        assert json.loads((folder / "decisions.json").read_text()) == {"a4": "keep"}
        assert _row(table, 0)[0] == "restored"
        await pilot.press("space")
        await pilot.pause()
        assert json.loads((folder / "decisions.json").read_text()) == {}
        await pilot.press("enter")  # Enter toggles too
        await pilot.pause()
        assert json.loads((folder / "decisions.json").read_text()) == {"a4": "keep"}

        # Conflicts: the curator drops one side of a conflict (a mark, undone the same way).
        data.query_one("#tabs", TabbedContent).active = "tab-conflicts"
        await pilot.pause()
        conflicts = data.query_one("#conflicts", DataTable)
        conflicts.focus()
        await pilot.press("down", "space")
        await pilot.pause()
        assert _row(conflicts, 1)[1:3] == ["you removed", "a7"]
        assert json.loads((folder / "decisions.json").read_text()) == {"a4": "keep", "a7": "remove"}
        await pilot.press("space")
        await pilot.pause()
        assert json.loads((folder / "decisions.json").read_text()) == {"a4": "keep"}

        # Recommendation: the verdict the library gives for these answers and this data, then export.
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, RecommendationScreen)
        expected = recommend(load_answers(folder / "answers.yaml"), evidence_from_curation_dir(folder / "curated"))
        shown = str(app.screen.query_one("#verdict", Static).render())
        assert f"Verdict: {expected.label}" in shown and expected.headline[:40] in shown
        await pilot.press("ctrl+s")  # export: the same key on every screen
        await pilot.pause()
        report = json.loads((folder / "report.json").read_text())
        assert report["recommendation"]["path"] == expected.path
        assert "Verdict" in (folder / "report.md").read_text()
        exported = {r["id"] for r in _jsonl(folder / "export" / "clean.jsonl")}
        assert "a4" in exported and "a4" not in {r["id"] for r in _jsonl(folder / "curated" / "clean.jsonl")}

        # Run: the exact command for the recommended path, copied on request.
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, RunScreen)
        plan = run_plan(open_project(folder), expected.path)
        assert str(app.screen.query_one("#run-command", Static).render()) == plan.script
        await pilot.press("c")
        await pilot.pause()
        assert app.clipboard == plan.script
        assert not any("Unexpected" in m for m in _messages(app))

    # Reopen: resumes on the run screen; the data screen shows the saved mark.
    assert open_project(folder).state.screen == "run"
    again = TunewiseApp(folder, embedder=embedder)
    async with again.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(again.screen, RunScreen)
        await pilot.press("ctrl+b", "ctrl+b")
        await pilot.pause()
        assert isinstance(again.screen, DataScreen)
        assert _row(again.screen.query_one("#dup-table", DataTable), 0)[:2] == ["restored", "a4"]
        assert again.screen.query_one(ProgressPanel).state == "done"


async def test_interview_resumes_at_the_saved_question(tmp_path):
    project = create_project(tmp_path / "p", [SMALL])
    project.reach("interview", question=6)
    app = TunewiseApp(project.root)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, InterviewScreen) and app.screen.question.id == "examples"
        # facts_change, prompt_score and prompt_failures are not asked (no facts, prompting not tried yet)
        assert "Question 6 of 15" in str(app.screen.query_one("#position").render())
        await pilot.press("f1")
        assert app.screen.query_one("#help").has_class("hidden")


async def test_cancel_stops_curation_and_writes_nothing(tmp_path, embedder):
    project = create_project(tmp_path / "p", [SMALL])
    project.reach("data")
    app = TunewiseApp(project.root, embedder=embedder)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.pause()
        screen = app.screen
        screen.action_curate()
        screen.action_cancel()  # before the worker reaches its first checkpoint
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.query_one(ProgressPanel).state == "cancelled"
        assert any("cancelled" in m.lower() for m in _messages(app))
        assert not (project.curated_dir / "report.json").exists()
        assert not screen.job.running and screen.query_one("#cancel", Button).disabled


class GatedEmbedder:
    """The real embedder, held at the start of embedding until the test opens the gate (so a run is surely running)."""

    def __init__(self, embedder) -> None:
        self.embedder, self.gate, self.waiting = embedder, threading.Event(), threading.Event()

    def encode_long(self, *args, **kwargs):
        self.waiting.set()
        self.gate.wait(30)
        return self.embedder.encode_long(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.embedder, name)


async def test_leaving_the_data_screen_cancels_its_curation(tmp_path, embedder):
    project = create_project(tmp_path / "p", [SMALL])
    project.reach("data")
    gated = GatedEmbedder(embedder)
    app = TunewiseApp(project.root, embedder=gated)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.pause()
        data = app.screen
        await pilot.press("ctrl+r")
        event = data.job.cancel_event
        assert await asyncio.to_thread(gated.waiting.wait, 30)  # the worker is inside the curation
        await pilot.press("ctrl+b")  # refused while running
        await pilot.pause()
        assert app.screen is data and any("still running" in m for m in _messages(app))
        app.goto("interview")  # the palette's "Go to interview" does this
        await pilot.pause()
        assert event.is_set()
        gated.gate.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, InterviewScreen) and app.is_running
        assert not (project.curated_dir / "report.json").exists()


async def test_invalid_records_show_in_the_errors_tab_and_can_be_skipped(tmp_path, embedder):
    bad = tmp_path / "mixed.jsonl"
    lines = SMALL.read_text().splitlines()
    bad.write_text("\n".join(lines[:6] + ['{"id": "x1", "messages": [{"role": "user", "content": "no reply"}]}'] + lines[6:]) + "\n")
    project = create_project(tmp_path / "p", [bad])
    project.reach("data")
    app = TunewiseApp(project.root, embedder=embedder)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert screen.query_one("#tabs", TabbedContent).active == "tab-errors"
        problems = screen.query_one("#problems", DataTable)
        assert problems.row_count == 1 and _row(problems, 0)[0] == "mixed.jsonl:7"
        assert any("problem(s)" in m for m in _messages(app))
        assert not (project.curated_dir / "report.json").exists()
        await pilot.click("#skip-invalid")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.query_one(ProgressPanel).state == "done"
        assert (project.curated_dir / "rejected.jsonl").is_file()
        assert open_project(project.root).state.skip_invalid is True
        assert screen.query_one("#problems", DataTable).row_count == 1  # from report.json now


async def test_library_errors_are_notices_not_crashes(tmp_path):
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "tunewise.yaml").write_text("screen: [oops\n")
    app = TunewiseApp(tmp_path / "broken")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ProjectScreen)  # falls back to picking a project
        assert any("cannot be read" in m for m in _messages(app))
    (tmp_path / "answers").mkdir()
    create_project(tmp_path / "answers")
    (tmp_path / "answers" / "answers.yaml").write_text("examples: many\n")
    app = TunewiseApp(tmp_path / "answers")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ProjectScreen)
        assert any("key 'examples'" in m for m in _messages(app))
    assert (tmp_path / "answers" / "answers.yaml").read_text() == "examples: many\n"  # never overwritten
    project = create_project(tmp_path / "p")
    project.reach("data")
    app = TunewiseApp(project.root)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.pause()
        app.screen.query_one("#data-path", Input).value = str(tmp_path / "missing.jsonl")
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert any("No such file" in m for m in _messages(app))
        await pilot.press("ctrl+s")  # export before any curation
        await pilot.pause()
        assert any("Nothing to export" in m for m in _messages(app))
        assert isinstance(app.screen, DataScreen) and app.is_running


async def test_command_palette_goes_to_a_step(tmp_path):
    project = create_project(tmp_path / "p", [SMALL])
    app = TunewiseApp(project.root)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, InterviewScreen)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await _type(pilot, "go to data")
        for _ in range(100):  # the palette searches asynchronously
            await pilot.pause(0.05)
            hits = app.screen.query_one(CommandList)
            if hits.option_count and "Go to data" in str(hits.get_option_at_index(0).prompt):
                break
        await pilot.press("enter")
        for _ in range(100):
            if isinstance(app.screen, DataScreen):
                break
            await pilot.pause(0.05)
        assert isinstance(app.screen, DataScreen)
        assert open_project(project.root).state.screen == "data"


@pytest.mark.parametrize("typed", ["", "   "])
async def test_project_screen_needs_a_folder(typed):
    app = TunewiseApp()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.pause()
        app.screen.query_one("#folder", Input).value = typed
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ProjectScreen)
        assert any("No folder given" in m for m in _messages(app))
