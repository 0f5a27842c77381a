"""A bake-off's summary as data: per-candidate scores with intervals and paired comparisons (summary.json).

Pure JSON in and out (no torch), so the advisor can read a bake-off without loading any model.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curation.errors import DataError, TunewiseError
from training.evaluation.measures import COST_RULE, Measures
from training.evaluation.metrics import METRICS, Interval

SUMMARY_FILE, OUTPUTS_FILE, MARKDOWN_FILE = "summary.json", "outputs.jsonl", "summary.md"
EVALS_DIR = "evals"


@dataclass
class CandidateResult:
    """One candidate's mean score (with a bootstrap interval) on each metric, how its outputs were made, and what
    they cost (tokens, price, latency, failures). `endpoint` names the endpoint of prompt@/rag@ candidates
    (name, base_url, model; never a key)."""

    name: str
    kind: str
    description: str
    scores: dict[str, Interval]
    generated: int = 0
    cached: int = 0
    seconds: float = 0.0
    measures: Measures | None = None
    endpoint: dict[str, str] | None = None

    @property
    def cost_per_1000(self) -> float | None:
        """USD per 1,000 requests at a dated price; None for local candidates (and endpoints without a price)."""
        return self.measures.cost_per_1000 if self.measures else None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "description": self.description,
                "scores": {m: i.to_dict() for m, i in self.scores.items()}, "generated": self.generated,
                "cached": self.cached, "seconds": round(self.seconds, 1),
                "measures": self.measures.to_dict() if self.measures else None, "endpoint": self.endpoint}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CandidateResult:
        return cls(data["name"], data["kind"], data.get("description", ""),
                   {m: Interval(**i) for m, i in data["scores"].items()}, data.get("generated", 0),
                   data.get("cached", 0), data.get("seconds", 0.0), Measures.from_dict(data.get("measures")),
                   data.get("endpoint") if isinstance(data.get("endpoint"), dict) else None)


@dataclass
class Comparison:
    """Mean difference a - b on the primary metric over the same examples, with a paired bootstrap interval."""

    a: str
    b: str
    difference: Interval

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "difference": self.difference.to_dict()}


@dataclass
class Bakeoff:
    """What a bake-off measured; `folder` is evals/<stamp>/ holding summary.json, outputs.jsonl and summary.md."""

    created: str
    folder: str
    eval_source: str
    eval_fingerprint: str
    examples: int
    primary: str
    metrics: list[str]
    metric_reasons: list[str]
    candidates: list[CandidateResult]
    comparisons: list[Comparison] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    stale: bool = False  # set by whoever loads it: the evaluation set has changed since (not saved)

    def candidate(self, name: str) -> CandidateResult:
        for c in self.candidates:
            if c.name == name:
                return c
        raise KeyError(name)

    def ranked(self, metric: str | None = None) -> list[CandidateResult]:
        """Candidates best first on a metric (the primary by default)."""
        metric = metric or self.primary
        sign = 1 if METRICS.get(metric) is None or METRICS[metric].higher_is_better else -1
        return sorted(self.candidates, key=lambda c: -sign * _finite(c.scores[metric].mean))

    @property
    def winner(self) -> CandidateResult:
        return self.ranked()[0]

    def difference(self, a: str, b: str) -> Interval | None:
        """Paired difference a - b on the primary metric, if both were measured."""
        for c in self.comparisons:
            if (c.a, c.b) == (a, b):
                return c.difference
            if (c.a, c.b) == (b, a):
                d = c.difference
                return Interval(-d.mean, -d.high, -d.low)
        return None

    def margin(self) -> tuple[CandidateResult, Interval] | None:
        """The runner-up and the winner's paired margin over it (None with a single candidate)."""
        ranked = self.ranked()
        if len(ranked) < 2:
            return None
        return ranked[1], self.difference(ranked[0].name, ranked[1].name)

    def cheapest(self) -> tuple[CandidateResult, Interval | None] | None:
        """The cheapest priced candidate not clearly worse than the best, and its paired difference to the best.

        Not clearly worse: the paired interval of (candidate - best) on the primary metric includes 0 or favours
        it. Candidates without a price are compared on quality only (never chosen here). None when no candidate
        that qualifies has a price.
        """
        best = self.winner
        fine = []
        for c in self.candidates:
            if c.cost_per_1000 is None:
                continue
            diff = None if c.name == best.name else self.difference(c.name, best.name)
            if c.name == best.name or (diff is not None and diff.high >= 0):
                fine.append((c, diff))
        return min(fine, key=lambda pair: pair[0].cost_per_1000) if fine else None

    def to_dict(self) -> dict[str, Any]:
        margin = self.margin()
        cheapest = self.cheapest()
        return {
            "created": self.created, "folder": self.folder, "eval_source": self.eval_source,
            "eval_fingerprint": self.eval_fingerprint, "examples": self.examples, "primary": self.primary,
            "metrics": self.metrics, "metric_reasons": self.metric_reasons,
            "winner": self.winner.name, "runner_up": margin[0].name if margin else None,
            "margin": margin[1].to_dict() if margin and margin[1] else None,
            "cheapest": cheapest[0].name if cheapest else None,
            "cheapest_margin": cheapest[1].to_dict() if cheapest and cheapest[1] else None,
            "cost_rule": COST_RULE,
            "candidates": [c.to_dict() for c in self.candidates],
            "comparisons": [c.to_dict() for c in self.comparisons], "settings": self.settings,
            "seconds": round(self.seconds, 1),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Bakeoff:
        return cls(
            data["created"], data["folder"], data.get("eval_source", ""), data.get("eval_fingerprint", ""),
            data["examples"], data["primary"], list(data["metrics"]), list(data.get("metric_reasons", [])),
            [CandidateResult.from_dict(c) for c in data["candidates"]],
            [Comparison(c["a"], c["b"], Interval(**c["difference"])) for c in data.get("comparisons", [])],
            dict(data.get("settings") or {}), data.get("seconds", 0.0),
        )


def _finite(value: float) -> float:
    return value if math.isfinite(value) else -math.inf


_NUMBER = {"type": "number"}
_INTERVAL = {"type": "object", "required": ["mean", "low", "high"], "additionalProperties": False,
             "properties": {"mean": _NUMBER, "low": _NUMBER, "high": _NUMBER}}
_STRINGS = {"type": "array", "items": {"type": "string"}}
_MAYBE_NUMBER = {"type": ["number", "null"]}
_MEASURES = {"type": ["object", "null"], "required": ["requests"], "properties": {
    "requests": {"type": "integer", "minimum": 0}, "failures": {"type": "integer", "minimum": 0},
    "tokens_in_mean": _MAYBE_NUMBER, "tokens_out_mean": _MAYBE_NUMBER, "cost_per_1000": _MAYBE_NUMBER,
    "latency_p50_s": _MAYBE_NUMBER, "latency_p95_s": _MAYBE_NUMBER}}
#: summary.json as Bakeoff.to_dict writes it: everything from_dict and the reports read.
SUMMARY_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "tunewise bake-off summary (summary.json)",
    "type": "object",
    "required": ["created", "folder", "examples", "primary", "metrics", "candidates"],
    "properties": {
        "created": {"type": "string"}, "folder": {"type": "string"}, "eval_source": {"type": "string"},
        "eval_fingerprint": {"type": "string"}, "examples": {"type": "integer", "minimum": 0},
        "primary": {"type": "string"}, "metrics": _STRINGS, "metric_reasons": _STRINGS,
        "candidates": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["name", "kind", "scores"],
            "properties": {"name": {"type": "string"}, "kind": {"type": "string"}, "description": {"type": "string"},
                           "scores": {"type": "object", "additionalProperties": _INTERVAL},
                           "generated": {"type": "integer", "minimum": 0}, "cached": {"type": "integer", "minimum": 0},
                           "seconds": _NUMBER, "measures": _MEASURES,
                           "endpoint": {"type": ["object", "null"]}}}},
        "comparisons": {"type": "array", "items": {
            "type": "object", "required": ["a", "b", "difference"],
            "properties": {"a": {"type": "string"}, "b": {"type": "string"}, "difference": _INTERVAL}}},
        "settings": {"type": ["object", "null"], "properties": {"limit": {"type": ["integer", "null"], "minimum": 1}}},
        "seconds": _NUMBER,
    },
}


def load_bakeoff(folder: str | Path) -> Bakeoff:
    """A bake-off from its folder (or its summary.json); DataError naming the file if it is not one."""
    from curation.safe_read import CONFIG_LIMIT, read_json_file
    from training.schema import schema_problem

    path = Path(folder)
    file = path if path.is_file() else path / SUMMARY_FILE
    if not os.path.lexists(file):
        raise DataError(f"No bake-off summary at {file}.", "Run `tunewise eval PROJECT` first.")
    hint = "Run `tunewise eval PROJECT` again to write a new bake-off (or delete this folder)."
    try:
        data = read_json_file(file, "bake-off summary", CONFIG_LIMIT, hint)
    except TunewiseError as exc:  # not JSON, not UTF-8, too large; a folder, a FIFO, a broken link
        raise DataError(exc.message, hint) from None
    problem = schema_problem(SUMMARY_SCHEMA, data, file.name)
    if problem is None:
        names = {c["name"] for c in data["candidates"]}
        if any(m not in c["scores"] for c in data["candidates"] for m in {data["primary"], *data["metrics"]}):
            problem = "a candidate has no score for one of its metrics"
        elif any(c["a"] not in names or c["b"] not in names for c in data.get("comparisons", [])):
            problem = "a comparison names a candidate that is not in it"
    if problem:
        raise DataError(f"{file} is not a tunewise bake-off summary ({problem}).", hint)
    return Bakeoff.from_dict(data)


def load_current_bakeoff(folder: str | Path) -> Bakeoff:
    """load_bakeoff, with `stale` set when the evaluation set it scored has changed since."""
    from training.evaluation.eval_set import eval_set_changed

    bakeoff = load_bakeoff(folder)
    bakeoff.stale = eval_set_changed(bakeoff)
    return bakeoff


def latest_bakeoff(project: str | Path) -> Path | None:
    """The newest evals/<stamp>/ folder of a project that holds a summary, or None."""
    root = Path(project) / EVALS_DIR
    if not root.is_dir():
        return None
    done = sorted(p for p in root.iterdir() if p.is_dir() and (p / SUMMARY_FILE).is_file())
    return done[-1] if done else None
