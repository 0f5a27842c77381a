"""One curation job from files to an output folder: load, validate, curate, write — atomically."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curation.curate import CurateConfig, CurationResult, Progress, curate
from curation.errors import DataError, UsageError
from curation.files import check_output_dir, write_files_atomic
from curation.jsonl import dumps_lines
from curation.load import LoadResult, Rejected, load_files
from curation.report import build_report, render_markdown
from curation.split_files import (
    CLEAN,
    CLUSTERS,
    EVAL,
    FLAGS,
    OUTPUT_FILES,
    PER_EXAMPLE,
    REJECTED,
    REMOVED,
    REPORT_JSON,
    REPORT_MD,
    SETTINGS,
    TRAIN,
)
from curation.validate import Problem

__all__ = ["OUTPUT_FILES", "InvalidData", "JobResult", "check_context", "output_texts", "per_example_rows",
           "run_curation", "write_outputs"]


class InvalidData(DataError):
    """The inputs have problems and --skip-invalid was not given: nothing is written."""

    def __init__(self, problems: list[Problem], records: int) -> None:
        bad = len({(p.file, p.line) for p in problems})
        super().__init__(
            f"{len(problems)} problem(s) in {bad} of {records} record(s); no output written.",
            f"Fix the lines above, or pass --skip-invalid to continue without them (they go to {REJECTED}).",
        )
        self.problems = problems


@dataclass
class JobResult:
    """What a finished job produced."""

    out_dir: Path
    report: dict[str, Any]
    result: CurationResult
    loaded: LoadResult


def check_context(loaded: LoadResult, tokenizer_info):
    """Move examples longer than the model's context from the examples to the rejected records; returns the
    token counts of the examples kept (curate() takes them instead of counting again)."""
    from curation.tokens import TokenCounts, count_tokens

    counts = count_tokens(loaded.examples, tokenizer_info)
    keep, fits = [], counts.total <= counts.context_length
    for example, total, ok in zip(loaded.examples, counts.total, fits):
        if ok:
            keep.append(example)
            continue
        problem = Problem(
            example.source, example.line, "too_long",
            f"example is {int(total)} tokens, longer than {counts.model}'s context of {counts.context_length}",
            "shorten or split it, or choose a model with a longer context (--model)", field="messages",
        )
        loaded.problems.append(problem)
        loaded.rejected.append(Rejected(example.source, example.line, json.dumps(example.to_record(), ensure_ascii=False), [problem]))
    loaded.examples = keep
    return TokenCounts(counts.total[fits], counts.assistant[fits], counts.model, counts.context_length)


def run_curation(
    paths: Sequence[str | Path],
    out_dir: str | Path,
    config: CurateConfig | None = None,
    fmt: str | None = None,
    columns: tuple[str | None, str | None, str | None] = (None, None, None),
    skip_invalid: bool = False,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    embedder=None,
) -> JobResult:
    """Load and validate the files, curate the valid examples, write every output into out_dir."""
    from curation.model_sources import load_tokenizer

    config = config or CurateConfig()
    out = Path(out_dir)
    # Everything that can fail without reading a model is checked first: the output folder (is or can become a
    # writable folder), then the inputs (exist, are regular files, within the size limit; read and validated).
    inputs_resolved = {_real(p) for p in paths}
    clash = [n for n in (*OUTPUT_FILES, REJECTED) if _real(out / n) in inputs_resolved]
    if _real(out) in inputs_resolved or clash:
        raise UsageError(f"Writing to {out} would overwrite an input ({', '.join(clash) or out}).", "Choose another --out folder.")
    check_output_dir(out)
    loaded = load_files(paths, fmt, *columns)
    tokenizer = load_tokenizer(config.model)
    tokens = check_context(loaded, tokenizer)
    if loaded.problems and not skip_invalid:
        raise InvalidData(loaded.problems, loaded.n_records)
    if not loaded.examples:
        raise DataError("No valid examples to curate.", "Check the input files (see the problems above).")
    result = curate(loaded.examples, config, progress=progress, cancel=cancel, embedder=embedder, tokenizer=tokenizer,
                    tokens=tokens)
    inputs = [
        {"file": f, "format": fmt_, "examples": sum(1 for e in loaded.examples if e.source == f)}
        for f, fmt_ in loaded.formats.items()
    ]
    report = build_report(result, inputs, loaded.problems, len(loaded.rejected))
    write_outputs(out, result, report, loaded.rejected if skip_invalid else [])
    return JobResult(out, report, result, loaded)


def _real(path: str | Path) -> str:
    """The path with every link followed; never raises (os.path.realpath leaves a link loop as it is)."""
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):  # a NUL byte in the path: reported by the checks that follow
        return str(path)


def output_texts(result: CurationResult, report: dict[str, Any], rejected: list[Rejected]) -> dict[str, str]:
    """The content of every output file, by name."""
    examples = result.examples
    ids = [e.id for e in examples]
    kept = [examples[i] for i in result.kept]
    files = {
        CLEAN: dumps_lines(e.to_record() for e in kept),
        TRAIN: dumps_lines(e.to_record() for e in result.train),
        EVAL: dumps_lines(e.to_record() for e in result.eval),
        REMOVED: dumps_lines(
            {"id": ids[r.index], "reason": r.reason, "duplicate_of": ids[r.duplicate_of], "similarity": round(r.similarity, 4),
             "rule": r.rule, "source": examples[r.index].source, "line": examples[r.index].line, **examples[r.index].to_record()}
            for r in result.removals
        ),
        FLAGS: dumps_lines({"id": ids[f.index], "kind": f.kind, **_with_ids(f.details, ids)} for f in result.flags),
        CLUSTERS: json.dumps(
            {
                "k": result.clustering.k,
                "method": result.clustering.method,
                "k_scores": {str(k): round(v, 4) for k, v in result.clustering.k_scores.items()},
                "clusters": [
                    {"id": c.id, "size": c.size, "keywords": c.keywords, "medoid": ids[int(result.kept[c.medoid])],
                     "members": [ids[int(result.kept[p])] for p in c.members]}
                    for c in result.clustering.clusters
                ],
            },
            indent=2, ensure_ascii=False,
        ),
        REPORT_JSON: json.dumps(report, indent=2, ensure_ascii=False),
        REPORT_MD: render_markdown(report, result),
        SETTINGS: json.dumps(result.config.to_dict(), indent=2),
        PER_EXAMPLE: dumps_lines(per_example_rows(result)),
    }
    if rejected:
        files[REJECTED] = dumps_lines(r.to_dict() for r in rejected)
    return files


def per_example_rows(result: CurationResult) -> list[dict[str, Any]]:
    """One row per valid input example: tokens, status, cluster, split and flags (for review tools)."""
    ids = [e.id for e in result.examples]
    removed = {r.index: r for r in result.removals}
    placed = {int(i): (int(c), bool(e)) for i, c, e in zip(result.kept, result.clustering.labels, result.is_eval)}
    flags: dict[int, list[str]] = {}
    for f in result.flags:
        flags.setdefault(f.index, []).append(f.kind)
    rows = []
    for i, example in enumerate(result.examples):
        cluster, is_eval = placed.get(i, (None, None))
        row = {"id": ids[i], "source": example.source, "line": example.line,
               "tokens": int(result.tokens.total[i]), "assistant_tokens": int(result.tokens.assistant[i])}
        if i in removed:
            row |= {"status": "removed", "reason": removed[i].reason, "duplicate_of": ids[removed[i].duplicate_of]}
        else:
            row |= {"status": "kept", "cluster": cluster, "split": "eval" if is_eval else "train"}
        row["flags"] = sorted(set(flags.get(i, [])))
        rows.append(row)
    return rows


def _with_ids(details: dict[str, Any], ids: list[str]) -> dict[str, Any]:
    """Flag details with example positions replaced by ids."""
    return {k: ([ids[i] for i in v] if k == "with" else v) for k, v in details.items()}


def write_outputs(out: Path, result: CurationResult, report: dict[str, Any], rejected: list[Rejected]) -> None:
    """Write every file to a staging folder first, then move each into place (no half-written outputs).

    An OSError (disk full, no permission, a file where the folder should be) becomes a UsageError naming the
    folder; when it happens while staging, no output file in the folder was changed. A rejected.jsonl left from
    an earlier run is deleted when there is none now: it no longer describes these inputs.
    """
    write_files_atomic(out, output_texts(result, report, rejected), stale=() if rejected else (REJECTED,))
