"""The fine-tune panel of the run step: LoRA settings, a training run in a worker (live steps, losses, ETA, stop and
resume), the base and tuned model's replies to a few eval examples, and the project's runs."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.widgets import Button, DataTable, Input, Label, ProgressBar, Sparkline, Static

from advisor.project import curated_examples, shown_path
from advisor.tui.run_format import (
    FORM_FIELDS,
    TRAIN_STAGES,
    Throttle,
    TrainingMonitor,
    form_values,
    reply_turns,
    resumable,
    run_row,
    settings_from_form,
)
from advisor.tui.widgets.plain import PlainTable
from curation.errors import CancelledError, TunewiseError, UsageError
from training.lora_config import LoraSettings


class FinetunePanel(VerticalScroll):
    """Train a LoRA adapter on the project's curated data; `state` is idle, running, done, interrupted, cancelled or failed."""

    def __init__(self, project, compare_examples: int = 3, max_new_tokens: int = 64, **kwargs) -> None:
        super().__init__(**kwargs)
        self.project = project
        self.compare_examples = compare_examples  # eval examples shown before/after
        self.max_new_tokens = max_new_tokens  # per reply: short, generation is slow on a CPU
        self.cancel_event: threading.Event | None = None
        self.monitor = TrainingMonitor()
        self.state = "idle"
        self.comparison: list[dict] = []  # {id, input, expected, base, tuned}
        self._closing = False

    def compose(self) -> ComposeResult:
        yield Static("", id="ft-data", markup=False)
        helps = LoraSettings.help()
        with Grid(id="ft-form"):
            yield Label("Run name")
            yield Input(id="ft-name", compact=True)
            for name, label in FORM_FIELDS.items():
                yield Label(label)
                yield Input(id=f"ft-{name}", compact=True, tooltip=helps[name])
        with Horizontal(classes="buttons"):
            yield Button("Start", id="ft-start", variant="primary", tooltip="Start training (ctrl+r)")
            yield Button("Stop", id="ft-stop", variant="error", disabled=True, tooltip="Checkpoint and stop (escape)")
            yield Button("Resume", id="ft-resume", disabled=True, tooltip="Continue the named run from its checkpoint")
        with Horizontal(id="ft-progress", classes="bar-row"):
            yield Label("Not started.", id="ft-stage", markup=False)
            yield ProgressBar(total=1, show_eta=False, id="ft-bar")
        yield Static("", id="ft-status", markup=False)
        with Horizontal(id="ft-chart-row"):
            yield Label("Train loss ", id="ft-chart-label")
            yield Sparkline([], id="ft-chart")
        yield Static("Eval loss: —", id="ft-evals", markup=False)
        yield Static("", id="ft-compare")
        yield Label("Runs (enter picks one; Make active serves it)", classes="section")
        yield PlainTable(id="ft-runs", cursor_type="row", zebra_stripes=True)
        with Horizontal(classes="buttons"):
            yield Button("Make active", id="ft-activate", tooltip="Make the highlighted run the project's active adapter")

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
        if self.cancel_event is None and event.row_key.value:
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
            self.app.report_error(exc)  # type: ignore[attr-defined]
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
        self.query_one("#ft-resume", Button).disabled = self.cancel_event is not None or not resumable(record)

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

        if self.cancel_event is not None:
            self.notify("Training is already running (escape stops it).", severity="warning", markup=False)
            return
        try:
            name = validate_run_name(self.query_one("#ft-name", Input).value.strip())
            settings = settings_from_form({k: self.query_one(f"#ft-{k}", Input).value for k in FORM_FIELDS})
            if curated_examples(self.project) is None:
                raise UsageError("No curated data to train on.", "Curate the data on the data screen first (and export it to apply your marks).")
            if not resume and (runs_root(self.project.root) / name).exists():  # before a worker spends time on the base model
                raise UsageError(f"Run {name} already exists in {shown_path(runs_root(self.project.root))}.",
                                 "Type another run name, or Resume it if it was interrupted.")
        except TunewiseError as exc:
            self.app.report_error(exc)  # type: ignore[attr-defined]
            return
        self.cancel_event = threading.Event()
        self.monitor = TrainingMonitor.from_metrics(runs_root(self.project.root) / name) if resume else TrainingMonitor()
        self.state = "running"
        self._buttons()
        self.query_one("#ft-chart", Sparkline).data = [loss for _, loss in self.monitor.train_losses]
        self.query_one("#ft-evals", Static).update(self.monitor.eval_text())
        self.query_one("#ft-bar", ProgressBar).update(total=1, progress=0)
        self._stage("Resuming…" if resume else "Loading the data and the model…")
        self.train(name, settings, resume, self.cancel_event)

    @on(Button.Pressed, "#ft-stop")
    def action_stop(self) -> None:
        """Stop training: the library saves a checkpoint of the current step and stops (Resume continues)."""
        if self.cancel_event is None:
            return
        self.cancel_event.set()
        self._stage("Stopping at the end of this step (saving a checkpoint)…")

    @work(thread=True, exclusive=True, exit_on_error=False, group="finetune")
    def train(self, name: str, settings, resume: bool, cancel: threading.Event) -> None:
        """Compare the base model on a few eval examples, train, then compare the tuned one; all off the UI thread."""
        from training.finetune import finetune, load_training_data
        from training.generate import load_generator
        from training.runs import SETTINGS_FILE, runs_root

        throttle = Throttle()

        def progress(stage: str, done: int, total: int) -> None:
            now = time.monotonic()
            if stage == "train" or throttle.ready(stage, done, total, now):
                self._post(self._progressed, stage, done, total, now)

        try:
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
                self._post(self._stage, "Base model replies to the eval examples…")
                base = load_generator(settings.model).chat(conversations, max_new_tokens=self.max_new_tokens, cancel=cancel)
                rows = [{"id": e.id, "input": e.input_text, "expected": e.output_text, "base": b, "tuned": None}
                        for e, b in zip(picks, base)]
                self._post(self._compared, rows)
            result = finetune(data, settings, run_dir, resume=resume, progress=progress, cancel=cancel,
                              on_log=lambda row: self._post(self._logged, row))
            tuned = None
            if result.status != "interrupted" and picks:
                self._post(self._stage, "Tuned model replies to the eval examples…")
                try:
                    tuned = load_generator(settings.model, adapter=run_dir).chat(conversations, max_new_tokens=self.max_new_tokens, cancel=cancel)
                except CancelledError:  # stopped while comparing: the run itself is complete
                    tuned = None
        except Exception as exc:  # every failure becomes a notice on the UI thread, never a crash
            self._post(self._failed, exc)
        else:
            self._post(self._finished, result, tuned)

    def _post(self, callback, *args) -> None:
        """Run callback(*args) on the UI thread (nothing once the panel is gone or the app has stopped)."""
        if self._closing:
            return
        try:
            self.app.call_from_thread(callback, *args)
        except RuntimeError:  # the app stopped meanwhile
            pass

    def on_unmount(self) -> None:
        """Leaving the screen (or quitting) stops a running training at its next step, with a checkpoint."""
        self._closing = True
        if self.cancel_event is not None:
            self.cancel_event.set()

    # --- what the worker reports (UI thread) --------------------------------------------------------

    def _progressed(self, stage: str, done: int, total: int, now: float) -> None:
        self.monitor.progress(stage, done, total, now)
        self.query_one("#ft-bar", ProgressBar).update(total=max(total, 1), progress=done)
        self._stage(f"{TRAIN_STAGES.get(stage, stage)} {done}/{total}")
        self.query_one("#ft-status", Static).update(self.monitor.status_line())

    def _logged(self, row: dict) -> None:
        self.monitor.log(row)
        if row.get("kind") == "warning":
            self.notify(row.get("message", ""), title="Fine-tune", severity="warning", markup=False)
        self.query_one("#ft-chart", Sparkline).data = [loss for _, loss in self.monitor.train_losses]
        self.query_one("#ft-evals", Static).update(self.monitor.eval_text())
        self.query_one("#ft-status", Static).update(self.monitor.status_line())

    def _compared(self, rows: list[dict]) -> None:
        self.comparison = rows
        self._show_comparison()

    def _finished(self, result, tuned: list[str] | None) -> None:
        from training.runs import new_run_name

        self.cancel_event = None
        if tuned is not None:
            for row, reply in zip(self.comparison, tuned):
                row["tuned"] = reply
        self._show_comparison()
        m = result.metrics
        if result.status == "interrupted":
            self.state = "interrupted"
            self._stage(f"Interrupted at step {m['steps']}/{m['max_steps']} — checkpoint saved; Resume continues.")
        else:
            self.state = "done"
            self.query_one("#ft-name", Input).value = new_run_name()  # the next Start makes a new run
            self._stage(f"{result.run_dir.name}: {result.status.replace('_', ' ')} after {m['steps']} steps.")
            self.notify(f"Run {result.run_dir.name} {result.status.replace('_', ' ')}; adapter in {shown_path(result.run_dir)}/adapter.", title="Fine-tune", markup=False)
        self._buttons()
        self.refresh_runs()

    def _failed(self, exc: Exception) -> None:
        self.cancel_event = None
        cancelled = isinstance(exc, CancelledError)
        self.state = "cancelled" if cancelled else "failed"
        self._stage("Stopped before training started." if cancelled else f"Failed: {getattr(exc, 'message', exc)}")
        if cancelled:
            self.notify(exc.message, title="Fine-tune", severity="warning", markup=False)
        else:
            self.app.report_error(exc)  # type: ignore[attr-defined]
        self._buttons()
        self.refresh_runs()

    # --- rendering ----------------------------------------------------------------------------------

    def _stage(self, text: str) -> None:
        self.query_one("#ft-stage", Label).update(text)

    def _buttons(self) -> None:
        running = self.cancel_event is not None
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
