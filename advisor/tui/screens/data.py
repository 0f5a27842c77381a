"""Step 3: load the data, curate it as a job (progress, cancel), review what curation found and mark examples."""

from __future__ import annotations

import shlex

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Static, TabbedContent, TabPane

from advisor.project import CurationView, shown_path
from advisor.tui.jobs import Job, JobRunner
from advisor.tui.screens.base import PaletteCommand, StepScreen, tab_bindings
from advisor.tui.widgets.detail import DetailScreen, cluster_detail, conflict_detail, flag_detail
from advisor.tui.widgets.duplicates import DuplicateReview
from advisor.tui.widgets.example import status_label
from advisor.tui.widgets.overview import Overview
from advisor.tui.widgets.progress import ProgressPanel
from advisor.tui.widgets.tables import ClusterTable, ConflictTable, FlagTable, ProblemTable, flag_why
from curation import split_files
from curation.errors import TunewiseError

TABS = {"tab-overview": "Overview", "tab-duplicates": "Duplicates", "tab-clusters": "Clusters",
        "tab-conflicts": "Conflicts", "tab-flags": "Flags", "tab-errors": "Errors"}


class DataScreen(StepScreen["CurationView | None"]):
    """Curation and review; dismisses with what the last curation found (None if never run)."""

    STEP = "data"
    BINDINGS = [
        Binding("ctrl+r", "curate", "Curate"),
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "export", "Export"),
        Binding("ctrl+g", "skip_invalid", "Curate without invalid"),
        Binding("ctrl+b", "back", "Back"),
        Binding("ctrl+n", "next", "Next"),
        *tab_bindings(TABS),
    ]

    def __init__(self, project, models=None) -> None:
        super().__init__(project, models)
        self.view: CurationView | None = None
        self.marks: dict[str, str] = {}
        self._groups: tuple[CurationView | None, list] = (None, [])  # review groups of the view they were made from
        self.problems: list[dict] = []
        self.job = JobRunner(self, "curate")
        self._offer = (False, False)  # (running, invalid records) as the footer shows them

    def body(self) -> ComposeResult:
        with Vertical(id="data"):
            with Horizontal(id="data-row"):
                yield Input(placeholder="data file(s): .jsonl, .json or .csv", id="data-path", select_on_focus=False)
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
                        yield Button("Curate without the invalid records", id="skip-invalid",
                                     tooltip="Curate again, leaving the invalid records out (ctrl+g)")

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
        conflicts = view.conflict_groups() if view else []
        flags = view.other_flags() if view else []
        groups = self.review_groups()
        self.query_one(DuplicateReview).show(pairs, records, labels, groups, {g.id: g.status(self.marks) for g in groups})
        self.query_one(ClusterTable).show(view.clusters if view else [], records)
        self.query_one(ConflictTable).show(conflicts, records, labels)
        self.query_one(FlagTable).show(flags)
        self.query_one(ProblemTable).show(problems)
        self.query_one("#skip-invalid", Button).display = bool(self.problems)
        self._refresh_offer()
        if self.problems:
            note = f"{len(self.problems)} problem(s): nothing was curated. Fix the lines, or curate without them."
        elif problems:
            rejected = shown_path(self.project.layout.curated / split_files.REJECTED)
            note = f"{len(problems)} problem(s); the invalid records were left out ({rejected})."
        else:
            note = "No validation problems." if view else ""
        self.query_one("#errors-note", Static).update(note)
        tabs = self.query_one("#tabs", TabbedContent)
        for pane, count in (("tab-duplicates", len(pairs)), ("tab-conflicts", len(conflicts)), ("tab-flags", len(flags)), ("tab-errors", len(problems))):
            tabs.get_tab(pane).label = f"{TABS[pane]} {count}" if count else TABS[pane]

    def review_groups(self) -> list:
        """The possible duplicates as ranked review groups (made once per curation view)."""
        from advisor.project.review import groups_of

        view, groups = self._groups
        if view is not self.view:
            groups = groups_of(self.view) if self.view is not None else []
            self._groups = (self.view, groups)
        return groups

    def _summary(self, verb: str) -> str:
        c = self.view.report["counts"] if self.view else {}
        return f"{verb}: {c.get('kept', 0)} kept of {c.get('valid', 0)} valid, {c.get('removed', 0)} removed."

    # --- curation in a worker -----------------------------------------------------------------------

    @on(Button.Pressed, "#curate")
    @on(Input.Submitted, "#data-path")
    def _curate_pressed(self) -> None:
        self.action_curate()

    def action_curate(self, skip_invalid: bool | None = None) -> None:
        """Save the data path(s) and curate them as a job."""
        if self.job.running:
            self.notify("Curation is already running (escape cancels it).", severity="warning", markup=False)
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
        project, models = self.project, self.models
        self.job.start(lambda progress, cancel: self._curate(project, models, progress, cancel))
        self.query_one("#curate", Button).disabled = True
        self.query_one("#cancel", Button).disabled = False
        self.query_one(ProgressPanel).start("Loading and validating…")
        self._refresh_offer()

    @staticmethod
    def _curate(project, models, progress, cancel) -> CurationView | None:
        """The job: curate the project's data (in a worker thread) and read the outputs back."""
        project.curate(progress=progress, cancel=cancel, embedder=models.embedder())
        return project.load_curation()

    @on(Button.Pressed, "#skip-invalid")
    def action_skip_invalid(self) -> None:
        """Curate again, leaving out the records that failed validation."""
        self.action_curate(skip_invalid=True)

    def on_unmount(self) -> None:
        """Leaving the screen (or quitting) cancels a running curation rather than leaving it behind."""
        self.job.cancel()

    @on(Job.Progress)
    def _progressed(self, message: Job.Progress) -> None:
        if not self.job.cancelling:
            self.query_one(ProgressPanel).report(message.stage, message.done, message.total)

    @on(Job.Finished)
    def _finished(self, message: Job.Finished) -> None:
        self.job.done()
        self.view, self.problems = message.result, []
        self._idle()
        self.query_one(ProgressPanel).finish(self._summary("Done"))
        self.render_all()
        self.notify(self._summary("Curation finished"), title="Data", markup=False)

    @on(Job.Failed)
    def _failed(self, message: Job.Failed) -> None:
        """Shown on the progress line (verbatim: often a path); the App shows the notice."""
        self.job.done()
        self._idle()
        exc = message.error
        self.query_one(ProgressPanel).stop(f"Failed: {getattr(exc, 'message', exc)}")
        problems = getattr(exc, "problems", None)
        if problems:
            self.problems = [p.to_dict() for p in problems]
            self.render_all()
            self.query_one("#tabs", TabbedContent).active = "tab-errors"

    @on(Job.Cancelled)
    def _cancelled(self, message: Job.Cancelled) -> None:
        self.job.done()
        self._idle()
        self.query_one(ProgressPanel).stop("Cancelled.", "cancelled")

    def _idle(self) -> None:
        self.query_one("#curate", Button).disabled = False
        self.query_one("#cancel", Button).disabled = True
        self._refresh_offer()

    def _refresh_offer(self) -> None:
        """Redraw the footer when what it offers (Cancel, curating without the invalid records) changes."""
        offer = (self.job.running, bool(self.problems))
        if offer != self._offer:
            self._offer = offer
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The footer offers Cancel while curation runs, and curating without the invalid records when there are some."""
        if action == "cancel":
            return self.job.running
        if action == "skip_invalid":
            return bool(self.problems)
        return True

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Cancel a running curation (it stops at the next checkpoint)."""
        if not self.job.running:
            return
        self.job.cancel()
        self.query_one(ProgressPanel).stop("Cancelling…", "running")

    # --- seeing a row whole ---------------------------------------------------------------------------

    def action_show_tab(self, pane: str) -> None:
        """Open a tab of the review."""
        self.query_one("#tabs", TabbedContent).active = pane

    @on(ConflictTable.Opened)
    def _conflict_opened(self, message: ConflictTable.Opened) -> None:
        view = self.view
        if view is None:
            return
        groups = view.conflict_groups()
        group = next((n for n, members in enumerate(groups) if message.key in members), None)
        if group is not None:
            text = conflict_detail(group + 1, groups[group], view.records, self.labels(), view.flags)
            self.app.push_screen(DetailScreen(f"Conflict group {group + 1}", text))

    @on(FlagTable.Opened)
    def _flag_opened(self, message: FlagTable.Opened) -> None:
        flags = self.view.other_flags() if self.view else []
        if message.key.isdigit() and int(message.key) < len(flags):
            flag = flags[int(message.key)]
            text = flag_detail(flag, flag_why(flag), self.view.records.get(flag["id"]), self.labels().get(flag["id"], ""))
            self.app.push_screen(DetailScreen(f"{flag['id']}: {flag['kind']}", text))

    @on(ClusterTable.Opened)
    def _cluster_opened(self, message: ClusterTable.Opened) -> None:
        clusters = {str(c.get("id")): c for c in (self.view.clusters if self.view else [])}
        if message.key in clusters:
            text = cluster_detail(clusters[message.key], self.view.records)
            self.app.push_screen(DetailScreen(f"Cluster {message.key}", text))

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

    @on(DuplicateReview.GroupDecided)
    def decide_group(self, event: DuplicateReview.GroupDecided) -> None:
        """Accept or reject a whole group of possible duplicates; saved at once, undoable."""
        from advisor.project.review import decide_group

        try:
            done = decide_group(self.project, event.group_id, event.decision, groups=self.review_groups())
        except TunewiseError as exc:
            self.report(exc)
            return
        self.marks = done.marks
        self.render_all()
        removed = f": {len(done.removed)} marked removed" if done.removed else ": all kept"
        self.notify(f"Group {event.group_id} {event.decision}ed{removed} (u undoes it).", title="Review", markup=False)

    @on(DuplicateReview.UndoRequested)
    def action_undo(self) -> None:
        """Take back the last change of the marks (a group decision or a single keep/remove)."""
        from advisor.project.review import undo

        try:
            action, self.marks = undo(self.project)
        except TunewiseError as exc:
            self.report(exc)
            return
        self.render_all()
        self.notify(f"Undone: {action}.", title="Review", markup=False)

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
        if self.job.running:
            self.notify("Curation is still running: wait for it or cancel it (escape).", severity="warning", markup=False)
        return self.job.running

    def action_back(self) -> None:
        if not self._busy():
            self.go("interview")

    def action_next(self) -> None:
        if not self._busy():
            self.dismiss(self.view)

    def palette_commands(self):
        yield PaletteCommand("Curate data", "Run curation on the data file(s)", self.action_curate)
        yield PaletteCommand("Cancel curation", "Stop the running curation", self.action_cancel)
        yield PaletteCommand("Undo review decision", "Take back the last keep/remove mark or group decision", self.action_undo)
        yield PaletteCommand("Export data", "Write the export folder with your keep/remove marks applied", self.action_export)
        for n, (pane, title) in enumerate(TABS.items(), 1):
            yield PaletteCommand(f"Show {title.lower()}", f"Open the {title.lower()} tab (alt+{n})", lambda pane=pane: self.action_show_tab(pane))
