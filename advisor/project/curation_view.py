"""The outputs of one curation run read back for review: duplicates with their twins, conflict groups, flags."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curation import split_files
from curation.errors import DataError
from curation.jsonl import json_type, read_jsonl
from curation.safe_read import data_limit, read_json_file


@dataclass
class DuplicatePair:
    """An example next to the one it duplicates; `default` is what curation did with it."""

    subject: str
    twin: str
    similarity: float
    reason: str  # exact_duplicate | near_duplicate | possible_duplicate
    default: str  # remove (curation removed it) | keep (flagged for review, still in the clean set)
    rule: str = ""  # which rule decided, e.g. "same SQL after normalising" (curation.pair_rules); "" from older runs


@dataclass
class CurationView:
    """The outputs of one curation run, as a reviewer sees them."""

    report: dict[str, Any]
    records: dict[str, dict[str, Any]]  # id → chat record, kept and removed
    removed: list[dict[str, Any]]
    flags: list[dict[str, Any]]
    clusters: list[dict[str, Any]]
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._removed_ids = {r["id"] for r in self.removed}

    def default(self, example_id: str) -> str:
        """What curation did with an example: keep or remove."""
        return "remove" if example_id in self._removed_ids else "keep"

    def status(self, example_id: str, marks: dict[str, str]) -> str:
        """keep or remove, after the curator's marks."""
        return marks.get(example_id) or self.default(example_id)

    def mark_counts(self, marks: dict[str, str]) -> tuple[int, int]:
        """How many removed examples the marks restore, and how many kept ones they remove (marks of other runs ignored)."""
        changed = [(i, d) for i, d in marks.items() if i in self.records and d != self.default(i)]
        return sum(1 for _, d in changed if d == "keep"), sum(1 for _, d in changed if d == "remove")

    def duplicates(self) -> list[DuplicatePair]:
        """Removed duplicates, then possible duplicates left for review, each with its twin."""
        pairs = [DuplicatePair(r["id"], r["duplicate_of"], float(r["similarity"]), r["reason"], "remove",
                               str(r.get("rule") or "")) for r in self.removed]
        pairs += [
            DuplicatePair(f["id"], f["with"][0], float(f["similarity"]), "possible_duplicate", "keep", str(f.get("rule") or ""))
            for f in self.flags if f["kind"] == "possible_duplicate" and f.get("with")
        ]
        return pairs

    def conflict_groups(self) -> list[list[str]]:
        """Groups of examples that ask the same thing but answer differently."""
        groups: dict[int, list[str]] = {}
        for f in self.flags:
            if f["kind"] == "conflict":
                groups.setdefault(int(f["group"]), []).append(f["id"])
        position = {example_id: n for n, example_id in enumerate(self.records)}
        return [sorted(set(ids), key=lambda i: position.get(i, len(position))) for _, ids in sorted(groups.items())]

    def other_flags(self) -> list[dict[str, Any]]:
        """Flags other than conflicts and possible duplicates (those have their own views)."""
        return [f for f in self.flags if f["kind"] not in ("conflict", "possible_duplicate")]


_RERUN = "Run curation again."


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return read_jsonl(path, "curation output", _RERUN)


def _require(ok: bool, path: Path, n: int, what: str) -> None:
    if not ok:
        raise DataError(f"{path}: record {n} {what}; it is not a file tunewise wrote.", _RERUN)


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) <= 1e15  # not inf, nan or huge


def _check_examples(records: list[dict[str, Any]], path: Path) -> list[dict[str, Any]]:
    for n, r in enumerate(records, 1):
        _require(isinstance(r.get("id"), str), path, n, "has no string `id`")
        _require(isinstance(r.get("messages"), list), path, n, "has no `messages` list")
    return records


def _check_removed(records: list[dict[str, Any]], path: Path) -> list[dict[str, Any]]:
    _check_examples(records, path)
    for n, r in enumerate(records, 1):
        _require(isinstance(r.get("reason"), str) and isinstance(r.get("duplicate_of"), str) and _number(r.get("similarity")),
                 path, n, "lacks its `reason`, `duplicate_of` or `similarity`")
    return records


def _check_flags(records: list[dict[str, Any]], path: Path) -> list[dict[str, Any]]:
    for n, f in enumerate(records, 1):
        _require(isinstance(f.get("id"), str) and isinstance(f.get("kind"), str), path, n, "has no string `id` and `kind`")
        if f["kind"] == "conflict":
            _require(_number(f.get("group")), path, n, "is a conflict without a `group` number")
        if f["kind"] == "possible_duplicate" and f.get("with"):
            _require(isinstance(f["with"], list) and isinstance(f["with"][0], str) and _number(f.get("similarity")),
                     path, n, "is a possible duplicate without `with` ids and a `similarity`")
    return records


def load_curation(curated: str | Path) -> CurationView:
    """Read a curation output folder back (report, examples, removals, flags, clusters, rejected lines).

    Every file is read with safe_read (regular files only, the data size limit) and checked for the shape the
    review needs; anything else is a DataError naming the file (and line), never a traceback.
    """
    curated = Path(curated)
    report_path, clusters_file = curated / split_files.REPORT_JSON, curated / split_files.CLUSTERS
    report = read_json_file(report_path, "curation report", data_limit(), _RERUN)
    if not isinstance(report, dict) or not isinstance(report.get("counts"), dict):
        raise DataError(f"{report_path}: not a curation report (a JSON object with `counts`).", _RERUN)
    clean = _check_examples(_jsonl(curated / split_files.CLEAN), curated / split_files.CLEAN)
    removed = _check_removed(_jsonl(curated / split_files.REMOVED), curated / split_files.REMOVED)
    flags = _check_flags(_jsonl(curated / split_files.FLAGS), curated / split_files.FLAGS)
    clusters: list[dict[str, Any]] = []
    if os.path.lexists(clusters_file):
        data = read_json_file(clusters_file, "clusters file", data_limit(), _RERUN)
        clusters = data.get("clusters") if isinstance(data, dict) else None
        if not isinstance(clusters, list) or not all(isinstance(c, dict) for c in clusters):
            got = "a `clusters` that is not a list of objects" if isinstance(data, dict) else f"a {json_type(data)}"
            raise DataError(f"{clusters_file}: expected a JSON object whose `clusters` is a list of objects, got {got}.", _RERUN)
    rejected = _jsonl(curated / split_files.REJECTED)
    records = {r["id"]: r for r in clean}
    records.update({r["id"]: {"id": r["id"], "messages": r["messages"]} for r in removed})
    order = {row["id"]: n for n, row in enumerate(_jsonl(curated / split_files.PER_EXAMPLE)) if isinstance(row.get("id"), str)}
    ordered = dict(sorted(records.items(), key=lambda kv: order.get(kv[0], len(order))))  # input order
    return CurationView(report, ordered, removed, flags, clusters, rejected)
