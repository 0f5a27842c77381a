"""Markup safety: whatever the user controls (file names, example ids and text, run names, candidate names, typed
values, error messages that echo them) reaches the screen verbatim; none of it is ever read as markup.

Textual reads a plain str as markup in Static/Label content, notices, option prompts and DataTable cells, so without
care ``[/]`` raises a MarkupError, ``[bold]x[/bold]`` loses its brackets and ``[@click=app.quit]quit[/]`` becomes a
link that quits the app. These walks build projects full of such text and look at what is actually rendered.
"""

from __future__ import annotations

import ast
import io
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.cells import cell_len
from rich.console import Console
from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import Input, Label, Select, SelectionList, Static, TabbedContent
from textual.widgets._toast import Toast

from advisor.project import create_project
from advisor.project.rag import QueryResult
from advisor.tui.app import TunewiseApp
from advisor.tui.jobs import Job
from advisor.tui.screens.data import DataScreen
from advisor.tui.screens.evaluate import EvaluateScreen
from advisor.tui.screens.interview import InterviewScreen
from advisor.tui.screens.recommendation import RecommendationScreen
from advisor.tui.screens.run import RunScreen
from advisor.tui.widgets.finetune_panel import FinetunePanel
from advisor.tui.widgets.plain import PlainTable, plain
from advisor.tui.widgets.progress import ProgressPanel
from advisor.tui.widgets.prompt_panel import PromptPanel
from advisor.tui.widgets.rag_panel import RagPanel
from curation.errors import CancelledError, DataError, UsageError

BOLD = "[bold]x[/bold]"
CLOSE = "[/]"
CLICK = "[@click=app.quit]quit[/]"
MISSING = "missing[/x]"
# Run folders cannot hold a "/": run (and so candidate) names get the slash-free kinds of trouble.
RUN_BOLD = "[bold]x"
RUN_CLICK = "[@click=app.quit]quit"
DATA_NAME = "[@click=app.quit]chat[red].jsonl"
PROJECT = f"proj{RUN_BOLD}"
SIZE = (160, 50)
SMALL = Path(__file__).parents[2] / "fixtures" / "small_chat.jsonl"
TUI = Path(__file__).parents[3] / "advisor" / "tui"


# --- what is on the screen ----------------------------------------------------------------------------------------


def _screen_text(app) -> str:
    """The current screen as plain text, rendered the way the terminal gets it (toasts included)."""
    console = Console(width=app.size.width, height=app.size.height, file=io.StringIO(), record=True,
                      legacy_windows=False, color_system=None)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()


def _assert_shown(app, *texts: str) -> str:
    shown = _screen_text(app)
    for text in texts:
        assert text in shown, f"{text!r} is not on the screen:\n{shown}"
    return shown


async def _click_text(pilot, text: str, part: str) -> None:
    """Click on `part` of `text` where the screen shows it (a markup link there would run its action)."""
    for y, line in enumerate(_screen_text(pilot.app).splitlines()):
        if text in line:
            x = cell_len(line[: line.index(text) + text.index(part)])
            await pilot.click(offset=(x, y))
            await pilot.pause()
            return
    raise AssertionError(f"{text!r} is not on the screen")


def _shown(widget) -> str:
    """What a Static or Label shows."""
    return str(widget.render())


def _toasts(app) -> list[str]:
    return [str(toast.render()) for toast in app.screen.query(Toast)]


def _assert_alive(app) -> None:
    assert app.is_running and app.return_code is None and app._exception is None


async def _tab(pilot, screen, tabs: str, pane: str) -> None:
    screen.query_one(tabs, TabbedContent).active = pane
    await pilot.pause()


# --- projects full of markup-like text ----------------------------------------------------------------------------


def _chat_data(folder: Path) -> Path:
    """small_chat.jsonl with markup-like ids and text: a1/a4 stay exact duplicates, a6/a7 a conflict; one invalid
    record (no reply) at the end."""
    ids = {"a1": BOLD, "a4": CLOSE, "a6": CLICK, "a7": MISSING}
    records = []
    for line in SMALL.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        old = record["id"]
        record["id"] = ids.get(old, old)
        if old in ("a1", "a4"):
            record["messages"][1]["content"] += f" {BOLD} {CLOSE}"
        if old in ("a6", "a7"):
            record["messages"][2]["content"] += f" {CLICK}"
        records.append(record)
    records.append({"id": f"bad{CLOSE}", "messages": [{"role": "user", "content": f"no reply {MISSING}"}]})
    path = folder / DATA_NAME
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _record(i: int, ident: str | None = None) -> dict:
    return {"id": ident or f"ex{i}", "messages": [
        {"role": "user", "content": f"What colour is bike {i}? {BOLD}"},
        {"role": "assistant", "content": f"Bike {i} is red. {CLICK}"}]}


def _run(root: Path, name: str, created: str) -> None:
    """A finished run folder (its adapter only needs to exist to be listed and offered as a candidate)."""
    folder = root / "runs" / name
    (folder / "adapter").mkdir(parents=True)
    (folder / "adapter" / "adapter_config.json").write_text("{}", encoding="utf-8")
    (folder / "run.json").write_text(json.dumps({"status": "completed", "created": created, "model": "m",
                                                 "metrics": {"eval_loss": 1.5}}), encoding="utf-8")


def _bakeoff(root: Path) -> None:
    """A finished bake-off of two markup-named candidates on examples with markup-like ids and text."""
    folder = root / "evals" / "20250101-000000"
    folder.mkdir(parents=True)
    names = [f"lora:{RUN_BOLD}", f"lora:{RUN_CLICK}"]
    scores = {names[0]: 0.75, names[1]: 0.25}
    candidates = [{"name": n, "kind": "lora", "description": CLICK,
                   "scores": {"token_f1": {"mean": s, "low": s - 0.1, "high": s + 0.1}}, "generated": 2}
                  for n, s in scores.items()]
    summary = {"created": "2025-01-01T00:00:00", "folder": str(folder), "eval_source": str(root / "curated" / "eval.jsonl"),
               "eval_fingerprint": "", "examples": 2, "primary": "token_f1", "metrics": ["token_f1"],
               "metric_reasons": [f"token_f1 because the task says {BOLD}"], "candidates": candidates,
               "comparisons": [{"a": names[0], "b": names[1], "difference": {"mean": 0.5, "low": 0.2, "high": 0.8}}]}
    (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    rows = [{"id": ident, "input": f"What colour is {BOLD}?", "reference": f"It is red {CLOSE}",
             "outputs": {names[0]: f"It is red {CLICK}", names[1]: f"Blue {MISSING}"},
             "scores": {names[0]: {"token_f1": 0.9}, names[1]: {"token_f1": 0.1}}, "spread": spread}
            for ident, spread in ((CLOSE, 0.8), (BOLD, 0.5))]
    (folder / "outputs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture
def at_run(tmp_path, monkeypatch):
    """A project past curation, in a markup-named folder: markup-like eval/train examples, two markup-named runs, a
    saved prompt, a bake-off."""
    monkeypatch.chdir(tmp_path)
    project = create_project(tmp_path / PROJECT)
    curated = project.curated_dir
    curated.mkdir()
    (curated / "train.jsonl").write_text("".join(json.dumps(_record(i)) + "\n" for i in range(8)))
    (curated / "eval.jsonl").write_text(json.dumps(_record(8, CLOSE)) + "\n" + json.dumps(_record(9, BOLD)) + "\n")
    project.answers_path.write_text(f"task: 'Answer {BOLD} e-mails {CLICK}'\n", encoding="utf-8")
    _run(project.root, RUN_BOLD, "2025-01-01T00:00:00")
    _run(project.root, RUN_CLICK, "2025-01-02T00:00:00")
    prompt = project.root / "prompt"
    prompt.mkdir()
    (prompt / "messages.json").write_text(json.dumps([{"role": "system", "content": f"Be brief {CLICK}"}]))
    (prompt / "selection.json").write_text(json.dumps({
        "examples": [{"id": CLOSE, "cluster": 0, "cluster_size": 8, "keywords": [BOLD, "colour"]}], "clusters": 1,
        "tokens": 40, "token_budget": 1024, "data_examples": 8, "system_source": "data", "left_out_clusters": []}))
    _bakeoff(project.root)
    project.reach("run")
    return project


# --- the walks ----------------------------------------------------------------------------------------------------


async def test_data_screen_shows_markup_like_ids_text_and_file_names_verbatim(tmp_path, monkeypatch, embedder):
    monkeypatch.chdir(tmp_path)
    data = _chat_data(tmp_path)
    project = create_project(tmp_path / "proj", [data])
    project.set_data([data.name], skip_invalid=True)
    project.reach("data")
    app = TunewiseApp(project.root, embedder=embedder)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DataScreen)
        await pilot.press("ctrl+r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.query_one(ProgressPanel).state == "done", [n.message for n in app._notifications]

        # Overview: the data file's name as it is.
        _assert_shown(app, DATA_NAME)

        # Duplicates: the ids in the table, the example's text in the panes.
        await _tab(pilot, screen, "#tabs", "tab-duplicates")
        _assert_shown(app, BOLD, CLOSE, f"{BOLD} {CLOSE}")
        assert f"{BOLD} {CLOSE}" in _shown(screen.query_one("#dup-subject", Static))

        # Conflicts: ids and replies; a click on the would-be link does nothing.
        await _tab(pilot, screen, "#tabs", "tab-conflicts")
        _assert_shown(app, CLICK, MISSING)
        await _click_text(pilot, CLICK, "quit")
        _assert_alive(app)

        # Clusters and flags render (typical examples and ids carry the markup-like text).
        for pane in ("tab-clusters", "tab-flags"):
            await _tab(pilot, screen, "#tabs", pane)
            _screen_text(app)

        # Errors: the invalid record's file and line.
        await _tab(pilot, screen, "#tabs", "tab-errors")
        _assert_shown(app, f"{DATA_NAME}:13")

        # A data file that is not there: the notice and nothing else.
        screen.query_one("#data-path", Input).value = f"{MISSING}.jsonl"
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert any(f"No such file: {MISSING}.jsonl" in toast for toast in _toasts(app)), _toasts(app)

        # On to the recommendation: it renders, with nothing interpreted.
        screen.query_one("#data-path", Input).value = data.name
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, RecommendationScreen)
        _screen_text(app)
        _assert_alive(app)


async def test_run_and_evaluate_screens_show_markup_like_names_verbatim(at_run):
    app = TunewiseApp(at_run.root)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        app.goto("run", SimpleNamespace(path="fine-tune"))
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, RunScreen)

        # Fine-tune: the project (header) and its data folder; the runs table shows both names; clicking the would-be
        # link only moves the cursor.
        await _tab(pilot, screen, "#run-tabs", "tab-finetune")
        _assert_shown(app, f"tunewise — {PROJECT}", f"{PROJECT}/curated/", RUN_BOLD, RUN_CLICK)
        await _click_text(pilot, RUN_CLICK, "quit")
        _assert_alive(app)

        # Prompt: the chosen example's id and keywords, and the eval examples to try.
        await _tab(pilot, screen, "#run-tabs", "tab-prompt")
        _assert_shown(app, CLOSE, f"{BOLD}, colour")
        panel = screen.query_one(PromptPanel)
        panel.query_one("#pr-input", Select).value = 1
        await pilot.pause()
        _assert_shown(app, f"What colour is bike 9? {BOLD}")

        # RAG: hits whose source, heading and passage hold markup-like text.
        await _tab(pilot, screen, "#run-tabs", "tab-rag")
        rag = screen.query_one(RagPanel)
        hit = SimpleNamespace(rank=1, score=0.5, source=DATA_NAME, heading=BOLD, text=f"Passage {CLICK} {CLOSE}")
        rag._answered(QueryResult([hit]))
        await pilot.pause()
        _assert_shown(app, DATA_NAME, BOLD, f"Passage {CLICK} {CLOSE}")

        # Evaluate: candidates (run names), the summary, the verdict, the examples and the side-by-side diff.
        app.goto("evaluate")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, EvaluateScreen)
        candidates = screen.query_one("#eval-candidates", SelectionList)
        assert [str(candidates.get_option_at_index(n).prompt) for n in range(candidates.option_count)][2:] == \
            [f"lora:{RUN_BOLD}", f"lora:{RUN_CLICK}"]
        _assert_shown(app, f"lora:{RUN_BOLD}", f"lora:{RUN_CLICK}", BOLD)
        assert _shown(screen.query_one("#eval-verdict", Static)).startswith(f"lora:{RUN_BOLD} scores best")
        await _tab(pilot, screen, "#eval-tabs", "tab-examples")
        _assert_shown(app, CLOSE, f"What colour is {BOLD}?", f"It is red {CLICK}", f"It is red {CLOSE}")
        await _click_text(pilot, f"It is red {CLICK}", "quit")
        _assert_alive(app)


async def test_every_failure_notice_shows_the_message_verbatim(at_run, monkeypatch):
    """Each failure path's notice (and its status line) shows a message holding [/x] as it is, as plain text."""
    app = TunewiseApp(at_run.root)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        seen = 0

        async def notices(*expected: str) -> None:
            """The notices since the last call: each holds what is expected, plain text, and shows it on screen."""
            nonlocal seen
            await pilot.pause()
            new = list(app._notifications)[seen:]
            seen = len(app._notifications)
            assert new, f"no notice for {expected}"
            for notice in new:
                assert notice.markup is False
                for text in expected:
                    assert text in notice.message, (text, notice.message)
            toasts = _toasts(app)
            for text in expected:
                assert any(text in toast for toast in toasts), (text, toasts)
            app.clear_notifications()
            seen = 0
            _assert_alive(app)

        # The app's own reporters.
        app.report_error(UsageError(f"No such file: {MISSING}.jsonl.", f"Check {BOLD}."))
        await notices(f"No such file: {MISSING}.jsonl.", f"Check {BOLD}.")
        app.report_error(ValueError(CLICK))
        await notices(f"ValueError: {CLICK}")
        app.post_message(Job.Cancelled("job", CancelledError(f"Stopped; kept {MISSING}.")))
        await notices(f"Stopped; kept {MISSING}.")

        # Interview: a typed value the library echoes back.
        app.goto("interview")
        await pilot.pause()
        interview = app.screen
        assert isinstance(interview, InterviewScreen)
        interview.index = [q.id for q in interview.questions].index("examples")
        await interview.show_question(interview.index)
        interview.query_one("#text", Input).value = MISSING
        await pilot.press("enter")
        await pilot.pause()
        assert f"got '{MISSING}'" in _shown(interview.query_one("#error", Static))
        _assert_shown(app, f"got '{MISSING}'")

        # Data: a missing file, and a curation that fails or is cancelled with such a message.
        app.goto("data")
        await pilot.pause()
        data = app.screen
        data.query_one("#data-path", Input).value = f"{MISSING}.jsonl"
        await pilot.press("ctrl+r")
        await notices(f"{MISSING}.jsonl")
        data.post_message(Job.Failed("curate", DataError(f"{MISSING}.jsonl: line 3 is not JSON.")))
        await notices(f"{MISSING}.jsonl: line 3")
        assert _shown(data.query_one("#stage", Label)) == f"Failed: {MISSING}.jsonl: line 3 is not JSON."
        data.post_message(Job.Cancelled("curate", CancelledError(f"Cancelled {MISSING}.")))
        await notices(f"Cancelled {MISSING}.")

        # Recommendation: a library error while working it out.
        def fail(*args, **kwargs):
            raise DataError(f"Cannot read {MISSING}.")

        monkeypatch.setattr("advisor.recommend.recommend", fail)
        app.goto("recommendation")
        await notices(f"Cannot read {MISSING}.")
        assert _shown(app.screen.query_one("#verdict", Static)) == f"No recommendation: Cannot read {MISSING}."

        # Run: fine-tune (bad run name, activating a run whose name the library refuses, failures, a warning).
        app.goto("run", SimpleNamespace(path="fine-tune"))
        await pilot.pause()
        panel = app.screen.query_one(FinetunePanel)
        panel.query_one("#ft-name", Input).value = MISSING
        panel.action_start()
        await notices(f"'{MISSING}'")
        panel.query_one("#ft-runs").move_cursor(row=0)
        panel.action_activate()
        await notices(f"'{RUN_BOLD}'")
        panel.post_message(Job.Failed("train", DataError(f"No data in {MISSING}.")))
        await notices(f"No data in {MISSING}.")
        assert _shown(panel.query_one(ProgressPanel).query_one("#stage", Label)) == f"Failed: No data in {MISSING}."
        panel.post_message(Job.Cancelled("train", CancelledError(f"Stopped {MISSING}.")))
        await notices(f"Stopped {MISSING}.")
        panel.post_message(FinetunePanel.Logged({"kind": "warning", "message": f"Few examples in {MISSING}."}))
        await notices(f"Few examples in {MISSING}.")

        # RAG: a docs folder that is not there, build and query failures.
        app.screen.query_one("#run-tabs", TabbedContent).active = "tab-rag"
        await pilot.pause()
        rag = app.screen.query_one(RagPanel)
        rag.query_one("#rag-docs", Input).value = MISSING
        rag.action_start()
        await notices(f"No such folder: {MISSING}.")
        rag.post_message(Job.Failed("rag-build", DataError(f"Cannot read {MISSING}/a.pdf.")))
        await notices(f"Cannot read {MISSING}/a.pdf.")
        assert _shown(rag.query_one(ProgressPanel).query_one("#stage", Label)) == f"Failed: Cannot read {MISSING}/a.pdf."
        rag.post_message(Job.Cancelled("rag-build", CancelledError(f"Cancelled {MISSING}.")))
        await notices(f"Cancelled {MISSING}.")
        rag.post_message(Job.Failed("rag-query", DataError(f"Index {MISSING} is damaged.")))
        await notices(f"Index {MISSING} is damaged.")
        rag.post_message(Job.Cancelled("rag-query", CancelledError(f"Cancelled {MISSING}.")))
        await notices(f"Cancelled {MISSING}.")

        # Prompt: a build that fails or is cancelled.
        app.screen.query_one("#run-tabs", TabbedContent).active = "tab-prompt"
        await pilot.pause()
        prompt = app.screen.query_one(PromptPanel)
        prompt.post_message(Job.Failed("prompt-build", DataError(f"No examples in {MISSING}.")))
        await notices(f"No examples in {MISSING}.")
        prompt.post_message(Job.Cancelled("prompt-build", CancelledError(f"Cancelled {MISSING}.")))
        await notices(f"Cancelled {MISSING}.")

        # Evaluate: a bake-off that fails or is cancelled.
        app.goto("evaluate")
        await pilot.pause()
        evaluate = app.screen
        evaluate.post_message(Job.Failed("bakeoff", DataError(f"Eval set {MISSING} is empty.")))
        await notices(f"Eval set {MISSING} is empty.")
        assert _shown(evaluate.query_one("#eval-progress #stage", Label)) == f"Failed: Eval set {MISSING} is empty."
        evaluate.post_message(Job.Cancelled("bakeoff", CancelledError(f"Cancelled {MISSING}.")))
        await notices(f"Cancelled {MISSING}.")
        _assert_alive(app)


async def test_opening_a_broken_project_with_a_markup_like_path_is_a_verbatim_notice(tmp_path):
    folder = tmp_path / f"proj{BOLD.replace('/', '')}{RUN_CLICK}"
    folder.mkdir()
    (folder / "tunewise.yaml").write_text("screen: [oops\n")
    app = TunewiseApp(folder)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        assert [n for n in app._notifications if folder.name in n.message and n.markup is False]
        assert any(folder.name in toast for toast in _toasts(app)), _toasts(app)
        _assert_alive(app)


# --- the building blocks ------------------------------------------------------------------------------------------


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield PlainTable(id="table")


async def test_plain_table_shows_cells_and_labels_verbatim():
    app = TableApp()
    async with app.run_test(size=(120, 10)) as pilot:
        table = app.query_one(PlainTable)
        table.add_columns(BOLD, "second")
        table.add_column(CLICK, key="third")
        key = table.add_row(CLOSE, MISSING, Text("styled", style="bold"), key="r", label=BOLD)
        table.add_rows([[BOLD, CLICK, 3]])
        table.update_cell(key, "third", CLICK)
        await pilot.pause()
        shown = _screen_text(app)
        for text in (BOLD, CLICK, CLOSE, MISSING):
            assert text in shown, shown
        assert [str(cell) for cell in table.get_row_at(0)] == [CLOSE, MISSING, CLICK]
        assert table.get_row_at(1)[2] == 3  # not a str: kept as it is
        await _click_text(pilot, CLICK, "quit")
        _assert_alive(app)


def test_plain_keeps_text_and_makes_anything_else_literal():
    styled = Text("kept", style="bold")
    assert plain(styled) is styled
    assert plain(CLICK).plain == CLICK and not plain(CLICK).spans
    assert plain(3).plain == "3" and plain(BOLD, "dim").style == "dim"


def _nodes():
    """Every node of the app's source, with where it is."""
    for path in sorted(TUI.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            yield f"{path.relative_to(TUI)}:{getattr(node, 'lineno', 0)}", node


def test_every_notice_of_the_app_is_plain_text():
    """Notices echo paths, ids and typed values: each notify() call says markup=False."""
    calls = [(where, node) for where, node in _nodes()
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "notify"]
    assert len(calls) > 20
    unsafe = [where for where, node in calls
              if not any(k.arg == "markup" and isinstance(k.value, ast.Constant) and k.value.value is False
                         for k in node.keywords)]
    assert unsafe == []


def test_every_table_of_the_app_is_a_plain_table():
    """DataTable reads str cells as markup: the app builds its tables as PlainTable (or a subclass of it)."""
    def is_data_table(node) -> bool:
        return isinstance(node, ast.Name) and node.id == "DataTable"

    made = [where for where, node in _nodes() if isinstance(node, ast.Call) and is_data_table(node.func)]
    derived = [where for where, node in _nodes()
               if isinstance(node, ast.ClassDef) and node.name != "PlainTable" and any(map(is_data_table, node.bases))]
    assert made == [] and derived == []
