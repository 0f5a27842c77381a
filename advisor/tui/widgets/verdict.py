"""The recommendation as text: verdict, reasons with their basis, warnings, costs, what would change it, next steps."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from curation.durations import format_duration

CONFIDENCE_STYLE = {"high": "bold green", "medium": "bold yellow", "low": "bold red"}


def basis_text(basis: str) -> str:
    """'answer:examples' → 'your answer: examples'; 'data:counts.kept' → 'measured: counts.kept'."""
    kind, _, what = basis.partition(":")
    return {"answer": f"your answer: {what}", "data": f"measured: {what}", "eval": f"bake-off: {what}"}.get(kind, basis)


def money(value: float | None) -> str:
    """US dollars, with cents (or tenths of a cent below a dollar)."""
    if value is None:
        return "n/a"
    return f"${value:,.2f}" if abs(value) >= 0.995 or value == 0 else f"${value:.3f}"



def cost_lines(costs: dict[str, Any]) -> list[str]:
    """Two or three lines on training and per-request cost."""
    if not costs:
        return []
    training, lines = costs.get("training", {}), []
    part = f"Training: {training.get('billed_tokens', 0):,} billed tokens ({training.get('basis', 'estimated')})"
    local = training.get("local") or {}
    if local:
        part += f"; local LoRA ≈ {format_duration(local.get('seconds', 0))}"
    hosted = training.get("hosted") or []
    if costs.get("hosted_allowed") and hosted:
        cheapest = min(hosted, key=lambda h: h["cost"])
        part += f"; hosted from {money(cheapest['cost'])} ({cheapest['model']})"
    elif not costs.get("hosted_allowed"):
        part += "; hosted: not allowed for your data"
    lines.append(part)
    rows = costs.get("per_request") or []
    if rows and costs.get("hosted_allowed"):
        row = min(rows, key=lambda r: r["few_shot_per_1k"])
        lines.append(f"Per 1k requests ({row['model']}): few-shot {money(row['few_shot_per_1k'])}, "
                     f"fine-tuned {money(row['fine_tuned_per_1k'])}")
        best = costs.get("cheapest_break_even")
        lines.append(f"Fine-tuning pays off after {best['break_even_requests']:,} requests ({best['model']})" if best
                     else "On price alone fine-tuning does not pay off.")
    return lines


def recommendation_text(rec) -> Text:
    """The whole recommendation as Rich text."""
    text = Text()
    text.append("Verdict: ", style="bold")
    text.append(rec.label, style="bold reverse")
    text.append("  confidence ")
    text.append(rec.confidence, style=CONFIDENCE_STYLE.get(rec.confidence, "bold"))
    text.append(f" ({rec.score:.2f})\n")
    text.append(rec.headline + "\n")
    if rec.confidence_notes:
        text.append("Confidence lowered by: " + "; ".join(rec.confidence_notes) + "\n", style="dim")
    sections = [
        ("Why", [(r.text, basis_text(r.basis)) for r in rec.reasons]),
        ("Watch out", [(w.text, basis_text(w.basis)) for w in rec.warnings]),
        ("Not yet", [(b.text, basis_text(b.basis)) for b in rec.blocked]),
        ("Costs", [(line, "") for line in cost_lines(rec.costs)]),
        ("What would change it", [(w, "") for w in rec.would_change]),
        ("Next steps", [(s, "") for s in rec.next_steps]),
    ]
    for title, items in sections:
        if not items:
            continue
        text.append(f"\n{title}\n", style="bold underline")
        for n, (line, basis) in enumerate(items, 1):
            text.append(f" {n}. " if title == "Next steps" else " • ")
            text.append(line)
            if basis:
                text.append(f"  ({basis})", style="dim")
            text.append("\n")
    return text


class RecommendationView(Static):
    """Renders a Recommendation given by the screen."""

    def show(self, rec) -> None:
        """Render this recommendation."""
        self.update(recommendation_text(rec))
