"""Cost arithmetic, pure: the few-shot prompt on a hosted model vs our fine-tuned open model served on a rented GPU.

Hosted self-serve fine-tuning is closing, so the fine-tuned side is an open model tuned with LoRA and served by the
user: one rented GPU kept running costs its hourly rate × 24 a day whatever the volume, while the hosted prompt costs
its tokens — the few-shot demonstrations included — on every request. Fine-tuning pays on cost from the daily volume
where the two meet. Every figure here is arithmetic on token counts and a dated, sourced price table.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from curation.errors import DataError
from curation.safe_read import CONFIG_LIMIT, read_yaml_file

INFERENCE_PRICING_FILE = Path(__file__).parent / "data" / "inference_pricing.yaml"
HOURS_PER_DAY = 24  # a rented GPU kept running all day
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


def break_even_requests_per_day(gpu_per_day: float, per_request: float) -> int | None:
    """Daily requests from which a GPU at a fixed daily cost is cheaper than paying per request; None when never."""
    if per_request <= 0 or gpu_per_day < 0:
        return None
    return math.ceil(gpu_per_day / per_request)


STATUSES = ("current", "retiring", "retired")


def load_inference_pricing(path: str | Path | None = None) -> dict[str, Any]:
    """The dated inference price table (advisor/data/inference_pricing.yaml unless a path is given), checked.

    Read with safe_read (regular file, size and depth limits); every price must be a finite number >= 0, so the
    arithmetic on it stays finite. The reference model must be a current offer: a retiring one is never quoted.
    """
    path = Path(path or INFERENCE_PRICING_FILE)
    table = read_yaml_file(path, "inference price table", CONFIG_LIMIT, "Restore or fix the file.")
    rows = table.get("models") if isinstance(table, dict) else None
    if not rows or not isinstance(rows, list):
        raise DataError(f"{path} has no `models` list.", "Each row needs provider, model and base prices.")
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or not isinstance(row.get("model"), str) or not isinstance(row.get("provider", ""), str):
            raise DataError(f"{path}, models[{i}]: needs a `model` name (and a `provider`).",
                            "Write e.g. `- provider: OpenAI` / `model: gpt-6-luna`.")
        prices = row.get("base")
        if not isinstance(prices, dict) or not all(_is_price(prices.get(k)) for k in ("input", "output")):
            raise DataError(f"{path}, models[{i}]: `base` needs numeric input and output prices per 1M tokens "
                            "(finite, not negative).", "Write e.g. `base: {input: 0.10, output: 0.50}`.")
        if row.get("status", "current") not in STATUSES:
            raise DataError(f"{path}, models[{i}]: unknown status {str(row.get('status'))[:40]!r}.",
                            "Use " + ", ".join(STATUSES) + ".")
    reference = table.get("reference_model")
    current = {row["model"] for row in rows if row.get("status", "current") == "current"}
    if reference is not None and reference not in current:
        raise DataError(f"{path}: reference_model {str(reference)[:80]!r} is not one of its current models.",
                        "Name a row whose status is current.")
    return table


def _is_price(value: object) -> bool:
    """A price: a finite number >= 0 of sensible size (not a bool, not inf/nan, not a 4,000-digit integer)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and 0 <= value <= 1e9


def cheapest_gpu(inference: dict[str, Any]) -> dict[str, Any] | None:
    """The cheapest dated GPU-by-the-hour row of the `serving` table, with its daily cost (None when it has none)."""
    serving = inference.get("serving") or {}
    rows = [r for r in serving.get("gpus") or [] if isinstance(r, dict) and _is_price(r.get("per_hour"))]
    if not rows:
        return None
    row = min(rows, key=lambda r: r["per_hour"])
    return {**row, "as_of": serving.get("as_of"), "per_day": round(row["per_hour"] * HOURS_PER_DAY, 4)}


def compare_per_request(
    shape: RequestShape, inference: dict[str, Any], requests_per_day: float | None = None
) -> list[dict[str, Any]]:
    """Per hosted model: the few-shot prompt's cost per 1,000 requests, and the daily volume from which one rented
    GPU serving our fine-tuned model (no demonstrations, tokens not billed) costs less."""
    gpu = cheapest_gpu(inference)
    rows = []
    for model in inference["models"]:
        few = request_cost(shape.few_shot_input, shape.output_tokens, model["base"])
        bare = request_cost(shape.tuned_input(True), shape.output_tokens, model["base"])
        row = {
            "provider": model.get("provider", ""),
            "model": model["model"],
            "status": model.get("status", "current"),
            "shutdown": model.get("shutdown"),
            "source": model.get("source") or inference.get("source"),
            "few_shot_per_1k": round(few * 1000, 4),
            "instructions_only_per_1k": round(bare * 1000, 4),
            "hosted_per_day": round(few * requests_per_day, 4) if requests_per_day else None,
            "break_even_requests_per_day": break_even_requests_per_day(gpu["per_day"], few) if gpu else None,
            "gpu_per_1k": round(gpu["per_day"] / requests_per_day * 1000, 4) if gpu and requests_per_day else None,
        }
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
    """The costs block of a recommendation: training time, the prompt's cost per request, GPU serving's break-even."""
    rows = compare_per_request(shape, inference, requests_per_day)
    current = [r for r in rows if r["status"] == "current"] or rows
    reference_name = inference.get("reference_model") or current[0]["model"]
    reference = next((r for r in rows if r["model"] == reference_name), current[0])
    break_even = reference["break_even_requests_per_day"]
    paying = [r for r in current if r["break_even_requests_per_day"] is not None]
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
        "gpu": cheapest_gpu(inference),
        "per_request": rows,
        "reference": reference,
        # Serving our fine-tune on one rented GPU costs less than the reference prompt at the stated volume.
        "fine_tuning_pays_off": bool(requests_per_day and break_even is not None and requests_per_day >= break_even),
        "cheapest_break_even": min(paying, key=lambda r: r["break_even_requests_per_day"]) if paying else None,
    }
