"""Step 4: the recommendation, PM-first as the report (verdict, reasons, answers to check, money and time; technical
detail collapsed), and the report export."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll

from advisor.project import advise, shown_path
from advisor.tui.screens.base import PaletteCommand, StepScreen
from advisor.tui.widgets.verdict import RecommendationDetail, RecommendationView
from curation.errors import TunewiseError

if TYPE_CHECKING:
    from advisor.recommend import Recommendation


class RecommendationScreen(StepScreen["Recommendation"]):
    """Computes the recommendation from the saved answers and the last curation; dismisses with it."""

    STEP = "recommendation"
    BINDINGS = [
        Binding("ctrl+s", "export", "Export"),
        Binding("ctrl+b", "back", "Back"),
        Binding("ctrl+n", "next", "Next"),
    ]

    def __init__(self, project) -> None:
        super().__init__(project)
        self.recommendation: Recommendation | None = None
        self.answers = None
        self.evidence = None
        self.bakeoff = None

    def body(self) -> ComposeResult:
        with VerticalScroll(id="recommendation"):
            yield RecommendationView("Working out the recommendation…", id="verdict")
            yield RecommendationDetail(id="verdict-detail")

    def on_mount(self) -> None:
        try:
            advice = advise(self.project)  # the answers, the last curation and the latest bake-off: as `tunewise advise`
        except TunewiseError as exc:
            self.query_one(RecommendationView).update(Text(f"No recommendation: {exc.message}"))
            self.query_one(RecommendationDetail).display = False
            self.report(exc)
            return
        self.answers, self.evidence, self.bakeoff = advice.answers, advice.evidence, advice.bakeoff
        self.recommendation = advice.recommendation
        self.query_one(RecommendationView).show(self.recommendation)
        self.query_one(RecommendationDetail).show(self.recommendation)
        self.query_one("#recommendation").focus()

    def action_export(self) -> None:
        """Save report.md and report.json in the project, and export the data with the curator's marks applied."""
        from advisor.report import render_markdown, report_json

        if self.recommendation is None:
            self.notify("There is no recommendation to export.", severity="warning", markup=False)
            return
        try:
            self.project.write_report(render_markdown(self.recommendation, self.answers, self.evidence),
                                      report_json(self.recommendation, self.answers, self.evidence))
            exported = ""
            if self.project.is_curated:
                summary, _ = self.project.export()
                exported = f"; {summary.kept} examples to {shown_path(summary.out_dir)}/"
        except (TunewiseError, OSError) as exc:
            self.report(exc)
            return
        self.notify(f"Saved {shown_path(self.project.report_md)} and {self.project.report_json.name}{exported}.", title="Exported", markup=False)

    def action_back(self) -> None:
        self.go("data")

    def action_next(self) -> None:
        if self.recommendation is not None:
            self.dismiss(self.recommendation)

    def palette_commands(self):
        yield PaletteCommand("Export report", "Save report.md and report.json and the data with your marks", self.action_export)
