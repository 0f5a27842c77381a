"""Pilot tests of the evaluation screen: a real bake-off (SmolLM2, two candidates, two examples), its summary and
side-by-side diff, reopening without running, cancelling mid-run, and a project without an eval set."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import pytest
from textual.widgets import Button, DataTable, Input, Label, SelectionList, Static

from advisor.project import create_project
from advisor.tui.app import TunewiseApp
from advisor.tui.screens.evaluate import EvaluateScreen
from advisor.tui.widgets.bakeoff_diff import EXTRA_STYLE, MISSING_STYLE, ExampleDiff
from curation.jsonl import dumps_lines

pytestmark = pytest.mark.slow

COLOURS = ["red", "blue", "green", "black", "white", "orange", "yellow", "purple"]
SYSTEM = {"role": "system", "content": "Answer in one short sentence."}


def _records(n: int, offset: int = 0) -> list[dict]:
    """Short conversations (about 40 tokens each), as curate writes them."""
    return [{"id": f"ex{i}", "messages": [SYSTEM, {"role": "user", "content": f"What colour is bike {i}?"},
                                          {"role": "assistant", "content": f"Bike {i} is {COLOURS[i % len(COLOURS)]}."}]}
            for i in range(offset, offset + n)]


def _project(root: Path, curated: bool = True) -> Path:
    create_project(root)
    if curated:
        (root / "curated").mkdir()
        (root / "curated" / "train.jsonl").write_text(dumps_lines(_records(6)), encoding="utf-8")
        (root / "curated" / "eval.jsonl").write_text(dumps_lines(_records(3, offset=6)), encoding="utf-8")
    return root


def _notices(app) -> list[tuple[str, str, str]]:
    return [(n.title, n.message, n.severity) for n in app._notifications]


async def _open(app, pilot) -> EvaluateScreen:
    app.goto("evaluate")
    await pilot.pause()
    assert isinstance(app.screen, EvaluateScreen)
    return app.screen


async def _set(pilot, screen, candidates: list[str], limit: str, tokens: str) -> None:
    chooser = screen.query_one("#eval-candidates", SelectionList)
    chooser.deselect_all()
    for name in candidates:
        chooser.select(name)
    screen.query_one("#eval-limit", Input).value = limit
    screen.query_one("#eval-tokens", Input).value = tokens
    await pilot.pause()


async def _wait_idle(app, pilot, screen, seconds: float = 240) -> None:
    """Wait for the worker and for its last call back on the UI thread."""
    await app.workers.wait_for_complete()
    for _ in range(int(seconds * 20)):
        await pilot.pause()
        if not screen.job.running:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the bake-off did not finish")


def _cells(table: DataTable) -> list[list[str]]:
    return [[str(c) for c in table.get_row_at(r)] for r in range(table.row_count)]


async def test_bakeoff_summary_diff_and_reopen(tmp_path, embedder):
    root = _project(tmp_path / "proj")
    app = TunewiseApp(root, embedder=embedder)
    async with app.run_test(size=(100, 40), notifications=True) as pilot:
        screen = await _open(app, pilot)
        chooser = screen.query_one("#eval-candidates", SelectionList)
        assert chooser.selected == ["zero-shot", "few-shot"]  # everything the project can run, ticked
        assert "No bake-off yet" in str(screen.query_one("#eval-verdict", Static).content)
        await _set(pilot, screen, ["zero-shot", "few-shot"], "2", "4")
        await pilot.click("#eval-run")
        await _wait_idle(app, pilot, screen)
        assert not [n for n in _notices(app) if n[2] == "error"], _notices(app)

        # The summary: both candidates, ranked, every metric as mean [low–high], new outputs.
        bakeoff = screen.bakeoff
        assert bakeoff is not None and {c.name for c in bakeoff.candidates} == {"zero-shot", "few-shot"}
        summary = _cells(screen.query_one("#eval-table", DataTable))
        assert [row[0] for row in summary] == [c.name for c in bakeoff.ranked()]
        assert all(row[-1] == "2 new" for row in summary)
        for row in summary:
            assert all(cell.count("[") == 1 and "–" in cell for cell in row[1:-1]), row
        header = [str(c.label) for c in screen.query_one("#eval-table", DataTable).columns.values()]
        assert header[1] == f"{bakeoff.primary} ★"
        verdict = screen.query_one("#eval-verdict", Static).content.plain
        assert verdict.startswith(f"{bakeoff.winner.name} scores best on {bakeoff.primary}") and "**" not in verdict
        assert ("tie" in verdict) == (bakeoff.difference(*[c.name for c in bakeoff.ranked()]).low <= 0)
        assert "free text" in str(screen.query_one("#eval-reasons", Static).content)
        folder = Path(bakeoff.folder)
        assert folder.parent == root / "evals" and (folder / "summary.json").is_file()
        assert json.loads((folder / "summary.json").read_text())["winner"] == bakeoff.winner.name
        assert str(screen.query_one("#eval-progress #stage", Label).content).startswith("Done in")

        # Examples: two rows, widest spread first; highlighting one fills the panes and marks the differences.
        screen.query_one("#eval-tabs").active = "tab-examples"
        await pilot.pause()
        table = screen.query_one("#eval-examples", DataTable)
        rows = _cells(table)
        assert len(rows) == 2 and float(rows[0][1]) >= float(rows[1][1])
        table.focus()
        table.move_cursor(row=1)
        await pilot.press("up")  # back to the first row, as a user would
        await pilot.pause()
        diff = screen.query_one(ExampleDiff)
        record = screen.rows[rows[0][0]]
        assert diff.row is record and diff.candidate == bakeoff.winner.name
        reference = diff.query_one("#diff-reference", Static).content
        output = diff.query_one("#diff-output", Static).content
        assert reference.plain == " ".join(record["reference"].split())
        assert output.plain == " ".join(record["outputs"][bakeoff.winner.name].split()) or output.plain == "(no output)"
        assert record["reference"] != record["outputs"][bakeoff.winner.name]  # 4 tokens cannot be the whole reply
        assert any(tag == "missing" for _, tag in diff.reference_tokens)
        assert any(str(span.style) == MISSING_STYLE for span in reference.spans)
        if any(tag == "extra" for _, tag in diff.output_tokens):
            assert any(str(span.style) == EXTRA_STYLE for span in output.spans)
        assert record["id"] in str(diff.query_one("#diff-input", Static).content)
        # Another candidate's output for the same example.
        other = next(c.name for c in bakeoff.candidates if c.name != bakeoff.winner.name)
        diff.query_one("#diff-candidate").value = other
        await pilot.pause()
        shown = diff.query_one("#diff-output", Static).content.plain
        assert shown == (" ".join(record["outputs"][other].split()) or "(no output)")

        # Reopening the step shows the saved bake-off without running anything.
        app.goto("evaluate")
        await pilot.pause()
        again = app.screen
        assert isinstance(again, EvaluateScreen) and again is not screen
        assert not again.job.running and again.bakeoff is not None and again.bakeoff.folder == bakeoff.folder
        assert [r[0] for r in _cells(again.query_one("#eval-table", DataTable))] == [row[0] for row in summary]
        assert again.query_one("#eval-examples", DataTable).row_count == 2
        assert str(again.query_one("#eval-progress #stage", Label).content).startswith("Last bake-off")
        assert len([p for p in (root / "evals").iterdir() if (p / "summary.json").is_file()]) == 1

        # The palette's report command names summary.md; ctrl+b goes back to the run step.
        again.action_report()
        await pilot.pause()
        assert any(n[0] == "Bake-off report" and n[1].endswith("summary.md") for n in _notices(app))
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert type(app.screen).__name__ == "RunScreen"


async def test_cancel_mid_run_leaves_a_notice(tmp_path, embedder, monkeypatch):
    from training.evaluation import harness

    root = _project(tmp_path / "proj")
    app = TunewiseApp(root, embedder=embedder)
    # Hold the job at its first generation step until Escape has been handled, so the cancel lands mid-run whatever
    # the load on the machine.
    reached = threading.Event()
    real = harness.run_bakeoff

    def held(*args, progress, cancel, **kwargs):
        def hold(stage: str, done: int, total: int) -> None:
            progress(stage, done, total)
            if stage.startswith("generate") and not reached.is_set():
                reached.set()
                cancel.wait(60)

        return real(*args, progress=hold, cancel=cancel, **kwargs)

    monkeypatch.setattr(harness, "run_bakeoff", held)
    async with app.run_test(size=(100, 40), notifications=True) as pilot:
        screen = await _open(app, pilot)
        await _set(pilot, screen, ["zero-shot", "few-shot"], "2", "4")
        screen.query_one("#eval-candidates", SelectionList).focus()
        await pilot.press("ctrl+r")
        assert await asyncio.to_thread(reached.wait, 120), "the bake-off never reached generation"
        await pilot.pause(0.3)
        label = str(screen.query_one("#eval-progress #stage", Label).content)
        assert label.startswith("Generating zero-shot 0/2 · 0:"), label  # counts, then the time it has taken
        assert screen.query_one("#eval-progress #bar").progress == pytest.approx(0.10)
        assert screen.query_one("#eval-run", Button).disabled  # one bake-off at a time
        await pilot.press("escape")
        await _wait_idle(app, pilot, screen)
        assert any(n[0] == "Cancelled" and n[2] == "warning" and "re-run continues" in n[1] for n in _notices(app)), \
            _notices(app)
        assert str(screen.query_one("#eval-progress #stage", Label).content).startswith("Cancelled")
        assert not screen.query_one("#eval-run", Button).disabled and screen.bakeoff is None
        assert not list(root.glob("evals/*/summary.json"))
        assert app.is_running


async def test_project_without_an_eval_set_gives_a_notice(tmp_path, embedder):
    root = _project(tmp_path / "bare", curated=False)
    app = TunewiseApp(root, embedder=embedder)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        screen = await _open(app, pilot)
        assert "No evaluation set yet" in str(screen.query_one("#eval-verdict", Static).content)
        titles = [c.title for c in screen.palette_commands()]
        assert "Run the bake-off" in titles and "Open the bake-off report" in titles
        next(c for c in screen.palette_commands() if c.title == "Open the bake-off report").callback()
        await pilot.pause()
        assert any(n[2] == "warning" and "No bake-off yet" in n[1] for n in _notices(app))
        await pilot.click("#eval-run")
        await _wait_idle(app, pilot, screen)
        errors = [n for n in _notices(app) if n[2] == "error"]
        assert errors and "No evaluation set" in errors[0][1], _notices(app)
        assert str(screen.query_one("#eval-progress #stage", Label).content).startswith("Failed: No evaluation set")
        # A bad field is named, and nothing runs.
        screen.query_one("#eval-tokens", Input).value = "-"
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert any("max new tokens must be a whole number" in n[1] for n in _notices(app))
        assert not screen.job.running and app.is_running
