"""The bake-off as a Markdown section for the PM report: the table, the winner and its margin, examples that differ."""

from __future__ import annotations

from training.evaluation.metrics import METRICS, Interval
from training.evaluation.results import Bakeoff

EXAMPLES_SHOWN = 4
_CUT = 240


def fmt_interval(interval: Interval, metric: str) -> str:
    """`0.62 [0.55–0.69]`, or with a sign for differences."""
    if metric == "length_ratio":
        return f"{interval.mean:.2f}× [{interval.low:.2f}–{interval.high:.2f}]"
    return f"{interval.mean:.3f} [{interval.low:.3f}–{interval.high:.3f}]"


def fmt_difference(interval: Interval) -> str:
    return f"{interval.mean:+.3f} [{interval.low:+.3f}, {interval.high:+.3f}]"


def verdict_line(bakeoff: Bakeoff) -> str:
    """The winner and whether its lead is real: the paired interval of its margin over the runner-up excludes 0."""
    winner, primary = bakeoff.winner, bakeoff.primary
    margin = bakeoff.margin()
    head = f"**{winner.name}** scores best on {primary} ({fmt_interval(winner.scores[primary], primary)})"
    if margin is None or margin[1] is None:
        return head + "."
    runner, diff = margin
    if diff.low > 0:
        return (f"{head}, ahead of {runner.name} by {fmt_difference(diff)} (paired 95% interval): the lead is larger "
                "than the noise of this evaluation set.")
    return (f"{head}, but {runner.name} is within the noise: the difference {fmt_difference(diff)} has an interval "
            f"that includes 0. On {bakeoff.examples} examples they are a tie; prefer the simpler, cheaper one.")


def _cut(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _CUT else text[: _CUT - 1] + "…"


def _cell(text: str) -> str:
    return _cut(text).replace("|", "\\|") or "*(empty)*"


def bakeoff_markdown(bakeoff: Bakeoff, rows: list[dict], examples: int = EXAMPLES_SHOWN) -> str:
    """The section: what was measured, the table with intervals, the verdict, and where the candidates differ most."""
    lines = [f"## Bake-off: {bakeoff.examples} held-out examples", ""]
    lines.append(f"Evaluation set: `{bakeoff.eval_source}`. Same decoding for every candidate (greedy, at most "
                 f"{bakeoff.settings.get('max_new_tokens', '?')} new tokens). Intervals: 95% bootstrap over examples. "
                 + " ".join(r[0].upper() + r[1:] + "." for r in bakeoff.metric_reasons))
    lines += ["", "| candidate | " + " | ".join(f"{m}{' ★' if m == bakeoff.primary else ''}" for m in bakeoff.metrics) + " |",
              "|---|" + "---|" * len(bakeoff.metrics)]
    for c in bakeoff.ranked():
        lines.append(f"| {c.name} | " + " | ".join(fmt_interval(c.scores[m], m) for m in bakeoff.metrics) + " |")
    lines += ["", "★ decides. " + "; ".join(f"{m}: {METRICS[m].description}" if m in METRICS else m for m in bakeoff.metrics) + ".",
              "", verdict_line(bakeoff), ""]
    shown = sorted(rows, key=lambda r: -r.get("spread", 0))[:examples]
    shown = [r for r in shown if r.get("spread", 0) > 0]
    if shown:
        lines += [f"### Where they differ most ({len(shown)} examples)", ""]
        for row in shown:
            lines += [f"**{row['id']}** — input: {_cell(row['input'])}", "", "| | output | " + bakeoff.primary + " |", "|---|---|---|",
                      f"| reference | {_cell(row['reference'])} | |"]
            for name in (c.name for c in bakeoff.ranked()):
                lines.append(f"| {name} | {_cell(row['outputs'].get(name, ''))} | {row['scores'][name][bakeoff.primary]:.2f} |")
            lines.append("")
    lines.append(f"Per-example outputs: `{bakeoff.folder}/outputs.jsonl`.")
    return "\n".join(lines) + "\n"
