"""The money side of a verdict: the costs block from the data's token counts, and what it says about a fine-tune.

Hosted self-serve fine-tuning is closing (see `hosted_fine_tuning` in advisor/data/inference_pricing.yaml), so a
fine-tune here means an open model tuned with LoRA and served on your own GPU or CPU. The hosted price rows stay as
the reference for what a few-shot prompt costs per request and for the price gap of a fine-tuned model (estimates).
With a bake-off that measured costs, `with_measurements` adds the measured figures, which the report puts first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from advisor import plain
from advisor.costs import (
    ASSUMED_EXAMPLE_TOKENS,
    ASSUMED_OUTPUT_TOKENS,
    ASSUMED_SYSTEM_TOKENS,
    ASSUMED_USER_TOKENS,
    DEFAULT_RAG_TOKENS,
    RequestShape,
    cost_summary,
)
from advisor.reasons import PAYBACK_LIMIT_DAYS, Reason

if TYPE_CHECKING:
    from advisor.evidence import Evidence
    from advisor.recommend import Prices
    from training.evaluation.results import Bakeoff


def request_shape(ev: Evidence | None, rag: bool) -> RequestShape:
    """The token shape of one request: measured from the dataset when there is one, else assumed."""
    rag_tokens = DEFAULT_RAG_TOKENS if rag else 0
    if ev is None or not ev.tokens_median:
        return RequestShape(ASSUMED_SYSTEM_TOKENS, ASSUMED_USER_TOKENS, ASSUMED_OUTPUT_TOKENS, rag_tokens=rag_tokens)
    prompt = max(ev.tokens_median - ev.assistant_median, 0.0)
    fraction = ev.system_fraction if ev.system_fraction is not None else 0.0  # unknown: count it all as user text
    return RequestShape(round(prompt * fraction, 1), round(prompt * (1 - fraction), 1), ev.assistant_median,
                        rag_tokens=rag_tokens, measured=True)


def costs_block(v: dict[str, Any], ev: Evidence | None, rag: bool, prices: Prices) -> dict[str, Any]:
    """The recommendation's costs: training (measured or assumed), per request, break-even, hosted offers' status."""
    from curation.tokens import estimate_cost

    hosted_allowed = v.get("data_location") != "local"
    if ev is not None and ev.cost:
        training, basis = ev.cost, "measured"
    else:
        n = int(v.get("examples") or 0)
        train_tokens = round(n * 0.9 * ASSUMED_EXAMPLE_TOKENS)  # 90% train split, assumed example size
        training, basis = estimate_cost(train_tokens, 3, prices.training), "assumed"
    summary = cost_summary(request_shape(ev, rag), training, prices.inference, v.get("requests_per_day"), hosted_allowed,
                           basis)
    # Whether the system prompt's share of each example was measured; if not, demonstrations are an upper bound.
    summary["request"]["system_split_measured"] = ev is not None and ev.system_fraction is not None
    summary["hosted_fine_tuning"] = prices.inference.get("hosted_fine_tuning") or {}
    return summary


def with_measurements(costs: dict[str, Any], bakeoff: Bakeoff, prices: Prices, requests_per_day: float | None
                      ) -> dict[str, Any]:
    """The costs block plus what the bake-off measured (`measured`: the candidate to ship, serving our LoRA against
    the hosted prompt, advisor/measured_costs.py); unchanged when the bake-off carries no measures."""
    from advisor.measured_costs import measured_costs

    measured = measured_costs(bakeoff, prices.inference, requests_per_day)
    return {**costs, "measured": measured} if measured and costs else costs


def pays_back_days(costs: dict[str, Any]) -> float | None:
    """Days until dropping the demonstrations repays the training, at the reference prices (None: never/unknown)."""
    return costs["reference"]["break_even_days"]


def cost_reason(costs: dict[str, Any]) -> Reason:
    """What the per-request arithmetic says about a fine-tune: when it pays back, or that the case is consistency."""
    request, ref = costs["request"], costs["reference"]
    basis = "data:tokens.per_example" if request["measured"] else "answer:requests_per_day"
    if not costs["hosted_allowed"]:
        return Reason("Hosted prices do not apply (data must stay in-house): the cost is your own hardware and time",
                      basis, "cost")
    days = ref["break_even_days"]
    if ref["break_even_requests"] is None or (days is not None and days > PAYBACK_LIMIT_DAYS):
        context = f" with {request['rag_tokens']:,.0f} tokens of retrieved context" if request["rag_tokens"] else ""
        why = (f"at your volume it would take {plain.days(days)}" if days is not None else
               "a fine-tuned model's tokens cost about twice as much, and dropping the few-shot demonstrations does "
               f"not outweigh that on a {request['fine_tuned_input_tokens']:,}-token prompt{context}")
        return Reason(f"A fine-tune does not pay back on cost; the case is consistency ({why})", basis, "cost")
    when = f", {plain.days(days)} at your volume" if days is not None else ""
    return Reason(f"Without few-shot demonstrations in every request, a fine-tuned model repays its "
                  f"{plain.money(ref['training_cost'])} training after about {plain.count(ref['break_even_requests'])} "
                  f"requests{when} (reference prices: {ref['model']})", basis, "cost")
