"""The data overview: what curation kept and removed, what needs a look, tokens and cost, and the curator's marks."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from curation.durations import format_duration

FLAG_NAMES = {
    "possible_duplicate": "possible duplicates", "outlier": "outliers", "too_short": "very short replies",
    "too_long": "too long", "tiny_cluster": "in tiny clusters", "language": "other language", "unusual_text": "log-like text",
}


def overview_text(report: dict[str, Any], restored: int, removed_by_you: int) -> Text:
    """A few lines summarising a curation report and the curator's marks."""
    c, t = report["counts"], report["tokens"]
    text = Text()
    files = ", ".join(f"{_name(i['file'])} ({i['format']})" for i in report.get("inputs", []))
    text.append("Data   ", style="bold")
    text.append(f"{files}: {c['valid']} valid" + (f", {c['invalid']} invalid skipped" if c.get("invalid") else "") + "\n")
    text.append("Kept   ", style="bold")
    text.append(f"{c['kept']} · removed {c['removed']} ({c['exact_duplicates']} exact, {c['near_duplicates']} near duplicates)"
                f" · split {c['train']} train / {c['eval']} eval\n")
    text.append("Marks  ", style="bold")
    on_export = c["kept"] + restored - removed_by_you
    text.append(f"{restored} restored, {removed_by_you} removed by you → {on_export} examples on export\n")
    flagged = [f"{c[k]} {name}" for k, name in ((f"flagged_{kind}", name) for kind, name in FLAG_NAMES.items()) if c.get(k)]
    text.append("Look   ", style="bold")
    text.append(f"{c['conflict_groups']} conflict group(s)" + (", " + ", ".join(flagged) if flagged else "") + "\n")
    clusters = report.get("clusters", {})
    text.append("Topics ", style="bold")
    text.append(f"{clusters.get('k', 0)} clusters (k by {clusters.get('method', '?')})\n")
    pe = t["per_example"]
    text.append("Tokens ", style="bold")
    text.append(f"median {pe['median']:.0f}, p90 {pe['p90']:.0f}, max {pe['max']} per example; {pe['total']:,} in all"
                f" ({t['model']}, context {t['context_length']:,})\n")
    cost = report.get("cost")
    if cost:
        buyable = [h for h in cost.get("hosted", []) if h.get("status") != "closing"]  # closing offers: report only
        cheapest = min(buyable, key=lambda h: h["per_1m_training_tokens"], default=None)
        text.append("Cost   ", style="bold")
        line = f"{cost['billed_tokens']:,} billed training tokens ({cost['epochs']} epochs)"
        if cheapest:
            line += f"; from ${cheapest['cost']:.2f} ({cheapest['model']})"
        local = cost.get("local")
        if local:
            line += f"; local LoRA ≈ {format_duration(local['seconds'])}" + (
                " at an assumed speed" if local.get("speed_basis") == "assumed" else "")
        text.append(line + "\n")
    return text


def _name(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]



class Overview(Static):
    """The overview tab's text."""

    def show(self, report: dict[str, Any] | None, restored: int = 0, removed_by_you: int = 0) -> None:
        """Render a report (None: nothing curated yet)."""
        if report is None:
            self.update("No curation yet: give a data file above and press Curate (ctrl+r).")
        else:
            self.update(overview_text(report, restored, removed_by_you))
