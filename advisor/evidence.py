"""Measured facts about a curated dataset (from `tunewise curate`'s report.json) that the recommendation rests on."""

from __future__ import annotations

import json
import math
import os
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from curation import split_files
from curation.errors import DataError, TunewiseError
from curation.safe_read import check_regular_file, data_limit, read_json_file

#: The largest count or token figure a report may hold: far beyond any dataset, small enough that every sum,
#: ratio and format of it stays finite (JSON allows integers of 4,000 digits and, in Python, Infinity and NaN).
MAX_FIGURE = 10**15


@dataclass
class Evidence:
    """Measured facts about a dataset, from a curation report.json (counts are of examples)."""

    valid: int
    kept: int
    invalid: int = 0
    exact_duplicates: int = 0
    near_duplicates: int = 0
    removed: int = 0
    train: int = 0
    eval: int = 0
    conflict_groups: int = 0
    conflict_examples: int = 0
    possible_duplicates: int = 0
    outliers: int = 0
    too_long: int = 0
    too_short: int = 0
    other_language: int = 0
    unusual_text: int = 0
    tiny_cluster: int = 0
    clusters: int = 0
    cluster_sizes: list[int] = field(default_factory=list)
    cluster_keywords: list[list[str]] = field(default_factory=list)
    cluster_medoids: list[str] = field(default_factory=list)
    tokens_median: float = 0.0
    tokens_p90: float = 0.0
    tokens_max: int = 0
    tokens_total: int = 0
    assistant_median: float = 0.0
    tokenizer: str = ""
    context_length: int = 0
    max_tokens: int = 0
    cost: dict[str, Any] = field(default_factory=dict)
    system_fraction: float | None = None  # median share of the prompt (system + user) that is system text; None = unknown
    source: str | None = None

    @property
    def consistent(self) -> int:
        """Kept examples outside any conflict group: the ones a model can learn one answer from."""
        return max(0, self.kept - self.conflict_examples)

    @property
    def conflict_rate(self) -> float:
        """Share of kept examples that conflict with another."""
        return self.conflict_examples / self.kept if self.kept else 0.0

    @property
    def duplicate_rate(self) -> float:
        """Share of valid examples removed as exact or near duplicates."""
        return self.removed / self.valid if self.valid else 0.0

    @property
    def flagged_for_review(self) -> int:
        """Examples flagged as outliers, too long, too short, in another language or log-like."""
        return self.outliers + self.too_long + self.too_short + self.other_language + self.unusual_text

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data, with the derived rates."""
        return {**asdict(self), "consistent": self.consistent, "conflict_rate": round(self.conflict_rate, 4),
                "duplicate_rate": round(self.duplicate_rate, 4)}


def evidence_from_report(report: dict[str, Any], source: str | None = None, where: str | None = None) -> Evidence:
    """Evidence from a curation report.json dict; DataError naming the missing or malformed field if it is not one.

    Every figure is checked: a count must be a whole number from 0 to MAX_FIGURE, a token statistic a finite
    number in that range, the cost section the shape `tunewise curate` writes. `where` names the report in
    messages (default: source).
    """
    where = where or source or "the curation report"
    hint = "Point --data at a folder written by `tunewise curate`, or run it again to rewrite report.json."
    if not isinstance(report, dict):
        raise DataError(f"{where} is not a curation report (expected a JSON object).", hint)
    for section in ("counts", "tokens", "cost"):
        if not isinstance(report.get(section), dict):
            raise DataError(f"{where} has no `{section}` section; it is not a curation report.", hint)
    counts, tokens = report["counts"], report["tokens"]
    for key in ("valid", "kept"):
        if not isinstance(counts.get(key), int) or isinstance(counts.get(key), bool):
            raise DataError(f"{where}: counts.{key} is missing or not a whole number.", hint)

    def count(section: dict[str, Any], name: str, key: str) -> int:
        value = section.get(key)
        if value is None:
            return 0
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_FIGURE:
            raise DataError(f"{where}: {name}.{key} must be a whole number from 0 to {MAX_FIGURE:,}, got {_brief(value)}.", hint)
        return value

    def amount(section: dict[str, Any], name: str, key: str) -> float:
        value = section.get(key)
        if value is None:
            return 0.0
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= MAX_FIGURE:
            raise DataError(f"{where}: {name}.{key} must be a number from 0 to {MAX_FIGURE:,}, got {_brief(value)}.", hint)
        return float(value)

    def mapping(section: dict[str, Any], name: str, key: str) -> dict[str, Any]:
        value = section.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise DataError(f"{where}: {name}.{key} must be a JSON object, got {_brief(value)}.", hint)
        return value

    per, assistant = mapping(tokens, "tokens", "per_example"), mapping(tokens, "tokens", "assistant")
    clusters = mapping(report, "report", "clusters")
    items = clusters.get("items") or []
    if not isinstance(items, list) or not all(isinstance(c, dict) for c in items):
        raise DataError(f"{where}: clusters.items must be a list of JSON objects.", hint)
    for n, c in enumerate(items):
        keywords = c.get("keywords", [])
        if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
            raise DataError(f"{where}: clusters.items[{n}].keywords must be a list of words.", hint)
        if not isinstance(c.get("medoid", ""), str):
            raise DataError(f"{where}: clusters.items[{n}].medoid must be an example id.", hint)
    keys = {"invalid": "invalid", "exact_duplicates": "exact_duplicates", "near_duplicates": "near_duplicates",
            "removed": "removed", "train": "train", "eval": "eval", "conflict_groups": "conflict_groups",
            "conflict_examples": "flagged_conflict", "possible_duplicates": "flagged_possible_duplicate",
            "outliers": "flagged_outlier", "too_long": "flagged_too_long", "too_short": "flagged_too_short",
            "other_language": "flagged_language", "unusual_text": "flagged_unusual_text", "tiny_cluster": "flagged_tiny_cluster"}
    return Evidence(
        valid=count(counts, "counts", "valid"), kept=count(counts, "counts", "kept"),
        **{name: count(counts, "counts", key) for name, key in keys.items()},
        clusters=count(clusters, "clusters", "k") or len(items),
        cluster_sizes=[count(c, f"clusters.items[{n}]", "size") for n, c in enumerate(items)],
        cluster_keywords=[list(c.get("keywords", [])) for c in items],
        cluster_medoids=[str(c.get("medoid", "")) for c in items],
        tokens_median=amount(per, "tokens.per_example", "median"), tokens_p90=amount(per, "tokens.per_example", "p90"),
        tokens_max=count(per, "tokens.per_example", "max"), tokens_total=count(per, "tokens.per_example", "total"),
        assistant_median=amount(assistant, "tokens.assistant", "median"),
        tokenizer=str(tokens.get("model", ""))[:200], context_length=count(tokens, "tokens", "context_length"),
        max_tokens=count(tokens, "tokens", "max_tokens"), cost=_checked_cost(report["cost"], where, hint), source=source,
    )


def _checked_cost(cost: dict[str, Any], where: str, hint: str) -> dict[str, Any]:
    """The report's cost section, checked to be the shape curation.tokens.estimate_cost writes (an empty one is no cost)."""
    if not cost:
        return {}

    def figure(value: object, name: str, whole: bool = False) -> None:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and 0 <= value <= MAX_FIGURE
        if not ok or (whole and not float(value).is_integer()):
            raise DataError(f"{where}: {name} must be a {'whole ' if whole else ''}number from 0 to {MAX_FIGURE:,}, "
                            f"got {_brief(value)}.", hint)

    for key in ("train_tokens", "epochs", "billed_tokens"):
        figure(cost.get(key, 0), f"cost.{key}", whole=True)
    hosted = cost.get("hosted", [])
    if not isinstance(hosted, list):
        raise DataError(f"{where}: cost.hosted must be a list of models.", hint)
    rows = []
    for n, row in enumerate(hosted):
        if not isinstance(row, dict) or not isinstance(row.get("model"), str) or not isinstance(row.get("provider", ""), str):
            raise DataError(f"{where}: cost.hosted[{n}] needs a `model` name, a `provider` and a `cost`.", hint)
        figure(row.get("cost"), f"cost.hosted[{n}].cost")
        rows.append(row if "provider" in row else {**row, "provider": ""})
    local = cost.get("local", {})
    if not isinstance(local, dict):
        raise DataError(f"{where}: cost.local must be a JSON object.", hint)
    for key in ("seconds", "hours", "tokens_per_second"):
        if key in local:
            figure(local[key], f"cost.local.{key}")
    return {**cost, "hosted": rows} if "hosted" in cost else dict(cost)


def _brief(value: object) -> str:
    """A JSON value for a message, short."""
    if isinstance(value, (dict, list)):
        return "a JSON object" if isinstance(value, dict) else "a JSON array"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


def _system_fraction(clean: Path) -> float | None:
    """Median share of each example's prompt characters (system + user) that is system text."""
    shares = []
    with clean.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            messages = json.loads(line).get("messages", [])
            system = sum(len(m.get("content", "")) for m in messages if m.get("role") == "system")
            prompt = sum(len(m.get("content", "")) for m in messages if m.get("role") != "assistant")
            if prompt:
                shares.append(system / prompt)
    return round(statistics.median(shares), 4) if shares else None


def evidence_from_curation_dir(path: str | Path) -> Evidence:
    """Evidence from a `tunewise curate` output folder (its report.json, and clean.jsonl for the prompt shape).

    report.json is read with safe_read: a FIFO, a device or a symlink loop is refused by type, a file over the data
    limit is refused, and a parse or shape failure is a DataError naming the file.
    """
    folder = Path(path)
    report_path = folder / split_files.REPORT_JSON
    if not os.path.lexists(report_path):
        raise DataError(f"No report.json in {folder}.", "Point --data at a data file, or at a folder written by `tunewise curate`.")
    report = read_json_file(report_path, "curation report", data_limit(), "Run `tunewise curate` again to rewrite it.")
    evidence = evidence_from_report(report, source=str(folder), where=str(report_path))
    clean = folder / split_files.CLEAN
    try:
        check_regular_file(clean, "curated examples file")
        if clean.stat().st_size <= data_limit():
            evidence.system_fraction = _system_fraction(clean)
    except (TunewiseError, OSError, ValueError, TypeError, AttributeError, RecursionError):
        # the prompt shape is a refinement (unreadable or malformed clean.jsonl); the counts stand without it
        evidence.system_fraction = None
    return evidence
