"""The recommendation report: Markdown a product manager can forward, and the same content as JSON.

The top half is for the reader who decides: the verdict, the reasons, answers to check, money and time in plain
words, what would change the verdict and what to do next. Everything technical (question ids, what each statement
rests on, data-health figures, price tables, LoRA settings, commands) is in the appendix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from advisor import plain
from advisor.evidence import Evidence
from advisor.interview import Answers
from advisor.recommend import Recommendation

REPORT_VERSION = 2


def _basis(basis: str) -> str:
    kind, _, what = basis.partition(":")
    if kind == "eval":
        return f"bake-off: `{what}` on held-out examples"
    return f"your answer to `{what}`" if kind == "answer" else f"measured: `{what}`" if kind == "data" else basis


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def money_and_time(rec: Recommendation) -> list[str]:
    """Money and time in plain words: what training takes, what a request costs, whether a fine-tune pays back."""
    costs = rec.costs
    if not costs:
        return []
    cur = costs.get("currency", "USD")
    lines = ["## Money and time", ""]
    fine_tuning = rec.path in ("fine-tune", "rag+fine-tune") or rec.stage is not None
    local = costs["training"].get("local") or {}
    if fine_tuning and local:
        lines.append(f"- **Training:** a LoRA fine-tune of {plain.model_name(local.get('model'))} takes "
                     f"{plain.duration(local.get('seconds'))} on this machine; the cost is your own hardware and an "
                     "engineer's time to prepare data and check results.")
    closing = costs.get("hosted_fine_tuning") or {}
    if fine_tuning and closing.get("summary"):
        lines.append(f"- **Hosted fine-tuning:** {closing['summary']}")
    measured = costs.get("measured")
    if measured:
        return lines + measured_lines(measured, cur) + [""]
    request, ref, per_day = costs["request"], costs["reference"], costs.get("requests_per_day")
    lines.append("- **Estimate:** no bake-off has measured costs yet, so the figures below are estimates from "
                 f"{'your data' if request.get('measured') else 'assumed sizes'} and list prices; a bake-off with your "
                 "hosted model as a candidate measures them.")
    if costs.get("hosted_allowed"):
        per_1k = ref["few_shot_per_1k"]
        month = f"; at {plain.count(per_day)} requests a day that is about {plain.money(per_1k * per_day / 1000 * 30.4, cur)} " \
                "a month" if per_day else ""
        lines.append(f"- **Per request:** a prompt with {request['shots']} demonstrations costs about "
                     f"{plain.money(per_1k, cur)} per 1,000 requests at {ref['model']}'s prices ({ref['source']}){month}.")
        gpu, break_even = costs.get("gpu"), ref.get("break_even_requests_per_day")
        if fine_tuning and gpu and break_even is not None:
            verdict = ("at your volume the GPU is the cheaper of the two" if costs.get("fine_tuning_pays_off") else
                       "below that, prompting is cheaper and the case for a fine-tune is consistency")
            lines.append(f"- **Serving the fine-tune:** one {gpu['gpu']} rented from {gpu['provider']} at "
                         f"{plain.money(gpu['per_hour'], cur)} an hour ({plain.money(gpu['per_day'], cur)} a day kept "
                         f"running; prices of {gpu.get('as_of')}, {gpu['source']}) costs less than the prompt from about "
                         f"{plain.count(break_even)} requests a day; {verdict}. On your own CPU the cost is your hardware.")
    else:
        lines.append("- **Per request:** your data must stay in-house, so the cost is the machines you run the model on.")
    return lines + [""]


def _seconds(s: float | None) -> str:
    return "n/a" if s is None else f"{s:.2f} s" if s < 10 else f"{s:.0f} s"


def ship_line(measured: dict[str, Any], cur: str = "USD") -> str:
    """Which candidate to ship and why, in plain words: the bake-off's cheapest candidate not clearly worse than the
    best, its margin, its cost per 1,000 requests with the price date, and its latency."""
    ship, best = measured["ship"], measured["best"]
    latency = f"; it answers in {_seconds(ship['latency_p50_s'])} (median), {_seconds(ship['latency_p95_s'])} at the 95th percentile"
    if ship["rule"] != "cheapest":
        return (f"- **Ship:** {ship['name']}, the best on {measured['examples']} held-out examples; no candidate had a "
                f"price, so the choice is on quality alone{latency}.")
    cost = (f"{plain.money(ship['cost_per_1000'], cur)} per 1,000 requests at prices of {ship['price_date']}"
            + (f" ({ship['price_source']})" if ship.get("price_source") else ""))
    if ship["name"] == best:
        why = f"it scored best on {measured['examples']} held-out examples and is the cheapest such candidate"
    else:
        m = ship.get("margin")
        gap = (f" ({m['mean']:+.3f} {measured['primary']} against {best}, 95% interval [{m['low']:+.3f}, {m['high']:+.3f}])"
               if m else "")
        why = f"the cheapest candidate not clearly worse than the best, {best}{gap}"
    return f"- **Ship:** {ship['name']}: {why}; it costs {cost}{latency}."


def measured_lines(measured: dict[str, Any], cur: str = "USD") -> list[str]:
    """Money and time from the bake-off's measurements: the ship line, then serving our LoRA against the prompt."""
    lines = [ship_line(measured, cur)]
    hosted, tuned, serving = measured.get("hosted_prompt"), measured.get("tuned"), measured.get("serving")
    if not (hosted and serving):
        return lines
    tokens = f"{hosted['tokens_in_mean']:,.0f} input tokens per request, measured" if hosted.get("tokens_in_mean") else "measured"
    lines.append(f"- **Prompting {hosted['endpoint'] or hosted['name']}:** {plain.money(hosted['cost_per_1000'], cur)} per "
                 f"1,000 requests ({tokens}; prices of {hosted['price_date']}).")
    if not tuned:
        return lines
    saved = serving.get("prompt_tokens_saved")
    shorter = f"; its prompt is {saved:,.0f} tokens shorter" if saved and saved > 0 else ""
    gpu = serving.get("gpu")
    if gpu:
        lines.append(f"- **Serving the fine-tuned model ({tuned['name']}) on a rented GPU:** {gpu['gpu']} at "
                     f"{plain.money(gpu['per_hour'], cur)} an hour from {gpu['provider']} (prices of {gpu.get('as_of')}, "
                     f"{gpu['source']}), {plain.money(serving['gpu_per_day'], cur)} a day kept running{shorter}. It costs "
                     f"less than prompting from about {plain.count(serving['break_even_requests_per_day'])} requests a day"
                     + (f"; at your volume the GPU is {plain.money(serving['gpu_per_1000'], cur)} per 1,000 requests"
                        if serving.get("gpu_per_1000") is not None else "") + ".")
    if serving.get("cpu_seconds_per_request"):
        lines.append(f"- **Or on your own CPU:** {_seconds(serving['cpu_seconds_per_request'])} per request as measured "
                     f"here (about {plain.count(serving['cpu_requests_per_hour'])} requests per CPU-hour); the cost is "
                     "your own hardware.")
    return lines


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
    lines = ["### Data health", ""]
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
    lines = ["### Costs", ""]
    if costs.get("measured"):
        lines += ["The bake-off measured tokens, prices and latency (see *Money and time*); the figures below are the "
                  "interview's estimates, kept for reference.", ""]
    else:
        lines += ["Estimates: no bake-off has measured tokens, prices and latency yet.", ""]
    lines += [
        f"**Training** ({'measured' if measured else 'estimated from the `examples` answer; `--data` measures it'}): "
        f"{plain.count(training.get('train_tokens', 0))} training tokens × {training.get('epochs', 0)} epochs = "
        f"{plain.count(training.get('billed_tokens', 0))} tokens (training prices as of {costs.get('training_as_of')}).",
        "",
    ]
    local = training.get("local") or {}
    if local:
        lines += [f"- Local LoRA on {local.get('model')}: {plain.duration(local.get('seconds', 0))} "
                  f"at {local.get('tokens_per_second')} tokens/s ({local.get('measured', 'measured here')})."]
    closing = costs.get("hosted_fine_tuning") or {}
    if costs.get("hosted_allowed"):
        status = " — closed or closing to new jobs, shown for reference only" if closing.get("status") else ""
        lines += [f"- Hosted, {h['model']} ({h['provider']}): {plain.money(h['cost'], cur)}{status}"
                  for h in training.get("hosted", [])]
        lines += [f"  - {o['provider']}: {o['note']} ({o['source']})" for o in closing.get("offers", [])]
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
        gpu = costs.get("gpu")
        gpu_text = (f"one {gpu['gpu']} from {gpu['provider']} at {plain.money(gpu['per_day'], cur)} a day ({gpu['source']}, "
                    f"{gpu.get('as_of')})" if gpu else "no GPU price on file")
        lines += [f"| model | status | few-shot per 1k requests | instructions only, per 1k | a GPU is cheaper from "
                  f"({gpu_text}) |", "|---|---|---|---|---|"]
        for row in costs["per_request"]:
            status = {"retiring": f"retiring {row.get('shutdown') or ''}".strip()}.get(row["status"], row["status"])
            n = row.get("break_even_requests_per_day")
            lines.append(
                f"| {_cell(row['model'])} ({_cell(row['provider'])}) | {status} | {plain.money(row['few_shot_per_1k'], cur)} | "
                f"{plain.money(row['instructions_only_per_1k'], cur)} | "
                f"{'never' if n is None else plain.count(n) + ' requests a day'} |")
        lines += ["", "The fine-tuned model is our LoRA model served by you: its tokens are not billed, a rented GPU kept "
                  "running costs the same every day. Retiring models are shown for reference and never quoted. Token "
                  "counts use the curation tokenizer, an approximation of each provider's.", ""]
    return lines


def lora_settings() -> list[str]:
    """The default LoRA settings a run starts from, as Markdown lines for the appendix."""
    from training.lora_config import LoraSettings

    s = LoraSettings()
    return ["### Fine-tuning settings", "",
            f"LoRA rank r={s.rank}, alpha={s.alpha}, dropout={s.dropout}, on the attention projections of the "
            f"architecture (q/k/v/o for Llama-style models); learning rate {s.learning_rate:g}, {s.epochs:g} epochs, "
            f"batch {s.batch_size}, sequences up to {s.max_length:,} tokens, early stopping after "
            f"{s.early_stopping_patience} evaluations without progress, seed {s.seed}.", ""]


def _answers(answers: Answers) -> list[str]:
    lines = ["### Your answers", "", "| id | question | answer |", "|---|---|---|"]
    for q in answers.questions:
        if answers.answered(q.id):
            lines.append(f"| `{q.id}` | {_cell(q.text)} | {_cell(q.label_of(answers.values[q.id]))} |")
    missing = [q for q in answers.questions if q.id in answers.missing()]
    if missing:
        lines += ["", "Not answered: " + "; ".join(f"`{q.id}`" for q in missing)]
    return lines + [""]


def _bakeoff_section(rec: Recommendation) -> list[str]:
    """The bake-off's own Markdown section (evals/<date>/summary.md), demoted into the appendix, or how to run one."""
    if rec.bakeoff:
        summary = Path(rec.bakeoff) / "summary.md"
        if summary.is_file():
            text = summary.read_text(encoding="utf-8").rstrip("\n").split("\n")
            return [f"#{line}" if line.startswith("#") else line for line in text] + [""]
    return ["### Bake-off", "", "Not run yet: `tunewise eval PROJECT` scores zero-shot, the few-shot prompt, RAG and each "
            "fine-tuned adapter on the held-out examples, and this verdict then rests on that measurement.", ""]


def render_markdown(rec: Recommendation, answers: Answers, evidence: Evidence | None = None) -> str:
    """The report a PM can forward: verdict, reasons, money and time and next steps first; technical detail after."""
    task = answers.get("task")
    lines = ["# Should we fine-tune?", ""] + ([f"*Task: {task.rstrip('.')}.*", ""] if task else [])
    lines += [f"**Verdict: {rec.verdict_label}** (confidence: {rec.confidence})", "", rec.headline, ""]
    lines += ["## Why", ""] + [f"- {r.text}." for r in rec.reasons] + [""]
    if rec.contradictions:
        lines += ["## Answers to check", ""] + [f"- {c.text}." for c in rec.contradictions] + [""]
    others = [w for w in rec.warnings if w not in rec.contradictions]
    if others:
        lines += ["## Watch out", ""] + [f"- {w.text}." for w in others] + [""]
    lines += money_and_time(rec)
    if rec.would_change:
        lines += ["## What would change the verdict", ""] + [f"- {w}" for w in rec.would_change] + [""]
    if rec.next_steps:
        lines += ["## Next steps", ""] + [f"{i}. {s}" for i, s in enumerate(rec.next_steps, 1)] + [""]
    lines += ["---", "", "## Appendix: technical detail", ""]
    lines += [f"**Confidence** {rec.score:.2f} ({rec.confidence})"
              + (": lowered by " + "; ".join(rec.confidence_notes) + "." if rec.confidence_notes else "."), ""]
    lines += ["### What each statement rests on", ""]
    lines += [f"- {r.text[:80]}{'…' if len(r.text) > 80 else ''} — *{_basis(r.basis)}*" for r in rec.reasons + rec.warnings]
    lines += [""]
    if rec.ignored:
        lines += ["### Answers set aside", "", "Their question does not apply given another answer, so the verdict does "
                  "not read them:", ""] + [f"- {i}" for i in rec.ignored] + [""]
    if evidence is not None:
        lines += _data_health(evidence)
    else:
        lines += ["### Data health", "", "No dataset was measured: the verdict rests on your answers alone. "
                  "`tunewise advise --data your-examples.jsonl` checks duplicates, conflicts and size.", ""]
    lines += _bakeoff_section(rec)
    lines += _costs(rec.costs)
    if rec.path in ("fine-tune", "rag+fine-tune") or rec.stage:
        lines += lora_settings()
    if rec.commands:
        lines += ["### Commands", ""] + [f"- `{c}`" for c in rec.commands] + [""]
    lines += _answers(answers)
    lines += ["---", "", "*Generated by tunewise. The guidance behind it: start with prompting; add RAG when the model "
              "lacks knowledge; fine-tune when it must behave differently and consistently, once a measured prompt falls "
              "short, with enough consistent examples and an evaluation set. Fine-tuning changes how a model answers, "
              "not what it knows.*", ""]
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
