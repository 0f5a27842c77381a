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
from advisor.reasons import Reason

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
    speed = prices.speed  # a past run's measured training speed on this machine, when the project has one
    tps, by = (speed.tokens_per_s, speed.run) if speed is not None else (None, None)
    if ev is not None and ev.cost and ev.cost.get("train_tokens"):
        # The dataset's measured tokens, priced again so a speed measured after curation is used.
        training = estimate_cost(int(ev.cost["train_tokens"]), int(ev.cost.get("epochs") or 3), prices.training, tps, by)
        basis = "measured"
    elif ev is not None and ev.cost:
        training, basis = ev.cost, "measured"
    else:
        n = int(v.get("examples") or 0)
        train_tokens = round(n * 0.9 * ASSUMED_EXAMPLE_TOKENS)  # 90% train split, assumed example size
        training, basis = estimate_cost(train_tokens, 3, prices.training, tps, by), "assumed"
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


def endpoint_rows(endpoints: list) -> list[dict[str, Any]]:
    """Price-table rows for the project's priced endpoints (the hosted model the user already pays for), current."""
    return [{"provider": f"your endpoint {e.name}", "model": e.model, "status": "current",
             "base": {"input": e.price_in_per_mtok, "output": e.price_out_per_mtok},
             "source": f"{e.price_source} (read {e.price_date})", "endpoint": e.name}
            for e in endpoints if e.priced]


def prices_with_endpoints(prices: Prices, endpoints: list) -> Prices:
    """The price tables with the project's priced endpoints first; the first becomes the reference the verdict quotes."""
    from advisor.recommend import Prices

    rows = endpoint_rows(endpoints)
    if not rows:
        return prices
    inference = {**prices.inference, "models": rows + list(prices.inference["models"]), "reference_model": rows[0]["model"]}
    return Prices(prices.training, inference, prices.speed)


def gpu_reason(costs: dict[str, Any]) -> str:
    """One rented GPU in words: 'one rented <GPU> serving a fine-tune costs $X a day'."""
    gpu = costs.get("gpu") or {}
    return f"one rented {gpu.get('gpu', 'GPU')} serving a fine-tune costs {plain.money(gpu.get('per_day'))} a day"


def prompt_reason(costs: dict[str, Any]) -> str:
    """The reference prompt in words: 'sending <model> the few-shot prompt costs $Y a day' (or per 1,000 requests)."""
    ref = costs["reference"]
    if ref.get("hosted_per_day") is not None:
        return f"sending {ref['model']} the few-shot prompt costs {plain.money(ref['hosted_per_day'])} a day"
    return f"sending {ref['model']} the few-shot prompt costs {plain.money(ref['few_shot_per_1k'])} per 1,000 requests"


def cost_reason(costs: dict[str, Any]) -> Reason:
    """What the per-request arithmetic says about a fine-tune: from what volume serving it beats the hosted prompt."""
    request, ref = costs["request"], costs["reference"]
    basis = "data:tokens.per_example" if request["measured"] else "answer:requests_per_day"
    if not costs["hosted_allowed"]:
        return Reason("Hosted prices do not apply (data must stay in-house): the cost is your own hardware and time",
                      basis, "cost")
    break_even, per_day = ref["break_even_requests_per_day"], costs.get("requests_per_day")
    if break_even is None:
        return Reason("No GPU price is on file to compare with the hosted prompt; the case for a fine-tune is "
                      "consistency", basis, "cost")
    if costs["fine_tuning_pays_off"]:
        return Reason(f"At {plain.count(per_day)} requests a day, {prompt_reason(costs)}, while {gpu_reason(costs)} "
                      f"(cheaper from about {plain.count(break_even)} requests a day)", basis, "cost")
    volume = f"At {plain.count(per_day)} requests a day, " if per_day else ""
    text = f"{volume}{prompt_reason(costs)}, while {gpu_reason(costs)}: a fine-tune pays on cost only from about " \
           f"{plain.count(break_even)} requests a day, so the case for one is consistency"
    return Reason(text[0].upper() + text[1:], basis, "cost")
