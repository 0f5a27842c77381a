"""Step 6: the bake-off. Pick candidates, run them on the held-out set in a worker (progress, cancel), then read the
summary (scores with intervals, the verdict) and each example side by side with its reference, words diffed."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import (
    Button,
    DataTable,
    Input,
    Label,
    ProgressBar,
    SelectionList,
    Static,
    TabbedContent,
    TabPane,
)

from advisor.project import shown_path
from advisor.tui.bakeoff_format import eval_config, overall_fraction, split_bold, stage_label
from advisor.tui.screens.base import PaletteCommand, StepScreen
from advisor.tui.widgets.bakeoff_diff import ExampleDiff
from advisor.tui.widgets.bakeoff_tables import ExampleTable, SummaryTable
from curation.errors import CancelledError, TunewiseError

if TYPE_CHECKING:
    from training.evaluation.results import Bakeoff

NOTHING_YET = "No bake-off yet. Tick the candidates to compare and press r (Run): each answers the held-out eval set."
NO_EVAL_SET = "No evaluation set yet: curate your data first (the Data step holds out ~10% as eval.jsonl)."


class EvaluateScreen(StepScreen[None]):
    """The bake-off of the project's candidates (zero-shot, few-shot, rag, each LoRA run) on its eval set."""

    STEP = "evaluate"
    BINDINGS = [
        Binding("r", "run", "Run"),
        Binding("escape", "cancel", "Cancel run", show=False),
        Binding("ctrl+b", "back", "Back"),
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
    EvaluateScreen #eval-stage {
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

    def __init__(self, project) -> None:
        super().__init__(project)
        self.bakeoff: Bakeoff | None = None
        self.rows: dict[str, dict[str, Any]] = {}
        self.cancel_event: threading.Event | None = None
        self.running: list[str] = []  # the candidates of the bake-off in progress

    def body(self) -> ComposeResult:
        with Vertical(id="evaluate"):
            with Horizontal(id="eval-controls"):
                yield SelectionList[str](id="eval-candidates")
                with Vertical(id="eval-settings"):
                    with Horizontal(classes="eval-field"):
                        yield Label("examples (limit)")
                        yield Input(placeholder="all", id="eval-limit", compact=True, type="integer")
                    with Horizontal(classes="eval-field"):
                        yield Label("max new tokens")
                        yield Input("64", id="eval-tokens", compact=True, type="integer")
                    with Horizontal(id="eval-buttons"):
                        yield Button("Run", id="eval-run", variant="primary", compact=True)
                        yield Button("Cancel", id="eval-cancel", variant="error", compact=True, disabled=True)
            with Horizontal(id="eval-progress"):
                yield Label("", id="eval-stage", markup=False)  # candidate names and errors: never markup
                yield ProgressBar(total=1.0, show_eta=False, id="eval-bar")
            with TabbedContent(id="eval-tabs"):
                with TabPane("Summary", id="tab-summary"):
                    with VerticalScroll(id="eval-summary"):
                        yield SummaryTable(id="eval-table")
                        yield Static("", id="eval-verdict")
                        yield Static("", id="eval-reasons")
                with TabPane("Examples", id="tab-examples"):
                    yield ExampleTable(id="eval-examples")
                    yield ExampleDiff(id="eval-diff")

    def on_mount(self) -> None:
        """List the candidates the project can run and show its latest bake-off; no model is loaded here."""
        from training.evaluation.candidates import available

        try:
            found = available(self.project.root, self.project.root / "index")
        except TunewiseError as exc:
            self.report(exc)
            found = []
        self.query_one("#eval-candidates", SelectionList).add_options([(Text(c.name), c.name, True) for c in found])
        bakeoff, rows = None, []
        try:
            bakeoff = self.project.load_bakeoff()
            if bakeoff is not None:
                rows = self._rows(bakeoff)
        except TunewiseError as exc:
            self.report(exc)
        self.show(bakeoff, rows)
        if bakeoff is not None:
            self._stage(f"Last bake-off: {bakeoff.created} ({bakeoff.examples} examples).", 1.0)
        self.query_one("#eval-candidates", SelectionList).focus()

    @staticmethod
    def _rows(bakeoff: Bakeoff) -> list[dict[str, Any]]:
        from training.evaluation.harness import load_rows

        folder = Path(bakeoff.folder)
        return load_rows(folder) if (folder / "outputs.jsonl").is_file() else []

    # --- rendering ----------------------------------------------------------------------------------

    def show(self, bakeoff: Bakeoff | None, rows: list[dict[str, Any]]) -> None:
        """Render a bake-off (or how to run one) into the summary and examples tabs."""
        from training.evaluation.harness import split_folder

        self.bakeoff, self.rows = bakeoff, {str(r["id"]): r for r in rows}
        self.query_one(SummaryTable).show(bakeoff)
        verdict, reasons = self.query_one("#eval-verdict", Static), self.query_one("#eval-reasons", Static)
        diff, examples = self.query_one(ExampleDiff), self.query_one(ExampleTable)
        if bakeoff is None:
            verdict.update(NOTHING_YET if split_folder(self.project.root) is not None else NO_EVAL_SET)
            reasons.update("")
            examples.show([], [], "")
            diff.set_candidates([], None)
            return
        verdict.update(self.verdict_text(bakeoff))
        reasons.update(Text("\n".join(f"• {r[0].upper()}{r[1:]}." for r in bakeoff.metric_reasons)
                            + f"\nSaved in {shown_path(Path(bakeoff.folder))}/ (summary.md, outputs.jsonl)."))
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

    def _stage(self, text: str, fraction: float | None = None) -> None:
        self.query_one("#eval-stage", Label).update(text)
        if fraction is not None:
            self.query_one("#eval-bar", ProgressBar).update(progress=fraction)

    # --- the bake-off in a worker -------------------------------------------------------------------

    @on(Button.Pressed, "#eval-run")
    def _run_pressed(self) -> None:
        self.action_run()

    def action_run(self) -> None:
        """Run the bake-off with the ticked candidates and the settings typed in, in the background."""
        if self.cancel_event is not None:
            self.notify("The bake-off is already running (Escape cancels it).", severity="warning", markup=False)
            return
        names = list(self.query_one("#eval-candidates", SelectionList).selected)
        try:
            config = eval_config(names, self.query_one("#eval-limit", Input).value,
                                 self.query_one("#eval-tokens", Input).value)
        except TunewiseError as exc:
            self.report(exc)
            return
        self.cancel_event, self.running = threading.Event(), names
        self.query_one("#eval-run", Button).disabled = True
        self.query_one("#eval-cancel", Button).disabled = False
        self._stage("Starting (loading the eval set)…", 0.0)
        self.run_bakeoff(config, self.cancel_event)

    @work(thread=True, exclusive=True, exit_on_error=False, group="bakeoff")
    def run_bakeoff(self, config, cancel: threading.Event) -> None:
        """Run the bake-off off the UI thread; progress and every outcome go back as calls on the UI thread."""
        from training.evaluation.harness import run_bakeoff

        def progress(stage: str, done: int, total: int) -> None:
            self.app.call_from_thread(self._progress, stage, done, total)

        try:
            bakeoff = run_bakeoff(self.project.root, config, progress=progress, cancel=cancel,
                                  embedder=self.app.get_embedder())  # type: ignore[attr-defined]
            rows = self._rows(bakeoff)
        except Exception as exc:  # every failure becomes a notice on the UI thread, never a crash
            self.app.call_from_thread(self._failed, exc)
        else:
            self.app.call_from_thread(self._finished, bakeoff, rows)

    def _progress(self, stage: str, done: int, total: int) -> None:
        if self.is_attached and self.cancel_event is not None and not self.cancel_event.is_set():
            self._stage(stage_label(stage, done, total), overall_fraction(stage, done, total, self.running))

    def _finished(self, bakeoff: Bakeoff, rows: list[dict[str, Any]]) -> None:
        if not self.is_attached:  # the user left the screen meanwhile
            return
        self._idle()
        self.show(bakeoff, rows)
        self._stage(f"Done in {bakeoff.seconds:.0f} s: {bakeoff.examples} examples, {len(bakeoff.candidates)} candidates.", 1.0)
        self.query_one("#eval-tabs", TabbedContent).active = "tab-summary"
        self.notify(f"{bakeoff.winner.name} scores best on {bakeoff.primary}. Saved in {shown_path(Path(bakeoff.folder))}/.",
                    title="Bake-off finished", markup=False)

    def _failed(self, exc: Exception) -> None:
        if not self.is_attached:
            return
        self._idle()
        if isinstance(exc, CancelledError):
            self._stage("Cancelled: outputs generated so far are cached; Run resumes from them.")
            self.notify(exc.message, title="Cancelled", severity="warning", markup=False)
        else:
            self._stage(f"Failed: {getattr(exc, 'message', exc)}")
            self.report(exc)

    def _idle(self) -> None:
        self.cancel_event, self.running = None, []
        self.query_one("#eval-run", Button).disabled = False
        self.query_one("#eval-cancel", Button).disabled = True

    @on(Button.Pressed, "#eval-cancel")
    def action_cancel(self) -> None:
        """Cancel the running bake-off (it stops at the next batch; what was generated stays cached)."""
        if self.cancel_event is None:
            return
        self.cancel_event.set()
        self._stage("Cancelling (after the current batch)…")

    def on_unmount(self) -> None:
        """Leaving the screen (or quitting) cancels a running bake-off rather than leaving it behind."""
        if self.cancel_event is not None:
            self.cancel_event.set()

    # --- moving and the palette ---------------------------------------------------------------------

    def action_back(self) -> None:
        if self.cancel_event is not None:
            self.notify("The bake-off is still running: wait for it or cancel it (Escape).", severity="warning", markup=False)
            return
        self.app.goto("run")  # type: ignore[attr-defined]

    def action_report(self) -> None:
        """Say where the latest bake-off's Markdown report is."""
        if self.bakeoff is None:
            self.notify("No bake-off yet: run one first (r).", severity="warning", markup=False)
            return
        from training.evaluation.results import MARKDOWN_FILE

        path = Path(self.bakeoff.folder) / MARKDOWN_FILE
        self.notify(f"{shown_path(path)}", title="Bake-off report", markup=False)

    def palette_commands(self):
        yield PaletteCommand("Run the bake-off", "Compare the ticked candidates on the eval set", self.action_run)
        yield PaletteCommand("Cancel the bake-off", "Stop the running bake-off (outputs so far stay cached)", self.action_cancel)
        yield PaletteCommand("Open the bake-off report", "Show where summary.md of the latest bake-off is", self.action_report)
        for pane, title in (("tab-summary", "summary"), ("tab-examples", "examples")):
            yield PaletteCommand(f"Show bake-off {title}", f"Open the {title} tab",
                                 lambda pane=pane: setattr(self.query_one("#eval-tabs", TabbedContent), "active", pane))
