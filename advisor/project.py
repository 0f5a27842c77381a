"""A tunewise project: one folder holding a decision's state, answers, curation, curator marks and report.

Layout of a project folder::

    tunewise.yaml     state: data files, docs folder, the screen reached (to resume), created
    answers.yaml      the interview answers (advisor.interview)
    curated/          curation outputs (curation.curate_files.run_curation), never edited afterwards
    decisions.json    the curator's keep/remove marks over curated/ (curation.decisions)
    report.md/.json   the recommendation report
    export/           clean/train/eval/removed.jsonl with the marks applied
    runs/ index/ prompt/   the chosen path's artefacts (LoRA runs, RAG index, few-shot prompt)
    evals/<date>/     bake-offs (training.evaluation): outputs.jsonl, summary.json, summary.md; evals/cache/

Nothing here imports textual; the TUI and the CLI both call these functions.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from curation.errors import DataError, UsageError
from curation.files import write_text_atomic
from curation.jsonl import json_type, read_jsonl
from curation.safe_read import CONFIG_LIMIT, data_limit, read_json_file, read_text_limited, read_yaml_file

STATE_FILES = ("tunewise.yaml", "tunewise.json")
STEPS = ("project", "interview", "data", "recommendation", "run", "evaluate")
SAMPLE_DIR = Path(__file__).resolve().parent.parent / "samples" / "support"


@dataclass
class ProjectState:
    """What a project remembers between sessions (saved as tunewise.yaml)."""

    data: list[str] = field(default_factory=list, metadata={"help": "data files to curate; relative paths are relative to the project folder"})
    docs: str | None = field(default=None, metadata={"help": "folder of documents for the RAG path, if any"})
    screen: str = field(default="interview", metadata={"help": "the step the user last reached, to resume there: " + ", ".join(STEPS)})
    question: int = field(default=0, metadata={"help": "position of the interview question last shown"})
    skip_invalid: bool = field(default=False, metadata={"help": "curate without invalid records (they go to curated/rejected.jsonl)"})
    created: str = field(default="", metadata={"help": "when the project was created (ISO 8601, UTC)"})

    def __post_init__(self) -> None:
        from advisor.interview import show_value

        if not isinstance(self.data, list) or not all(isinstance(p, str) and p for p in self.data):
            raise UsageError(f"Invalid data: {show_value(self.data)}.", "Use a list of file paths in tunewise.yaml.")
        if self.docs is not None and not isinstance(self.docs, str):
            raise UsageError(f"Invalid docs: {show_value(self.docs)}.", "Use a folder path, or leave it out.")
        if not isinstance(self.screen, str) or self.screen not in STEPS:
            raise UsageError(f"Invalid screen: {show_value(self.screen)}.", "Use one of " + ", ".join(STEPS) + ".")
        if not isinstance(self.question, int) or isinstance(self.question, bool) or not 0 <= self.question <= 10**6:
            raise UsageError(f"Invalid question: {show_value(self.question)}.", "Use a whole number ≥ 0.")
        if not isinstance(self.skip_invalid, bool):
            raise UsageError(f"Invalid skip_invalid: {show_value(self.skip_invalid)}.", "Use true or false.")
        if not isinstance(self.created, str):
            raise UsageError(f"Invalid created: {show_value(self.created)}.", "Use a date and time, e.g. 2025-06-01T12:00:00+00:00.")

    @classmethod
    def from_dict(cls, data: dict[str, Any], path: Path) -> ProjectState:
        """State read from a file, naming the file when a key is unknown or a value is invalid."""
        from advisor.interview import show_value

        known = {f.name for f in fields(cls)}
        unknown = [k if isinstance(k, str) and len(k) < 60 else show_value(k) for k in data if not isinstance(k, str) or k not in known]
        if unknown:
            raise DataError(f"{path}: unknown key(s) {', '.join(sorted(unknown)[:10])}.", "Known keys: " + ", ".join(sorted(known)) + ".")
        try:
            return cls(**data)
        except UsageError as exc:
            raise UsageError(f"{path}: {exc.message}", exc.hint) from None


@dataclass
class Project:
    """A project folder and its state; paths to everything the steps write."""

    root: Path
    state: ProjectState
    state_file: str = "tunewise.yaml"

    @property
    def name(self) -> str:
        """The folder's name, shown in titles."""
        return self.root.name

    @property
    def answers_path(self) -> Path:
        return self.root / "answers.yaml"

    @property
    def curated_dir(self) -> Path:
        return self.root / "curated"

    @property
    def decisions_path(self) -> Path:
        return self.root / "decisions.json"

    @property
    def report_md(self) -> Path:
        return self.root / "report.md"

    @property
    def report_json(self) -> Path:
        return self.root / "report.json"

    @property
    def export_dir(self) -> Path:
        return self.root / "export"

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
        return (self.curated_dir / "report.json").exists()

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
        self.state.docs = None if folder is None else _relative(Path(folder), self.root)
        self.save()

    def set_data(self, paths: list[str | Path], skip_invalid: bool | None = None) -> None:
        """Point the project at these data files (as the user typed them: relative to the working folder) and save."""
        if not paths:
            raise UsageError("No data file given.", "Give the path of a .jsonl, .json or .csv file with your examples.")
        missing = [str(p) for p in paths if not Path(p).expanduser().is_file()]
        if missing:
            raise UsageError(f"No such file: {', '.join(missing)}.", "Check the path (relative to the folder tunewise was started in).")
        self.state.data = [_relative(Path(p), self.root) for p in paths]
        if skip_invalid is not None:
            self.state.skip_invalid = skip_invalid
        self.save()

    # --- interview -------------------------------------------------------------------------------

    def load_answers(self):
        """The saved interview answers (empty when none yet)."""
        from advisor.interview import Answers, load_answers

        return load_answers(self.answers_path) if _present(self.answers_path) else Answers({})

    def save_answers(self, answers) -> None:
        """Save the interview answers atomically."""
        from advisor.interview import save_answers

        save_answers(answers, self.answers_path)

    # --- curation and the curator's marks --------------------------------------------------------

    def curate(self, progress=None, cancel: threading.Event | None = None, embedder=None, config=None):
        """Curate the project's data files into curated/ (see curation.curate_files.run_curation)."""
        from curation.curate_files import run_curation

        if not self.state.data:
            raise UsageError("This project has no data file yet.", "Load a file of examples on the data screen first.")
        return run_curation(
            [str(p) for p in self.data_paths], self.curated_dir, config, skip_invalid=self.state.skip_invalid,
            progress=progress, cancel=cancel, embedder=embedder,
        )

    def load_curation(self) -> CurationView | None:
        """What the last curation found, read back from curated/ (None before the first run)."""
        return load_curation(self.curated_dir) if self.is_curated else None

    def decisions(self) -> dict[str, str]:
        """The curator's marks (example id → keep/remove)."""
        from curation.decisions import load_decisions

        return load_decisions(self.decisions_path)

    def set_decision(self, example_id: str, decision: str | None) -> dict[str, str]:
        """Mark one example keep/remove (None clears the mark), save, and return every mark."""
        from curation.decisions import DECISIONS, save_decisions

        if decision is not None and decision not in DECISIONS:
            raise UsageError(f"Unknown decision {decision!r}.", "Use 'keep' or 'remove'.")
        marks = self.decisions()
        if decision is None:
            marks.pop(example_id, None)
        else:
            marks[example_id] = decision
        save_decisions(self.decisions_path, marks)
        return marks

    def export(self):
        """Write export/ from curated/ with the marks applied; marks naming ids of an older run are left out.

        Returns:
            (ExportSummary, ids of marks that were not applied)
        """
        from curation.decisions import export_with_decisions

        view = self.load_curation()
        if view is None:
            raise DataError("Nothing to export yet.", "Curate the data on the data screen first.")
        marks = self.decisions()
        stale = sorted(set(marks) - set(view.records))
        applied = {k: v for k, v in marks.items() if k not in stale}
        return export_with_decisions(self.curated_dir, applied, self.export_dir), stale

    def load_bakeoff(self):
        """The project's latest bake-off (evals/<date>/summary.json), or None when none was run."""
        from training.evaluation.results import latest_bakeoff, load_current_bakeoff

        folder = latest_bakeoff(self.root)
        return load_current_bakeoff(folder) if folder is not None else None

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


@dataclass
class RunPlan:
    """What running the recommended path does, step by step, and the exact commands."""

    path: str
    steps: list[str]
    commands: list[str]
    notes: list[str] = field(default_factory=list)

    @property
    def script(self) -> str:
        """The commands, one per line, ready to paste into a shell."""
        return "\n".join(self.commands)


def curated_examples(project: Project) -> Path | None:
    """The folder of split examples a run should use: export/ (marks applied), else curated/, else None."""
    for folder in (project.export_dir, project.curated_dir):
        if (folder / "train.jsonl").is_file():
            return folder
    return None


def run_plan(project: Project, path: str, cwd: Path | None = None) -> RunPlan:
    """The commands that carry out a recommended path (prompt, rag, fine-tune, rag+fine-tune) on this project."""
    import shlex

    def q(p: Path) -> str:
        return shlex.quote(shown_path(p, cwd))

    root, index, prompt_dir = project.root, project.root / "index", project.root / "prompt"
    examples = curated_examples(project)
    notes = []
    if examples is None:
        notes.append("Curate the data first (data screen): runs use its train split and hold out its eval split.")
    elif examples != project.export_dir:
        notes.append("Export the data (ctrl+s on the data screen) so the runs use your keep/remove marks.")
    docs = q(project.docs_path) if project.docs_path else "DOCS"
    if "rag" in path and not project.docs_path:
        notes.append("Replace DOCS with the folder of your documents.")

    data = q(examples) if examples else " ".join(q(p) for p in project.data_paths) or "DATA"
    answers = f" --answers {q(project.answers_path)}" if project.answers_path.is_file() else ""
    run_inputs = f"--inputs {q(examples / 'eval.jsonl')}" if examples else '"YOUR INPUT"'
    finetune = f"tunewise finetune {q(root)}" if examples in (None, project.curated_dir) else f"tunewise finetune {data} --project {q(root)}"
    rag_build = f"tunewise rag build {docs} --index {q(index)}"
    plans = {
        "prompt": (
            [f"Build a few-shot prompt from {data}: your task as instructions, one typical example per topic.",
             "Run it on the held-out examples with the local model and compare its replies with the expected ones."],
            [f"tunewise prompt build {data} --out {q(prompt_dir)}{answers}", f"tunewise prompt run {q(prompt_dir)} {run_inputs}"],
        ),
        "rag": (
            [f"Index the documents in {docs} into {q(index)} (chunks, embeddings, a FAISS index, BM25).",
             "Ask a question: retrieve the best passages and answer from them, citing the sources."],
            [rag_build, f'tunewise rag ask {q(index)} "YOUR QUESTION"'],
        ),
        "fine-tune": (
            [f"Train a LoRA adapter for the packaged SmolLM2-135M-Instruct on {data} (train split; eval split held out)"
             f" into {q(root / 'runs')}/.",
             "It evaluates and checkpoints as it goes; Ctrl-C saves a checkpoint, --resume continues."],
            [finetune],
        ),
        "rag+fine-tune": (
            [f"Index the documents in {docs} into {q(index)}.",
             f"Train a LoRA adapter on {data} into {q(root / 'runs')}/.",
             f'Then answer from retrieved passages with the adapter: tunewise rag ask {q(index)} "YOUR QUESTION" --adapter RUN/adapter.'],
            [rag_build, finetune],
        ),
    }
    if path not in plans:
        raise UsageError(f"Unknown path {path!r}.", "Use one of " + ", ".join(plans) + ".")
    steps, commands = plans[path]
    compared = ["zero-shot", "the few-shot prompt"] + ["RAG"] * ("rag" in path) + ["each fine-tuned adapter"] * ("fine-tune" in path)
    steps = [*steps, f"Measure it: the bake-off scores {', '.join(compared[:-1])} and {compared[-1]} on the held-out "
                     "examples; the recommendation then rests on the result."]
    return RunPlan(path, steps, [*commands, f"tunewise eval {q(root)}"], notes)


def _relative(path: Path, root: Path) -> str:
    """A path as stored in the state: relative to the project folder when inside it, else absolute."""
    full = path.expanduser().resolve()
    try:
        return str(full.relative_to(root.resolve()))
    except ValueError:
        return str(full)


def _present(path: Path) -> bool:
    """Whether anything is at path, a symlink loop or a broken link included (readers then say what is wrong)."""
    return os.path.lexists(path)


def is_project(path: str | Path) -> bool:
    """Whether the folder holds a tunewise project (a state file, or something in its place that open_project refuses)."""
    return any(_present(Path(path) / name) for name in STATE_FILES)


def open_project(path: str | Path) -> Project:
    """Open an existing project folder.

    The state file is read with safe_read: a FIFO, a device or a symlink loop in its place is refused by type, a
    file over CONFIG_LIMIT is refused, and bad YAML or JSON is a DataError naming the file and the line.
    """
    root = Path(path).expanduser()
    hint = "Fix the file, or delete it to start the project again."
    for name in STATE_FILES:
        state_path = root / name
        if _present(state_path):
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
    raise UsageError(f"{root} is not a tunewise project (no tunewise.yaml).", "Create it first, e.g. `tunewise app DIR` on a new folder.")


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
        project.state.docs = _relative(Path(docs), root)
    if data:
        project.set_data(list(data))
    project.save()
    return project


def open_or_create(path: str | Path) -> Project:
    """Open the project in this folder, or create one there."""
    return open_project(path) if is_project(path) else create_project(path)


def create_sample_project(path: str | Path, sample: Path = SAMPLE_DIR) -> Project:
    """A new project on the bundled Northwind Bikes sample; the sample folder itself is only read."""
    examples = sample / "examples.jsonl"
    if not examples.is_file():
        raise UsageError(f"The bundled sample is not at {sample}.", "Run from a tunewise checkout, which ships samples/support/.")
    docs = sample / "docs"
    project = create_project(path, [examples.resolve()], docs.resolve() if docs.is_dir() else None)
    answers = sample / "answers.yaml"
    if answers.is_file():
        write_text_atomic(project.answers_path, read_text_limited(answers, CONFIG_LIMIT, "sample answers file"))
    return project


# --- reading curation outputs back for review ------------------------------------------------------


@dataclass
class DuplicatePair:
    """An example next to the one it duplicates; `default` is what curation did with it."""

    subject: str
    twin: str
    similarity: float
    reason: str  # exact_duplicate | near_duplicate | possible_duplicate
    default: str  # remove (curation removed it) | keep (flagged for review, still in the clean set)


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
        pairs = [DuplicatePair(r["id"], r["duplicate_of"], float(r["similarity"]), r["reason"], "remove") for r in self.removed]
        pairs += [
            DuplicatePair(f["id"], f["with"][0], float(f["similarity"]), "possible_duplicate", "keep")
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
    report_path, clusters_file = curated / "report.json", curated / "clusters.json"
    report = read_json_file(report_path, "curation report", data_limit(), _RERUN)
    if not isinstance(report, dict) or not isinstance(report.get("counts"), dict):
        raise DataError(f"{report_path}: not a curation report (a JSON object with `counts`).", _RERUN)
    clean = _check_examples(_jsonl(curated / "clean.jsonl"), curated / "clean.jsonl")
    removed = _check_removed(_jsonl(curated / "removed.jsonl"), curated / "removed.jsonl")
    flags = _check_flags(_jsonl(curated / "flags.jsonl"), curated / "flags.jsonl")
    clusters: list[dict[str, Any]] = []
    if _present(clusters_file):
        data = read_json_file(clusters_file, "clusters file", data_limit(), _RERUN)
        clusters = data.get("clusters") if isinstance(data, dict) else None
        if not isinstance(clusters, list) or not all(isinstance(c, dict) for c in clusters):
            got = "a `clusters` that is not a list of objects" if isinstance(data, dict) else f"a {json_type(data)}"
            raise DataError(f"{clusters_file}: expected a JSON object whose `clusters` is a list of objects, got {got}.", _RERUN)
    rejected = _jsonl(curated / "rejected.jsonl")
    records = {r["id"]: r for r in clean}
    records.update({r["id"]: {"id": r["id"], "messages": r["messages"]} for r in removed})
    order = {row["id"]: n for n, row in enumerate(_jsonl(curated / "per_example.jsonl")) if isinstance(row.get("id"), str)}
    ordered = dict(sorted(records.items(), key=lambda kv: order.get(kv[0], len(order))))  # input order
    return CurationView(report, ordered, removed, flags, clusters, rejected)
