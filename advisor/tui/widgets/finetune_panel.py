"""The fine-tune panel of the run step: LoRA settings, a training run as a job (live steps, losses, ETA, stop and
resume), the base and tuned model's replies to a few eval examples, and the project's runs."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Button, DataTable, Input, Label, Sparkline, Static

from advisor.project import curated_examples, shown_path
from advisor.tui.jobs import Job, JobRunner
from advisor.tui.messages import ErrorRaised
from advisor.tui.run_format import (
    FORM_FIELDS,
    TRAIN_STAGES,
    TrainingMonitor,
    form_values,
    reply_turns,
    resumable,
    run_row,
    settings_from_form,
    uncounted,
)
from advisor.tui.widgets.plain import PlainTable
from advisor.tui.widgets.progress import ProgressPanel
from curation.errors import CancelledError, TunewiseError, UsageError
from training.lora_config import LoraSettings


def train_position(stage: str, done: int, total: int) -> tuple[str, float | None]:
    """The fine-tune progress label ("Training 3/10") and the bar's share of the stage (None: no count yet)."""
    label = f"{TRAIN_STAGES.get(stage, stage)} {done}/{total}" if total > 1 else TRAIN_STAGES.get(stage, stage)
    return label, None if uncounted(done, total) else min(done / total, 1.0)


class FinetunePanel(VerticalScroll):
    """Train a LoRA adapter on the project's curated data; `state` is idle, running, done, interrupted, cancelled or failed."""

    class Logged(Message):
        """The training job logged a row (a train or eval loss, or a warning)."""

        def __init__(self, row: dict) -> None:
            super().__init__()
            self.row = row

    class Compared(Message):
        """The training job has the base model's replies to the eval examples: {id, input, expected, base, tuned}."""

        def __init__(self, rows: list[dict]) -> None:
            super().__init__()
            self.rows = rows

    def __init__(self, project, models=None, compare_examples: int = 3, max_new_tokens: int = 64, **kwargs) -> None:
        super().__init__(**kwargs)
        self.project = project
        self.models = models
        self.compare_examples = compare_examples  # eval examples shown before/after
        self.max_new_tokens = max_new_tokens  # per reply: short, generation is slow on a CPU
        self.job = JobRunner(self, "train")
        self.monitor = TrainingMonitor()
        self.state = "idle"
        self.comparison: list[dict] = []  # {id, input, expected, base, tuned}

    def compose(self) -> ComposeResult:
        yield Static("", id="ft-data", markup=False)
        helps = LoraSettings.help()
        with Grid(id="ft-form"):
            yield Label("Run name")
            yield Input(id="ft-name", compact=True, select_on_focus=False)
            for name, label in FORM_FIELDS.items():
                yield Label(label)
                yield Input(id=f"ft-{name}", compact=True, tooltip=helps[name], select_on_focus=False)
        with Horizontal(classes="buttons"):
            yield Button("Start", id="ft-start", variant="primary", tooltip="Start training (ctrl+r)")
            yield Button("Stop", id="ft-stop", variant="error", disabled=True, tooltip="Checkpoint and stop (escape)")
            yield Button("Resume", id="ft-resume", disabled=True, tooltip="Continue the named run from its checkpoint (ctrl+t)")
        yield ProgressPanel(position=train_position, idle="Not started.", id="ft-progress")
        yield Static("", id="ft-status", markup=False)
        with Horizontal(id="ft-chart-row"):
            yield Label("Train loss ", id="ft-chart-label")
            yield Sparkline([], id="ft-chart")
        yield Static("Eval loss: —", id="ft-evals", markup=False)
        yield Static("", id="ft-compare")
        yield Label("Runs (enter picks one; Make active serves it)", classes="section")
        yield PlainTable(id="ft-runs", cursor_type="row", zebra_stripes=True)
        with Horizontal(classes="buttons"):
            yield Button("Make active", id="ft-activate", tooltip="Make the highlighted run the project's active adapter (ctrl+o)")

    def on_mount(self) -> None:
        from training.runs import new_run_name

        for name, value in form_values().items():
            self.query_one(f"#ft-{name}", Input).value = value
        self.query_one("#ft-name", Input).value = new_run_name()
        folder = curated_examples(self.project)
        self.query_one("#ft-data", Static).update(
            f"Trains SmolLM2-135M-Instruct with LoRA on {shown_path(folder)}/ (train split; eval split held out)."
            if folder else "No curated data yet: curate (and export) it on the data screen first."
        )
        table = self.query_one("#ft-runs", DataTable)
        table.add_columns("", "run", "status", "eval loss", "created")
        self.refresh_runs()

    # --- the runs list ------------------------------------------------------------------------------

    def refresh_runs(self) -> None:
        """Show the project's runs, the active one marked."""
        from training.runs import list_runs

        table = self.query_one("#ft-runs", DataTable)
        table.clear()
        for run in list_runs(self.project.root):
            table.add_row(*run_row(run), key=run.name)
        self._update_resume()

    @on(DataTable.RowSelected, "#ft-runs")
    def _pick_run(self, event: DataTable.RowSelected) -> None:
        """Enter on a run puts its name in the form (to resume it)."""
        if not self.job.running and event.row_key.value:
            self.query_one("#ft-name", Input).value = str(event.row_key.value)

    @on(Button.Pressed, "#ft-activate")
    def action_activate(self) -> None:
        """Make the highlighted run the project's active adapter."""
        from training.runs import set_active

        table = self.query_one("#ft-runs", DataTable)
        if not table.row_count:
            self.notify("No runs yet: train one first.", severity="warning", markup=False)
            return
        name = str(table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value)
        try:
            set_active(self.project.root, name)
        except TunewiseError as exc:
            self.post_message(ErrorRaised(exc))
            return
        self.refresh_runs()
        self.notify(f"{name} is now the active adapter.", title="Fine-tune", markup=False)

    @on(Input.Changed, "#ft-name")
    def _update_resume(self) -> None:
        """Resume is offered for a named run that stopped before finishing."""
        from training.runs import read_run, runs_root, validate_run_name

        try:
            record = read_run(runs_root(self.project.root) / validate_run_name(self.query_one("#ft-name", Input).value.strip()))
        except UsageError:  # not a run name (yet)
            record = {}
        self.query_one("#ft-resume", Button).disabled = self.job.running or not resumable(record)

    # --- training -----------------------------------------------------------------------------------

    @on(Button.Pressed, "#ft-start")
    def action_start(self) -> None:
        """Start a new run with the form's settings."""
        self._begin(resume=False)

    @on(Button.Pressed, "#ft-resume")
    def action_resume(self) -> None:
        """Continue the named run from its latest checkpoint."""
        self._begin(resume=True)

    def _begin(self, resume: bool) -> None:
        from training.runs import runs_root, validate_run_name

        if self.job.running:
            self.notify("Training is already running (escape stops it).", severity="warning", markup=False)
            return
        try:
            name = validate_run_name(self.query_one("#ft-name", Input).value.strip())
            settings = settings_from_form({k: self.query_one(f"#ft-{k}", Input).value for k in FORM_FIELDS})
            if curated_examples(self.project) is None:
                raise UsageError("No curated data to train on.", "Curate the data on the data screen first (and export it to apply your marks).")
            if not resume and (runs_root(self.project.root) / name).exists():  # before a worker spends time on the base model
                raise UsageError(f"Run {name} already exists in {shown_path(runs_root(self.project.root))}.",
                                 "Type another run name, or Resume it (ctrl+t) if it was interrupted.")
        except TunewiseError as exc:
            self.post_message(ErrorRaised(exc))
            return
        self.monitor = TrainingMonitor.from_metrics(runs_root(self.project.root) / name) if resume else TrainingMonitor()
        self.job.start(lambda progress, cancel: self._train(name, settings, resume, progress, cancel))
        self.state = "running"
        self._buttons()
        self.query_one("#ft-chart", Sparkline).data = [loss for _, loss in self.monitor.train_losses]
        self.query_one("#ft-evals", Static).update(self.monitor.eval_text())
        self.query_one(ProgressPanel).start("Resuming…" if resume else "Loading the data and the model…")

    def action_stop(self) -> None:
        """Stop training: the library saves a checkpoint of the current step and stops (Resume continues)."""
        if not self.job.running:
            return
        self.job.cancel()
        self.query_one(ProgressPanel).stop("Stopping at the end of this step (saving a checkpoint)…", "running")

    @on(Button.Pressed, "#ft-stop")
    def _stop_pressed(self) -> None:
        self.action_stop()

    def _train(self, name: str, settings: LoraSettings, resume: bool, progress, cancel) -> tuple[Any, list[str] | None]:
        """The job (in a worker thread): the base model on a few eval examples, training, then the tuned model."""
        from training.finetune import finetune, load_training_data
        from training.generate import load_generator
        from training.runs import SETTINGS_FILE, runs_root

        data = load_training_data(curated_examples(self.project))
        run_dir = runs_root(self.project.root) / name
        saved = run_dir / SETTINGS_FILE
        if resume and saved.is_file():
            settings = LoraSettings.from_dict(json.loads(saved.read_text(encoding="utf-8")))
        elif not resume:
            settings = replace(settings, max_length=data.max_tokens or settings.max_length)
        picks = (data.eval or data.train)[: self.compare_examples]
        conversations = [reply_turns(e.messages) for e in picks]
        if picks and [row["id"] for row in self.comparison] != [e.id for e in picks]:
            progress("load model", 0, 1)
            generator = load_generator(settings.model)
            base = generator.chat(conversations, max_new_tokens=self.max_new_tokens, cancel=cancel,
                                  progress=lambda _stage, done, total: progress("generate base", done, total))
            self.post_message(self.Compared([{"id": e.id, "input": e.input_text, "expected": e.output_text, "base": b,
                                              "tuned": None} for e, b in zip(picks, base)]))
        result = finetune(data, settings, run_dir, resume=resume, progress=progress, cancel=cancel,
                          on_log=lambda row: self.post_message(self.Logged(row)))
        tuned = None
        if result.status != "interrupted" and picks:
            progress("load model", 0, 1)
            try:
                tuned = load_generator(settings.model, adapter=run_dir).chat(
                    conversations, max_new_tokens=self.max_new_tokens, cancel=cancel,
                    progress=lambda _stage, done, total: progress("generate tuned", done, total))
            except CancelledError:  # stopped while comparing: the run itself is complete
                tuned = None
        return result, tuned

    def on_unmount(self) -> None:
        """Leaving the screen (or quitting) stops a running training at its next step, with a checkpoint."""
        self.job.cancel()

    # --- what the job reports -----------------------------------------------------------------------

    @on(Job.Progress)
    def _progressed(self, message: Job.Progress) -> None:
        if not message.stage.startswith(("generate", "load")):  # the status line is about training itself
            self.monitor.progress(message.stage, message.done, message.total, message.elapsed)
        if not self.job.cancelling:
            self.query_one(ProgressPanel).report(message.stage, message.done, message.total)
        self.query_one("#ft-status", Static).update(self.monitor.status_line())

    @on(Logged)
    def _logged(self, message: Logged) -> None:
        row = message.row
        self.monitor.log(row)
        if row.get("kind") == "warning":
            self.notify(row.get("message", ""), title="Fine-tune", severity="warning", markup=False)
        self.query_one("#ft-chart", Sparkline).data = [loss for _, loss in self.monitor.train_losses]
        self.query_one("#ft-evals", Static).update(self.monitor.eval_text())
        self.query_one("#ft-status", Static).update(self.monitor.status_line())

    @on(Compared)
    def _compared(self, message: Compared) -> None:
        self.comparison = message.rows
        self._show_comparison()

    @on(Job.Finished)
    def _finished(self, message: Job.Finished) -> None:
        from training.runs import new_run_name

        self.job.done()
        result, tuned = message.result
        if tuned is not None:
            for row, reply in zip(self.comparison, tuned):
                row["tuned"] = reply
        self._show_comparison()
        m = result.metrics
        progress = self.query_one(ProgressPanel)
        if result.status == "interrupted":
            self.state = "interrupted"
            progress.stop(f"Interrupted at step {m['steps']}/{m['max_steps']} — checkpoint saved; Resume (ctrl+t) continues.",
                          "cancelled")
        else:
            self.state = "done"
            self.query_one("#ft-name", Input).value = new_run_name()  # the next Start makes a new run
            progress.finish(f"{result.run_dir.name}: {result.status.replace('_', ' ')} after {m['steps']} steps.")
            self.notify(f"Run {result.run_dir.name} {result.status.replace('_', ' ')}; adapter in {shown_path(result.run_dir)}/adapter.", title="Fine-tune", markup=False)
        self._buttons()
        self.refresh_runs()

    @on(Job.Failed)
    def _failed(self, message: Job.Failed) -> None:
        """Shown on the progress line; the App shows the notice."""
        self.job.done()
        self.state = "failed"
        self.query_one(ProgressPanel).stop(f"Failed: {getattr(message.error, 'message', message.error)}")
        self._buttons()
        self.refresh_runs()

    @on(Job.Cancelled)
    def _cancelled(self, message: Job.Cancelled) -> None:
        self.job.done()
        self.state = "cancelled"
        self.query_one(ProgressPanel).stop("Stopped before training started.", "cancelled")
        self._buttons()
        self.refresh_runs()

    # --- rendering ----------------------------------------------------------------------------------

    def _buttons(self) -> None:
        running = self.job.running
        self.query_one("#ft-start", Button).disabled = running
        self.query_one("#ft-stop", Button).disabled = not running
        self._update_resume()

    def _show_comparison(self) -> None:
        text = Text()
        if self.comparison:
            text.append("Before / after on eval examples\n", style="bold underline")
        for n, row in enumerate(self.comparison, 1):
            text.append(f"{n}. ", style="bold")
            text.append(f"{row['input']}\n")
            for label, key, style in (("expected", "expected", "green"), ("base", "base", ""), ("tuned", "tuned", "cyan")):
                text.append(f"   {label:>8}: ", style="dim")
                text.append(f"{row[key] if row[key] is not None else '(after training)'}\n", style=style)
        self.query_one("#ft-compare", Static).update(text)
