"""The interview: questions as data (advisor/data/questions.yaml) and answers that load from and save to YAML.

answers.yaml is a flat mapping `question id: value`, in interview order, each key preceded by its question as a
comment, so a team can fill it in by hand, script it, or resume an interview. Unanswered questions are simply
absent (or `null`). Unknown keys are an error (a typo would otherwise be silently ignored), so nothing unknown is
ever kept or lost: what loads is exactly what saves.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from curation.errors import DataError, UsageError
from curation.files import write_text_atomic

KINDS = ("text", "choice", "number", "yesno")
QUESTIONS_FILE = Path(__file__).parent / "data" / "questions.yaml"
_YES = {"yes", "y", "true", "1", "on"}
_NO = {"no", "n", "false", "0", "off"}


@dataclass(frozen=True)
class Option:
    """One allowed answer of a choice question: the value stored in answers.yaml and the label shown."""

    value: str
    label: str


@dataclass(frozen=True)
class Question:
    """One interview question; `help` says why we ask. `when` limits it to certain answers of earlier questions."""

    id: str
    text: str
    help: str
    kind: str
    options: tuple[Option, ...] = ()
    default: object = None
    optional: bool = False
    section: str = ""
    minimum: float | None = None
    maximum: float | None = None
    when: tuple[tuple[str, tuple[object, ...]], ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"question {self.id!r}: kind must be one of {KINDS}, got {self.kind!r}")
        if self.kind == "choice" and not self.options:
            raise ValueError(f"question {self.id!r}: a choice question needs options")

    @property
    def values(self) -> tuple[str, ...]:
        """The allowed values of a choice question."""
        return tuple(o.value for o in self.options)

    def label_of(self, value: object) -> str:
        """The human label for a stored value (the value itself where there is no option label)."""
        if self.kind == "choice":
            for option in self.options:
                if option.value == value:
                    return option.label
        if self.kind == "yesno" and isinstance(value, bool):
            return "yes" if value else "no"
        if self.kind == "number" and isinstance(value, float) and value.is_integer():
            return f"{int(value):,}"
        if self.kind == "number" and isinstance(value, int):
            return f"{value:,}"
        return "" if value is None else str(value)

    def applies(self, answers: Answers | dict[str, object]) -> bool:
        """Whether this question is asked, given the answers so far (see `when`)."""
        values = answers.values if isinstance(answers, Answers) else answers
        return all(values.get(qid) in allowed for qid, allowed in self.when)

    def parse(self, raw: object) -> object:
        """Turn raw input (a typed string or a YAML value) into this question's value; None means unanswered.

        Raises UsageError with a hint listing what is allowed.
        """
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        if self.kind == "text":
            if isinstance(raw, (dict, list, tuple)):
                raise UsageError(f"{self.id}: expected a sentence, got a {type(raw).__name__}.", "Write the answer as plain text.")
            return " ".join(str(raw).split())
        if self.kind == "yesno":
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in _YES:
                return True
            if text in _NO:
                return False
            raise UsageError(f"{self.id}: expected yes or no, got {raw!r}.", "Answer yes or no.")
        if self.kind == "number":
            return self._parse_number(raw)
        return self._parse_choice(raw)

    def _parse_number(self, raw: object) -> int | float:
        bounds = f" between {_num(self.minimum)} and {_num(self.maximum)}" if self.maximum is not None else (
            f" of at least {_num(self.minimum)}" if self.minimum is not None else "")
        if isinstance(raw, bool) or isinstance(raw, (dict, list, tuple)):
            raise UsageError(f"{self.id}: expected a number, got {raw!r}.", f"Give a number{bounds}.")
        if isinstance(raw, (int, float)):
            value: int | float = raw
        else:
            text = str(raw).strip().replace(",", "").replace("_", "")
            try:
                value = int(text)
            except ValueError:
                try:
                    value = float(text)
                except ValueError:
                    raise UsageError(f"{self.id}: expected a number, got {raw!r}.", f"Give a number{bounds}, e.g. 300.") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise UsageError(f"{self.id}: expected a finite number, got {raw!r}.", f"Give a number{bounds}.")
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            raise UsageError(f"{self.id}: {raw!r} is out of range.", f"Give a number{bounds}.")
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return value

    def _parse_choice(self, raw: object) -> str:
        if isinstance(raw, bool) and ("yes" in self.values or "no" in self.values):  # YAML reads bare yes/no as booleans
            raw = "yes" if raw else "no"
        text = str(raw).strip()
        for option in self.options:
            if text.lower() in (option.value.lower(), option.label.lower()):
                return option.value
        if text.isdigit() and 1 <= int(text) <= len(self.options):  # the number shown next to an option
            return self.options[int(text) - 1].value
        close = difflib.get_close_matches(text.lower(), [v.lower() for v in self.values], n=1)
        did_you_mean = f"Did you mean {close[0]!r}? " if close else ""
        raise UsageError(
            f"{self.id}: {raw!r} is not one of the choices.",
            f"{did_you_mean}Use one of: {', '.join(self.values)}.",
        )


def _num(value: float | None) -> str:
    return "" if value is None else (str(int(value)) if float(value).is_integer() else str(value))


@lru_cache(maxsize=4)
def _load_questions_cached(path: str) -> tuple[Question, ...]:
    try:
        rows = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DataError(f"Cannot read the questions file {path}: {exc}", "Reinstall tunewise or fix the file.") from exc
    questions = []
    for row in rows or []:
        options = tuple(Option(str(o["value"]), str(o["label"])) for o in row.get("options", ()))
        when = tuple((qid, tuple(vals)) for qid, vals in (row.get("when") or {}).items())
        questions.append(Question(
            id=row["id"], text=row["text"], help=" ".join(str(row.get("help", "")).split()), kind=row["kind"],
            options=options, default=row.get("default"), optional=bool(row.get("optional", False)),
            section=row.get("section", ""), minimum=row.get("minimum"), maximum=row.get("maximum"), when=when,
        ))
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        raise DataError(f"Duplicate question ids in {path}.", "Give every question a unique id.")
    return tuple(questions)


def load_questions(path: str | Path | None = None) -> list[Question]:
    """The interview questions, in order (advisor/data/questions.yaml unless a path is given)."""
    return list(_load_questions_cached(str(path or QUESTIONS_FILE)))


def question_map(questions: list[Question] | None = None) -> dict[str, Question]:
    """Questions by id."""
    return {q.id: q for q in (questions if questions is not None else load_questions())}


@dataclass
class Answers:
    """The answers given so far, by question id; every value is validated against its question."""

    values: dict[str, object] = field(default_factory=dict)
    questions: list[Question] = field(default_factory=load_questions, repr=False, compare=False)

    def _question(self, qid: str) -> Question:
        for question in self.questions:
            if question.id == qid:
                return question
        close = difflib.get_close_matches(qid, [q.id for q in self.questions], n=1)
        raise UsageError(
            f"Unknown question id {qid!r}.",
            (f"Did you mean {close[0]!r}? " if close else "") + f"Known ids: {', '.join(q.id for q in self.questions)}.",
        )

    def get(self, qid: str, default: object = None) -> object:
        """The answer to a question, or default when unanswered."""
        value = self.values.get(qid)
        return default if value is None else value

    def set(self, qid: str, value: object) -> None:
        """Validate and store an answer (None or an empty string clears it); UsageError with a hint if invalid."""
        parsed = self._question(qid).parse(value)
        if parsed is None:
            self.values.pop(qid, None)
        else:
            self.values[qid] = parsed

    def answered(self, qid: str) -> bool:
        """Whether the question has an answer."""
        return self.values.get(qid) is not None

    def missing(self, questions: list[Question] | None = None) -> list[str]:
        """Ids of required questions that apply (see Question.when) and are still unanswered, in order."""
        return [
            q.id for q in (questions if questions is not None else self.questions)
            if not q.optional and q.applies(self) and not self.answered(q.id)
        ]

    def ordered(self) -> dict[str, object]:
        """The answered values in interview order."""
        return {q.id: self.values[q.id] for q in self.questions if self.answered(q.id)}

    @classmethod
    def from_dict(cls, data: dict[str, Any], questions: list[Question] | None = None) -> Answers:
        """Answers from a plain mapping, each value validated (UsageError on the first bad one)."""
        answers = cls(questions=questions if questions is not None else load_questions())
        for qid, value in data.items():
            answers.set(str(qid), value)
        return answers


def load_answers(path: str | Path, questions: list[Question] | None = None) -> Answers:
    """Read answers.yaml; DataError naming the file, the key and the fix on bad YAML, an unknown id or a bad value."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UsageError(f"Answers file {path} not found.", "Check the path, or run without --answers to be asked.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"Cannot read answers file {path}: {exc}", "Save it as UTF-8 text.") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise DataError(
            f"{path} is not valid YAML{where}: {getattr(exc, 'problem', None) or exc}",
            "Write one `question_id: value` per line; quote text containing ':' or '#'.",
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise DataError(f"{path} must be a mapping of question id to answer, got a {type(data).__name__}.",
                        "Write one `question_id: value` per line, e.g. `examples: 300`.")
    answers = Answers(questions=questions if questions is not None else load_questions())
    for key, value in data.items():
        try:
            answers.set(str(key), value)
        except UsageError as exc:
            raise DataError(f"{path}, key {key!r}: {exc.message}", exc.hint) from None
    return answers


def dump_answers(answers: Answers) -> str:
    """answers.yaml text: answered questions in interview order, each under its question as a comment."""
    lines = ["# tunewise interview answers: edit freely; `tunewise advise --answers this-file` reads them.", ""]
    for question in answers.questions:
        if not answers.answered(question.id):
            continue
        lines.append(f"# {question.text}")
        if question.kind == "choice":
            lines.append(f"# one of: {', '.join(question.values)}")
        dumped = yaml.safe_dump({question.id: answers.values[question.id]}, allow_unicode=True, sort_keys=False, width=100)
        lines.append(dumped.rstrip("\n"))
        lines.append("")
    return "\n".join(lines)


def save_answers(answers: Answers, path: str | Path) -> None:
    """Write answers.yaml atomically (temp file in the same folder, then os.replace)."""
    write_text_atomic(path, dump_answers(answers))
