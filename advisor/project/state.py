"""What a project remembers between sessions: its data files, docs folder and the step reached (tunewise.yaml)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from curation.errors import DataError, UsageError

STEPS = ("project", "interview", "data", "recommendation", "run", "evaluate")


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
