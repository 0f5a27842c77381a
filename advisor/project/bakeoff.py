"""Operation: the bake-off of a project's candidates on its held-out split, and reading bake-offs back."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor.project.folder import Project, project_root
from advisor.project.layout import Layout
from curation.errors import UsageError

if TYPE_CHECKING:
    from training.evaluation.config import EvalConfig
    from training.evaluation.results import Bakeoff

Progress = Callable[[str, int, int], None]


def latest_bakeoff(project: Project | str | Path) -> Bakeoff | None:
    """The latest bake-off (evals/<date>/summary.json) of a project folder, checked for staleness; None when none."""
    from training.evaluation.results import latest_bakeoff as latest_folder
    from training.evaluation.results import load_current_bakeoff

    folder = latest_folder(project_root(project))
    return load_current_bakeoff(folder) if folder is not None else None


def bakeoff_at(path: str | Path) -> Bakeoff:
    """The bake-off in `path`: a bake-off folder (evals/<date>/), or a project folder's latest one."""
    from training.evaluation.results import SUMMARY_FILE, load_current_bakeoff

    folder = Path(path)
    if (folder / SUMMARY_FILE).is_file():
        return load_current_bakeoff(folder)
    found = latest_bakeoff(folder)
    if found is None:
        raise UsageError(f"--eval {path}: no bake-off there.", f"Run one first: tunewise eval {path}")
    return found


def available_candidates(project: Project | str | Path) -> list:
    """The candidates the project can run now (zero-shot, few-shot, rag with an index, each LoRA run)."""
    from training.evaluation.candidates import available

    layout = Layout(project_root(project))
    return available(layout.root, layout.index)


def bakeoff_rows(bakeoff: Bakeoff) -> list[dict[str, Any]]:
    """The per-example rows of a bake-off (input, reference, each candidate's output and scores); [] when absent."""
    from training.evaluation.harness import load_rows
    from training.evaluation.results import OUTPUTS_FILE

    folder = Path(bakeoff.folder)
    return load_rows(folder) if (folder / OUTPUTS_FILE).is_file() else []


def run_project_bakeoff(project: Project | str | Path, config: EvalConfig | None = None, data: str | Path | None = None,
                        out_dir: str | Path | None = None, index_dir: str | Path | None = None,
                        progress: Progress | None = None, cancel: threading.Event | None = None, embedder=None) -> Bakeoff:
    """Run every chosen candidate on the project's eval split, score them, write evals/<date>/; returns the summary.

    The RAG candidate reads the project's index/ unless `index_dir` names another.
    """
    from training.evaluation.harness import run_bakeoff

    layout = Layout(project_root(project))
    return run_bakeoff(layout.root, config, data=data, out_dir=out_dir, progress=progress, cancel=cancel,
                       embedder=embedder, index_dir=index_dir if index_dir is not None else layout.index)
