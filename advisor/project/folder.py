"""A project folder and its state: opening, creating, saving, and the paths of what the steps write.

The multi-step operations on a project live in their own modules (curate, review, advice, finetune, rag, prompt,
bakeoff); the methods here that run one only delegate to it, so the app and a Python user call the same code.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from advisor.project.layout import STATE_FILES, STATE_YAML, Layout
from advisor.project.state import STEPS, ProjectState
from curation.errors import DataError, UsageError
from curation.files import write_text_atomic
from curation.safe_read import CONFIG_LIMIT, read_json_file, read_yaml_file


@dataclass
class Project:
    """A project folder and its state; paths to everything the steps write (see `layout`)."""

    root: Path
    state: ProjectState
    state_file: str = STATE_YAML

    @property
    def name(self) -> str:
        """The folder's name, shown in titles."""
        return self.root.name

    @property
    def layout(self) -> Layout:
        """Where each file and folder of this project lives."""
        return Layout(self.root)

    @property
    def answers_path(self) -> Path:
        return self.layout.answers

    @property
    def curated_dir(self) -> Path:
        return self.layout.curated

    @property
    def decisions_path(self) -> Path:
        return self.layout.decisions

    @property
    def report_md(self) -> Path:
        return self.layout.report_md

    @property
    def report_json(self) -> Path:
        return self.layout.report_json

    @property
    def export_dir(self) -> Path:
        return self.layout.export

    @property
    def data_paths(self) -> list[Path]:
        """Data files, resolved against the project folder."""
        return [self.root / p for p in self.state.data]

    @property
    def docs_path(self) -> Path | None:
        """The documents folder, resolved against the project folder."""
        return self.root / self.state.docs if self.state.docs else None

    @property
    def is_curated(self) -> bool:
        """Whether curation outputs exist."""
        return self.layout.curation_report.exists()

    def save(self) -> None:
        """Write the state file atomically."""
        data = asdict(self.state)
        if self.state_file.endswith(".json"):
            text = json.dumps(data, indent=2) + "\n"
        else:
            import yaml

            text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
        write_text_atomic(self.root / self.state_file, text)

    def reach(self, screen: str, question: int | None = None) -> None:
        """Record the step (and interview question) the user is on, so reopening resumes there."""
        if screen not in STEPS:
            raise UsageError(f"Unknown step {screen!r}.", "Use one of " + ", ".join(STEPS) + ".")
        self.state.screen = screen
        if question is not None:
            self.state.question = max(0, int(question))
        self.save()

    def set_docs(self, folder: str | Path | None) -> None:
        """Point the project at a folder of documents for retrieval (None clears it) and save."""
        if folder is not None and not Path(folder).expanduser().is_dir():
            raise UsageError(f"No such folder: {folder}.", "Give the folder holding your documents (.md, .html, .txt, .pdf).")
        self.state.docs = None if folder is None else relative_to_project(Path(folder), self.root)
        self.save()

    def set_data(self, paths: list[str | Path], skip_invalid: bool | None = None) -> None:
        """Point the project at these data files (as the user typed them: relative to the working folder) and save."""
        if not paths:
            raise UsageError("No data file given.", "Give the path of a .jsonl, .json or .csv file with your examples.")
        missing = [str(p) for p in paths if not Path(p).expanduser().is_file()]
        if missing:
            raise UsageError(f"No such file: {', '.join(missing)}.", "Check the path (relative to the folder tunewise was started in).")
        self.state.data = [relative_to_project(Path(p), self.root) for p in paths]
        if skip_invalid is not None:
            self.state.skip_invalid = skip_invalid
        self.save()

    # --- interview -------------------------------------------------------------------------------

    def load_answers(self):
        """The saved interview answers (empty when none yet)."""
        from advisor.interview import Answers, load_answers

        return load_answers(self.answers_path) if present(self.answers_path) else Answers({})

    def save_answers(self, answers) -> None:
        """Save the interview answers atomically."""
        from advisor.interview import save_answers

        save_answers(answers, self.answers_path)

    # --- operations (each in its own module) -----------------------------------------------------

    def curate(self, progress=None, cancel: threading.Event | None = None, embedder=None, config=None):
        """Curate the project's data files into curated/ (advisor.project.curate)."""
        from advisor.project.curate import curate_project

        return curate_project(self, progress=progress, cancel=cancel, embedder=embedder, config=config)

    def load_curation(self):
        """What the last curation found, read back from curated/ (None before the first run)."""
        from advisor.project.curation_view import load_curation

        return load_curation(self.curated_dir) if self.is_curated else None

    def decisions(self) -> dict[str, str]:
        """The curator's marks (example id → keep/remove)."""
        from advisor.project.review import marks

        return marks(self)

    def set_decision(self, example_id: str, decision: str | None) -> dict[str, str]:
        """Mark one example keep/remove (None clears the mark), save, and return every mark."""
        from advisor.project.review import set_mark

        return set_mark(self, example_id, decision)

    def export(self):
        """Write export/ from curated/ with the marks applied (advisor.project.review.export_marked)."""
        from advisor.project.review import export_marked

        return export_marked(self)

    def load_bakeoff(self):
        """The project's latest bake-off (evals/<date>/summary.json), or None when none was run."""
        from advisor.project.bakeoff import latest_bakeoff

        return latest_bakeoff(self.root)

    def write_report(self, markdown: str, data: dict[str, Any]) -> None:
        """Save the recommendation report as report.md and report.json, atomically."""
        write_text_atomic(self.report_md, markdown)
        write_text_atomic(self.report_json, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def shown_path(path: Path, cwd: Path | None = None) -> str:
    """A path as a user types it in a shell: relative to the working folder when inside it, else absolute."""
    try:
        return str(path.resolve().relative_to((cwd or Path.cwd()).resolve()))
    except ValueError:
        return str(path.resolve())


def relative_to_project(path: Path, root: Path) -> str:
    """A path as stored in the state: relative to the project folder when inside it, else absolute."""
    full = path.expanduser().resolve()
    try:
        return str(full.relative_to(root.resolve()))
    except ValueError:
        return str(full)


def present(path: Path) -> bool:
    """Whether anything is at path, a symlink loop or a broken link included (readers then say what is wrong)."""
    return os.path.lexists(path)


def is_project(path: str | Path) -> bool:
    """Whether the folder holds a tunewise project (a state file, or something in its place that open_project refuses)."""
    return any(present(p) for p in Layout(Path(path)).state_files)


def open_project(path: str | Path) -> Project:
    """Open an existing project folder.

    The state file is read with safe_read: a FIFO, a device or a symlink loop in its place is refused by type, a
    file over CONFIG_LIMIT is refused, and bad YAML or JSON is a DataError naming the file and the line.
    """
    root = Path(path).expanduser()
    hint = "Fix the file, or delete it to start the project again."
    for name, state_path in zip(STATE_FILES, Layout(root).state_files):
        if present(state_path):
            try:
                if name.endswith(".json"):
                    data = read_json_file(state_path, "project state file", CONFIG_LIMIT, hint)
                else:
                    data = read_yaml_file(state_path, "project state file", CONFIG_LIMIT, hint) or {}
            except DataError as exc:  # bad YAML/JSON, too large, not UTF-8: say what it means for the project
                raise DataError(f"{exc.message} The project cannot be opened: its state file cannot be read.", exc.hint) from None
            if not isinstance(data, dict):
                raise DataError(f"{state_path} does not hold a mapping of settings.", "Fix the file, or delete it to start the project again.")
            return Project(root, ProjectState.from_dict(data, state_path), name)
    raise UsageError(f"{root} is not a tunewise project (no {STATE_YAML}).", "Create it first, e.g. `tunewise app DIR` on a new folder.")


def create_project(path: str | Path, data: list[str | Path] = (), docs: str | Path | None = None) -> Project:
    """Create a new project folder (it may exist but must not already be a project)."""
    root = Path(path).expanduser()
    if is_project(root):
        raise UsageError(f"{root} is already a tunewise project.", "Open it instead.")
    if root.exists() and not root.is_dir():
        raise UsageError(f"{root} is a file, not a folder.", "Choose a folder for the project.")
    root.mkdir(parents=True, exist_ok=True)
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    project = Project(root, ProjectState(created=created))
    if docs is not None:
        project.state.docs = relative_to_project(Path(docs), root)
    if data:
        project.set_data(list(data))
    project.save()
    return project


def open_or_create(path: str | Path) -> Project:
    """Open the project in this folder, or create one there."""
    return open_project(path) if is_project(path) else create_project(path)


def project_root(project: Project | str | Path) -> Path:
    """The folder of a Project, or a folder given as a path (a project, or a plain curation output folder)."""
    return project.root if isinstance(project, Project) else Path(project)
