"""The money side of a measured bake-off: which candidate to ship, and when serving our own LoRA beats prompting.

Pure arithmetic on what the bake-off measured (summary.json `measures`): the hosted prompt's cost per 1,000
requests comes from its measured tokens (the few-shot prompt's real length from the server's `usage`) at the
endpoint's dated price; the fine-tuned side is our LoRA model served by us, on a GPU rented by the hour (the
`serving` table in advisor/data/inference_pricing.yaml, dated and sourced) or on the local CPU at the time the
bake-off measured per request. Hosted fine-tunes are never the fine-tune price here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from advisor.costs import HOURS_PER_DAY, cheapest_gpu

if TYPE_CHECKING:
    from training.evaluation.results import Bakeoff, CandidateResult

TUNED_KINDS = ("lora", "rag+lora")
HOSTED_PROMPT_KINDS = ("prompt@", "rag@")


def _interval(d: Any) -> dict[str, float] | None:
    return None if d is None else {"mean": d.mean, "low": d.low, "high": d.high}


def _candidate(c: CandidateResult) -> dict[str, Any]:
    """A candidate's name, kind and measures, flat."""
    m = c.measures
    return {"name": c.name, "kind": c.kind, "endpoint": (c.endpoint or {}).get("name"),
            "tokens_in_mean": m.tokens_in_mean if m else None, "tokens_out_mean": m.tokens_out_mean if m else None,
            "cost_per_1000": m.cost_per_1000 if m else None, "price_date": m.price_date if m else None,
            "price_source": m.price_source if m else None, "latency_p50_s": m.latency_p50_s if m else None,
            "latency_p95_s": m.latency_p95_s if m else None}


def _hosted_prompt(bakeoff: Bakeoff) -> CandidateResult | None:
    """The priced hosted prompting candidate the fine-tune competes with: the best-scoring prompt@/rag@ one."""
    priced = [c for c in bakeoff.ranked() if c.kind in HOSTED_PROMPT_KINDS and c.cost_per_1000 is not None]
    return priced[0] if priced else None


def _tuned(bakeoff: Bakeoff) -> CandidateResult | None:
    found = [c for c in bakeoff.ranked() if c.kind in TUNED_KINDS and c.measures is not None]
    return found[0] if found else None


def serving_comparison(hosted_per_1000: float, gpu: dict[str, Any] | None, tuned: dict[str, Any] | None,
                       requests_per_day: float | None, hosted_tokens_in: float | None = None) -> dict[str, Any]:
    """Prompting the hosted model vs serving our LoRA: the GPU's daily cost, the volume where it breaks even, CPU time.

    A rented GPU kept running costs per_hour × 24 a day whatever the volume, so it is cheaper than the hosted prompt
    above per_hour × 24 / (hosted cost per request) requests a day. On the local CPU the cost is your own hardware:
    the bake-off's measured seconds per request say how many requests one CPU-hour serves.
    """
    per_request = hosted_per_1000 / 1000
    out: dict[str, Any] = {"hosted_per_1000": hosted_per_1000, "gpu": gpu, "break_even_requests_per_day": None,
                           "gpu_per_1000": None, "hosted_per_day": None, "gpu_per_day": None,
                           "cpu_seconds_per_request": None, "cpu_requests_per_hour": None}
    if gpu is not None:
        day = gpu["per_hour"] * HOURS_PER_DAY
        out["gpu_per_day"] = round(day, 4)
        out["break_even_requests_per_day"] = round(day / per_request) if per_request > 0 else None
        if requests_per_day:
            out["gpu_per_1000"] = round(day / requests_per_day * 1000, 4)
            out["hosted_per_day"] = round(per_request * requests_per_day, 4)
    hosted_in, tuned_in = hosted_tokens_in, (tuned or {}).get("tokens_in_mean")
    out["prompt_tokens_saved"] = round(hosted_in - tuned_in, 1) if hosted_in is not None and tuned_in is not None else None
    seconds = (tuned or {}).get("latency_p50_s")
    if seconds:
        out["cpu_seconds_per_request"] = seconds
        out["cpu_requests_per_hour"] = round(3600 / seconds)
    return out


def measured_costs(bakeoff: Bakeoff, inference: dict[str, Any], requests_per_day: float | None) -> dict[str, Any] | None:
    """The costs a bake-off measured: the candidate to ship (cheapest not clearly worse than the best) and, when a
    priced hosted prompt and a LoRA candidate were both measured, what serving the LoRA costs against it.

    None when no candidate carries measures (a bake-off from before they were recorded).
    """
    if not any(c.measures is not None for c in bakeoff.candidates):
        return None
    best = bakeoff.winner
    cheapest = bakeoff.cheapest()
    if cheapest is not None:
        ship, margin, rule = cheapest[0], cheapest[1], "cheapest"
    else:
        ship, margin, rule = best, None, "best"  # no candidate has a price: quality decides
    hosted, tuned = _hosted_prompt(bakeoff), _tuned(bakeoff)
    few_shot = next((c for c in bakeoff.ranked() if c.kind == "few-shot" and c.measures is not None), None)
    out: dict[str, Any] = {
        "basis": "measured", "primary": bakeoff.primary, "examples": bakeoff.examples, "best": best.name,
        "ship": {**_candidate(ship), "rule": rule, "margin": _interval(margin)},
        "hosted_prompt": _candidate(hosted) if hosted else None,
        "few_shot_local": _candidate(few_shot) if few_shot else None,
        "tuned": _candidate(tuned) if tuned else None, "serving": None,
    }
    if hosted is not None:
        out["serving"] = serving_comparison(hosted.cost_per_1000, cheapest_gpu(inference), out["tuned"], requests_per_day,
                                            hosted.measures.tokens_in_mean if hosted.measures else None)
    return out
