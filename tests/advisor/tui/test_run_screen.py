"""Pilot tests of the run step's panels on a tiny project: a real LoRA run stopped and resumed, a real RAG index
searched, a real few-shot prompt built, edited and tried; each path opens its own tab; errors are notices."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from textual.widgets import (
    Button,
    DataTable,
    Input,
    Label,
    Select,
    Sparkline,
    Static,
    TabbedContent,
    TextArea,
)

from advisor.project import create_project
from advisor.tui.app import TunewiseApp
from advisor.tui.jobs import JobRunner
from advisor.tui.screens.run import RunScreen
from advisor.tui.widgets.finetune_panel import FinetunePanel
from advisor.tui.widgets.progress import ProgressPanel
from advisor.tui.widgets.prompt_panel import PromptPanel
from advisor.tui.widgets.rag_panel import RagPanel
from training import runs
from training.prompting import load_prompt

SIZE = (100, 40)
COLOURS = ["red", "blue", "green", "black", "white", "orange", "yellow", "purple", "grey", "silver"]
TASK = "Tell customers the colour of their bike in one sentence."
DOCS = {
    "returns.md": "# Returns\n\nYou can return a bike within 30 days of delivery for a full refund. "
                  "Pack it in the original box and print the prepaid label from your account.\n",
    "shipping.txt": "Shipping\n\nOrders ship from our Leeds warehouse. Delivery to Germany takes 3 to 5 business days "
                    "and tracking arrives by email.\n",
    "warranty.html": "<html><body><h1>Warranty</h1><p>Frames carry a lifetime warranty; batteries are covered for two "
                     "years or 800 charge cycles.</p></body></html>",
}


def _record(i: int) -> dict:
    return {"id": f"ex{i}", "messages": [{"role": "user", "content": f"What colour is bike {i}?"},
                                         {"role": "assistant", "content": f"Bike {i} is {COLOURS[i % len(COLOURS)]}."}]}


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project at the run step: 8 curated train and 2 eval examples, 3 documents, interview answers with a task."""
    monkeypatch.chdir(tmp_path)
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    project = create_project(tmp_path / "proj", docs=docs)
    curated = project.curated_dir
    curated.mkdir()
    (curated / "train.jsonl").write_text("".join(json.dumps(_record(i)) + "\n" for i in range(8)))
    (curated / "eval.jsonl").write_text("".join(json.dumps(_record(i)) + "\n" for i in range(8, 10)))
    project.answers_path.write_text(f"task: {TASK}\n", encoding="utf-8")
    project.reach("run")
    return project


def _messages(app) -> list[str]:
    return [n.message for n in app._notifications]


def _row(table: DataTable, n: int) -> list[str]:
    """A table row as the text shown (the app's tables hold literal Text cells)."""
    return [str(cell) for cell in table.get_row_at(n)]


async def _open(app, pilot, path: str) -> RunScreen:
    app.goto("run", SimpleNamespace(path=path))
    await pilot.pause()
    assert isinstance(app.screen, RunScreen)
    return app.screen


async def _click(pilot, selector: str) -> None:
    """Press a button as a click does (a notice can cover the spot a real click would hit)."""
    button = pilot.app.screen.query_one(selector, Button)
    assert not button.disabled, f"{selector} is disabled"
    button.press()
    await pilot.pause()


async def _settle(app, pilot) -> None:
    """Wait for the jobs' threads, then for their last messages to be handled."""
    await app.workers.wait_for_complete()
    for _ in range(200):
        await pilot.pause()
        runners = [r for panel in app.screen.query("FinetunePanel, RagPanel, PromptPanel") for r in vars(panel).values()
                   if isinstance(r, JobRunner)]
        if not any(r.running for r in runners):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("a job did not finish")


@pytest.mark.parametrize(("path", "tab"), [("fine-tune", "tab-finetune"), ("rag", "tab-rag"), ("prompt", "tab-prompt"),
                                           ("rag+fine-tune", "tab-rag")])
async def test_each_path_opens_its_tab_and_keeps_the_plan(project, path, tab):
    app = TunewiseApp(project.root)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        screen = await _open(app, pilot, path)
        assert screen.query_one("#run-tabs", TabbedContent).active == tab
        assert screen.plan is not None and screen.plan.path == path
        assert str(screen.query_one("#run-command", Static).render()) == screen.plan.script
        assert not _messages(app)


async def test_invalid_settings_are_notices_and_nothing_starts(project):
    app = TunewiseApp(project.root)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await _open(app, pilot, "fine-tune")
        panel = screen.query_one(FinetunePanel)
        panel.query_one("#ft-rank", Input).value = "0"
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert any("rank=0 is invalid" in m for m in _messages(app))
        panel.query_one("#ft-rank", Input).value = "8"
        panel.query_one("#ft-batch_size", Input).value = "two"
        await _click(pilot, "#ft-start")
        assert any("batch_size='two'" in m and "whole number" in m for m in _messages(app))
        panel.query_one("#ft-batch_size", Input).value = "2"
        panel.query_one("#ft-name", Input).value = "../escape"
        await _click(pilot, "#ft-start")
        assert any("is not allowed" in m for m in _messages(app)), _messages(app)
        assert panel.state == "idle" and not panel.job.running and not runs.runs_root(project.root).exists()
        assert panel.query_one("#ft-resume", Button).disabled  # no run of that name to resume
        (runs.runs_root(project.root) / "taken").mkdir(parents=True)
        panel.query_one("#ft-name", Input).value = "taken"
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert any("Run taken already exists" in m for m in _messages(app))
        assert panel.state == "idle" and not list((runs.runs_root(project.root) / "taken").iterdir())


@pytest.mark.slow
async def test_finetune_runs_stops_with_a_checkpoint_and_resumes(project, embedder, monkeypatch):
    from training import finetune as training_finetune

    app = TunewiseApp(project.root, embedder=embedder)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await _open(app, pilot, "fine-tune")
        panel = screen.query_one(FinetunePanel)
        form = {"name": "tiny", "max_steps": "2", "batch_size": "2", "eval_steps": "1", "learning_rate": "0.003"}
        for key, value in form.items():
            panel.query_one(f"#ft-{key}", Input).value = value
        panel.compare_examples, panel.max_new_tokens = 1, 6
        real, stopped = training_finetune.finetune, []

        def stop_after_the_first_step(*args, on_log, **kwargs):
            def log(row: dict) -> None:  # in the job's thread: press Stop (escape) once step 1 is logged, and wait
                on_log(row)
                if row.get("kind") == "train" and row["step"] == 1 and not stopped:
                    stopped.append(row)
                    app.call_from_thread(screen.action_stop)

            return real(*args, on_log=log, **kwargs)

        monkeypatch.setattr(training_finetune, "finetune", stop_after_the_first_step)
        await pilot.press("ctrl+r")
        assert panel.state == "running" and panel.query_one("#ft-start", Button).disabled
        await _settle(app, pilot)
        run_dir = runs.runs_root(project.root) / "tiny"
        assert panel.state == "interrupted", _messages(app)
        assert "Interrupted at step 1/2" in str(panel.query_one(ProgressPanel).query_one("#stage", Label).render())
        assert runs.latest_checkpoint(run_dir).name == "checkpoint-1" and not runs.has_adapter(run_dir)
        assert not panel.query_one("#ft-resume", Button).disabled
        base = panel.comparison[0]["base"]
        assert panel.comparison[0]["expected"] == "Bike 8 is grey." and base and panel.comparison[0]["tuned"] is None
        assert base in str(panel.query_one("#ft-compare", Static).render())

        await _click(pilot, "#ft-resume")
        await _settle(app, pilot)
        assert panel.state == "done", _messages(app)
        assert runs.has_adapter(run_dir) and runs.read_run(run_dir)["status"] == "completed"
        assert panel.query_one(ProgressPanel).fraction == 1.0
        status = str(panel.query_one("#ft-status", Static).render())
        assert status.startswith("Step 2/2") and "loss —" not in status and "eval —" not in status
        assert [s for s, _ in panel.monitor.train_losses] == [1, 2]  # step 1 kept from before the stop
        assert len(panel.query_one("#ft-chart", Sparkline).data) == 2
        evals = str(panel.query_one("#ft-evals", Static).render())
        assert "step 0" in evals and "step 2" in evals
        tuned = panel.comparison[0]["tuned"]
        assert tuned and tuned in str(panel.query_one("#ft-compare", Static).render())

        table = panel.query_one("#ft-runs", DataTable)
        assert _row(table, 0)[:3] == ["", "tiny", "completed"]
        table.move_cursor(row=0)
        await _click(pilot, "#ft-activate")
        assert runs.active_run(project.root) == "tiny" and _row(table, 0)[0] == "●"
        assert not any("Unexpected" in m for m in _messages(app))


class GatedEmbedder:
    """The real embedder, held at the start of embedding until the test opens the gate."""

    def __init__(self, embedder) -> None:
        self.embedder, self.gate, self.waiting = embedder, threading.Event(), threading.Event()

    def encode(self, *args, **kwargs):
        self.waiting.set()
        self.gate.wait(30)
        return self.embedder.encode(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.embedder, name)


@pytest.mark.slow
async def test_rag_builds_searches_and_answers(project, embedder, tmp_path):
    app = TunewiseApp(project.root, embedder=embedder)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await _open(app, pilot, "rag")
        panel = screen.query_one(RagPanel)
        assert panel.query_one("#rag-docs", Input).value == "docs"  # the project's docs folder, as typed from here
        await pilot.press("ctrl+r")
        await _settle(app, pilot)
        assert panel.query_one(ProgressPanel).state == "done", _messages(app)
        assert panel.report_data["documents"] == 3 and panel.report_data["chunks"] >= 3
        summary = str(panel.query_one("#rag-summary", Static).render())
        assert f"into {panel.report_data['chunks']} chunk(s)" in summary and "embedded" in summary
        assert (project.root / "index" / "manifest.json").is_file()

        panel.query_one("#rag-query", Input).value = "How many days do I have to send a bike back?"
        for mode in ("hybrid", "dense", "bm25"):
            panel.query_one("#rag-mode", Select).value = mode
            await _click(pilot, "#rag-search")
            await _settle(app, pilot)
            table = panel.query_one("#rag-hits", DataTable)
            assert table.row_count >= 1 and _row(table, 0)[2] == "returns.md", (mode, panel.hits)
        assert "30 days" in str(panel.query_one("#rag-hit-text", Static).render())
        table.move_cursor(row=1)
        await pilot.pause()
        assert panel.hits[1].source in str(panel.query_one("#rag-hit-text", Static).render())

        panel.max_new_tokens = 8
        panel.query_one("#rag-mode", Select).value = "hybrid"
        await _click(pilot, "#rag-ask")
        await _settle(app, pilot)
        assert panel.answer is not None and panel.answer.raw, _messages(app)
        assert panel.answer.sources[0].source == "returns.md"
        assert panel.answer.text.split("\n")[0] in str(panel.query_one("#rag-answer", Static).render())

        before = (project.root / "index" / "manifest.json").read_bytes()
        panel.query_one("#rag-docs", Input).value = str(tmp_path / "no-such-folder")
        await _click(pilot, "#rag-build")
        assert any("No such folder" in m for m in _messages(app))
        assert not panel.build_job.running and isinstance(app.screen, RunScreen)
        assert (project.root / "index" / "manifest.json").read_bytes() == before
        assert not any("Unexpected" in m for m in _messages(app))


async def test_leaving_the_screen_cancels_a_running_build(project, embedder):
    gated = GatedEmbedder(embedder)
    app = TunewiseApp(project.root, embedder=gated)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await _open(app, pilot, "rag")
        panel = screen.query_one(RagPanel)
        await pilot.press("ctrl+r")
        event = panel.build_job.cancel_event
        try:
            assert await asyncio.to_thread(gated.waiting.wait, 30)  # the worker is embedding
            await pilot.press("ctrl+b")  # back to the recommendation
            for _ in range(100):  # the screen is unmounted asynchronously
                if event.is_set():
                    break
                await pilot.pause(0.05)
            assert not isinstance(app.screen, RunScreen) and event.is_set()
        finally:
            gated.gate.set()
        await _settle(app, pilot)
        assert app.is_running and not (project.root / "index" / "manifest.json").exists()
        assert not any("Unexpected" in m for m in _messages(app))


@pytest.mark.slow
async def test_prompt_builds_edits_saves_and_tries(project, embedder):
    app = TunewiseApp(project.root, embedder=embedder)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await _open(app, pilot, "prompt")
        panel = screen.query_one(PromptPanel)
        await pilot.press("ctrl+r")
        await _settle(app, pilot)
        assert panel.query_one(ProgressPanel).state == "done", _messages(app)
        editor = panel.query_one("#pr-messages", TextArea)
        messages = json.loads(editor.text)
        saved = project.root / "prompt" / "messages.json"
        assert messages == load_prompt(saved) and messages[0]["role"] == "system" and TASK in messages[0]["content"]
        table = panel.query_one("#pr-examples", DataTable)
        assert table.row_count == 3 == sum(m["role"] == "assistant" for m in messages)
        assert all(int(_row(table, n)[3]) > 5 for n in range(3))  # tokens of each chosen example
        summary = str(panel.query_one("#pr-summary", Static).render())
        assert "3 example(s) from 3 cluster(s) of 8 examples" in summary and "the interview's task" in summary

        before = saved.read_bytes()
        for broken, error in (('[{"role": "system", "content": ', "not valid JSON"), ('[{"role": "robot", "content": "x"}]', "not a list of chat messages")):
            editor.text = broken
            await _click(pilot, "#pr-save")
            assert any(error in m for m in _messages(app)), broken
            assert saved.read_bytes() == before

        messages[0]["content"] = "Answer with the colour only."
        editor.text = json.dumps(messages)
        await pilot.press("ctrl+r")  # Build with unsaved edits: warned, nothing replaced
        await pilot.pause()
        assert any("unsaved edits" in m for m in _messages(app)) and not panel.busy
        assert json.loads(editor.text)[0]["content"] == "Answer with the colour only."
        await _click(pilot, "#pr-save")
        assert load_prompt(saved)[0]["content"] == "Answer with the colour only."

        panel.max_new_tokens = 6
        panel.query_one("#pr-input", Select).value = 1
        await _click(pilot, "#pr-try")
        await _settle(app, pilot)
        assert panel.reply, _messages(app)
        assert panel.reply in str(panel.query_one("#pr-reply", Static).render())
        assert "Bike 9 is silver." in str(panel.query_one("#pr-expected", Static).render())
        assert not any("Unexpected" in m for m in _messages(app))


async def test_prompt_panel_reopens_the_saved_prompt_and_refuses_to_try_without_a_choice(project):
    folder = project.root / "prompt"
    folder.mkdir()
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Bike 1?"}, {"role": "assistant", "content": "Blue."}]
    (folder / "messages.json").write_text(json.dumps(messages))
    (folder / "selection.json").write_text(json.dumps({
        "examples": [{"id": "ex1", "cluster": 0, "cluster_size": 8, "keywords": ["bike", "colour"]}], "clusters": 1,
        "tokens": 40, "token_budget": 1024, "data_examples": 8, "system_source": "data", "left_out_clusters": []}))
    app = TunewiseApp(project.root)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await _open(app, pilot, "prompt")
        panel = screen.query_one(PromptPanel)
        assert json.loads(panel.query_one("#pr-messages", TextArea).text) == messages
        assert _row(panel.query_one("#pr-examples", DataTable), 0) == ["0", "8", "bike, colour", "—", "ex1"]
        assert "1 example(s) from 1 cluster(s)" in str(panel.query_one("#pr-summary", Static).render())
        await _click(pilot, "#pr-try")
        assert any("No eval example chosen" in m for m in _messages(app)) and not panel.busy


OPEN_RUN_SCREEN = """
import asyncio, sys
from types import SimpleNamespace
from advisor.tui.app import TunewiseApp
from advisor.tui.jobs import JobRunner

async def main():
    app = TunewiseApp(sys.argv[1])
    async with app.run_test(size=(80, 24)) as pilot:
        for path in ("fine-tune", "rag", "prompt"):
            app.goto("run", SimpleNamespace(path=path))
            await pilot.pause()
        print(type(app.screen).__name__, sorted(m for m in ("torch", "transformers", "faiss", "sentence_transformers", "peft") if m in sys.modules))

asyncio.run(main())
"""


def test_opening_the_run_screen_loads_no_heavy_module(project):
    """The panels mount without torch, transformers or faiss: those load inside the workers."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", OPEN_RUN_SCREEN, str(project.root)], capture_output=True, text=True,
                         cwd=Path(__file__).parents[3], timeout=120)
    assert out.stdout.strip() == "RunScreen []", out.stderr[-2000:]
