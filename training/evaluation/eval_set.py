"""The evaluation set of a bake-off: the paths a bake-off is given, loading its examples, and its fingerprint,
which tells whether a saved bake-off still scores the same examples (stale otherwise).

Which folder of a project holds the current split is the project layer's decision (advisor.project.layout); it
passes the folders in as BakeoffPaths.

Below both the harness (which runs bake-offs) and the results (which load them): no model, no torch.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from curation.errors import DataError, UsageError
from curation.example import Example
from curation.jsonl import read_examples
from curation.split_files import EVAL, TRAIN
from training.evaluation.candidates import reply_context

if TYPE_CHECKING:
    from training.evaluation.results import Bakeoff


@dataclass(frozen=True)
class BakeoffPaths:
    """Where a bake-off reads and writes, given by the caller (the project layer takes them from its layout)."""

    split: Path | None  # the folder holding eval.jsonl and train.jsonl; None before curation
    evals: Path  # bake-off folders <stamp>/ and the generation cache cache/ go here
    prompt: Path | None = None  # the saved few-shot prompt (messages JSON); None or missing: built from train
    index: Path | None = None  # the RAG index folder (rag, rag+lora and rag@ candidates)
    answers: Path | None = None  # interview answers, used when a few-shot prompt is built here
    endpoints: tuple[Any, ...] = ()  # training.endpoints.Endpoint: each gives prompt@NAME and rag@NAME candidates


@dataclass
class EvalData:
    """The held-out examples to score on, the train examples (to build a prompt from), and where they came from."""

    examples: list[Example]
    train: list[Example]
    source: str

    def leaks(self) -> list[str]:
        """Ids of eval examples whose input (normalised) is also a train example's: scores on them flatter a tune."""
        from training.evaluation.metrics import normalize

        seen = {normalize(e.input_text) for e in self.train}
        return [e.id for e in self.examples if normalize(e.input_text) in seen]


def group_references(examples: list[Example]) -> tuple[list[Example], list[list[str]]]:
    """One item per distinct conversation (the first example stands for it) with every reference given for it.

    Data like E2E gives several good replies for one input; an output is scored against the reference it matches
    best, and generated once.
    """
    groups: dict[str, tuple[Example, list[str]]] = {}
    for example in examples:
        key = json.dumps(reply_context(example), sort_keys=True, ensure_ascii=False)
        groups.setdefault(key, (example, []))[1].append(example.output_text)
    return [g[0] for g in groups.values()], [g[1] for g in groups.values()]


def read_split(path: Path) -> list[Example]:
    """The examples of a split file tunewise wrote, each checked (DataError naming the file and record)."""
    return read_examples(path, "evaluation split", f"Re-run `tunewise curate DATA --out {path.parent}` to rewrite it.")


def load_eval_data(split: str | Path | None, data: str | Path | None = None) -> EvalData:
    """The eval examples of a split folder (or of `data`, any file tunewise curate reads) plus its train split."""
    folder = Path(split) if split is not None and Path(split).is_dir() else None
    train = read_split(folder / TRAIN) if folder is not None and (folder / TRAIN).is_file() else []
    if data is not None:
        from curation.load import load_files

        loaded = load_files([str(data)])
        if loaded.problems:
            raise DataError(f"{len(loaded.problems)} problem(s) in {data}, e.g. {loaded.problems[0].format()}",
                            f"Run `tunewise curate {data} --out DIR` to see them all, or fix the file.")
        return EvalData(loaded.examples, train, str(data))
    if folder is None or not (folder / EVAL).is_file():
        where = f" in {folder}" if folder is not None else ""
        raise UsageError(f"No evaluation set{where}: there is no curated split with {EVAL} yet.",
                         "Curate first (`tunewise curate DATA --out PROJECT/curated`), or pass --data EVAL.jsonl.")
    examples = read_split(folder / EVAL)
    if not examples:
        raise DataError(f"{folder / EVAL} holds no examples.",
                        "Curate with more data (curation holds out ~10%), or pass --data EVAL.jsonl.")
    return EvalData(examples, train, str(folder / EVAL))


def fingerprint(examples: list[Example], references: list[list[str]]) -> str:
    """A short hash of what was scored (ids and references), to tell whether two bake-offs used the same set."""
    text = "\n".join(f"{e.id}\t" + "\t".join(refs) for e, refs in zip(examples, references))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def eval_set_changed(bakeoff: Bakeoff) -> bool:
    """Whether the evaluation file a bake-off scored is gone or no longer holds the same examples and references."""
    path = Path(bakeoff.eval_source)
    if not path.is_file():
        return True
    try:
        examples = read_split(path)
    except (DataError, ValueError):  # a user's file in another format
        from curation.load import load_files

        loaded = load_files([str(path)])
        if loaded.problems:
            return True
        examples = loaded.examples
    items, references = group_references(examples)
    limit = bakeoff.settings.get("limit")
    if limit:
        items, references = items[:limit], references[:limit]
    return fingerprint(items, references) != bakeoff.eval_fingerprint
