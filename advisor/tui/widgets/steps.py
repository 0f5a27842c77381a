"""The row of steps at the top of every screen, the current one highlighted."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

STEP_TITLES = {"project": "Project", "interview": "Interview", "data": "Data", "recommendation": "Recommendation", "run": "Run",
               "evaluate": "Evaluate"}


class StepBar(Static):
    """Project › Interview › Data › Recommendation › Run › Evaluate, with the current step marked."""

    step: reactive[str] = reactive("project")

    def __init__(self, step: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.set_reactive(StepBar.step, step)

    def render(self) -> Text:
        text = Text()
        steps = list(STEP_TITLES)
        current = steps.index(self.step) if self.step in steps else 0
        for n, title in enumerate(STEP_TITLES.values()):
            if n:
                text.append(" › ", style="dim")
            style = "bold reverse" if n == current else ("" if n < current else "dim")
            text.append(f" {title} " if n == current else title, style=style)
        return text
