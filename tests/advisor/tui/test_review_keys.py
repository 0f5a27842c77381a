"""The review tables show a row whole on enter (conflict group, flag, cluster: question, replies and why, verbatim),
every tab has a key, and focusing a filled-in field never selects it (one key must not wipe an answer)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from textual.widgets import DataTable, Input, Static, TabbedContent

from advisor.project import create_project
from advisor.tui.app import TunewiseApp
from advisor.tui.screens.data import DataScreen
from advisor.tui.screens.run import RunScreen
from advisor.tui.widgets.detail import DetailScreen
from advisor.tui.widgets.example import turn

SMALL = Path(__file__).parents[2] / "fixtures" / "small_chat.jsonl"


@pytest.fixture(scope="module")
def curated(tmp_path_factory, embedder):
    project = create_project(tmp_path_factory.mktemp("review") / "p", [SMALL])
    project.curate(embedder=embedder)
    project.reach("data")
    return project


def _detail(app) -> str:
    assert isinstance(app.screen, DetailScreen)
    return str(app.screen.query_one("#detail-text", Static).render())


async def _open_row(pilot, key: str, table: str) -> None:
    await pilot.press(key)
    await pilot.pause()
    pilot.app.screen.query_one(table, DataTable).focus()
    await pilot.press("enter")
    await pilot.pause()


async def test_rows_open_whole_and_tabs_have_keys(curated):
    app = TunewiseApp(curated.root)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        data = app.screen
        assert isinstance(data, DataScreen)
        view = data.view

        await _open_row(pilot, "alt+4", "#conflicts")
        assert data.query_one("#tabs", TabbedContent).active == "tab-conflicts"
        text = _detail(app)
        group = view.conflict_groups()[0]
        assert text.startswith("Why: these 2 examples ask the same thing")
        for example_id in group:  # both sides, question and reply in full
            record = view.records[example_id]
            assert example_id in text and " ".join(turn(record, "assistant").split()) in text
            assert " ".join(turn(record, "user").split()) in text
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is data and not curated.decisions()  # enter opened, it did not toggle

        await _open_row(pilot, "alt+5", "#flags")
        flag = view.other_flags()[0]
        text = _detail(app)
        assert f"Flag: {flag['kind']}" in text and "Why: " in text
        assert " ".join(turn(view.records[flag["id"]], "assistant").split()) in text
        await pilot.press("escape")

        await _open_row(pilot, "alt+3", "#clusters")
        cluster = view.clusters[0]
        text = _detail(app)
        assert ", ".join(cluster["keywords"]) in text and cluster["medoid"] in text and "Members: " in text
        await pilot.press("escape")
        await pilot.pause()

        field = data.query_one("#data-path", Input)
        field.focus()
        await pilot.pause()
        assert field.value and field.selection.is_empty and field.cursor_position == len(field.value)


async def test_run_tabs_and_their_actions_have_keys(curated):
    app = TunewiseApp(curated.root)
    async with app.run_test(size=(100, 40)) as pilot:
        app.goto("run", SimpleNamespace(path="prompt"))
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, RunScreen)
        tabs = screen.query_one("#run-tabs", TabbedContent)
        for key, pane in (("alt+2", "tab-finetune"), ("alt+3", "tab-rag"), ("alt+1", "tab-plan"), ("alt+4", "tab-prompt")):
            await pilot.press(key)
            await pilot.pause()
            assert tabs.active == pane
        for pane, offered, hidden in (("tab-finetune", "resume", "ask"), ("tab-rag", "ask", "try"), ("tab-prompt", "try", "resume")):
            tabs.active = pane
            await pilot.pause()
            assert screen.check_action("panel", (offered,)) and not screen.check_action("panel", (hidden,))
