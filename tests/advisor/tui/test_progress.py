"""The progress panel never looks frozen: real counts, the stage's name when it is new, a pulsing bar when a stage
has no count (a model loading), and the time the job has taken, ticking."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Label, ProgressBar

from advisor.tui.widgets.progress import ProgressPanel


class PanelApp(App[None]):
    def compose(self) -> ComposeResult:
        yield ProgressPanel()


def _label(panel: ProgressPanel) -> str:
    return str(panel.query_one("#stage", Label).render())


async def test_stages_counts_unknown_stages_and_the_clock():
    app = PanelApp()
    async with app.run_test() as pilot:
        panel = app.query_one(ProgressPanel)
        bar = panel.query_one("#bar", ProgressBar)
        panel.start("Loading and validating…")
        panel.report("load embedder", 0, 1)  # the embedding model loads: no count
        await pilot.pause()
        assert _label(panel) == "Loading the embedding model · 0:00" and bar.total is None
        panel.report("embed", 320, 640)
        await pilot.pause()
        assert _label(panel) == "Embedding 320/640 · 0:00" and panel.fraction == pytest.approx(0.45)
        panel.report("rerank", 0, 0)  # a stage this app does not know yet: its name, and the bar pulses
        await pilot.pause()
        assert _label(panel) == "rerank · 0:00" and bar.total is None
        panel.started -= 75  # the clock ticks every second, without a report
        await pilot.pause(1.2)
        assert _label(panel) in ("rerank · 1:16", "rerank · 1:17")  # 75 s plus the wait
        panel.finish("Done.")
        await pilot.pause()
        assert _label(panel) == "Done." and panel.fraction == 1.0 and panel.state == "done"
