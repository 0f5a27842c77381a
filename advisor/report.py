"""The recommendation report: Markdown a product manager can forward, and the same content as JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from advisor.evidence import Evidence
from advisor.interview import Answers
from advisor.recommend import PATH_LABELS, Recommendation
from curation.report import format_duration

REPORT_VERSION = 1


def _money(value: float | None, currency: str = "USD") -> str:
    if value is None:
        return "n/a"
    sign = "$" if currency == "USD" else f"{currency} "
    return f"{sign}{value:,.2f}" if abs(value) >= 0.1 or value == 0 else f"{sign}{value:.3g}"



def _basis(basis: str) -> str:
    kind, _, what = basis.partition(":")
    if kind == "eval":
        return f"bake-off: `{what}` on held-out examples"
    return f"your answer to `{what}`" if kind == "answer" else f"measured: `{what}`" if kind == "data" else basis


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _data_health(ev: Evidence) -> list[str]:
    def pct(n: int, d: int) -> str:
        return f"{100 * n / d:.1f}%" if d else "0%"

    rows = [
        ("Valid examples", f"{ev.valid:,}" + (f" ({ev.invalid} invalid rejected)" if ev.invalid else "")),
        ("Duplicates removed", f"{ev.removed:,} ({pct(ev.removed, ev.valid)}): {ev.exact_duplicates} exact, {ev.near_duplicates} near"),
        ("Kept", f"{ev.kept:,} (train {ev.train:,} / eval {ev.eval:,})"),
        ("Conflicting examples", f"{ev.conflict_examples} ({pct(ev.conflict_examples, ev.kept)}) in {ev.conflict_groups} groups"),
        ("Consistent examples", f"{ev.consistent:,}"),
        ("Flagged for review", f"{ev.flagged_for_review} (outliers {ev.outliers}, too long {ev.too_long}, too short "
                               f"{ev.too_short}, other language {ev.other_language}, log-like {ev.unusual_text})"),
        ("Possible duplicates to check", f"{ev.possible_duplicates}"),
        ("Topics (clusters)", f"{ev.clusters}" + (f"; sizes {', '.join(str(s) for s in ev.cluster_sizes)}" if ev.cluster_sizes else "")),
        ("Tokens per example", f"median {ev.tokens_median:,.0f}, p90 {ev.tokens_p90:,.0f}, max {ev.tokens_max:,} "
                               f"({ev.tokenizer} tokenizer)"),
    ]
    lines = ["## Data health", ""]
    if ev.source:
        lines += [f"Measured by `tunewise curate` in `{ev.source}`.", ""]
    lines += ["| | |", "|---|---|"] + [f"| {name} | {_cell(value)} |" for name, value in rows]
    if ev.cluster_keywords:
        lines += ["", "Topics: " + "; ".join(", ".join(k[:3]) for k in ev.cluster_keywords if k) + "."]
    return lines + [""]


def _costs(costs: dict[str, Any]) -> list[str]:
    if not costs:
        return []
    cur = costs.get("currency", "USD")
    training, request = costs["training"], costs["request"]
    measured = training.get("basis") == "measured"
    lines = ["## Costs", ""]
    lines += [
        f"**Training** ({'measured' if measured else 'estimated from your answer; give --data to measure'}): "
        f"{training.get('train_tokens', 0):,} training tokens × {training.get('epochs', 0)} epochs = "
        f"{training.get('billed_tokens', 0):,} billed tokens (training prices as of {costs.get('training_as_of')}).",
        "",
    ]
    local = training.get("local") or {}
    if local:
        lines += [f"- Local LoRA on {local.get('model')}: about {format_duration(local.get('seconds', 0))} "
                  f"at {local.get('tokens_per_second')} tokens/s ({local.get('measured', 'measured here')})."]
    if costs.get("hosted_allowed"):
        lines += [f"- Hosted, {h['model']} ({h['provider']}): {_money(h['cost'], cur)}" for h in training.get("hosted", [])]
    else:
        lines += ["- Hosted fine-tuning: not an option, your data must stay in-house."]
    basis = "measured medians from your data" if request.get("measured") else "assumed sizes (no dataset given)"
    lines += [
        "",
        f"**Per request** ({basis}; inference prices as of {costs.get('inference_as_of')}): a few-shot prompt carries "
        f"{request['shots']} demonstrations of {request['shot_tokens']:,.0f} tokens each, {request['few_shot_input_tokens']:,} "
        f"input tokens in all; the fine-tuned model gets {request['fine_tuned_input_tokens']:,} "
        f"({request['fine_tuned_short_prompt_input_tokens']:,} if it no longer needs its "
        f"{request['system_tokens']:,.0f}-token instructions)"
        + (f"; both include {request['rag_tokens']:,.0f} tokens of retrieved context" if request.get("rag_tokens") else "")
        + f". Replies: {request['output_tokens']:,.0f} tokens."
        + (" The system prompt's share of each example was not measured, so the demonstrations are an upper bound."
           if request.get("measured") and not request.get("system_split_measured") else ""),
        "",
    ]
    if costs.get("hosted_allowed"):
        per_day = costs.get("requests_per_day")
        lines += ["| model | few-shot per 1k requests | fine-tuned per 1k | fine-tuned, short prompt, per 1k | "
                  "training | pays off after |", "|---|---|---|---|---|---|"]
        for row in costs["per_request"]:
            lines.append(
                f"| {row['model']} | {_money(row['few_shot_per_1k'], cur)} | {_money(row['fine_tuned_per_1k'], cur)} | "
                f"{_money(row['fine_tuned_short_prompt_per_1k'], cur)} | {_money(row['training_cost'], cur)} | "
                f"{_payoff(row, per_day)} |")
        lines += ["", "Fine-tuned models cost about twice as much per token as their base model; a fine-tune saves money "
                  "only when it makes the prompt shorter by more than that. Token counts use the "
                  "curation tokenizer, an approximation of each provider's.", ""]
    return lines


def _payoff(row: dict[str, Any], per_day: float | None) -> str:
    parts = []
    for suffix, label in (("", ""), ("_short_prompt", " (short prompt)")):
        n = row.get(f"break_even_requests{suffix}")
        if n is None:
            continue
        days = row.get(f"break_even_days{suffix}")
        parts.append(f"{n:,} requests" + (f" ≈ {days:g} days" if days is not None else "") + label)
    return "; ".join(parts) if parts else "never, on price alone"


def _answers(answers: Answers) -> list[str]:
    lines = ["## Your answers", "", "| question | answer |", "|---|---|"]
    for q in answers.questions:
        if answers.answered(q.id):
            lines.append(f"| {_cell(q.text)} | {_cell(q.label_of(answers.values[q.id]))} |")
    missing = [q for q in answers.questions if q.id in answers.missing()]
    if missing:
        lines += ["", "Not answered: " + "; ".join(q.text for q in missing)]
    return lines + [""]


def _bakeoff_section(rec: Recommendation) -> list[str]:
    """The bake-off's own Markdown section (evals/<date>/summary.md), or a pointer to running one."""
    if rec.bakeoff:
        summary = Path(rec.bakeoff) / "summary.md"
        if summary.is_file():
            return summary.read_text(encoding="utf-8").rstrip("\n").split("\n") + [""]
    return ["## Bake-off", "", "Not run yet: `tunewise eval PROJECT` scores zero-shot, the few-shot prompt, RAG and each "
            "fine-tuned adapter on the held-out examples, and this verdict then rests on that measurement.", ""]


def render_markdown(rec: Recommendation, answers: Answers, evidence: Evidence | None = None) -> str:
    """The report a PM can forward: verdict first, then reasons, warnings, data health, costs, what would change it, next steps."""
    task = answers.get("task")
    lines = ["# Should we fine-tune?", ""] + ([f"*Task: {task.rstrip('.')}.*", ""] if task else [])
    lines += [f"**Verdict: {PATH_LABELS[rec.path]}** (confidence: {rec.confidence}, {rec.score:.2f})", "", rec.headline, ""]
    if rec.confidence_notes:
        lines += ["Confidence is lowered by: " + "; ".join(rec.confidence_notes) + ".", ""]
    lines += ["## Why", ""] + [f"- {r.text}. *({_basis(r.basis)})*" for r in rec.reasons] + [""]
    if rec.warnings:
        lines += ["## Watch out", ""] + [f"- {w.text}. *({_basis(w.basis)})*" for w in rec.warnings] + [""]
    if evidence is not None:
        lines += _data_health(evidence)
    else:
        lines += ["## Data health", "", "No dataset was measured: the verdict rests on your answers alone. Run "
                  "`tunewise advise --data your-examples.jsonl` to check duplicates, conflicts and size.", ""]
    lines += _bakeoff_section(rec)
    lines += _costs(rec.costs)
    if rec.would_change:
        lines += ["## What would change the verdict", ""] + [f"- {w}" for w in rec.would_change] + [""]
    if rec.next_steps:
        lines += ["## Next steps", ""] + [f"{i}. {s}" for i, s in enumerate(rec.next_steps, 1)] + [""]
    lines += _answers(answers)
    lines += ["---", "", "*Generated by tunewise. The guidance behind it: start with prompting; add RAG when the model "
              "lacks knowledge; fine-tune when it must behave differently and consistently, with enough consistent "
              "examples and an evaluation set. Fine-tuning changes how a model answers, not what it knows.*", ""]
    return "\n".join(lines)


def report_json(rec: Recommendation, answers: Answers, evidence: Evidence | None = None) -> dict[str, Any]:
    """The report as JSON-able data: the recommendation, the answers (in interview order) and the evidence."""
    return {
        "version": REPORT_VERSION,
        "recommendation": rec.to_dict(),
        "answers": answers.ordered(),
        "unanswered": answers.missing(),
        "evidence": evidence.to_dict() if evidence is not None else None,
    }


