"""Snapshots of the interview, data and recommendation screens at 80×24, on fixed paths and real curation.

Regenerate after an intended change of the screens: `pytest tests/advisor/tui/test_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, TabbedContent

from advisor.project import create_sample_project
from advisor.tui.app import TunewiseApp

SMALL = Path(__file__).parents[2] / "fixtures" / "small_chat.jsonl"
SIZE = (80, 24)


@pytest.fixture(scope="module")
def demo(tmp_path_factory, embedder):
    """The sample project's answers, with small_chat.jsonl copied inside it and curated for real.

    Everything rendered is relative to the project folder "demo" (the tests run from inside it), so no temporary
    path, date or timing reaches the screen.
    """
    root = tmp_path_factory.mktemp("snapshots") / "demo"
    project = create_sample_project(root)
    data = root / "data" / "small_chat.jsonl"
    data.parent.mkdir()
    shutil.copy(SMALL, data)
    project.set_data([data])
    project.curate(embedder=embedder)
    return project


@pytest.fixture
def at(demo, monkeypatch):
    """Put the demo project on a step (and question), working from inside its folder."""
    monkeypatch.chdir(demo.root)

    def place(step: str, question: int = 0) -> TunewiseApp:
        demo.reach(step, question)
        return TunewiseApp(demo.root)

    return place


def test_interview_screen(snap_compare, at):
    assert snap_compare(at("interview", question=1), terminal_size=SIZE)


def test_data_screen_overview(snap_compare, at):
    async def settle(pilot) -> None:
        # the screen focuses the data-path field once mounted; on a busy machine the picture could be taken before
        # that, or with the cursor mid-blink: wait for it and hold the cursor steady
        await pilot.pause()
        field = pilot.app.screen.query_one("#data-path", Input)
        field.cursor_blink = False
        field.focus()
        await pilot.pause()

    assert snap_compare(at("data"), terminal_size=SIZE, run_before=settle)


def test_data_screen_duplicates(snap_compare, at):
    async def show_duplicates(pilot) -> None:
        pilot.app.screen.query_one("#tabs", TabbedContent).active = "tab-duplicates"
        await pilot.pause()
        pilot.app.screen.query_one("#dup-table", DataTable).focus()
        await pilot.pause()

    assert snap_compare(at("data"), terminal_size=SIZE, run_before=show_duplicates)


def test_recommendation_screen(snap_compare, at):
    assert snap_compare(at("recommendation"), terminal_size=SIZE)
