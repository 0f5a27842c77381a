"""The tunewise app: project → interview → data → recommendation → run, resumable, errors as notices."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable
from functools import partial
from pathlib import Path

from textual import on
from textual.app import App
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider

from advisor.project import STEPS, Project, create_sample_project, is_project, open_or_create
from advisor.tui.app_wording import app_hint
from advisor.tui.jobs import Job
from advisor.tui.messages import ErrorRaised, GoTo
from advisor.tui.models import SharedModels
from advisor.tui.screens.base import PaletteCommand, StepScreen
from curation.errors import TunewiseError


class TunewiseCommands(Provider):
    """Command palette entries: go to a step, plus whatever the current screen offers (curate, export, copy…)."""

    def commands(self) -> list[PaletteCommand]:
        app = self.app
        commands = list(app.step_commands()) if isinstance(app, TunewiseApp) else []
        if isinstance(self.screen, StepScreen):
            commands += list(self.screen.palette_commands())
        return commands

    async def discover(self) -> Hits:
        for command in self.commands():
            yield DiscoveryHit(command.title, command.callback, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self.commands():
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(score, matcher.highlight(command.title), command.callback, help=command.help)


class TunewiseApp(App[None]):
    """The whole flow; `project_dir` opens (or creates) a project and resumes it, `sample` starts it on the sample."""

    TITLE = "tunewise"
    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {TunewiseCommands}
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True)]

    def __init__(self, project_dir: str | Path | None = None, sample: bool = False, embedder=None) -> None:
        super().__init__()
        self.project_dir = Path(project_dir) if project_dir is not None else None
        self.sample = sample
        self.project: Project | None = None
        self.models = SharedModels(embedder)  # handed down to the screens that run jobs
        self.jobs: weakref.WeakSet[threading.Event] = weakref.WeakSet()  # cancel tokens of the jobs under way

    def on_mount(self) -> None:
        if self.project_dir is None:
            self.goto("project")
            return
        try:
            if self.sample and not is_project(self.project_dir):
                project = create_sample_project(self.project_dir)
            else:
                project = open_or_create(self.project_dir)
        except TunewiseError as exc:
            self.report_error(exc)
            self.goto("project")
            return
        self.open(project)

    # --- the flow -----------------------------------------------------------------------------------

    def open(self, project: Project) -> None:
        """Make this the current project and resume it where it was left."""
        self.project = project
        self.sub_title = project.name
        self.goto(project.state.screen if project.state.screen != "project" else "interview")

    def goto(self, step: str, result: object = None) -> None:
        """Show a step (replacing the current one) and remember it in the project, so reopening resumes there.

        `result` is what the previous step's screen returned (the run step takes the recommendation's path from it).
        """
        if step != "project" and self.project is None:
            step = "project"
        try:
            screen = self._make(step, result)
            if self.project is not None and step != "project":
                self.project.reach(step)
        except TunewiseError as exc:
            self.report_error(exc)
            if len(self.screen_stack) <= 1 and step != "project":  # nothing shown yet: let the user pick a project
                self.goto("project")
            return
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.push_screen(screen, partial(self._finished, step))

    def _make(self, step: str, result: object = None) -> StepScreen:
        """The screen of a step (screen modules are imported on first use, to start fast)."""
        project = self.project
        if step == "project":
            from advisor.tui.screens.project import ProjectScreen

            return ProjectScreen()
        models = self.models
        if step == "interview":
            from advisor.tui.screens.interview import InterviewScreen

            return InterviewScreen(project, project.load_answers(), project.state.question)
        if step == "data":
            from advisor.tui.screens.data import DataScreen

            return DataScreen(project, models)
        if step == "recommendation":
            from advisor.tui.screens.recommendation import RecommendationScreen

            return RecommendationScreen(project)
        if step == "evaluate":
            from advisor.tui.screens.evaluate import EvaluateScreen

            return EvaluateScreen(project, models)
        from advisor.tui.screens.run import RunScreen

        return RunScreen(project, getattr(result, "path", None), models)

    def _finished(self, step: str, result: object) -> None:
        """A step's screen was dismissed with its result: go on to the next step."""
        if step == "project":
            if isinstance(result, Project):
                self.open(result)
            return
        if STEPS.index(step) + 1 < len(STEPS):
            self.goto(STEPS[STEPS.index(step) + 1], result)

    def step_commands(self) -> Iterable[PaletteCommand]:
        """'Go to …' for every step."""
        for step in STEPS:
            if step == "project" or self.project is not None:
                yield PaletteCommand(f"Go to {step}", f"Show the {step} step", partial(self.goto, step))

    def action_goto(self, step: str) -> None:
        self.goto(step)

    async def action_quit(self) -> None:
        """Quit at once: every running job is told to stop (training keeps a checkpoint, a bake-off its outputs)."""
        for cancel in list(self.jobs):
            cancel.set()
        self.exit()

    # --- what screens and widgets send up -----------------------------------------------------------

    @on(GoTo)
    def _go_to(self, message: GoTo) -> None:
        self.goto(message.step)

    @on(ErrorRaised)
    def _error_raised(self, message: ErrorRaised) -> None:
        self.report_error(message.error)

    @on(Job.Started)
    def _job_started(self, message: Job.Started) -> None:
        self.jobs.add(message.cancel)

    @on(Job.Failed)
    def _job_failed(self, message: Job.Failed) -> None:
        self.report_error(message.error)

    @on(Job.Cancelled)
    def _job_cancelled(self, message: Job.Cancelled) -> None:
        """A cancel is a warning notice: what was kept, how to go on."""
        self.notify(message.text, title="Cancelled", severity="warning", markup=False)

    def report_error(self, exc: BaseException) -> None:
        """An error as a notice: the library's message and hint (in the app's words), or the exception for anything
        unexpected.

        Messages echo paths, ids and values the user typed, so every notice of the app is plain text (markup=False).
        """
        if isinstance(exc, TunewiseError):
            hint = app_hint(exc.hint)
            text = exc.message + (f"\n{hint}" if hint else "")
            self.notify(text, title=exc.title, severity="error", timeout=10, markup=False)
        else:
            self.notify(f"{type(exc).__name__}: {exc}", title="Unexpected error", severity="error", timeout=10,
                        markup=False)


def run_app(project_dir: str | Path | None = None, sample: bool = False) -> None:
    """Run the app in the terminal."""
    TunewiseApp(project_dir, sample).run()

