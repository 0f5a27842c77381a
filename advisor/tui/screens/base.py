"""What every step screen shares: header, the row of steps, the footer of key bindings, error notices."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header

from advisor.tui.messages import ErrorRaised, GoTo
from advisor.tui.widgets.steps import StepBar

if TYPE_CHECKING:
    from advisor.project import Project
    from advisor.tui.models import SharedModels

ResultType = TypeVar("ResultType")


def tab_bindings(tabs: Iterable[str], action: str = "show_tab") -> list[Binding]:
    """alt+1, alt+2… open a screen's tabs (pane ids, in order); the footer shows them as one key, "alt+1…N tabs"."""
    panes = list(tabs)
    return [Binding(f"alt+{n}", f"{action}('{pane}')", "tabs" if n == 1 else f"tab {n}", show=n == 1,
                    key_display=f"alt+1…{len(panes)}" if n == 1 else None) for n, pane in enumerate(panes, 1)]


class PaletteCommand(NamedTuple):
    """A command a screen offers in the command palette."""

    title: str
    help: str
    callback: Callable[[], object]


class StepScreen(Screen[ResultType]):
    """A step of the flow; subclasses set STEP and implement body()."""

    STEP = ""

    def __init__(self, project: Project | None = None, models: SharedModels | None = None) -> None:
        super().__init__()
        self.project = project
        self.models = models  # the shared embedder and generator, for the screens that run jobs

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
        """Show an error as a notice (never a crash): the App hears ErrorRaised."""
        self.post_message(ErrorRaised(exc))

    def go(self, step: str) -> None:
        """Ask the App to show another step."""
        self.post_message(GoTo(step))
