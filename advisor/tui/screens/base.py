"""What every step screen shares: header, the row of steps, the footer of key bindings, error notices."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Header

from advisor.tui.widgets.steps import StepBar

if TYPE_CHECKING:
    from advisor.project import Project

ResultType = TypeVar("ResultType")


class PaletteCommand(NamedTuple):
    """A command a screen offers in the command palette."""

    title: str
    help: str
    callback: Callable[[], object]


class StepScreen(Screen[ResultType]):
    """A step of the flow; subclasses set STEP and implement body()."""

    STEP = ""

    def __init__(self, project: Project | None = None) -> None:
        super().__init__()
        self.project = project

    def compose(self) -> ComposeResult:
        yield Header()
        yield StepBar(self.STEP, id="steps")
        yield from self.body()
        yield Footer()

    def body(self) -> ComposeResult:
        """The screen's own widgets."""
        yield from ()

    def palette_commands(self) -> Iterable[PaletteCommand]:
        """Commands this screen adds to the command palette."""
        return ()

    def report(self, exc: BaseException) -> None:
        """Show an error as a notice (never a crash)."""
        self.app.report_error(exc)  # type: ignore[attr-defined]
