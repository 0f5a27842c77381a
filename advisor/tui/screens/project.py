"""Step 1: pick a project folder, create a new one, or start from the bundled sample."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Static

from advisor.project import Project, create_project, create_sample_project, is_project, open_project
from advisor.tui.screens.base import PaletteCommand, StepScreen
from curation.errors import TunewiseError, UsageError

INTRO = (
    "tunewise helps you decide between prompting, retrieval (RAG) and fine-tuning, from your own data.\n"
    "A project is a folder: your answers, the curated data, your review marks and the report live there.\n"
    "Type a folder and press Enter: an existing project opens where you left it; a new folder becomes a project."
)


class ProjectScreen(StepScreen[Project]):
    """Open or create a project; dismisses with the Project."""

    STEP = "project"
    BINDINGS = [Binding("ctrl+o", "sample", "New from sample")]

    def body(self) -> ComposeResult:
        with Vertical(id="project-body"):
            yield Static(INTRO, id="intro")
            yield Input(placeholder="folder, e.g. out/my-project", id="folder", select_on_focus=False)
            with Horizontal(classes="buttons"):
                yield Button("Open / create", id="open", variant="primary")
                yield Button("New from sample", id="sample", tooltip="Create a project on the bundled sample (ctrl+o)")
            yield Static("", id="project-hint")

    def on_mount(self) -> None:
        self.query_one("#folder", Input).focus()

    @on(Input.Changed, "#folder")
    def _describe(self, event: Input.Changed) -> None:
        folder = event.value.strip()
        hint = ""
        if folder:
            hint = "An existing project: Enter opens it." if is_project(Path(folder).expanduser()) else "Enter creates a new project here."
        self.query_one("#project-hint", Static).update(hint)

    @on(Input.Submitted, "#folder")
    @on(Button.Pressed, "#open")
    def open_or_create(self) -> None:
        """Open the typed folder's project, or create one there."""
        folder = self._folder()
        if folder is None:
            return
        try:
            project = open_project(folder) if is_project(folder) else create_project(folder)
        except TunewiseError as exc:
            self.report(exc)
            return
        self.dismiss(project)

    @on(Button.Pressed, "#sample")
    def new_from_sample(self) -> None:
        """Create a project on the bundled Northwind Bikes sample in the typed folder."""
        folder = self._folder()
        if folder is None:
            return
        try:
            project = open_project(folder) if is_project(folder) else create_sample_project(folder)
        except TunewiseError as exc:
            self.report(exc)
            return
        self.dismiss(project)

    def action_sample(self) -> None:
        """New from sample, from the keyboard."""
        self.new_from_sample()

    def _folder(self) -> Path | None:
        text = self.query_one("#folder", Input).value.strip()
        if not text:
            self.report(UsageError("No folder given.", "Type the folder of a project, or of a new one."))
            return None
        return Path(text).expanduser()

    def palette_commands(self):
        yield PaletteCommand("New project from sample", "Create a project on the bundled Northwind Bikes data in the typed folder", self.new_from_sample)
