"""The one-line progress panel of every job: the stage with its counts, the time it has taken, and one bar.

The bar fills over all of a job's stages (`stages` maps a stage to its label and its share of the bar, or
`position` works the label and share out); a stage without a count (loading a model) shows an indeterminate bar,
and the elapsed time keeps ticking, so a long step never looks frozen.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widgets import Label, ProgressBar

from advisor.tui.run_format import LOAD_EMBEDDER, stage_position
from curation.durations import format_duration

# The stages of curation: label, and the share of the bar each fills (embedding dominates the time).
CURATION_STAGES = {
    "tokens": ("Counting tokens", 0.0, 0.05), LOAD_EMBEDDER: ("Loading the embedding model", 0.05, 0.05),
    "embed": ("Embedding", 0.05, 0.85), "dedupe": ("Finding duplicates", 0.85, 0.9), "cluster": ("Clustering", 0.9, 1.0),
}
Position = Callable[[str, int, int], "tuple[str, float | None]"]


class ProgressPanel(Horizontal):
    """Stage label (with the elapsed time while running) and bar; `state` is idle, running, done, failed or cancelled."""

    state: reactive[str] = reactive("idle")

    def __init__(self, stages: dict[str, tuple[str, float, float]] | None = None, position: Position | None = None,
                 idle: str = "Not run yet.", **kwargs) -> None:
        super().__init__(**kwargs)
        self.position: Position = position or partial(stage_position, stages or CURATION_STAGES)
        self.idle = idle
        self.label_text = idle
        self.started = 0.0

    def compose(self) -> ComposeResult:
        yield Label(self.idle, id="stage", markup=False)  # stages, paths and errors: never markup
        yield ProgressBar(total=1.0, show_eta=False, id="bar")

    def on_mount(self) -> None:
        self._ticker = self.set_interval(1.0, self._show, pause=True)

    def start(self, text: str = "Starting…") -> None:
        """Show a job starting (its clock starts now)."""
        self.state, self.started = "running", time.monotonic()
        self.query_one("#bar", ProgressBar).update(total=1.0, progress=0.0)
        self._ticker.resume()
        self._show(text)

    def report(self, stage: str, done: int, total: int) -> None:
        """One progress(stage, done, total) report of the job."""
        label, fraction = self.position(stage, done, total)
        bar = self.query_one("#bar", ProgressBar)
        if fraction is None:
            bar.update(total=None)  # no count to show: the bar pulses
        else:
            bar.update(total=1.0, progress=fraction)
        self._show(label)

    def note(self, text: str) -> None:
        """Say what the running job does now (the bar stays)."""
        self._show(text)

    def finish(self, text: str) -> None:
        """Show the job finished."""
        self.state = "done"
        self._ticker.pause()
        self.query_one("#bar", ProgressBar).update(total=1.0, progress=1.0)
        self._show(text)

    def stop(self, text: str, state: str = "failed") -> None:
        """Show the job failed or cancelled (the bar stays where it was); state "running" while it winds down."""
        self.state = state
        bar = self.query_one("#bar", ProgressBar)
        if state != "running":
            self._ticker.pause()
            if bar.total is None:
                bar.update(total=1.0, progress=0.0)
        self._show(text)

    def _show(self, text: str | None = None) -> None:
        """The label: the text, and while running the time since the start."""
        if text is not None:
            self.label_text = text
        clock = f" · {format_duration(time.monotonic() - self.started, clock=True)}" if self.state == "running" else ""
        self.query_one("#stage", Label).update(self.label_text + clock)

    @property
    def fraction(self) -> float:
        """How much of the job is done, 0 to 1 (0 while the bar pulses)."""
        bar = self.query_one("#bar", ProgressBar)
        return float(bar.progress / bar.total) if bar.total else 0.0
