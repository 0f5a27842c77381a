"""Cost arithmetic, pure: per-request cost of few-shot prompting vs a fine-tuned model, and when fine-tuning pays off.

Fine-tuning costs more up front (training) and, on hosted APIs, more per token; it saves money only when the
fine-tuned model's prompt is shorter by more than that price difference (no few-shot demonstrations, and
optionally no long style instructions). Every figure here is arithmetic on token counts and a dated price table.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from curation.errors import DataError
from curation.safe_read import CONFIG_LIMIT, read_yaml_file

INFERENCE_PRICING_FILE = Path(__file__).parent / "data" / "inference_pricing.yaml"
DEFAULT_SHOTS = 5  # demonstrations a few-shot prompt carries
DEFAULT_RAG_TOKENS = 1000  # retrieved context per request when RAG is in the path (about 4 passages of 250 tokens)
# Used only when no dataset was measured: a support-style exchange with a short system prompt.
ASSUMED_SYSTEM_TOKENS = 150
ASSUMED_USER_TOKENS = 60
ASSUMED_OUTPUT_TOKENS = 120
ASSUMED_EXAMPLE_TOKENS = ASSUMED_SYSTEM_TOKENS + ASSUMED_USER_TOKENS + ASSUMED_OUTPUT_TOKENS


@dataclass(frozen=True)
class RequestShape:
    """Token sizes of one request: system instructions, the user's input, the reply, demonstrations and context."""

    system_tokens: float
    user_tokens: float
    output_tokens: float
    shots: int = DEFAULT_SHOTS
    rag_tokens: float = 0.0
    measured: bool = False  # True when the sizes come from a curated dataset, False when assumed

    def __post_init__(self) -> None:
        for name in ("system_tokens", "user_tokens", "output_tokens", "shots", "rag_tokens"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value < math.inf:
                raise ValueError(f"RequestShape.{name} must be a finite number >= 0, got {value!r}")

    @property
    def shot_tokens(self) -> float:
        """Tokens of one demonstration (a user turn and its reply) inside a few-shot prompt."""
        return self.user_tokens + self.output_tokens

    @property
    def few_shot_input(self) -> float:
        """Input tokens of a few-shot request: instructions, demonstrations, retrieved context, the question."""
        return self.system_tokens + self.shots * self.shot_tokens + self.rag_tokens + self.user_tokens

    def tuned_input(self, keep_system: bool = True) -> float:
        """Input tokens of a request to a fine-tuned model: no demonstrations, optionally no instructions."""
        return (self.system_tokens if keep_system else 0.0) + self.rag_tokens + self.user_tokens


def request_cost(input_tokens: float, output_tokens: float, prices: dict[str, float]) -> float:
    """Price of one request in currency units, from per-1M-token input/output prices."""
    return (input_tokens * prices["input"] + output_tokens * prices["output"]) / 1e6


def break_even_requests(upfront: float, saving_per_request: float) -> float | None:
    """Requests after which a per-request saving repays an upfront cost; None when it never does."""
    if saving_per_request <= 0:
        return None
    return upfront / saving_per_request


def load_inference_pricing(path: str | Path | None = None) -> dict[str, Any]:
    """The dated inference price table (advisor/data/inference_pricing.yaml unless a path is given), checked.

    Read with safe_read (regular file, size and depth limits); every price must be a finite number >= 0, so the
    arithmetic on it stays finite.
    """
    path = Path(path or INFERENCE_PRICING_FILE)
    table = read_yaml_file(path, "inference price table", CONFIG_LIMIT, "Restore or fix the file.")
    rows = table.get("models") if isinstance(table, dict) else None
    if not rows or not isinstance(rows, list):
        raise DataError(f"{path} has no `models` list.", "Each row needs provider, model, base and fine_tuned prices.")
    reference = table.get("reference_model")
    names = {row.get("model") for row in rows if isinstance(row, dict) and isinstance(row.get("model"), str)}
    if reference is not None and reference not in names:
        raise DataError(f"{path}: reference_model {str(reference)[:80]!r} is not one of its models.", "Name one of the rows' `model`.")
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or not isinstance(row.get("model"), str) or not isinstance(row.get("provider", ""), str):
            raise DataError(f"{path}, models[{i}]: needs a `model` name (and a `provider`).",
                            "Write e.g. `- provider: OpenAI` / `model: gpt-4o-mini`.")
        for key in ("base", "fine_tuned"):
            prices = row.get(key)
            if not isinstance(prices, dict) or not all(_is_price(prices.get(k)) for k in ("input", "output")):
                raise DataError(f"{path}, models[{i}]: `{key}` needs numeric input and output prices per 1M tokens "
                                "(finite, not negative).", "Write e.g. `base: {input: 0.15, output: 0.60}`.")
    return table


def _is_price(value: object) -> bool:
    """A price: a finite number >= 0 of sensible size (not a bool, not inf/nan, not a 4,000-digit integer)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and 0 <= value <= 1e9


def compare_per_request(
    shape: RequestShape, inference: dict[str, Any], training_costs: dict[str, float], requests_per_day: float | None = None
) -> list[dict[str, Any]]:
    """Per hosted model: few-shot vs fine-tuned cost per 1,000 requests, training cost and break-even volume.

    Two fine-tuned variants are priced: one that keeps the system prompt it was trained with (conservative) and one
    that drops it because the model has learnt the behaviour it described.
    """
    rows = []
    for model in inference["models"]:
        name = model["model"]
        few = request_cost(shape.few_shot_input, shape.output_tokens, model["base"])
        tuned = request_cost(shape.tuned_input(True), shape.output_tokens, model["fine_tuned"])
        tuned_short = request_cost(shape.tuned_input(False), shape.output_tokens, model["fine_tuned"])
        upfront = training_costs.get(name)
        row = {
            "provider": model.get("provider", ""),
            "model": name,
            "status": model.get("status"),  # "closing": its fine-tuned price is a reference for estimates only
            "few_shot_per_1k": round(few * 1000, 4),
            "fine_tuned_per_1k": round(tuned * 1000, 4),
            "fine_tuned_short_prompt_per_1k": round(tuned_short * 1000, 4),
            "saving_per_1k": round((few - tuned) * 1000, 4),
            "training_cost": upfront,
        }
        for suffix, saving in (("", few - tuned), ("_short_prompt", few - tuned_short)):
            requests = break_even_requests(upfront, saving) if upfront is not None else None
            row[f"break_even_requests{suffix}"] = None if requests is None else math.ceil(requests)
            row[f"break_even_days{suffix}"] = (
                None if requests is None or not requests_per_day else round(requests / requests_per_day, 1)
            )
        rows.append(row)
    return rows


def cost_summary(
    shape: RequestShape,
    training: dict[str, Any],
    inference: dict[str, Any],
    requests_per_day: float | None = None,
    hosted_allowed: bool = True,
    training_basis: str = "measured",
) -> dict[str, Any]:
    """The costs block of a recommendation: training (hosted and local LoRA), per-request comparison, break-even."""
    training_costs = {row["model"]: row["cost"] for row in training.get("hosted", [])}
    rows = compare_per_request(shape, inference, training_costs, requests_per_day)
    reference_name = inference.get("reference_model") or rows[0]["model"]
    reference = next((r for r in rows if r["model"] == reference_name), rows[0])
    paying = [r for r in rows if r["break_even_requests"] is not None]
    paying_short = [r for r in rows if r["break_even_requests_short_prompt"] is not None]
    return {
        "currency": inference.get("currency", "USD"),
        "inference_as_of": inference.get("as_of"),
        "training_as_of": training.get("as_of"),
        "hosted_allowed": hosted_allowed,
        "training": {**training, "basis": training_basis},
        "request": {
            **asdict(shape),
            "shot_tokens": shape.shot_tokens,
            "few_shot_input_tokens": round(shape.few_shot_input),
            "fine_tuned_input_tokens": round(shape.tuned_input(True)),
            "fine_tuned_short_prompt_input_tokens": round(shape.tuned_input(False)),
        },
        "requests_per_day": requests_per_day,
        "per_request": rows,
        "reference": reference,
        "fine_tuning_pays_off": bool(paying),
        "cheapest_break_even": min(paying, key=lambda r: r["break_even_requests"]) if paying else None,
        "cheapest_break_even_short_prompt": min(paying_short, key=lambda r: r["break_even_requests_short_prompt"])
        if paying_short else None,
    }
