"""The recommendation screen reads like the PM-first report: verdict (staged, with its trigger), reasons, answers to
check, answers set aside, money and time in plain words; ids, LoRA settings and commands wait in a collapsed section."""

from __future__ import annotations

from textual.widgets import Collapsible, Static

from advisor.project import advise, create_project
from advisor.tui.app import TunewiseApp
from advisor.tui.screens.recommendation import RecommendationScreen
from tests.advisor.test_recommend import VOICE, _answers

STAGED = {**VOICE, "prompting_tried": False, "prompt_score": None, "prompt_failures": None,
          "facts_change": "weekly",  # a stale answer: there are no private facts
          "requests_per_day": 0, "latency_cost": "high"}  # a contradiction


async def test_the_screen_puts_the_pm_report_first_and_the_technical_detail_collapsed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    project = create_project(tmp_path / "proj")
    project.save_answers(_answers(STAGED))
    project.reach("recommendation")
    rec = advise(project).recommendation
    assert rec.stage and rec.contradictions and rec.ignored and rec.commands  # what the screen must show
    app = TunewiseApp(project.root)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, RecommendationScreen)
        shown = str(screen.query_one("#verdict", Static).render())
        assert shown.startswith(f"Verdict: {rec.verdict_label}  confidence {rec.confidence}\n{rec.headline}\n")
        assert f"When to move on: {rec.stage_trigger}" in shown
        for title in ("Why", "Answers to check", "Answers set aside", "Money and time", "What would change the verdict",
                      "Next steps"):
            assert f"\n{title}\n" in shown, title
        assert rec.contradictions[0].text in shown and rec.ignored[0] in shown
        assert "per 1,000 requests" in shown and "Per request:" in shown and "**" not in shown
        for technical in ("your answer:", "tunewise ", "LoRA rank", "r=8", f"{rec.score:.2f}"):
            assert technical not in shown, technical  # question ids, commands, settings: in the detail only

        detail = screen.query_one("#verdict-detail", Collapsible)
        appendix = screen.query_one("#verdict-appendix", Static)
        assert detail.collapsed and appendix.region.height == 0  # collapsed: nothing of it on screen
        detail.collapsed = False
        await pilot.pause()
        assert appendix.region.height > 0
        text = str(appendix.render())
        assert text.startswith(f"Confidence {rec.score:.2f} ({rec.confidence})")
        assert "(your answer: output_strictness)" in text and "LoRA rank r=8" in text
        assert all(command in text for command in rec.commands)
