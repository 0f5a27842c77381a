"""The fine-tune panel of the run step: LoRA settings, a training run as a job (live steps, losses, ETA, stop and
resume), the base and tuned model's replies to a few eval examples, and the project's runs."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Button, DataTable, Input, Label, Sparkline, Static

from advisor.project import (
    RESUME_OVERRIDES,
    FinetuneOutcome,
    check_new_run,
    finetune_run,
    project_training_data,
    saved_settings,
    shown_path,
)
from advisor.project.finetune import FinetunePace, runs_folder, training_time_estimate
from advisor.tui.jobs import Job, JobRunner
from advisor.tui.messages import ErrorRaised
from advisor.tui.run_format import (
    FORM_FIELDS,
    TRAIN_STAGES,
    TrainingMonitor,
    form_values,
    format_loss,
    resumable,
    run_row,
    settings_from_form,
    uncounted,
)
from advisor.tui.widgets.plain import PlainTable
from advisor.tui.widgets.progress import ProgressPanel
from curation.durations import format_duration
from curation.errors import TunewiseError, UsageError
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
        self.pace = FinetunePace()
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
        folder = self.project.layout.current_split()
        estimate = training_time_estimate(self.project, LoraSettings().epochs) if folder else None
        time_text = (f" About {format_duration(estimate['seconds'])} for {estimate['epochs']:g} epochs at "
                     f"{estimate['tokens_per_second']:g} tokens/s ({estimate['measured']})." if estimate else "")
        self.query_one("#ft-data", Static).update(
            f"Trains SmolLM2-135M-Instruct with LoRA on {shown_path(folder)}/ (train split; eval split held out).{time_text}"
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

    def _named_run(self) -> Path | None:
        """The folder of the run named in the form, when it is a run that stopped before finishing."""
        from training.runs import read_run, validate_run_name

        try:
            run_dir = runs_folder(self.project) / validate_run_name(self.query_one("#ft-name", Input).value.strip())
            return run_dir if resumable(read_run(run_dir)) else None
        except TunewiseError:  # not a run name (yet), or a damaged run record: nothing to resume
            return None

    @on(Input.Changed, "#ft-name")
    def _name_changed(self) -> None:
        """Naming a run that can be resumed fills the form with its saved settings (what Resume trains with)."""
        run_dir = None if self.job.running else self._named_run()
        if run_dir is not None:
            try:
                saved = saved_settings(run_dir)
            except TunewiseError as exc:
                self.post_message(ErrorRaised(exc))
                saved = None
            if saved is not None:
                for name, value in form_values(saved).items():
                    self.query_one(f"#ft-{name}", Input).value = value
        self._update_resume()

    def _update_resume(self) -> None:
        """Resume is offered for a named run that stopped before finishing."""
        self.query_one("#ft-resume", Button).disabled = self.job.running or self._named_run() is None

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
        from training.runs import validate_run_name

        if self.job.running:
            self.notify("Training is already running (escape stops it).", severity="warning", markup=False)
            return
        try:
            name = validate_run_name(self.query_one("#ft-name", Input).value.strip())
            settings = settings_from_form({k: self.query_one(f"#ft-{k}", Input).value for k in FORM_FIELDS})
            if self.project.layout.current_split() is None:
                raise UsageError("No curated data to train on.", "Curate the data on the data screen first (and export it to apply your marks).")
            if not resume:
                check_new_run(self.project, name)  # before a worker spends time on the base model
        except TunewiseError as exc:
            self.post_message(ErrorRaised(exc))
            return
        run_dir = runs_folder(self.project) / name
        self.monitor = TrainingMonitor.from_metrics(run_dir) if resume else TrainingMonitor()
        self.pace = FinetunePace.for_project(self.project)  # first steps timed by the last run measured here
        known = list(self.comparison)
        self.job.start(lambda progress, cancel: self._train(run_dir, settings, resume, known, progress, cancel))
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

    def _train(self, run_dir: Path, settings: LoraSettings, resume: bool, known: list[dict], progress,
               cancel) -> FinetuneOutcome:
        """The job (in a worker thread): the project layer's fine-tune, new or resumed (the form's epochs and max
        steps extend a resumed run, as `tunewise finetune --resume --epochs` does), with before/after replies."""
        data = project_training_data(self.project)
        return finetune_run(data, run_dir, settings, resume, given=RESUME_OVERRIDES if resume else (),
                            compare=self.compare_examples, max_new_tokens=self.max_new_tokens, known=known,
                            progress=progress, cancel=cancel, on_log=lambda row: self.post_message(self.Logged(row)),
                            on_compare=lambda rows: self.post_message(self.Compared(rows)))

    def on_unmount(self) -> None:
        """Leaving the screen (or quitting) stops a running training at its next step, with a checkpoint."""
        self.job.cancel()

    # --- what the job reports -----------------------------------------------------------------------

    @on(Job.Progress)
    def _progressed(self, message: Job.Progress) -> None:
        if message.stage not in ("base", "tuned"):  # the status line is about training itself
            self.monitor.progress(message.stage, message.done, message.total, message.elapsed)
        self.pace.update(message.stage, message.done, message.total, message.elapsed)
        if not self.job.cancelling:
            self.query_one(ProgressPanel).report(message.stage, message.done, message.total)
        self.query_one("#ft-status", Static).update(self.status_line())

    @on(Logged)
    def _logged(self, message: Logged) -> None:
        row = message.row
        self.monitor.log(row)
        if row.get("kind") == "warning":
            self.notify(row.get("message", ""), title="Fine-tune", severity="warning", markup=False)
        self.query_one("#ft-chart", Sparkline).data = [loss for _, loss in self.monitor.train_losses]
        self.query_one("#ft-evals", Static).update(self.monitor.eval_text())
        self.query_one("#ft-status", Static).update(self.status_line())

    @on(Compared)
    def _compared(self, message: Compared) -> None:
        self.comparison = message.rows
        self._show_comparison()

    @on(Job.Finished)
    def _finished(self, message: Job.Finished) -> None:
        from training.runs import new_run_name

        self.job.done()
        outcome: FinetuneOutcome = message.result
        result = outcome.result
        if outcome.comparison:
            self.comparison = outcome.comparison
        self._show_comparison()
        m = result.metrics
        self.query_one("#ft-status", Static).update(  # where training ended, whatever stage reported last
            f"Step {m['steps']}/{m['max_steps']} · loss {format_loss(self.monitor.train_loss)} · eval {format_loss(self.monitor.eval_loss)}")
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

    def status_line(self) -> str:
        """'Base model replies 1/3 · ETA 0:40', 'Step 3/10 · loss 1.234 · eval 1.456 · ETA 0:42': the stage the job is
        in, and the time left in it from measured times (— until something is measured, never a made-up 0:00)."""
        pace = self.pace
        losses = f"loss {format_loss(self.monitor.train_loss)} · eval {format_loss(self.monitor.eval_loss)}"
        if pace.stage in ("base", "tuned"):
            return f"{TRAIN_STAGES[pace.stage]} {pace.done}/{pace.total} · ETA {format_duration(pace.seconds_left(), clock=True)}"
        if pace.wrapping_up:
            return f"Step {pace.done}/{pace.total} · {losses} · final evaluation, saving the adapter"
        if pace.stage == "train":
            return f"Step {pace.done}/{pace.total} · {losses} · ETA {format_duration(pace.seconds_left(), clock=True)}"
        if pace.stage:
            return f"{TRAIN_STAGES.get(pace.stage, pace.stage)} {pace.done}/{pace.total} · {losses}"
        return f"Loading the data and the model · {losses}"

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
