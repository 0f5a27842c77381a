"""The layout of a project folder: every folder and file name in one place, and which split is current.

A project folder::

    tunewise.yaml     state (advisor.project.state): data files, docs folder, the step reached (or tunewise.json)
    answers.yaml      the interview answers (advisor.interview)
    curated/          curation outputs (curation.curate_files), file names from curation.split_files
    decisions.json    the curator's keep/remove marks over curated/ (curation.decisions)
    export/           curated/ with the marks applied (same file names)
    report.md/.json   the recommendation report
    runs/             LoRA runs (training.runs), one folder per run
    index/            the RAG index (training.rag.index)
    prompt/           the few-shot prompt: messages.json, prompt.txt, selection.json (training.prompting)
    endpoints.yaml    OpenAI-compatible endpoints to compare against (training.endpoints; key variable names only)
    evals/<date>/     bake-offs (training.evaluation); evals/cache/

Names the training layer owns (runs/, evals/, the prompt's files) are imported from it, not spelled again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from curation import split_files
from training.runs import RUNS_DIR

STATE_YAML = "tunewise.yaml"
STATE_JSON = "tunewise.json"
STATE_FILES = (STATE_YAML, STATE_JSON)
ANSWERS = "answers.yaml"
CURATED = "curated"
DECISIONS = "decisions.json"
DECISIONS_HISTORY = "decisions.history.json"  # reasons of group decisions and the undo history (curation.decisions)
EXPORT = "export"
REPORT_MD = "report.md"
REPORT_JSON = "report.json"
RUNS = RUNS_DIR
INDEX = "index"
PROMPT = "prompt"
ENDPOINTS = "endpoints.yaml"


def holds_split(folder: Path) -> bool:
    """Whether a folder holds a train/eval split (its train.jsonl or eval.jsonl)."""
    return (folder / split_files.TRAIN).is_file() or (folder / split_files.EVAL).is_file()


@dataclass(frozen=True)
class Layout:
    """Where everything of the project in `root` lives."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def state_files(self) -> tuple[Path, ...]:
        """The state file, YAML first (one of them exists in a project)."""
        return tuple(self.root / name for name in STATE_FILES)

    @property
    def answers(self) -> Path:
        return self.root / ANSWERS

    @property
    def curated(self) -> Path:
        return self.root / CURATED

    @property
    def curation_report(self) -> Path:
        """curated/report.json: present once curation has run."""
        return self.curated / split_files.REPORT_JSON

    @property
    def decisions(self) -> Path:
        return self.root / DECISIONS

    @property
    def export(self) -> Path:
        return self.root / EXPORT

    @property
    def report_md(self) -> Path:
        return self.root / REPORT_MD

    @property
    def report_json(self) -> Path:
        return self.root / REPORT_JSON

    @property
    def runs(self) -> Path:
        return self.root / RUNS

    @property
    def index(self) -> Path:
        return self.root / INDEX

    @property
    def prompt(self) -> Path:
        return self.root / PROMPT

    @property
    def endpoints(self) -> Path:
        return self.root / ENDPOINTS

    @property
    def prompt_messages(self) -> Path:
        # training.prompting names the prompt's files; imported here, when used (it loads numpy, and the CLI
        # reads this module for its option defaults)
        from training.prompting import MESSAGES_FILE

        return self.prompt / MESSAGES_FILE

    @property
    def prompt_text(self) -> Path:
        from training.prompting import TEXT_FILE

        return self.prompt / TEXT_FILE

    @property
    def prompt_selection(self) -> Path:
        from training.prompting import SELECTION_FILE

        return self.prompt / SELECTION_FILE

    @property
    def evals(self) -> Path:
        from training.evaluation.results import EVALS_DIR

        return self.root / EVALS_DIR

    def export_is_current(self) -> bool:
        """Whether export/ holds a split written since curated/ was last curated (so the marks apply to it)."""
        if not holds_split(self.export):
            return False
        if not self.curation_report.is_file():
            return True
        written = max((self.export / name).stat().st_mtime_ns for name in (split_files.TRAIN, split_files.EVAL)
                      if (self.export / name).is_file())
        return written >= self.curation_report.stat().st_mtime_ns

    def current_split(self) -> Path | None:
        """The folder of split examples that fine-tuning, the prompt and the bake-off use; None before curation.

        The one rule: export/ (the curator's marks applied) when it was written after the last curation; else
        curated/; else the folder itself when it is a plain `tunewise curate --out` folder. An export older than
        the curation is stale (its ids may be gone) and is passed over until the data is exported again.
        """
        if self.export_is_current():
            return self.export
        for folder in (self.curated, self.root):
            if holds_split(folder):
                return folder
        return None
