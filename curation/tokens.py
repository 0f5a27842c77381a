"""Token counts with the generator's own chat template, length statistics and training-cost estimates."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from curation.errors import DataError, ModelError
from curation.example import Example
from curation.model_sources import TokenizerInfo
from curation.safe_read import CONFIG_LIMIT, read_json_file


@dataclass
class TokenCounts:
    """Per-example token counts: the whole templated conversation and the assistant (trained) part."""

    total: np.ndarray
    assistant: np.ndarray
    model: str
    context_length: int


def count_tokens(examples: Sequence[Example], info: TokenizerInfo) -> TokenCounts:
    """Tokens of each example rendered with the model's chat template, and of its assistant turns (+ end token)."""
    tokenizer = info.tokenizer
    if not getattr(tokenizer, "chat_template", None):
        raise ModelError(
            f"The tokenizer of {info.name} has no chat template, so training text cannot match serving text.",
            "Use an instruction-tuned model (one whose tokenizer_config.json has a chat_template).",
        )
    if not examples:
        empty = np.zeros(0, dtype=np.int64)
        return TokenCounts(empty, empty, info.name, info.context_length)
    total = np.zeros(len(examples), dtype=np.int64)
    assistant = np.zeros(len(examples), dtype=np.int64)
    for start in range(0, len(examples), COUNT_CHUNK):  # renders and encodings of one chunk at a time: bounded memory
        chunk = examples[start : start + COUNT_CHUNK]
        rendered = tokenizer.apply_chat_template([e.messages for e in chunk], tokenize=False)
        total[start : start + len(chunk)] = _rendered_lengths(tokenizer, rendered)
        replies = [m["content"] for e in chunk for m in e.messages if m["role"] == "assistant"]
        owners = [i for i, e in enumerate(chunk) for m in e.messages if m["role"] == "assistant"]
        reply_tokens = [n + 1 for n in _lengths(tokenizer, replies)]  # + end of turn
        assistant[start : start + len(chunk)] = np.bincount(owners, weights=reply_tokens, minlength=len(chunk))
    return TokenCounts(total, assistant, info.name, info.context_length)


# Examples counted at once: at 100k examples one batch held ~900 MB of renders and encodings (bench/scale.py)
COUNT_CHUNK = 4096


# Pre-tokenizers that treat every piece of text between added tokens alike, whatever comes before or after it
# (Metaspace's prepend_scheme "first", for one, does not: it marks only the first piece).
_PIECEWISE = {"ByteLevel", "Digits", "Split", "Punctuation", "Whitespace", "WhitespaceSplit"}


def _rendered_lengths(tokenizer, rendered: list[str]) -> np.ndarray:
    """Token counts of rendered conversations, each distinct piece between added tokens tokenized once.

    A fast tokenizer cuts text at its added tokens (<|im_start|>, <|im_end|>) before anything else and tokenizes
    the pieces apart, so a count is the number of added tokens plus the counts of the pieces; a system prompt
    shared by every example is then tokenized once instead of once per example. Tokenizers where pieces are not
    independent (a normalizer, an added token that strips spaces, another pre-tokenizer) are counted whole.
    """
    splitter = _added_token_splitter(tokenizer)
    if splitter is None:
        return np.array(_lengths(tokenizer, rendered), dtype=np.int64)
    parts = [splitter.split(text) for text in rendered]  # pieces at even positions, added tokens at odd ones
    distinct = list(dict.fromkeys(piece for split in parts for piece in split[::2] if piece))
    length = dict(zip(distinct, _lengths(tokenizer, distinct)))
    return np.array([len(split) // 2 + sum(length[p] for p in split[::2] if p) for split in parts], dtype=np.int64)


def _lengths(tokenizer, texts: list[str]) -> list[int]:
    """Number of tokens of each text (no special tokens added).

    A fast tokenizer with no truncation or padding of its own is called directly without offsets
    (encode_batch_fast), which gives the same ids as tokenizer(texts) in about 60% of the time.
    """
    if not texts:
        return []
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if (backend is not None and hasattr(backend, "encode_batch_fast") and backend.truncation is None
            and backend.padding is None and not getattr(backend, "encode_special_tokens", False)):
        return [len(encoding.ids) for encoding in backend.encode_batch_fast(texts, add_special_tokens=False)]
    return [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]


def _added_token_splitter(tokenizer) -> re.Pattern | None:
    """A pattern that cuts text at the tokenizer's added tokens, as the tokenizer does, when the pieces between
    them are tokenized independently; None when they may not be (see _rendered_lengths)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None or backend.normalizer is not None or not hasattr(backend, "get_added_tokens_decoder"):
        return None
    if backend.pre_tokenizer is not None:
        spec = json.loads(backend.pre_tokenizer.__getstate__())
        steps = spec.get("pretokenizers", [spec]) if spec.get("type") == "Sequence" else [spec]
        if any(s.get("type") not in _PIECEWISE or s.get("add_prefix_space") for s in steps):
            return None
    added = list(backend.get_added_tokens_decoder().values())
    if not added or any(t.lstrip or t.rstrip or t.single_word or t.normalized for t in added):
        return None
    # longest first: at one position the tokenizer takes the longest added token (leftmost-longest match)
    contents = sorted({t.content for t in added if t.content}, key=len, reverse=True)
    return re.compile("(" + "|".join(map(re.escape, contents)) + ")")


def summarise(values: np.ndarray) -> dict[str, float]:
    """min / p10 / median / p90 / max / mean / total of a count array."""
    if len(values) == 0:
        return {"min": 0, "p10": 0, "median": 0, "p90": 0, "max": 0, "mean": 0.0, "total": 0}
    p10, median, p90 = np.percentile(values, [10, 50, 90])
    return {
        "min": int(values.min()), "p10": float(p10), "median": float(median), "p90": float(p90),
        "max": int(values.max()), "mean": round(float(values.mean()), 1), "total": int(values.sum()),
    }


PRICING_FILE = Path(__file__).parent / "data" / "pricing.json"


def load_pricing(path: str | Path | None = None) -> dict:
    """The editable pricing table (curation/data/pricing.json unless a path is given), checked.

    Read with safe_read (regular file, size limit, JSON errors with line and column); a table estimate_cost
    cannot use is a DataError naming the file and the field.
    """
    path = Path(path or PRICING_FILE)
    hint = "Restore the file, or fix it: see curation/data/pricing.json for the shape."
    table = read_json_file(path, "pricing table", CONFIG_LIMIT, hint)
    if not isinstance(table, dict):
        raise DataError(f"{path}: the pricing table must be a JSON object with `hosted` and `local`.", hint)
    hosted, local = table.get("hosted"), table.get("local")
    if not isinstance(hosted, list):
        raise DataError(f"{path}: `hosted` must be a list of models with per_1m_training_tokens.", hint)
    for i, row in enumerate(hosted):
        if not isinstance(row, dict) or not isinstance(row.get("model"), str) or not _finite(row.get("per_1m_training_tokens")):
            raise DataError(f"{path}: hosted[{i}] needs a `model` name and a finite per_1m_training_tokens >= 0.", hint)
    if not isinstance(local, dict) or not _finite(local.get("tokens_per_second")) or not local["tokens_per_second"] > 0:
        raise DataError(f"{path}: `local` needs a finite tokens_per_second > 0.", hint)
    return table


def _finite(value: object) -> bool:
    """A finite number >= 0 of sensible size (JSON allows Infinity, NaN and integers of thousands of digits)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and 0 <= value <= 1e12


def estimate_cost(train_tokens: int, epochs: int, pricing: dict, tokens_per_second: float | None = None,
                  measured_by: str | None = None) -> dict:
    """Hosted fine-tuning price per model and local LoRA time for train_tokens × epochs.

    Args:
        tokens_per_second: the training speed measured on this machine (training.runs.measured_speed); None = the
            pricing table's reference speed, said to be assumed.
        measured_by: the run that measured tokens_per_second, named in the text.
    """
    billed = train_tokens * epochs
    local = dict(pricing["local"])
    if tokens_per_second is not None and math.isfinite(tokens_per_second) and tokens_per_second > 0:
        run = f"run {measured_by}" if measured_by else "a past run"
        local |= {"tokens_per_second": round(float(tokens_per_second), 1), "speed_basis": "measured",
                  "measured": f"measured on this machine by {run}"}
    else:
        local |= {"speed_basis": "assumed",
                  "measured": f"assumed, no run on this machine yet; reference: {local.get('measured', 'pricing table')}"}
    seconds = billed / float(local["tokens_per_second"])
    return {
        "train_tokens": int(train_tokens),
        "epochs": epochs,
        "billed_tokens": int(billed),
        "as_of": pricing.get("as_of"),
        "currency": pricing.get("currency", "USD"),
        "hosted": [
            {**{k: v for k, v in row.items() if k != "per_1m_training_tokens"},
             "per_1m_training_tokens": row["per_1m_training_tokens"],
             "cost": round(billed / 1e6 * row["per_1m_training_tokens"], 2)}
            for row in pricing["hosted"]
        ],
        "local": {**local, "seconds": round(seconds, 1), "hours": round(seconds / 3600, 2)},
    }
