"""A curator's keep/remove decisions: marks over a curation run, applied on export, never destructive."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curation.errors import DataError
from curation.files import write_jsonl_atomic, write_text_atomic
from curation.jsonl import json_type, read_jsonl
from curation.safe_read import data_limit, read_json_file
from curation.split_files import CLEAN, EVAL, REMOVED, TRAIN

DECISIONS = ("keep", "remove")
_FIX = "Fix or delete the file; it only holds review marks."


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


def export_with_decisions(curated: str | Path, decisions: dict[str, str], out_dir: str | Path) -> ExportSummary:
    """Write clean/train/eval/removed.jsonl with decisions applied, leaving the curation outputs untouched.

    A restored duplicate joins the split of the twin it duplicates (so it cannot leak into eval); an example
    the curator removes goes to removed.jsonl with reason "curator".
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
    still_removed += [{"id": r["id"], "reason": "curator", "duplicate_of": None, "similarity": None, **r} for r in clean if r["id"] in dropped_ids]

    write_jsonl_atomic(out / CLEAN, kept)
    write_jsonl_atomic(out / TRAIN, (r for r in kept if r["id"] not in eval_ids))
    write_jsonl_atomic(out / EVAL, (r for r in kept if r["id"] in eval_ids))
    write_jsonl_atomic(out / REMOVED, still_removed)
    return ExportSummary(out, len(kept), len(still_removed), [r["id"] for r in restored], sorted(dropped_ids))
