"""The curation report: one JSON-able dict, and the Markdown a curator or PM reads."""

from __future__ import annotations

from collections import Counter
from typing import Any

from curation.curate import CurationResult
from curation.durations import format_duration
from curation.tokens import estimate_cost, load_pricing, summarise


def build_report(
    result: CurationResult, inputs: list[dict[str, Any]] | None = None, problems: list | None = None, rejected: int = 0
) -> dict[str, Any]:
    """Counts, token statistics, cost, clusters and settings of one run."""
    ids = [e.id for e in result.examples]
    tokens = result.tokens
    kept = result.kept
    train_idx = [int(i) for i, e in zip(kept, result.is_eval) if not e]
    reasons = Counter(r.reason for r in result.removals)
    flag_kinds = Counter(f.kind for f in result.flags)
    flagged_examples = {kind: len({f.index for f in result.flags if f.kind == kind}) for kind in flag_kinds}
    n = len(result.examples)
    return {
        "inputs": inputs or [],
        "counts": {
            "valid": n,
            "invalid": rejected,
            "exact_duplicates": reasons.get("exact_duplicate", 0),
            "near_duplicates": reasons.get("near_duplicate", 0),
            "removed": len(result.removals),
            "kept": len(kept),
            "train": len(train_idx),
            "eval": int(result.is_eval.sum()),
            "conflict_groups": len(result.conflict_groups),
            **{f"flagged_{kind}": count for kind, count in sorted(flagged_examples.items())},
        },
        "tokens": {
            "model": tokens.model,
            "context_length": tokens.context_length,
            "max_tokens": result.config.max_tokens,
            "per_example": summarise(tokens.total[kept]),
            "assistant": summarise(tokens.assistant[kept]),
            "over_max_tokens": int((tokens.total[kept] > result.config.max_tokens).sum()),
        },
        "cost": estimate_cost(int(tokens.total[train_idx].sum()) if train_idx else 0, result.config.epochs, load_pricing()),
        "clusters": {
            "k": result.clustering.k,
            "method": result.clustering.method,
            "items": [
                {"id": c.id, "size": c.size, "keywords": c.keywords, "medoid": ids[int(kept[c.medoid])]}
                for c in result.clustering.clusters
            ],
        },
        "settings": result.config.to_dict(),
        "run": result.stats,
        "problems": [p.to_dict() for p in (problems or [])],
    }


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "0%"


def render_markdown(report: dict[str, Any], result: CurationResult | None = None) -> str:
    """A readable report: verdict on data health first, then duplicates, conflicts, clusters, tokens, cost."""
    c, t, cost = report["counts"], report["tokens"], report["cost"]
    valid = c["valid"]
    lines = [
        "# Data curation report",
        "",
        f"**{c['kept']} examples kept** of {valid} valid"
        + (f" ({c['invalid']} invalid lines rejected)" if c.get("invalid") else "")
        + f": {c['exact_duplicates']} exact and {c['near_duplicates']} near duplicates removed "
        f"({_pct(c['removed'], valid)}). Split: {c['train']} train / {c['eval']} eval.",
        "",
        "## Needs a look",
        "",
        f"- Possible duplicates (similar, below the removal threshold): {c.get('flagged_possible_duplicate', 0)}",
        f"- Conflicts (same input, different output): {c.get('flagged_conflict', 0)} examples in {c['conflict_groups']} groups",
        f"- Outliers: {c.get('flagged_outlier', 0)}; very short replies: {c.get('flagged_too_short', 0)}; "
        f"other language: {c.get('flagged_language', 0)}; log- or code-like text: {c.get('flagged_unusual_text', 0)}; "
        f"in tiny clusters: {c.get('flagged_tiny_cluster', 0)}",
        f"- Longer than {t['max_tokens']} tokens: {c.get('flagged_too_long', 0)}",
        "",
    ]
    if result is not None:
        ids = [e.id for e in result.examples]
        conflicts = result.conflict_groups[:5]
        if conflicts:
            lines += ["Conflict groups (first 5):", ""]
            lines += [f"- {', '.join(ids[i] for i in group)}: \"{_short(result.examples[group[0]].input_text)}\"" for group in conflicts]
            lines.append("")
        near = [r for r in result.removals if r.reason == "near_duplicate"][:5]
        if near:
            lines += ["Near duplicates removed (first 5):", "", "| removed | kept twin | similarity |", "|---|---|---|"]
            lines += [f"| {ids[r.index]} | {ids[r.duplicate_of]} | {r.similarity:.3f} |" for r in near]
            lines.append("")
    lines += _scale_lines(report.get("run") or {})
    lines += ["## Clusters", "", f"{report['clusters']['k']} clusters (k chosen by {report['clusters']['method']}).", "",
              "| # | size | keywords | typical example |", "|---|---|---|---|"]
    lines += [f"| {k['id']} | {k['size']} | {', '.join(k['keywords'][:5])} | {k['medoid']} |" for k in report["clusters"]["items"]]
    pe, asst = t["per_example"], t["assistant"]
    lines += [
        "",
        "## Tokens",
        "",
        f"Counted with {t['model']}'s tokenizer and chat template (context {t['context_length']}).",
        "",
        "| | min | p10 | median | p90 | max | total |",
        "|---|---|---|---|---|---|---|",
        f"| whole example | {pe['min']} | {pe['p10']:.0f} | {pe['median']:.0f} | {pe['p90']:.0f} | {pe['max']} | {pe['total']} |",
        f"| assistant (trained) | {asst['min']} | {asst['p10']:.0f} | {asst['median']:.0f} | {asst['p90']:.0f} | {asst['max']} | {asst['total']} |",
        "",
        "## Cost of fine-tuning on the train split",
        "",
        f"{cost['train_tokens']:,} training tokens × {cost['epochs']} epochs = {cost['billed_tokens']:,} billed tokens "
        f"(prices as of {cost['as_of']}).",
        "",
        "| provider | model | per 1M tokens | cost | status |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {h['provider']} | {h['model']} | ${h['per_1m_training_tokens']:.2f} | ${h['cost']:.2f} | "
              f"{_STATUS.get(h.get('status'), 'available')} |" for h in cost["hosted"]]
    local = cost["local"]
    lines += ["", f"Local LoRA ({local['model']}): about {format_duration(local['seconds'])} at {local['tokens_per_second']} tokens/s ({local['measured']}).", ""]
    return "\n".join(lines)


_STATUS = {"closing": "closed or closing to new jobs: a reference, not an offer"}


def _scale_lines(run: dict[str, Any]) -> list[str]:
    """How a large run was kept fast and small: the MinHash pre-pass, embeddings on disk, approximate search recall."""
    lines = []
    near_exact = run.get("near_exact") or {}
    if near_exact.get("applied"):
        lines.append(f"- Near-identical text (MinHash pre-pass): {near_exact.get('removed', 0)} examples removed before embedding.")
    if run.get("embeddings_file"):
        lines.append("- Embeddings were memory-mapped from a file (more than the memory setting allows in RAM).")
    recall = run.get("search_recall")
    if recall:
        value = "no duplicate pair in the sample" if recall["recall"] is None else f"recall {recall['recall']:.3f}"
        lines.append(f"- Approximate (IVF) neighbour search checked against exact search on {recall['queries']} sampled "
                     f"examples: {value} ({recall['found']} of {recall['exact_pairs']} pairs found).")
    return ["## Scale", "", *lines, ""] if lines else []


def _short(text: str, n: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"
