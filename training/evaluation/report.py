"""The bake-off as a Markdown section for the PM report: the table (quality with intervals, cost and latency side
by side), the winner and its margin, the cheapest candidate not clearly worse, examples that differ."""

from __future__ import annotations

from training.evaluation.measures import COST_RULE, ENDPOINT_LATENCY, LOCAL_LATENCY, Measures
from training.evaluation.metrics import METRICS, Interval
from training.evaluation.results import Bakeoff, CandidateResult

#: The measurement columns of the tables, after the metrics.
MEASURE_COLUMNS = ("tokens in/out", "$ / 1k requests", "latency p50/p95", "failures")

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


def cost_line(bakeoff: Bakeoff) -> str:
    """The cheapest candidate that is not clearly worse than the best, with its margin, and the rule used."""
    cheapest = bakeoff.cheapest()
    rule = f"Rule: {COST_RULE}."
    if cheapest is None:
        priced = [c.name for c in bakeoff.candidates if c.cost_per_1000 is not None]
        if not priced:
            return f"No candidate has a price here, so quality alone decides. {rule}"
        return (f"Every priced candidate ({', '.join(priced)}) is clearly worse than {bakeoff.winner.name}, so "
                f"quality decides. {rule}")
    chosen, diff = cheapest
    cost = fmt_cost(chosen.measures)
    if diff is None:
        return f"Cheapest not clearly worse than the best: **{chosen.name}** is the best itself, at {cost}. {rule}"
    how = "favours it" if diff.low > 0 else "includes 0"
    return (f"Cheapest not clearly worse than the best: **{chosen.name}** at {cost}; its margin against "
            f"{bakeoff.winner.name} is {fmt_difference(diff)} (paired 95% interval, which {how}). {rule}")


def fmt_cost(measures: Measures | None) -> str:
    """`$0.042 per 1,000 requests (price of 2026-11-30)`, or `no price`."""
    if measures is None or measures.cost_per_1000 is None:
        return "no price"
    dated = f" (price of {measures.price_date})" if measures.price_date else ""
    return f"${measures.cost_per_1000:.4g} per 1,000 requests{dated}"


def measure_cells(candidate: CandidateResult) -> list[str]:
    """The candidate's tokens in/out, cost per 1,000 requests, latency p50/p95 and failures, as table cells."""
    m = candidate.measures
    if m is None:
        return ["–"] * len(MEASURE_COLUMNS)
    tokens = f"{m.tokens_in_mean:.0f} / {m.tokens_out_mean:.0f}" if m.tokens_in_mean is not None \
        and m.tokens_out_mean is not None else "–"
    cost = f"${m.cost_per_1000:.4g}" if m.cost_per_1000 is not None else "no price"
    latency = f"{m.latency_p50_s:.2f} / {m.latency_p95_s:.2f} s" if m.latency_p50_s is not None \
        and m.latency_p95_s is not None else "–"
    return [tokens, cost, latency, f"{m.failures} of {m.requests}" if m.failures else "0"]


def measures_notes(bakeoff: Bakeoff) -> list[str]:
    """How cost and latency were measured, the price sources, and each candidate's failures, in sentences."""
    kinds = {c.endpoint is not None for c in bakeoff.candidates if c.measures}
    notes = ["Cost: USD per 1,000 requests at the endpoint's dated price and the measured mean tokens (from the "
             "server's usage); local candidates count tokens with their tokenizer and have no price here (the "
             "advisor prices serving them)."]
    latency = []
    if True in kinds:
        latency.append(f"endpoints: {ENDPOINT_LATENCY}")
    if False in kinds:
        latency.append(f"local candidates: {LOCAL_LATENCY}")
    if latency:
        notes.append("Latency — " + "; ".join(latency) + ". Outputs taken from the cache keep the latency measured "
                     "when they were made.")
    for c in bakeoff.candidates:
        m = c.measures
        if c.endpoint is not None and m is not None and m.cost_per_1000 is not None:
            notes.append(f"{c.name}: price of {m.price_date} from {m.price_source}.")
        if m is not None and m.failures:
            notes.append(f"{c.name}: {m.failures} of {m.requests} requests failed and are scored as empty outputs "
                         f"(a re-run asks again); first: {m.failure}")
    return notes


def _cut(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _CUT else text[: _CUT - 1] + "…"


def _cut_long(text: str) -> str:
    return text.replace("|", "\\|")


def _cell(text: str) -> str:
    return _cut(text).replace("|", "\\|") or "*(empty)*"


def bakeoff_markdown(bakeoff: Bakeoff, rows: list[dict], examples: int = EXAMPLES_SHOWN) -> str:
    """The section: what was measured, the table with intervals, the verdict, and where the candidates differ most."""
    lines = [f"## Bake-off: {bakeoff.examples} held-out examples", ""]
    lines.append(f"Evaluation set: `{bakeoff.eval_source}`. Same decoding for every candidate (greedy, at most "
                 f"{bakeoff.settings.get('max_new_tokens', '?')} new tokens). Intervals: 95% bootstrap over examples. "
                 + " ".join(r[0].upper() + r[1:] + "." for r in bakeoff.metric_reasons))
    lines += ["", "| candidate | " + " | ".join(f"{m}{' ★' if m == bakeoff.primary else ''}" for m in bakeoff.metrics)
              + " | " + " | ".join(MEASURE_COLUMNS) + " |",
              "|---|" + "---|" * (len(bakeoff.metrics) + len(MEASURE_COLUMNS))]
    for c in bakeoff.ranked():
        lines.append(f"| {c.name} | " + " | ".join(fmt_interval(c.scores[m], m) for m in bakeoff.metrics) + " | "
                     + " | ".join(measure_cells(c)) + " |")
    lines += ["", "★ decides. " + "; ".join(f"{m}: {METRICS[m].description}" if m in METRICS else m for m in bakeoff.metrics) + ".",
              "", *(f"- {_cut_long(c.name)}: {c.description}" for c in bakeoff.ranked() if c.endpoint is not None),
              "", " ".join(measures_notes(bakeoff)), "", verdict_line(bakeoff), "", cost_line(bakeoff), ""]
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
