"""Step 3: load the data, curate it in a worker (progress, cancel), review what curation found and mark examples."""

from __future__ import annotations

import shlex
import threading

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Static, TabbedContent, TabPane

from advisor.project import CurationView, shown_path
from advisor.tui.screens.base import PaletteCommand, StepScreen
from advisor.tui.widgets.duplicates import DuplicateReview
from advisor.tui.widgets.example import status_label
from advisor.tui.widgets.overview import Overview
from advisor.tui.widgets.progress import ProgressPanel
from advisor.tui.widgets.tables import ClusterTable, ConflictTable, FlagTable, ProblemTable
from curation.errors import TunewiseError

TABS = {"tab-overview": "Overview", "tab-duplicates": "Duplicates", "tab-clusters": "Clusters",
        "tab-conflicts": "Conflicts", "tab-flags": "Flags", "tab-errors": "Errors"}


class DataScreen(StepScreen["CurationView | None"]):
    """Curation and review; dismisses with what the last curation found (None if never run)."""

    STEP = "data"
    BINDINGS = [
        Binding("ctrl+r", "curate", "Curate"),
        Binding("escape", "cancel", "Cancel run", show=False),
        Binding("ctrl+s", "export", "Export"),
        Binding("ctrl+b", "back", "Back"),
        Binding("ctrl+n", "next", "Next"),
    ]

    def __init__(self, project) -> None:
        super().__init__(project)
        self.view: CurationView | None = None
        self.marks: dict[str, str] = {}
        self.problems: list[dict] = []
        self.cancel_event: threading.Event | None = None

    def body(self) -> ComposeResult:
        with Vertical(id="data"):
            with Horizontal(id="data-row"):
                yield Input(placeholder="data file(s): .jsonl, .json or .csv", id="data-path")
                yield Button("Curate", id="curate", variant="primary")
                yield Button("Cancel", id="cancel", variant="error", disabled=True)
            yield ProgressPanel(id="progress")
            with TabbedContent(id="tabs"):
                with TabPane(TABS["tab-overview"], id="tab-overview"):
                    yield Overview(id="overview")
                with TabPane(TABS["tab-duplicates"], id="tab-duplicates"):
                    yield DuplicateReview(id="duplicates")
                with TabPane(TABS["tab-clusters"], id="tab-clusters"):
                    yield ClusterTable(id="clusters")
                with TabPane(TABS["tab-conflicts"], id="tab-conflicts"):
                    yield ConflictTable(id="conflicts")
                with TabPane(TABS["tab-flags"], id="tab-flags"):
                    yield FlagTable(id="flags")
                with TabPane(TABS["tab-errors"], id="tab-errors"):
                    yield Static("", id="errors-note")
                    yield ProblemTable(id="problems")
                    with Horizontal(classes="buttons"):
                        yield Button("Curate without the invalid records", id="skip-invalid")

    def on_mount(self) -> None:
        field = self.query_one("#data-path", Input)
        field.value = shlex.join(shown_path(p) for p in self.project.data_paths)
        try:
            self.view = self.project.load_curation()
            self.marks = self.project.decisions()
        except TunewiseError as exc:
            self.report(exc)
        if self.view is not None:
            self.query_one(ProgressPanel).finish(self._summary("Curated"))
            self.query_one("#tabs", TabbedContent).focus()
        else:
            field.focus()
        self.render_all()

    # --- rendering ----------------------------------------------------------------------------------

    def labels(self) -> dict[str, str]:
        """Status label of every example, after the curator's marks."""
        view = self.view
        return {i: status_label(view.default(i), view.status(i, self.marks)) for i in view.records} if view else {}

    def render_all(self) -> None:
        """Push the current curation, marks and problems down into every tab."""
        view = self.view
        problems = self.problems or (view.report.get("problems", []) if view else [])
        labels, records = self.labels(), (view.records if view else {})
        restored, dropped = view.mark_counts(self.marks) if view else (0, 0)
        self.query_one(Overview).show(view.report if view else None, restored, dropped)
        pairs = view.duplicates() if view else []
        groups = view.conflict_groups() if view else []
        flags = view.other_flags() if view else []
        self.query_one(DuplicateReview).show(pairs, records, labels)
        self.query_one(ClusterTable).show(view.clusters if view else [], records)
        self.query_one(ConflictTable).show(groups, records, labels)
        self.query_one(FlagTable).show(flags)
        self.query_one(ProblemTable).show(problems)
        self.query_one("#skip-invalid", Button).display = bool(self.problems)
        if self.problems:
            note = f"{len(self.problems)} problem(s): nothing was curated. Fix the lines, or curate without them."
        elif problems:
            note = f"{len(problems)} problem(s); the invalid records were left out (curated/rejected.jsonl)."
        else:
            note = "No validation problems." if view else ""
        self.query_one("#errors-note", Static).update(note)
        tabs = self.query_one("#tabs", TabbedContent)
        for pane, count in (("tab-duplicates", len(pairs)), ("tab-conflicts", len(groups)), ("tab-flags", len(flags)), ("tab-errors", len(problems))):
            tabs.get_tab(pane).label = f"{TABS[pane]} {count}" if count else TABS[pane]

    def _summary(self, verb: str) -> str:
        c = self.view.report["counts"] if self.view else {}
        return f"{verb}: {c.get('kept', 0)} kept of {c.get('valid', 0)} valid, {c.get('removed', 0)} removed."

    # --- curation in a worker -----------------------------------------------------------------------

    @on(Button.Pressed, "#curate")
    @on(Input.Submitted, "#data-path")
    def _curate_pressed(self) -> None:
        self.action_curate()

    def action_curate(self, skip_invalid: bool | None = None) -> None:
        """Save the data path(s) and curate them in the background."""
        if self.cancel_event is not None:
            self.notify("Curation is already running (Escape cancels it).", severity="warning", markup=False)
            return
        try:
            paths = shlex.split(self.query_one("#data-path", Input).value)
            self.project.set_data(paths, skip_invalid=skip_invalid)
        except ValueError as exc:  # unbalanced quotes
            self.report(exc)
            return
        except TunewiseError as exc:
            self.report(exc)
            return
        self.cancel_event = threading.Event()
        self.query_one("#curate", Button).disabled = True
        self.query_one("#cancel", Button).disabled = False
        panel = self.query_one(ProgressPanel)
        panel.start("Loading and validating…")
        self.curate(self.cancel_event, panel)

    @on(Button.Pressed, "#skip-invalid")
    def curate_skipping_invalid(self) -> None:
        """Curate again, leaving out the records that failed validation."""
        self.action_curate(skip_invalid=True)

    @work(thread=True, exclusive=True, exit_on_error=False, group="curation")
    def curate(self, cancel: threading.Event, panel: ProgressPanel) -> None:
        """Run curation off the UI thread, reporting progress; every outcome goes back as a call on the UI thread."""

        def progress(stage: str, done: int, total: int) -> None:
            self.app.call_from_thread(panel.report, stage, done, total)

        try:
            self.project.curate(progress=progress, cancel=cancel, embedder=self.app.get_embedder())  # type: ignore[attr-defined]
            view = self.project.load_curation()
        except Exception as exc:  # every failure becomes a notice on the UI thread, never a crash
            self.app.call_from_thread(self._failed, exc)
        else:
            self.app.call_from_thread(self._finished, view)

    def on_unmount(self) -> None:
        """Leaving the screen (or quitting) cancels a running curation rather than leaving it behind."""
        if self.cancel_event is not None:
            self.cancel_event.set()

    def _finished(self, view: CurationView | None) -> None:
        if not self.is_attached:  # the user left the screen meanwhile
            return
        self.cancel_event = None
        self.view, self.problems = view, []
        self._idle()
        self.query_one(ProgressPanel).finish(self._summary("Done"))
        self.render_all()
        self.notify(self._summary("Curation finished"), title="Data", markup=False)

    def _failed(self, exc: Exception) -> None:
        if not self.is_attached:
            return
        self.cancel_event = None
        self._idle()
        cancelled = self.query_one(ProgressPanel).fail(exc)  # the message (often a path) shown verbatim
        problems = getattr(exc, "problems", None)
        if problems:
            self.problems = [p.to_dict() for p in problems]
            self.render_all()
            self.query_one("#tabs", TabbedContent).active = "tab-errors"
        if cancelled:
            self.notify(exc.message, title="Cancelled", severity="warning", markup=False)
        else:
            self.report(exc)

    def _idle(self) -> None:
        self.query_one("#curate", Button).disabled = False
        self.query_one("#cancel", Button).disabled = True

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Cancel a running curation (it stops at the next checkpoint)."""
        if self.cancel_event is None:
            return
        self.cancel_event.set()
        self.query_one(ProgressPanel).stop("Cancelling…", "running")

    # --- the curator's marks and export -------------------------------------------------------------

    @on(DuplicateReview.Toggled)
    @on(ConflictTable.Toggled)
    def toggle(self, event: DuplicateReview.Toggled | ConflictTable.Toggled) -> None:
        """Flip an example between kept and removed; the mark is saved at once and can always be undone."""
        view, example_id = self.view, event.example_id
        if view is None or example_id not in view.records:
            return
        wanted = "keep" if view.status(example_id, self.marks) == "remove" else "remove"
        try:
            self.marks = self.project.set_decision(example_id, None if wanted == view.default(example_id) else wanted)
        except TunewiseError as exc:
            self.report(exc)
            return
        self.render_all()

    def action_export(self) -> None:
        """Write export/ (clean, train, eval, removed) with the marks applied."""
        try:
            summary, stale = self.project.export()
        except TunewiseError as exc:
            self.report(exc)
            return
        note = f" {len(stale)} mark(s) for examples not in this run were left out." if stale else ""
        self.notify(f"{summary.kept} examples to {shown_path(summary.out_dir)}/ ({len(summary.restored)} restored, {len(summary.dropped)} removed by you).{note}", title="Exported", markup=False)

    # --- moving -------------------------------------------------------------------------------------

    def _busy(self) -> bool:
        if self.cancel_event is not None:
            self.notify("Curation is still running: wait for it or cancel it (Escape).", severity="warning", markup=False)
        return self.cancel_event is not None

    def action_back(self) -> None:
        if not self._busy():
            self.app.goto("interview")  # type: ignore[attr-defined]

    def action_next(self) -> None:
        if not self._busy():
            self.dismiss(self.view)

    def palette_commands(self):
        yield PaletteCommand("Curate data", "Run curation on the data file(s)", self.action_curate)
        yield PaletteCommand("Cancel curation", "Stop the running curation", self.action_cancel)
        yield PaletteCommand("Export data", "Write export/ with your keep/remove marks applied", self.action_export)
        for pane, title in TABS.items():
            yield PaletteCommand(f"Show {title.lower()}", f"Open the {title.lower()} tab", lambda pane=pane: setattr(self.query_one("#tabs", TabbedContent), "active", pane))
