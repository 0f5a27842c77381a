"""A one-line progress panel for a long job: what it is doing, and one bar over all of its stages."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widgets import Label, ProgressBar

STAGES = {"tokens": "Counting tokens", "embed": "Embedding", "dedupe": "Finding duplicates", "cluster": "Clustering"}
# Share of the whole bar each stage of curation fills (embedding dominates the time).
WEIGHTS = {"tokens": (0.0, 0.05), "embed": (0.05, 0.85), "dedupe": (0.85, 0.9), "cluster": (0.9, 1.0)}


class ProgressPanel(Horizontal):
    """Stage label and bar; `state` is idle, running, done, failed or cancelled."""

    state: reactive[str] = reactive("idle")

    def compose(self) -> ComposeResult:
        yield Label("Not run yet.", id="stage", markup=False)  # stages, paths and errors: never markup
        yield ProgressBar(total=1.0, show_eta=False, id="bar")

    def start(self, text: str = "Starting…") -> None:
        """Show a job starting."""
        self.state = "running"
        self.query_one("#bar", ProgressBar).update(total=1.0, progress=0.0)
        self.query_one("#stage", Label).update(text)

    def report(self, stage: str, done: int, total: int) -> None:
        """One progress(stage, done, total) callback from the library."""
        start, end = WEIGHTS.get(stage, (0.0, 1.0))
        fraction = 1.0 if total <= 0 else min(done / total, 1.0)
        self.query_one("#bar", ProgressBar).update(progress=start + (end - start) * fraction)
        counts = f" {done}/{total}" if total > 1 else ""
        self.query_one("#stage", Label).update(f"{STAGES.get(stage, stage)}{counts}")

    def finish(self, text: str) -> None:
        """Show the job finished."""
        self.state = "done"
        self.query_one("#bar", ProgressBar).update(total=1.0, progress=1.0)
        self.query_one("#stage", Label).update(text)

    def stop(self, text, state: str = "failed") -> None:
        """Show the job failed or cancelled (the bar stays where it was)."""
        self.state = state
        self.query_one("#stage", Label).update(text)

    def fail(self, exc: BaseException) -> bool:
        """Show a job that raised: "Cancelled." or "Failed: <message>"; True when it was cancelled."""
        from rich.text import Text

        from curation.errors import CancelledError

        cancelled = isinstance(exc, CancelledError)
        self.stop(Text("Cancelled." if cancelled else f"Failed: {getattr(exc, 'message', exc)}"),
                  "cancelled" if cancelled else "failed")
        return cancelled

    @property
    def fraction(self) -> float:
        """How much of the job is done, 0 to 1."""
        bar = self.query_one("#bar", ProgressBar)
        return float(bar.progress / bar.total) if bar.total else 0.0


class StagedProgress(ProgressPanel):
    """ProgressPanel over a job's own stages: `stages` maps stage → (label, start, end share of the bar)."""

    def __init__(self, stages: dict[str, tuple[str, float, float]], **kwargs) -> None:
        super().__init__(**kwargs)
        self.stages = stages

    def report(self, stage: str, done: int, total: int) -> None:
        """One progress(stage, done, total) callback from the library."""
        from advisor.tui.run_format import stage_position

        label, position = stage_position(self.stages, stage, done, total)
        self.query_one("#bar", ProgressBar).update(progress=position)
        self.query_one("#stage", Label).update(label)
