"""Step 6: the bake-off. Pick candidates, run them on the held-out set in a worker (progress, cancel), then read the
summary (scores with intervals, the verdict) and each example side by side with its reference, words diffed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import (
    Button,
    DataTable,
    Input,
    Label,
    SelectionList,
    Static,
    TabbedContent,
    TabPane,
)

from advisor.project import available_candidates, bakeoff_rows, run_project_bakeoff, shown_path
from advisor.tui.bakeoff_format import eval_config, overall_fraction, split_bold, stage_label
from advisor.tui.jobs import Job, JobRunner
from advisor.tui.run_format import uncounted
from advisor.tui.screens.base import PaletteCommand, StepScreen, tab_bindings
from advisor.tui.widgets.bakeoff_diff import ExampleDiff
from advisor.tui.widgets.bakeoff_tables import ExampleTable, SummaryTable
from advisor.tui.widgets.endpoints_panel import EndpointsPanel
from advisor.tui.widgets.progress import ProgressPanel
from curation import split_files
from curation.errors import TunewiseError

if TYPE_CHECKING:
    from training.evaluation.results import Bakeoff

NOTHING_YET = "No bake-off yet. Tick the candidates to compare and press ctrl+r (Run): each answers the held-out eval set."
NO_EVAL_SET = f"No evaluation set yet: curate your data first (the Data step holds out ~10% as {split_files.EVAL})."


TABS = {"tab-summary": "Summary", "tab-examples": "Examples", "tab-endpoints": "Endpoints"}


class EvaluateScreen(StepScreen[None]):
    """The bake-off of the project's candidates (zero-shot, few-shot, rag, each LoRA run, prompt@NAME and rag@NAME
    for each endpoint) on its eval set, and the project's endpoints."""

    STEP = "evaluate"
    BINDINGS = [
        Binding("ctrl+r", "run", "Run"),
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+o", "report", "Report"),
        Binding("ctrl+b", "back", "Back"),
        *tab_bindings(TABS),
    ]
    DEFAULT_CSS = """
    EvaluateScreen #eval-controls {
        height: 4;
        padding: 0 1;
    }
    EvaluateScreen #eval-candidates {
        width: 1fr;
        height: 4;
        border: none;
        padding: 0;
    }
    EvaluateScreen #eval-settings {
        width: 34;
        height: 4;
        padding: 0 0 0 2;
    }
    EvaluateScreen .eval-field {
        height: 1;
    }
    EvaluateScreen .eval-field Label {
        width: 18;
    }
    EvaluateScreen .eval-field Input {
        width: 1fr;
    }
    EvaluateScreen #eval-buttons {
        height: 1;
        margin-top: 1;
    }
    EvaluateScreen #eval-buttons Button {
        margin-right: 2;
    }
    EvaluateScreen #eval-progress {
        height: 1;
        padding: 0 1;
    }
    EvaluateScreen #eval-progress #stage {
        width: 1fr;
    }
    EvaluateScreen #eval-tabs {
        height: 1fr;
    }
    EvaluateScreen #eval-tabs TabPane {
        padding: 0 1;
    }
    EvaluateScreen #eval-verdict {
        margin-top: 1;
    }
    EvaluateScreen #eval-reasons {
        margin-top: 1;
        color: $text-muted;
    }
    """

    def __init__(self, project, models=None) -> None:
        super().__init__(project, models)
        self.bakeoff: Bakeoff | None = None
        self.rows: dict[str, dict[str, Any]] = {}
        self.job = JobRunner(self, "bakeoff")
        self.running: list[str] = []  # the candidates of the bake-off in progress

    def body(self) -> ComposeResult:
        with Vertical(id="evaluate"):
            with Horizontal(id="eval-controls"):
                yield SelectionList[str](id="eval-candidates")
                with Vertical(id="eval-settings"):
                    with Horizontal(classes="eval-field"):
                        yield Label("examples (limit)")
                        yield Input(placeholder="all", id="eval-limit", compact=True, type="integer", select_on_focus=False)
                    with Horizontal(classes="eval-field"):
                        yield Label("max new tokens")
                        yield Input("64", id="eval-tokens", compact=True, type="integer", select_on_focus=False)
                    with Horizontal(id="eval-buttons"):
                        yield Button("Run", id="eval-run", variant="primary", compact=True)
                        yield Button("Cancel", id="eval-cancel", variant="error", compact=True, disabled=True)
            yield ProgressPanel(position=self._position, idle="", id="eval-progress")
            with TabbedContent(id="eval-tabs"):
                with TabPane(TABS["tab-summary"], id="tab-summary"):
                    with VerticalScroll(id="eval-summary"):
                        yield SummaryTable(id="eval-table")
                        yield Static("", id="eval-verdict")
                        yield Static("", id="eval-reasons")
                with TabPane(TABS["tab-examples"], id="tab-examples"):
                    yield ExampleTable(id="eval-examples")
                    yield ExampleDiff(id="eval-diff")
                with TabPane(TABS["tab-endpoints"], id="tab-endpoints"):
                    yield EndpointsPanel(self.project, id="eval-endpoints")

    def on_mount(self) -> None:
        """List the candidates the project can run and show its latest bake-off; no model is loaded here."""
        self.list_candidates()
        bakeoff, rows = None, []
        try:
            bakeoff = self.project.load_bakeoff()
            if bakeoff is not None:
                rows = bakeoff_rows(bakeoff)
        except TunewiseError as exc:
            self.report(exc)
        self.show(bakeoff, rows)
        if bakeoff is not None:
            self.query_one(ProgressPanel).finish(f"Last bake-off: {bakeoff.created} ({bakeoff.examples} examples).")
        self.query_one("#eval-candidates", SelectionList).focus()

    def list_candidates(self) -> None:
        """List the candidates the project can run now (prompt@NAME / rag@NAME for each endpoint); those listed
        before keep their tick, new ones are ticked."""
        chooser = self.query_one("#eval-candidates", SelectionList)
        before = {str(chooser.get_option_at_index(n).value) for n in range(chooser.option_count)}
        ticked = set(chooser.selected)
        try:
            found = available_candidates(self.project)
        except TunewiseError as exc:
            self.report(exc)
            found = []
        chooser.clear_options()
        chooser.add_options([(Text(c.name), c.name, c.name in ticked or c.name not in before) for c in found])

    @on(EndpointsPanel.Changed)
    def _endpoints_changed(self) -> None:
        self.list_candidates()

    # --- rendering ----------------------------------------------------------------------------------

    def show(self, bakeoff: Bakeoff | None, rows: list[dict[str, Any]]) -> None:
        """Render a bake-off (or how to run one) into the summary and examples tabs."""
        from training.evaluation.results import MARKDOWN_FILE, OUTPUTS_FILE

        self.bakeoff, self.rows = bakeoff, {str(r["id"]): r for r in rows}
        self.query_one(SummaryTable).show(bakeoff)
        verdict, reasons = self.query_one("#eval-verdict", Static), self.query_one("#eval-reasons", Static)
        diff, examples = self.query_one(ExampleDiff), self.query_one(ExampleTable)
        if bakeoff is None:
            verdict.update(NOTHING_YET if self.project.layout.current_split() is not None else NO_EVAL_SET)
            reasons.update("")
            examples.show([], [], "")
            diff.set_candidates([], None)
            return
        verdict.update(self.verdict_text(bakeoff))
        reasons.update(Text("\n".join(f"• {r[0].upper()}{r[1:]}." for r in bakeoff.metric_reasons)
                            + f"\nSaved in {shown_path(Path(bakeoff.folder))}/ ({MARKDOWN_FILE}, {OUTPUTS_FILE})."))
        ranked = [c.name for c in bakeoff.ranked()]
        examples.show(rows, ranked, bakeoff.primary)
        diff.set_candidates(ranked, bakeoff.winner.name, bakeoff.primary)
        self._show_highlighted()

    @staticmethod
    def verdict_text(bakeoff: Bakeoff) -> Text:
        """The winner, its margin and whether it is a tie, with the Markdown bold rendered."""
        from training.evaluation.report import verdict_line

        text = Text()
        for piece, bold in split_bold(verdict_line(bakeoff)):
            text.append(piece, style="bold" if bold else "")
        return text

    def _show_highlighted(self) -> None:
        example_id = self.query_one(ExampleTable).highlighted_id()
        self.query_one(ExampleDiff).show(self.rows.get(example_id) if example_id else None)

    @on(DataTable.RowHighlighted, "#eval-examples")
    @on(DataTable.RowSelected, "#eval-examples")
    def _example_highlighted(self) -> None:
        self._show_highlighted()

    def _position(self, stage: str, done: int, total: int) -> tuple[str, float | None]:
        """The progress label and the share of the whole bake-off (None while a model loads: the bar pulses)."""
        fraction = None if uncounted(done, total) else overall_fraction(stage, done, total, self.running)
        return stage_label(stage, done, total), fraction

    # --- the bake-off as a job ----------------------------------------------------------------------

    @on(Button.Pressed, "#eval-run")
    def _run_pressed(self) -> None:
        self.action_run()

    def action_run(self) -> None:
        """Run the bake-off with the ticked candidates and the settings typed in, as a job."""
        if self.job.running:
            self.notify("The bake-off is already running (escape cancels it).", severity="warning", markup=False)
            return
        names = list(self.query_one("#eval-candidates", SelectionList).selected)
        try:
            config = eval_config(names, self.query_one("#eval-limit", Input).value,
                                 self.query_one("#eval-tokens", Input).value)
        except TunewiseError as exc:
            self.report(exc)
            return
        self.running = names
        project, models = self.project, self.models
        self.job.start(lambda progress, cancel: self._bakeoff(project, config, models, progress, cancel))
        self.query_one("#eval-run", Button).disabled = True
        self.query_one("#eval-cancel", Button).disabled = False
        self.query_one(ProgressPanel).start("Starting (loading the eval set)…")
        self.refresh_bindings()

    @staticmethod
    def _bakeoff(project, config, models, progress, cancel) -> tuple[Bakeoff, list[dict[str, Any]]]:
        """The job: run the project's bake-off (in a worker thread) and read its per-example rows back."""
        bakeoff = run_project_bakeoff(project, config, progress=progress, cancel=cancel, embedder=models.embedder())
        return bakeoff, bakeoff_rows(bakeoff)

    @on(Job.Progress)
    def _progressed(self, message: Job.Progress) -> None:
        if message.job == self.job.name and not self.job.cancelling:
            self.query_one(ProgressPanel).report(message.stage, message.done, message.total)

    @on(Job.Finished)
    def _finished(self, message: Job.Finished) -> None:
        if message.job != self.job.name:  # the endpoints panel's connection test
            return
        bakeoff, rows = message.result
        self._idle()
        self.show(bakeoff, rows)
        self.query_one(ProgressPanel).finish(
            f"Done in {bakeoff.seconds:.0f} s: {bakeoff.examples} examples, {len(bakeoff.candidates)} candidates.")
        self.query_one("#eval-tabs", TabbedContent).active = "tab-summary"
        self.notify(f"{bakeoff.winner.name} scores best on {bakeoff.primary}. Saved in {shown_path(Path(bakeoff.folder))}/.",
                    title="Bake-off finished", markup=False)

    @on(Job.Failed)
    def _failed(self, message: Job.Failed) -> None:
        """Shown on the progress line; the App shows the notice."""
        if message.job != self.job.name:
            return
        self._idle()
        self.query_one(ProgressPanel).stop(f"Failed: {getattr(message.error, 'message', message.error)}")

    @on(Job.Cancelled)
    def _cancelled(self, message: Job.Cancelled) -> None:
        if message.job != self.job.name:
            return
        self._idle()
        self.query_one(ProgressPanel).stop("Cancelled: outputs generated so far are cached; Run resumes from them.",
                                           "cancelled")

    def _idle(self) -> None:
        self.job.done()
        self.running = []
        self.query_one("#eval-run", Button).disabled = False
        self.query_one("#eval-cancel", Button).disabled = True
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The footer offers Cancel while the bake-off runs."""
        return self.job.running if action == "cancel" else True

    @on(Button.Pressed, "#eval-cancel")
    def action_cancel(self) -> None:
        """Cancel the running bake-off (it stops at the next batch; what was generated stays cached)."""
        if not self.job.running:
            return
        self.job.cancel()
        self.query_one(ProgressPanel).stop("Cancelling (after the current batch)…", "running")

    def on_unmount(self) -> None:
        """Leaving the screen (or quitting) cancels a running bake-off rather than leaving it behind."""
        self.job.cancel()

    def action_show_tab(self, pane: str) -> None:
        """Open the summary or the examples tab."""
        self.query_one("#eval-tabs", TabbedContent).active = pane

    # --- moving and the palette ---------------------------------------------------------------------

    def action_back(self) -> None:
        if self.job.running:
            self.notify("The bake-off is still running: wait for it or cancel it (escape).", severity="warning", markup=False)
            return
        self.go("run")

    def action_report(self) -> None:
        """Say where the latest bake-off's Markdown report is."""
        if self.bakeoff is None:
            self.notify("No bake-off yet: run one first (ctrl+r).", severity="warning", markup=False)
            return
        from training.evaluation.results import MARKDOWN_FILE

        path = Path(self.bakeoff.folder) / MARKDOWN_FILE
        self.notify(f"{shown_path(path)}", title="Bake-off report", markup=False)

    def palette_commands(self):
        yield PaletteCommand("Run the bake-off", "Compare the ticked candidates on the eval set", self.action_run)
        yield PaletteCommand("Cancel the bake-off", "Stop the running bake-off (outputs so far stay cached)", self.action_cancel)
        yield PaletteCommand("Open the bake-off report", "Show where the latest bake-off's Markdown report is", self.action_report)
        for n, (pane, title) in enumerate(TABS.items(), 1):
            yield PaletteCommand(f"Show bake-off {title.lower()}", f"Open the {title.lower()} tab (alt+{n})",
                                 lambda pane=pane: self.action_show_tab(pane))
