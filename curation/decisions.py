"""A curator's keep/remove decisions: marks over a curation run, applied on export, never destructive."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from curation.errors import DataError
from curation.files import write_text_atomic
from curation.jsonl import dumps_lines, read_jsonl

DECISIONS = ("keep", "remove")




def load_decisions(path: str | Path) -> dict[str, str]:
    """Decisions saved in a project (id → keep/remove); an absent file means none."""
    path = Path(path)
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path} is not valid JSON ({exc}).", "Fix or delete the file; it only holds review marks.") from exc
    bad = {k: v for k, v in data.items() if v not in DECISIONS}
    if bad:
        raise DataError(f"{path}: unknown decision(s) {bad}.", "Each value must be 'keep' or 'remove'.")
    return dict(data)


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


def export_with_decisions(curated: str | Path, decisions: dict[str, str], out_dir: str | Path | None = None) -> ExportSummary:
    """Write clean/train/eval/removed.jsonl with decisions applied, leaving the curation outputs untouched.

    A restored duplicate joins the split of the twin it duplicates (so it cannot leak into eval); an example
    the curator removes goes to removed.jsonl with reason "curator".
    """
    curated = Path(curated)
    out = Path(out_dir) if out_dir else curated / "export"
    if not (curated / "clean.jsonl").exists():
        raise DataError(f"No curation outputs in {curated}.", "Run `tunewise curate DATA --out DIR` first.")
    clean = read_jsonl(curated / "clean.jsonl")
    removed = read_jsonl(curated / "removed.jsonl")
    eval_ids = {r["id"] for r in read_jsonl(curated / "eval.jsonl")}
    known = {r["id"] for r in clean} | {r["id"] for r in removed}
    unknown = sorted(set(decisions) - known)
    if unknown:
        raise DataError(f"Decisions name ids that are not in {curated}: {', '.join(unknown[:5])}.", "Re-run curation or clear those marks.")
    fields = ("id", "messages", "metadata")
    restored = [r for r in removed if decisions.get(r["id"]) == "keep"]
    dropped_ids = {i for i, d in decisions.items() if d == "remove"}
    kept = [r for r in clean if r["id"] not in dropped_ids] + [{k: r[k] for k in fields if k in r} for r in restored]
    for r in restored:
        if r.get("duplicate_of") in eval_ids:
            eval_ids.add(r["id"])
    still_removed = [r for r in removed if decisions.get(r["id"]) != "keep"]
    still_removed += [{"id": r["id"], "reason": "curator", "duplicate_of": None, "similarity": None, **r} for r in clean if r["id"] in dropped_ids]

    write_text_atomic(out / "clean.jsonl", dumps_lines(kept))
    write_text_atomic(out / "train.jsonl", dumps_lines(r for r in kept if r["id"] not in eval_ids))
    write_text_atomic(out / "eval.jsonl", dumps_lines(r for r in kept if r["id"] in eval_ids))
    write_text_atomic(out / "removed.jsonl", dumps_lines(still_removed))
    return ExportSummary(out, len(kept), len(still_removed), [r["id"] for r in restored], sorted(dropped_ids))
