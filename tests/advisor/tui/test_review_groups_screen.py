"""The duplicates tab's group view: possible duplicates as ranked groups, accepted (a) or rejected (r) whole, and
every change of the marks — a group decision or a single keep/remove — taken back with u."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Static

from advisor.project import create_project
from advisor.tui.app import TunewiseApp
from advisor.tui.screens.data import DataScreen
from advisor.tui.widgets.duplicates import DuplicateReview
from curation.curate import CurateConfig

SMALL = Path(__file__).parents[2] / "fixtures" / "small_chat.jsonl"


@pytest.fixture(scope="module")
def curated(tmp_path_factory, embedder):
    """small_chat.jsonl curated for real with a removal threshold of 0.99: its near duplicate a5 (of a1) is only flagged."""
    project = create_project(tmp_path_factory.mktemp("groups") / "p", [SMALL])
    project.curate(embedder=embedder, config=CurateConfig(threshold=0.99, clusters=2))
    project.reach("data")
    return project


def _text(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def test_accept_reject_and_undo_a_group(curated):
    app = TunewiseApp(curated.root)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await pilot.pause()
        data = app.screen
        assert isinstance(data, DataScreen)
        await pilot.press("alt+2")
        await pilot.pause()
        data.query_one("#dup-table", DataTable).focus()
        await pilot.press("g")
        await pilot.pause()
        review, table = data.query_one(DuplicateReview), data.query_one("#group-table", DataTable)
        assert review.mode == "groups" and table.display and app.focused is table
        assert [g.members for g in review.groups] == [["a1", "a5"]] and table.row_count == 1
        assert _text(data, "#dup-subject").startswith("a1 (keeper)")
        twin = _text(data, "#dup-twin")
        assert twin.startswith("Group 1 · score") and "a5 ~ a1: 0.9" in twin and "how long does shipping" in twin.lower()

        await pilot.press("a")
        await pilot.pause()
        assert curated.decisions() == {"a1": "keep", "a5": "remove"} and review.statuses == {1: "accepted"}
        assert "accepted" in str(table.get_row_at(0)) and review.labels["a5"] == "you removed"
        await pilot.press("u")
        await pilot.pause()
        assert curated.decisions() == {} and review.statuses == {1: "open"}

        await pilot.press("r")
        await pilot.pause()
        assert curated.decisions() == {"a1": "keep", "a5": "keep"} and review.statuses == {1: "rejected"}
        await pilot.press("u")
        await pilot.pause()

        await pilot.press("g")  # back to the pairs: a single keep/remove is undone the same way
        await pilot.press("space")
        await pilot.pause()
        first = review.pairs[0]
        assert first.reason == "exact_duplicate" and curated.decisions() == {first.subject: "keep"}  # restored
        await pilot.press("a")  # accept is for groups: nothing happens in the pairs view
        await pilot.pause()
        assert curated.decisions() == {first.subject: "keep"}
        await pilot.press("u")
        await pilot.press("u")
        await pilot.pause()
        assert curated.decisions() == {} and app.screen is data
        assert any("Nothing to undo" in n.message for n in app._notifications)
