"""The recommendation as the PM-first report has it (advisor/report.py): the verdict, the reasons, answers to check,
money and time in plain words first; what each statement rests on, costs, LoRA settings and commands in a detail
section that starts collapsed."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Collapsible, Static

from advisor.plain import money
from advisor.tui.bakeoff_format import split_bold
from curation.durations import format_duration

CONFIDENCE_STYLE = {"high": "bold green", "medium": "bold yellow", "low": "bold red"}
DETAIL_TITLE = "Technical detail (question ids, costs, LoRA settings, commands)"


def basis_text(basis: str) -> str:
    """'answer:examples' → 'your answer: examples'; 'data:counts.kept' → 'measured: counts.kept'."""
    kind, _, what = basis.partition(":")
    return {"answer": f"your answer: {what}", "data": f"measured: {what}", "eval": f"bake-off: {what}"}.get(kind, basis)


def cost_lines(costs: dict[str, Any]) -> list[str]:
    """Two or three lines on training and per-request cost (the detail section's figures)."""
    if not costs:
        return []
    training, lines = costs.get("training", {}), []
    part = f"Training: {training.get('billed_tokens', 0):,} billed tokens ({training.get('basis', 'estimated')})"
    local = training.get("local") or {}
    if local:
        part += f"; local LoRA ≈ {format_duration(local.get('seconds', 0))}"
    if not costs.get("hosted_allowed"):
        part += "; hosted: not allowed for your data"
    lines.append(part)
    rows = costs.get("per_request") or []
    if rows and costs.get("hosted_allowed"):
        ref = costs["reference"]
        lines.append(f"Per 1k requests ({ref['model']}): few-shot prompt {money(ref['few_shot_per_1k'])}")
        n = ref.get("break_even_requests_per_day")
        lines.append(f"A fine-tune on one rented GPU is cheaper from {n:,} requests a day" if n is not None
                     else "No GPU price on file to compare with.")
    return lines


def money_and_time(rec) -> list[list[tuple[str, bool]]]:
    """The report's "Money and time" bullets in plain words, each as (text, bold) pieces."""
    from advisor.report import money_and_time

    return [split_bold(line[2:]) for line in money_and_time(rec) if line.startswith("- ")]


def lora_settings_line() -> str:
    """The LoRA settings a fine-tune uses, as the report's appendix states them."""
    from advisor.report import lora_settings

    return " ".join(line for line in lora_settings() if line and not line.startswith("#"))


def _section(text: Text, title: str, items: list[str], numbered: bool = False) -> None:
    if not items:
        return
    text.append(f"\n{title}\n", style="bold underline")
    for n, line in enumerate(items, 1):
        text.append(f" {n}. " if numbered else " • ")
        text.append(f"{line}\n")


def summary_text(rec) -> Text:
    """What a product manager reads first: verdict (staged when it is), why, answers to check, money and time, next."""
    text = Text()
    text.append("Verdict: ", style="bold")
    text.append(rec.verdict_label, style="bold reverse")
    text.append("  confidence ")
    text.append(rec.confidence, style=CONFIDENCE_STYLE.get(rec.confidence, "bold"))
    text.append(f"\n{rec.headline}\n")
    if rec.stage_trigger:
        text.append("When to move on: ", style="bold")
        text.append(f"{rec.stage_trigger}\n")
    _section(text, "Why", [r.text for r in rec.reasons])
    _section(text, "Answers to check", [c.text for c in rec.contradictions])
    _section(text, "Watch out", [w.text for w in rec.warnings if w not in rec.contradictions])
    _section(text, "Answers set aside", list(rec.ignored))
    bullets = money_and_time(rec)
    if bullets:
        text.append("\nMoney and time\n", style="bold underline")
        for pieces in bullets:
            text.append(" • ")
            for piece, bold in pieces:
                text.append(piece, style="bold" if bold else "")
            text.append("\n")
    _section(text, "What would change the verdict", list(rec.would_change))
    _section(text, "Next steps", list(rec.next_steps), numbered=True)
    return text


def detail_text(rec) -> Text:
    """The technical appendix: the confidence as a number, what each statement rests on, costs, LoRA, commands."""
    text = Text()
    text.append(f"Confidence {rec.score:.2f} ({rec.confidence})", style="bold")
    text.append(": lowered by " + "; ".join(rec.confidence_notes) + "\n" if rec.confidence_notes else "\n")
    if rec.overturned:
        text.append(f"The bake-off overturned the interview's path ({rec.overturned}).\n")
    if rec.bakeoff:
        text.append(f"Bake-off used: {rec.bakeoff}\n")
    statements = rec.reasons + [w for w in rec.warnings if w not in rec.contradictions] + rec.contradictions
    _section(text, "What each statement rests on", [f"{s.text} ({basis_text(s.basis)})" for s in statements])
    if rec.missing:
        _section(text, "Key questions not answered", [", ".join(rec.missing)])
    _section(text, "Costs", cost_lines(rec.costs))
    if rec.path in ("fine-tune", "rag+fine-tune") or rec.stage:
        _section(text, "Fine-tuning settings", [lora_settings_line()])
    _section(text, "Commands", list(rec.commands))
    return text


class RecommendationView(Static):
    """The verdict and its plain-words sections (the screen puts a RecommendationDetail under it)."""

    def show(self, rec) -> None:
        """Render this recommendation's PM-first part."""
        self.update(summary_text(rec))


class RecommendationDetail(Collapsible):
    """The technical detail of a recommendation, collapsed until opened."""

    def __init__(self, **kwargs) -> None:
        super().__init__(Static("", id="verdict-appendix", markup=False), title=DETAIL_TITLE, collapsed=True, **kwargs)

    def show(self, rec) -> None:
        """Render this recommendation's technical detail."""
        self.query_one("#verdict-appendix", Static).update(detail_text(rec))
