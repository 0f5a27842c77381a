"""The interview: questions as data (advisor/data/questions.yaml) and answers that load from and save to YAML.

answers.yaml is a flat mapping `question id: value`, in interview order, each key preceded by its question as a
comment, so a team can fill it in by hand, script it, or resume an interview. Unanswered questions are simply
absent (or `null`). Unknown keys are an error (a typo would otherwise be silently ignored), so nothing unknown is
ever kept or lost: what loads is exactly what saves. A key given twice and a choice given by its position number
(`budget: 3`) are errors naming the line: a file names its options (a typed answer at the prompt may use the number).
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from curation.errors import DataError, UsageError
from curation.files import write_text_atomic
from curation.safe_read import CONFIG_LIMIT, parse_yaml, read_text_limited, read_yaml_file

KINDS = ("text", "choice", "number", "yesno")
#: The largest answer a number question without its own maximum accepts (a trillion examples or requests a day is
#: already far beyond any real project); it keeps every later sum, product and format of the answer finite.
NUMBER_LIMIT = 10**12
_CONTAINERS = (dict, list, tuple, set, frozenset)
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

    def parse(self, raw: object, by_number: bool = True) -> object:
        """Turn raw input (a typed string or a YAML value) into this question's value; None means unanswered.

        `by_number` accepts the number shown next to an option (typed at a prompt); a file must name the option.
        Raises UsageError with a hint listing what is allowed.
        """
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        if self.kind == "text":
            if isinstance(raw, _CONTAINERS):
                raise UsageError(f"{self.id}: expected a sentence, got a {type(raw).__name__}.", "Write the answer as plain text.")
            return " ".join(self._text(raw, "Write the answer as plain text, in quotes.").split())
        if self.kind == "yesno":
            if isinstance(raw, bool):
                return raw
            if isinstance(raw, _CONTAINERS):
                raise UsageError(f"{self.id}: expected yes or no, got {show_value(raw)}.", "Answer yes or no.")
            text = self._text(raw, "Answer yes or no.").strip().lower()
            if text in _YES:
                return True
            if text in _NO:
                return False
            raise UsageError(f"{self.id}: expected yes or no, got {show_value(raw)}.", "Answer yes or no.")
        if self.kind == "number":
            return self._parse_number(raw)
        return self._parse_choice(raw, by_number)

    def _text(self, raw: object, hint: str) -> str:
        """str(raw), refusing (UsageError) what has no short text form, such as an integer of thousands of digits."""
        if isinstance(raw, str):
            return raw
        try:
            return str(raw)
        except ValueError:  # int -> str is limited to 4,300 digits
            raise UsageError(f"{self.id}: {show_value(raw)} is too long to read.", hint) from None

    def _capped_bounds(self, bounds: str) -> str:
        """The allowed range including NUMBER_LIMIT, for a question without its own maximum."""
        if self.maximum is not None:
            return bounds
        low = f"{_num(self.minimum)}" if self.minimum is not None else f"-{NUMBER_LIMIT:,}"
        return f" between {low} and {NUMBER_LIMIT:,}"

    def _parse_number(self, raw: object) -> int | float:
        bounds = f" between {_num(self.minimum)} and {_num(self.maximum)}" if self.maximum is not None else (
            f" of at least {_num(self.minimum)}" if self.minimum is not None else "")
        if isinstance(raw, bool) or isinstance(raw, _CONTAINERS):
            raise UsageError(f"{self.id}: expected a number, got {show_value(raw)}.", f"Give a number{bounds}.")
        if isinstance(raw, (int, float)):
            value: int | float = raw
        else:
            text = self._text(raw, f"Give a number{bounds}.").strip().replace(",", "").replace("_", "")
            if len(text) > 40:  # no sensible answer is this long; int() of thousands of digits would fail anyway
                if text.lstrip("+-").isdigit():
                    raise UsageError(f"{self.id}: {show_value(raw)} is too large.", f"Give a number{self._capped_bounds(bounds)}.")
                raise UsageError(f"{self.id}: expected a number, got {show_value(raw)}.", f"Give a number{bounds}, e.g. 300.")
            try:
                value = int(text)
            except ValueError:
                try:
                    value = float(text)
                except ValueError:
                    raise UsageError(f"{self.id}: expected a number, got {show_value(raw)}.", f"Give a number{bounds}, e.g. 300.") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise UsageError(f"{self.id}: expected a finite number, got {show_value(raw)}.", f"Give a number{bounds}.")
        if self.maximum is not None and value > self.maximum:
            raise UsageError(f"{self.id}: {show_value(raw)} is too large.", f"Give a number{bounds}.")
        if self.minimum is not None and value < self.minimum:
            raise UsageError(f"{self.id}: {show_value(raw)} is out of range.", f"Give a number{bounds}.")
        if self.maximum is None and abs(value) > NUMBER_LIMIT:
            raise UsageError(f"{self.id}: {show_value(raw)} is too large.", f"Give a number{self._capped_bounds(bounds)}.")
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return value

    def _parse_choice(self, raw: object, by_number: bool = True) -> str:
        if isinstance(raw, bool) and ("yes" in self.values or "no" in self.values):  # YAML reads bare yes/no as booleans
            raw = "yes" if raw else "no"
        if isinstance(raw, _CONTAINERS):
            raise UsageError(f"{self.id}: expected one of the choices, got {show_value(raw)}.", f"Use one of: {', '.join(self.values)}.")
        text = self._text(raw, f"Use one of: {', '.join(self.values)}.").strip()
        for option in self.options:
            if text.lower() in (option.value.lower(), option.label.lower()):
                return option.value
        if text.isdigit() and len(text) < 6 and 1 <= int(text) <= len(self.options):  # the number shown next to an option
            if not by_number:
                option = self.options[int(text) - 1]
                raise UsageError(f"{self.id}: {show_value(raw)} is a position, not a choice: options are named in a file.",
                                 f"Write the option's name (position {text} is `{option.value}`). Use one of: "
                                 f"{', '.join(self.values)}.")
            return self.options[int(text) - 1].value
        close = difflib.get_close_matches(text.lower(), [v.lower() for v in self.values], n=1) if len(text) < 200 else []
        did_you_mean = f"Did you mean {close[0]!r}? " if close else ""
        raise UsageError(
            f"{self.id}: {show_value(raw)} is not one of the choices.",
            f"{did_you_mean}Use one of: {', '.join(self.values)}.",
        )


def _num(value: float | None) -> str:
    return "" if value is None else (f"{int(value):,}" if float(value).is_integer() else str(value))


def show_value(value: object, width: int = 60) -> str:
    """A value for a message: short, and never the str() of a huge number or a (possibly self-referencing) container."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple, set, frozenset)):
        return f"a {type(value).__name__}"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"a number of about {int(value.bit_length() * 0.30103) + 1:,} digits"
    if isinstance(value, (str, bytes)) and len(value) > width:
        return repr(value[:width]) + f"… ({len(value):,} characters)"
    text = repr(value)
    return text if len(text) <= width + 20 else text[:width] + "…"


@lru_cache(maxsize=4)
def _load_questions_cached(path: str) -> tuple[Question, ...]:
    hint = "Reinstall tunewise or fix the file."
    rows = read_yaml_file(path, "questions file", CONFIG_LIMIT, hint)
    if not isinstance(rows, (list, type(None))):
        raise DataError(f"The questions file {path} must be a list of questions, got a {type(rows).__name__}.", hint)
    questions = []
    for n, row in enumerate(rows or [], 1):
        try:
            options = tuple(Option(str(o["value"]), str(o["label"])) for o in row.get("options", ()))
            when = tuple((qid, tuple(vals)) for qid, vals in (row.get("when") or {}).items())
            questions.append(Question(
                id=row["id"], text=row["text"], help=" ".join(str(row.get("help", "")).split()), kind=row["kind"],
                options=options, default=row.get("default"), optional=bool(row.get("optional", False)),
                section=row.get("section", ""), minimum=row.get("minimum"), maximum=row.get("maximum"), when=when,
            ))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise DataError(f"The questions file {path}, question {n}: {type(exc).__name__}: {str(exc)[:200]}", hint) from None
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
        close = difflib.get_close_matches(qid, [q.id for q in self.questions], n=1) if len(qid) < 200 else []
        raise UsageError(
            f"Unknown question id {show_value(qid)}.",
            (f"Did you mean {close[0]!r}? " if close else "") + f"Known ids: {', '.join(q.id for q in self.questions)}.",
        )

    def get(self, qid: str, default: object = None) -> object:
        """The answer to a question, or default when unanswered."""
        value = self.values.get(qid)
        return default if value is None else value

    def set(self, qid: str, value: object, by_number: bool = True) -> None:
        """Validate and store an answer (None or an empty string clears it); UsageError with a hint if invalid.

        `by_number`: accept an option's position number (typed at a prompt), not only its name.
        """
        parsed = self._question(qid).parse(value, by_number)
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
    """Read answers.yaml; DataError naming the file, the line, the key and the fix on bad YAML, an unknown id or a
    bad value. Anything but a regular file of at most CONFIG_LIMIT bytes is refused, never read (no FIFO hangs)."""
    path = Path(path)
    if not os.path.lexists(path):  # a symlink loop or a broken link is explained by safe_read
        raise UsageError(f"Answers file {path} not found.", "Check the path, or run without --answers to be asked.")
    text = read_text_limited(path, CONFIG_LIMIT, "answers file")
    hint = "Write one `question_id: value` per line; quote text containing ':' or '#'."
    try:
        data = parse_yaml(text, str(path), "answers file", hint)
    except DataError as exc:
        raise _with_line(exc, path, text) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise DataError(f"{path} must be a mapping of question id to answer, got a {type(data).__name__}.",
                        "Write one `question_id: value` per line, e.g. `examples: 300`.")
    answers = Answers(questions=questions if questions is not None else load_questions())
    for key, value in data.items():
        try:
            answers.set(key if isinstance(key, str) else show_value(key), value, by_number=False)
        except UsageError as exc:
            line = _line_of_key(text, key)
            where = f"{path}:{line}:" if line else f"{path},"
            raise DataError(f"{where} key {show_value(key)}: {exc.message}", exc.hint) from None
    return answers


def _line_of_key(text: str, key: object) -> int | None:
    """The line of a top-level key in YAML text (already parsed once, so within the depth limit), if found."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        if isinstance(root, yaml.MappingNode):
            for key_node, _ in root.value:
                if isinstance(key_node, yaml.ScalarNode) and isinstance(key, str) and key_node.value == key:
                    return key_node.start_mark.line + 1
    except Exception:  # noqa: BLE001 - the line is a courtesy; the message stands without it
        return None
    return None


def _with_line(exc: DataError, path: Path, text: str) -> DataError:
    """A parse failure that names no line (a value YAML cannot construct: a 5,000-digit number, the 45th of a month)
    with the line of the first value that fails, found by constructing each scalar on its own."""
    prefix = f"{path}: "
    if not exc.message.startswith(prefix):
        return exc
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        loader = yaml.SafeLoader("")
        lines, stack, seen = [], [root], set()
        while stack:
            node = stack.pop()
            if node is None or id(node) in seen:
                continue
            seen.add(id(node))
            if isinstance(node, yaml.ScalarNode):
                try:
                    loader.construct_object(node)
                except Exception:  # noqa: BLE001 - any failure marks the culprit
                    lines.append(node.start_mark.line + 1)
            elif isinstance(node, yaml.MappingNode):
                stack.extend(n for pair in node.value for n in pair)
            elif isinstance(node, yaml.SequenceNode):
                stack.extend(node.value)
    except Exception:  # noqa: BLE001 - the line is a courtesy; the message stands without it
        return exc
    if not lines:
        return exc
    hint = exc.hint
    if "too many digits" in exc.message:
        hint = f"Write a number of at most {NUMBER_LIMIT:,} (e.g. `examples: 300`), or quote text made of digits."
    return DataError(f"{path}:{min(lines)}: {exc.message[len(prefix):]}", hint)


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
