"""Step 5: hand over to the chosen path: what will run, and the exact command to run it."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from advisor.project import RunPlan, run_plan
from advisor.tui.screens.base import PaletteCommand, StepScreen
from curation.errors import TunewiseError

HANDOVER = "These commands run in your terminal (quit with ctrl+q, paste, run); results land in the project folder."


class RunScreen(StepScreen[None]):
    """Shows the plan for the recommended path (given, or worked out again from the project on resume)."""

    STEP = "run"
    BINDINGS = [
        Binding("c", "copy", "Copy command"),
        Binding("ctrl+b", "back", "Back"),
    ]

    def __init__(self, project, path: str | None = None) -> None:
        super().__init__(project)
        self.path = path
        self.plan: RunPlan | None = None

    def body(self) -> ComposeResult:
        with VerticalScroll(id="run"):
            yield Static("", id="run-plan")
            yield Static("", id="run-command")
            yield Static("", id="run-notes")

    def on_mount(self) -> None:
        from advisor.recommend import PATH_LABELS

        try:
            if self.path is None:
                self.path = self._recommended_path()
            self.plan = run_plan(self.project, self.path)
        except TunewiseError as exc:
            self.query_one("#run-plan", Static).update(f"Nothing to run yet: {exc.message}")
            self.report(exc)
            return
        plan = Text()
        plan.append("Recommended: ", style="bold")
        plan.append(PATH_LABELS.get(self.path, self.path), style="bold reverse")
        plan.append("\n\nWhat will run\n", style="bold underline")
        for n, step in enumerate(self.plan.steps, 1):
            plan.append(f" {n}. {step}\n")
        plan.append("\nCommand" + ("s" if len(self.plan.commands) > 1 else "") + " (c copies)", style="bold underline")
        self.query_one("#run-plan", Static).update(plan)
        self.query_one("#run-command", Static).update(Text(self.plan.script))
        self.query_one("#run-notes", Static).update("\n".join([*self.plan.notes, HANDOVER]))

    def _recommended_path(self) -> str:
        from advisor.recommend import evidence_from_curation_dir, recommend

        evidence = evidence_from_curation_dir(self.project.curated_dir) if self.project.is_curated else None
        return recommend(self.project.load_answers(), evidence).path

    def action_copy(self) -> None:
        """Copy the command(s) to the clipboard (through the terminal)."""
        if self.plan is None:
            return
        self.app.copy_to_clipboard(self.plan.script)
        self.notify("Command copied to the clipboard.", title="Run")

    def action_back(self) -> None:
        self.app.goto("recommendation")  # type: ignore[attr-defined]

    def palette_commands(self):
        yield PaletteCommand("Copy run command", "Copy the command for the recommended path to the clipboard", self.action_copy)
