"""A curator's keep/remove decisions: marks over a curation run, applied on export, never destructive.

decisions.json holds the marks (example id → "keep"/"remove"), the same format as ever. Next to it,
decisions.history.json (history_path) holds what a plain mark cannot: the reason of each mark a group decision
made (curation.review_groups) and the history of changes, each with the values it replaced, so `undo` restores
the state before the last change. The history is written first and the marks second: a change cut short leaves a
history entry whose undo changes nothing, never marks that cannot be undone.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curation.errors import DataError
from curation.files import write_jsonl_atomic, write_text_atomic
from curation.jsonl import json_type, read_jsonl
from curation.safe_read import data_limit, read_json_file
from curation.split_files import CLEAN, EVAL, REMOVED, TRAIN

DECISIONS = ("keep", "remove")
HISTORY_LIMIT = 500  # changes kept for undo; older ones are forgotten
_FIX = "Fix or delete the file; it only holds review marks."
_FIX_HISTORY = ("Delete the file: it only holds the undo history and the reasons of group decisions; "
                "the marks themselves are in decisions.json.")


def load_decisions(path: str | Path) -> dict[str, str]:
    """Decisions saved in a project (id → keep/remove); an absent file means none.

    A file that is not a regular file, is too large, is not JSON or is not an object of "keep"/"remove" values is a
    DataError (or UsageError) naming the file; it is never overwritten, since every change reads it first.
    """
    path = Path(path)
    if not os.path.lexists(path):  # a symlink loop or a broken link is refused by read_json_file
        return {}
    data = read_json_file(path, "decisions file", data_limit(), _FIX)
    if not isinstance(data, dict):
        raise DataError(f"{path}: the decisions file holds a {json_type(data)}; it must be a JSON object of example id "
                        'to "keep" or "remove".', _FIX)
    bad = [(k, v) for k, v in data.items() if not isinstance(v, str) or v not in DECISIONS]
    if bad:
        shown = ", ".join(f"{_brief(k)}: {_brief(v)}" for k, v in bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        raise DataError(f"{path}: unknown decision(s) {shown}.", "Each value must be 'keep' or 'remove'. " + _FIX)
    return dict(data)


def _brief(value: Any) -> str:
    """A JSON value for a message, short."""
    if isinstance(value, (dict, list)):
        return f"a {json_type(value)}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


def _check_records(records: list[dict], path: Path) -> list[dict]:
    """Curation output records, each with a string id; DataError naming the file otherwise."""
    for n, record in enumerate(records, 1):
        if not isinstance(record.get("id"), str):
            raise DataError(f"{path}: record {n} has no string `id`; it is not a file tunewise wrote.",
                            "Run `tunewise curate` again to rewrite the curation outputs.")
    return records


def save_decisions(path: str | Path, decisions: dict[str, str]) -> None:
    """Save decisions atomically as JSON."""
    write_text_atomic(Path(path), json.dumps(dict(sorted(decisions.items())), indent=2) + "\n")


@dataclass
class ExportSummary:
    """What an export wrote."""

    out_dir: Path
    kept: int
    removed: int
    restored: list[str]
    dropped: list[str]


def export_with_decisions(curated: str | Path, decisions: dict[str, str], out_dir: str | Path,
                          reasons: dict[str, dict] | None = None) -> ExportSummary:
    """Write clean/train/eval/removed.jsonl with decisions applied, leaving the curation outputs untouched.

    A restored duplicate joins the split of the twin it duplicates (so it cannot leak into eval); an example
    the curator removes goes to removed.jsonl with reason "curator", plus the twin, similarity, rule and note of
    a group decision when `reasons` has one for it.
    """
    curated = Path(curated)
    out = Path(out_dir)
    if not os.path.lexists(curated / CLEAN):
        raise DataError(f"No curation outputs in {curated}.", "Run `tunewise curate DATA --out DIR` first.")
    clean, removed, evals = (_check_records(read_jsonl(curated / name, "curation output"), curated / name)
                             for name in (CLEAN, REMOVED, EVAL))
    eval_ids = {r["id"] for r in evals}
    known = {r["id"] for r in clean} | {r["id"] for r in removed}
    unknown = sorted(set(decisions) - known)
    if unknown:
        raise DataError(f"Decisions name ids that are not in {curated}: {', '.join(unknown[:5])}.", "Re-run curation or clear those marks.")
    fields = ("id", "messages", "metadata")
    restored = [r for r in removed if decisions.get(r["id"]) == "keep"]
    dropped_ids = {i for i, d in decisions.items() if d == "remove"}
    kept = [r for r in clean if r["id"] not in dropped_ids] + [{k: r[k] for k in fields if k in r} for r in restored]
    for r in restored:
        if isinstance(r.get("duplicate_of"), str) and r["duplicate_of"] in eval_ids:
            eval_ids.add(r["id"])
    still_removed = [r for r in removed if decisions.get(r["id"]) != "keep"]
    still_removed += [{"id": r["id"], "reason": "curator", "duplicate_of": None, "similarity": None,
                       **_curator_reason((reasons or {}).get(r["id"])), **r} for r in clean if r["id"] in dropped_ids]

    write_jsonl_atomic(out / CLEAN, kept)
    write_jsonl_atomic(out / TRAIN, (r for r in kept if r["id"] not in eval_ids))
    write_jsonl_atomic(out / EVAL, (r for r in kept if r["id"] in eval_ids))
    write_jsonl_atomic(out / REMOVED, still_removed)
    return ExportSummary(out, len(kept), len(still_removed), [r["id"] for r in restored], sorted(dropped_ids))


def _curator_reason(reason: dict | None) -> dict:
    """The fields a group decision adds to a curator removal in removed.jsonl."""
    if not reason:
        return {}
    out = {k: reason[k] for k in ("duplicate_of", "similarity", "rule") if k in reason}
    if "reason" in reason:
        out["note"] = reason["reason"]
    return out


# --- reasons and undo history (decisions.history.json) --------------------------------------------------------


def history_path(decisions_path: str | Path) -> Path:
    """The file beside decisions.json holding the undo history and the reasons of group decisions."""
    path = Path(decisions_path)
    return path.with_name(f"{path.stem}.history.json")


@dataclass
class ReviewLog:
    """Reasons of marks made by group decisions, and the changes that can be undone (oldest first)."""

    reasons: dict[str, dict] = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)  # {"action", "marks": {id: old or None}, "reasons": {id: old or None}}


def load_log(decisions_path: str | Path) -> ReviewLog:
    """The review log beside a decisions file; absent means empty. A malformed one is a DataError naming it."""
    path = history_path(decisions_path)
    if not os.path.lexists(path):
        return ReviewLog()
    data = read_json_file(path, "review history file", data_limit(), _FIX_HISTORY)

    def bad(what: str) -> DataError:
        return DataError(f"{path}: {what}; it is not a file tunewise wrote.", _FIX_HISTORY)

    if not isinstance(data, dict) or not isinstance(data.get("reasons"), dict) or not isinstance(data.get("history"), list):
        raise bad("expected a JSON object with `reasons` (an object) and `history` (a list)")
    if not all(isinstance(v, dict) for v in data["reasons"].values()):
        raise bad("a reason is not a JSON object")
    for n, entry in enumerate(data["history"], 1):
        ok = (isinstance(entry, dict) and isinstance(entry.get("action"), str) and isinstance(entry.get("marks"), dict)
              and isinstance(entry.get("reasons"), dict)
              and all(v is None or v in DECISIONS for v in entry["marks"].values())
              and all(v is None or isinstance(v, dict) for v in entry["reasons"].values()))
        if not ok:
            raise bad(f"history entry {n} is not an object with `action`, `marks` (keep/remove/null) and `reasons`")
    return ReviewLog(dict(data["reasons"]), list(data["history"]))


def _save_log(decisions_path: str | Path, log: ReviewLog) -> None:
    data = {"version": 1, "reasons": dict(sorted(log.reasons.items())), "history": log.history[-HISTORY_LIMIT:]}
    write_text_atomic(history_path(decisions_path), json.dumps(data, indent=1, ensure_ascii=False) + "\n")


def change_marks(decisions_path: str | Path, marks: dict[str, str | None], reasons: dict[str, dict | None] | None = None,
                 action: str = "change") -> dict[str, str]:
    """Set marks (None clears one) and their reasons as one undoable change; returns every mark.

    An id whose mark changes without a reason given loses its old reason (a reason explains the mark it came with).
    A change that changes nothing is not recorded.
    """
    bad = sorted(f"{k}: {v!r}" for k, v in marks.items() if v is not None and v not in DECISIONS)
    if bad:
        raise ValueError(f"unknown decision(s) {', '.join(bad)}")
    current = load_decisions(decisions_path)
    log = load_log(decisions_path)
    reasons = dict(reasons or {})
    for example_id, mark in marks.items():
        if example_id not in reasons and current.get(example_id) != mark:
            reasons[example_id] = None
    old_marks = {k: current.get(k) for k, v in marks.items() if current.get(k) != v}
    old_reasons = {k: log.reasons.get(k) for k, v in reasons.items() if log.reasons.get(k) != v}
    if not old_marks and not old_reasons:
        return current
    log.history.append({"action": action, "marks": old_marks, "reasons": old_reasons})
    _apply(log.reasons, reasons)
    _save_log(decisions_path, log)
    _apply(current, marks)
    save_decisions(decisions_path, current)
    return current


def undo_change(decisions_path: str | Path) -> tuple[str, dict[str, str]] | None:
    """Restore the marks and reasons the last change replaced; returns its action and every mark (None: nothing to undo)."""
    log = load_log(decisions_path)
    if not log.history:
        return None
    entry = log.history.pop()
    current = load_decisions(decisions_path)
    _apply(current, entry["marks"])
    save_decisions(decisions_path, current)  # marks first: an undo cut short leaves an entry whose undo changes nothing
    _apply(log.reasons, entry["reasons"])
    _save_log(decisions_path, log)
    return entry["action"], current


def _apply(target: dict, changes: dict) -> None:
    """Set each key to its value; None deletes it."""
    for key, value in changes.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value
