"""Measured facts about a curated dataset (from `tunewise curate`'s report.json) that the recommendation rests on."""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from curation.errors import DataError


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


def evidence_from_report(report: dict[str, Any], source: str | None = None) -> Evidence:
    """Evidence from a curation report.json dict; DataError naming the missing field if it is not one."""
    where = source or "the curation report"
    hint = "Point --data at a folder written by `tunewise curate`, or run it again to rewrite report.json."
    if not isinstance(report, dict):
        raise DataError(f"{where} is not a curation report (expected a JSON object).", hint)
    for section in ("counts", "tokens", "cost"):
        if not isinstance(report.get(section), dict):
            raise DataError(f"{where} has no `{section}` section; it is not a curation report.", hint)
    counts, tokens = report["counts"], report["tokens"]
    for key in ("valid", "kept"):
        if not isinstance(counts.get(key), int):
            raise DataError(f"{where}: counts.{key} is missing or not a whole number.", hint)
    per, assistant = tokens.get("per_example") or {}, tokens.get("assistant") or {}
    clusters = report.get("clusters") or {}
    items = clusters.get("items") or []
    return Evidence(
        valid=counts["valid"], kept=counts["kept"], invalid=counts.get("invalid", 0),
        exact_duplicates=counts.get("exact_duplicates", 0), near_duplicates=counts.get("near_duplicates", 0),
        removed=counts.get("removed", 0), train=counts.get("train", 0), eval=counts.get("eval", 0),
        conflict_groups=counts.get("conflict_groups", 0), conflict_examples=counts.get("flagged_conflict", 0),
        possible_duplicates=counts.get("flagged_possible_duplicate", 0), outliers=counts.get("flagged_outlier", 0),
        too_long=counts.get("flagged_too_long", 0), too_short=counts.get("flagged_too_short", 0),
        other_language=counts.get("flagged_language", 0), unusual_text=counts.get("flagged_unusual_text", 0),
        tiny_cluster=counts.get("flagged_tiny_cluster", 0), clusters=int(clusters.get("k") or len(items)),
        cluster_sizes=[int(c.get("size", 0)) for c in items], cluster_keywords=[list(c.get("keywords", [])) for c in items],
        cluster_medoids=[str(c.get("medoid", "")) for c in items],
        tokens_median=float(per.get("median", 0)), tokens_p90=float(per.get("p90", 0)), tokens_max=int(per.get("max", 0)),
        tokens_total=int(per.get("total", 0)), assistant_median=float(assistant.get("median", 0)),
        tokenizer=str(tokens.get("model", "")), context_length=int(tokens.get("context_length") or 0),
        max_tokens=int(tokens.get("max_tokens") or 0), cost=dict(report["cost"]), source=source,
    )


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
    """Evidence from a `tunewise curate` output folder (its report.json, and clean.jsonl for the prompt shape)."""
    folder = Path(path)
    report_path = folder / "report.json"
    if not report_path.is_file():
        raise DataError(f"No report.json in {folder}.", "Point --data at a data file, or at a folder written by `tunewise curate`.")
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"Cannot read {report_path}: {exc}", "Run `tunewise curate` again to rewrite it.") from None
    evidence = evidence_from_report(report, source=str(folder))
    clean = folder / "clean.jsonl"
    if clean.is_file():
        try:
            evidence.system_fraction = _system_fraction(clean)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
            evidence.system_fraction = None  # the prompt shape is a refinement; the counts stand without it
    return evidence
