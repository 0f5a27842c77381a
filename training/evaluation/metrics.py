"""Text metrics for one output against its reference, and bootstrap confidence intervals over a set.

Exact match and token F1 follow the SQuAD evaluation script (lower-case, drop punctuation and articles, squeeze
spaces); ROUGE-L is the F-measure of the longest common token subsequence (Lin 2004, beta = 1); the format
metrics check that an output parses as JSON, matches a regular expression or a JSON schema.
"""

from __future__ import annotations

import json
import re
import string
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans("", "", string.punctuation + "“”‘’«»—–…")
_TOKEN = re.compile(r"\w+|[^\w\s]")


def normalize(text: str) -> str:
    """SQuAD-style normal form: lower case, no punctuation, no articles, single spaces."""
    text = text.lower().translate(_PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(output: str, reference: str) -> float:
    """1.0 when the normalised output equals the normalised reference."""
    return float(normalize(output) == normalize(reference))


def token_f1(output: str, reference: str) -> float:
    """Harmonic mean of token precision and recall over normalised words (bag of words)."""
    out, ref = normalize(output).split(), normalize(reference).split()
    if not out or not ref:
        return float(out == ref)
    common = sum((Counter(out) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(out), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def contains(output: str, reference: str) -> float:
    """1.0 when the normalised reference appears, as whole words, in the normalised output (answer recall)."""
    ref = normalize(reference)
    return float(bool(ref) and f" {ref} " in f" {normalize(output)} ")


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of two token lists (O(len(a) * len(b)) time, O(len(b)) memory)."""
    if len(a) < len(b):
        a, b = b, a
    row = [0] * (len(b) + 1)
    for x in a:
        previous = 0
        for j, y in enumerate(b, 1):
            current = row[j]
            row[j] = previous + 1 if x == y else max(row[j], row[j - 1])
            previous = current
    return row[-1]


def rouge_l(output: str, reference: str) -> float:
    """ROUGE-L F1: the longest common subsequence of lower-cased word tokens over both lengths."""
    out, ref = _TOKEN.findall(output.lower()), _TOKEN.findall(reference.lower())
    if not out or not ref:
        return float(out == ref)
    lcs = lcs_length(out, ref)
    return 0.0 if lcs == 0 else 2 * lcs / (len(out) + len(ref))


def length_ratio(output: str, reference: str) -> float:
    """Output words over reference words (1.0 = same length; a reference with no words counts as one)."""
    return len(output.split()) / max(len(reference.split()), 1)


def parse_json(text: str) -> object | None:
    """The JSON value in text (a ```json fence is allowed around it), or None if it does not parse."""
    stripped = text.strip()
    fence = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", stripped, flags=re.S)
    if fence:
        stripped = fence.group(1)
    try:
        return json.loads(stripped)
    except (ValueError, RecursionError):  # not JSON, a 5,000-digit number, absurd nesting
        return None


def is_json(text: str) -> bool:
    """Whether text is a JSON object or array (a bare number or string does not count as structured output)."""
    return isinstance(parse_json(text), (dict, list))


def json_valid(output: str, reference: str) -> float:
    """1.0 when the output parses as a JSON object or array."""
    return float(is_json(output))


def json_equal(output: str, reference: str) -> float:
    """1.0 when output and reference parse to the same JSON value (key order and spacing ignored)."""
    parsed = parse_json(output)
    return float(parsed is not None and parsed == parse_json(reference))


def regex_metric(pattern: str) -> Callable[[str, str], float]:
    """A metric: 1.0 when the whole output (stripped) matches the regular expression."""
    compiled = re.compile(pattern, flags=re.S)
    return lambda output, reference: float(compiled.fullmatch(output.strip()) is not None)


def schema_metric(schema: dict) -> Callable[[str, str], float]:
    """A metric: 1.0 when the output parses as JSON and validates against the JSON schema."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)

    def check(output: str, reference: str) -> float:
        parsed = parse_json(output)
        try:
            return float(parsed is not None and validator.is_valid(parsed))
        except Exception:  # noqa: BLE001 - a $ref only this output reaches, too deep an output: it does not validate
            return 0.0

    return check


@dataclass(frozen=True)
class Metric:
    """A per-example score: its name, what it measures, and the function (output, reference) -> float."""

    name: str
    description: str
    score: Callable[[str, str], float] | None  # None: computed in batch (embedding similarity)
    higher_is_better: bool = True


METRICS: dict[str, Metric] = {
    "exact_match": Metric("exact_match", "normalised output equals the reference", exact_match),
    "contains": Metric("contains", "the output contains the reference's words in order (answer recall)", contains),
    "token_f1": Metric("token_f1", "word-overlap F1 with the reference", token_f1),
    "rouge_l": Metric("rouge_l", "longest common word subsequence F1 (ROUGE-L)", rouge_l),
    "embedding": Metric("embedding", "cosine similarity of output and reference embeddings", None),
    "json_valid": Metric("json_valid", "output parses as a JSON object or array", json_valid),
    "json_equal": Metric("json_equal", "output parses to the same JSON as the reference", json_equal),
    "length_ratio": Metric("length_ratio", "output words / reference words (1.0 is the reference's length)",
                           length_ratio, higher_is_better=False),
}


@dataclass(frozen=True)
class Interval:
    """A mean and its two-sided bootstrap percentile interval."""

    mean: float
    low: float
    high: float

    def excludes_zero(self) -> bool:
        """Whether the interval lies wholly above or below 0."""
        return self.low > 0 or self.high < 0

    def to_dict(self) -> dict[str, float]:
        return {"mean": round(self.mean, 4), "low": round(self.low, 4), "high": round(self.high, 4)}


def bootstrap_ci(values: Sequence[float], resamples: int = 1000, confidence: float = 0.95, seed: int = 0) -> Interval:
    """Mean of values with a percentile bootstrap interval (resampling examples with replacement)."""
    data = np.asarray(values, dtype=np.float64)
    if data.size == 0:
        return Interval(float("nan"), float("nan"), float("nan"))
    if data.size == 1:
        value = float(data[0])
        return Interval(value, value, value)
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(resamples, data.size))].mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return Interval(float(data.mean()), float(low), float(high))


def paired_difference(a: Sequence[float], b: Sequence[float], resamples: int = 1000, confidence: float = 0.95,
                      seed: int = 0) -> Interval:
    """Mean of a - b over the same examples, with a paired bootstrap interval."""
    if len(a) != len(b):
        raise ValueError(f"paired scores need the same examples: {len(a)} vs {len(b)}")
    return bootstrap_ci(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64), resamples, confidence, seed)
