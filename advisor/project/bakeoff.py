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
    from training.evaluation.eval_set import BakeoffPaths
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


def bakeoff_paths(project: Project | str | Path, index_dir: str | Path | None = None,
                  with_endpoints: bool = True) -> BakeoffPaths:
    """Where the project's bake-off reads and writes: the current split, the saved prompt, the index (or
    `index_dir`), evals/, the interview answers and (with_endpoints) the endpoints of endpoints.yaml."""
    from training.endpoints import load_endpoints
    from training.evaluation.eval_set import BakeoffPaths

    layout = Layout(project_root(project))
    return BakeoffPaths(split=layout.current_split(), evals=layout.evals, prompt=layout.prompt_messages,
                        index=Path(index_dir) if index_dir is not None else layout.index, answers=layout.answers,
                        endpoints=tuple(load_endpoints(layout.endpoints)) if with_endpoints else ())


def available_candidates(project: Project | str | Path) -> list:
    """The candidates the project can run now (zero-shot, few-shot, rag with an index, each LoRA run, and
    prompt@NAME / rag@NAME for each configured endpoint)."""
    from training.evaluation.candidates import available

    paths = bakeoff_paths(project)
    has_prompt = paths.prompt is not None and paths.prompt.is_file()
    return available(project_root(project), paths.index, list(paths.endpoints), has_prompt)


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

    The RAG candidates read the project's index/ unless `index_dir` names another; `all` includes prompt@NAME
    and rag@NAME for every endpoint in the project's endpoints.yaml.
    """
    from training.evaluation.harness import run_bakeoff

    root = project_root(project)
    names = config.candidates if config is not None and config.candidates else ["all"]
    wanted = any(n.strip() == "all" or "@" in n for n in names)  # endpoints.yaml is read only when it is used
    return run_bakeoff(root, config, bakeoff_paths(root, index_dir, wanted), data=data, out_dir=out_dir, progress=progress,
                       cancel=cancel, embedder=embedder)
