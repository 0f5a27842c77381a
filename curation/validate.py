"""Checks one parsed record of a given input format and reports every problem it has.

Problem codes (``Problem.code``):

- ``invalid_json``: the line (or JSON array element) is not valid JSON; ``column`` points at the error.
- ``invalid_utf8``: the line is not valid UTF-8 (or a string holds an unpaired surrogate escape).
- ``bom``: the file starts with a UTF-8 byte-order mark (the rest still loads).
- ``empty_file``: the file holds no records (blank lines are skipped silently).
- ``unknown_format``: the format could not be told from the file; pass ``--format``.
- ``not_object``: a record (or a message inside it) is not a JSON object.
- ``unknown_key``: a key the format does not define (top level or inside a message).
- ``bad_type``: a known key holds the wrong JSON type.
- ``bad_id``: the ``id`` is neither a non-empty string nor an integer.
- ``duplicate_id``: the same explicit ``id`` was already used (reported on the second occurrence).
- ``missing_messages`` / ``empty_messages``: no ``messages`` (``conversations``) list, or an empty one.
- ``missing_role`` / ``unknown_role``: a message without a role, or with one the format does not know.
- ``missing_content`` / ``empty_content``: a text field is absent, null, or blank after strip.
- ``bad_weight``: a message ``weight`` other than 0 or 1.
- ``no_assistant``: the conversation has no assistant turn, so there is nothing to learn.
- ``assistant_not_last``: the conversation does not end with an assistant turn.
- ``bad_column``: a CSV/TSV header lacks the input/output column (or names it twice).
- ``bad_row``: a CSV/TSV row cannot be read or has a different number of fields than the header.
- ``too_long``: the example exceeds the model's context length (checked elsewhere, needs a tokenizer).
- ``internal_error``: a bug in tunewise while reading the record; the record is rejected.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

from curation.example import ROLES
from curation.jsonl import json_type

CODES: dict[str, str] = {
    "invalid_json": "not valid JSON",
    "invalid_utf8": "not valid UTF-8",
    "bom": "UTF-8 byte-order mark at the start of the file",
    "empty_file": "no records in the file",
    "unknown_format": "format could not be detected",
    "not_object": "not a JSON object",
    "unknown_key": "key not defined by the format",
    "bad_type": "wrong JSON type",
    "bad_id": "id is not a non-empty string or an integer",
    "duplicate_id": "id used twice",
    "missing_messages": "no messages list",
    "empty_messages": "empty messages list",
    "missing_role": "message without a role",
    "unknown_role": "role not known to the format",
    "missing_content": "text field absent or null",
    "empty_content": "text field blank",
    "bad_weight": "message weight not 0 or 1",
    "no_assistant": "no assistant turn",
    "assistant_not_last": "last turn is not the assistant's",
    "bad_column": "CSV input/output column missing",
    "bad_row": "CSV row unreadable or with the wrong number of fields",
    "too_long": "longer than the model's context",
    "internal_error": "bug in tunewise",
}

CHAT_KEYS = ("messages", "id", "metadata")
CHAT_MESSAGE_KEYS = ("role", "content", "name", "weight")
COMPLETION_KEYS = ("prompt", "completion", "id", "metadata")
ALPACA_KEYS = ("instruction", "input", "output", "system", "id", "metadata")
SHAREGPT_KEYS = ("conversations", "system", "id", "metadata")
SHAREGPT_TURN_KEYS = ("from", "value")
SHAREGPT_ROLES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "model": "assistant",
    "system": "system",
}
ROLE_GUESSES = {
    "human": "user",
    "gpt": "assistant",
    "model": "assistant",
    "bot": "assistant",
    "ai": "assistant",
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, located precisely enough to fix it."""

    file: str
    line: int
    code: str
    message: str
    hint: str
    field: str | None = None
    column: int | None = None

    def format(self) -> str:
        """One readable line: ``file:line:col: field: message — hint``."""
        where = self.file
        if self.line:
            where += f":{self.line}"
            if self.column:
                where += f":{self.column}"
        text = f"{where}: "
        if self.field:
            text += f"{self.field}: "
        text += self.message
        if self.hint:
            text += f" — {self.hint}"
        return text

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON reports."""
        return asdict(self)


class Issue(NamedTuple):
    """A problem before it is given a file and a line."""

    code: str
    message: str
    hint: str
    field: str | None = None


def locate(issues: list[Issue], file: str, line: int) -> list[Problem]:
    """Attach a file and line to issues."""
    return [Problem(file, line, i.code, i.message, i.hint, i.field) for i in issues]


def check_record(record: Any, fmt: str, file: str, line: int) -> list[Problem]:
    """Every problem of one parsed JSON record in format ``fmt`` (chat, completion, alpaca, sharegpt)."""
    checks = {
        "chat": check_chat,
        "completion": check_completion,
        "alpaca": check_alpaca,
        "sharegpt": check_sharegpt,
    }
    check = checks.get(fmt)
    if not isinstance(record, dict) or check is None:
        return locate(check_object(record, "", "record"), file, line)
    return locate(check(record), file, line)


def check_csv_row(
    row: dict[str, str], input_column: str, output_column: str, file: str, line: int
) -> list[Problem]:
    """Every problem of one CSV/TSV row (already split into named cells)."""
    issues: list[Issue] = []
    for column in (input_column, output_column):
        if not (row.get(column) or "").strip():
            issues.append(
                Issue(
                    "empty_content",
                    f"column '{column}' is empty",
                    "fill in the cell or drop the row",
                    column,
                )
            )
    return locate(issues, file, line)


def check_object(value: Any, field: str, what: str) -> list[Issue]:
    """A not_object issue unless value is a JSON object."""
    if isinstance(value, dict):
        return []
    return [
        Issue(
            "not_object",
            f"{what} is {json_type(value, article=True)}, not a JSON object",
            "each record must be one JSON object {...}"
            if what == "record"
            else f"make each {what} an object {{...}}",
            field or None,
        )
    ]


def check_chat(record: dict[str, Any]) -> list[Issue]:
    """Issues of an OpenAI-style chat record: ``{"messages": [{"role", "content"}, ...]}``."""
    issues = check_keys(record, CHAT_KEYS, "")
    issues += check_id_and_metadata(record)
    return issues + check_turn_list(record, "messages", "message", CHAT_MESSAGE_KEYS, "role", {r: r for r in ROLES},
                                    "content", lambda message, field: check_optional_str(message, "name", field)
                                    + check_weight(message, field))


def check_turn_list(record: dict[str, Any], key: str, item: str, keys, role_key: str, roles: dict[str, str],
                    text_key: str, extra: Callable[[dict, str], list[Issue]] | None = None) -> list[Issue]:
    """Issues of a record's list of turns (chat messages, ShareGPT turns): each an object with known keys, a
    known speaker (`roles` maps it to system/user/assistant) and text, then the order of the speakers."""
    turns = record.get(key)
    issues = check_list(turns, key, f"{item}s")
    if not isinstance(turns, list):
        return issues
    found: list[str | None] = []
    for i, turn in enumerate(turns):
        field = f"{key}[{i}]"
        issues += check_object(turn, field, item)
        if not isinstance(turn, dict):
            found.append(None)
            continue
        issues += check_keys(turn, keys, field)
        role = turn.get(role_key)
        issues += check_role(role, tuple(roles), f"{field}.{role_key}", role_key)
        found.append(roles.get(role) if isinstance(role, str) else None)
        issues += check_text(turn, text_key, field)
        if extra is not None:
            issues += extra(turn, field)
    return issues + check_turns(found, key)


def check_completion(record: dict[str, Any]) -> list[Issue]:
    """Issues of a ``{"prompt", "completion"}`` record."""
    issues = check_keys(record, COMPLETION_KEYS, "")
    issues += check_id_and_metadata(record)
    issues += check_text(record, "prompt", "")
    issues += check_text(record, "completion", "")
    return issues


def check_alpaca(record: dict[str, Any]) -> list[Issue]:
    """Issues of an Alpaca ``{"instruction", "input"?, "output", "system"?}`` record."""
    issues = check_keys(record, ALPACA_KEYS, "")
    issues += check_id_and_metadata(record)
    issues += check_text(record, "instruction", "")
    issues += check_optional_str(record, "input", "")
    issues += check_text(record, "output", "")
    issues += check_optional_str(record, "system", "")
    return issues


def check_sharegpt(record: dict[str, Any]) -> list[Issue]:
    """Issues of a ShareGPT ``{"conversations": [{"from", "value"}, ...]}`` record."""
    issues = check_keys(record, SHAREGPT_KEYS, "")
    issues += check_id_and_metadata(record)
    issues += check_optional_str(record, "system", "")
    return issues + check_turn_list(record, "conversations", "turn", SHAREGPT_TURN_KEYS, "from", SHAREGPT_ROLES, "value")


def check_keys(obj: dict[str, Any], allowed: tuple[str, ...], prefix: str) -> list[Issue]:
    """An unknown_key issue for every key not in ``allowed``."""
    hint = (
        'remove it or put it under "metadata"'
        if not prefix
        else f"remove it; allowed keys: {', '.join(allowed)}"
    )
    return [
        Issue("unknown_key", f"unknown key '{key}'", hint, join(prefix, str(key)))
        for key in obj
        if key not in allowed
    ]


def check_id_and_metadata(record: dict[str, Any]) -> list[Issue]:
    """Issues with the optional top-level ``id`` and ``metadata``."""
    issues: list[Issue] = []
    if record.get("id") is not None and explicit_id(record) is None:
        issues.append(
            Issue(
                "bad_id",
                f"id is {json_type(record['id'], article=True)}; it must be a non-empty string or an integer",
                "fix the id or drop the field (tunewise then uses the line number)",
                "id",
            )
        )
    metadata = record.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        issues.append(
            Issue(
                "bad_type",
                f"metadata is {json_type(metadata, article=True)}, not a JSON object",
                'make metadata an object like {"topic": "billing"}',
                "metadata",
            )
        )
    return issues


def explicit_id(record: dict[str, Any]) -> str | None:
    """The record's own id as a string, or None if it has no usable one."""
    value = record.get("id")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value
    return None


def check_list(value: Any, field: str, what: str) -> list[Issue]:
    """Issues when the conversation list is absent, not a list, or empty."""
    if value is None:
        return [Issue("missing_messages", f'no "{field}" list', f'add "{field}": a list of {what}', field)]
    if not isinstance(value, list):
        return [
            Issue(
                "bad_type",
                f'"{field}" is {json_type(value, article=True)}, not a list',
                f'make "{field}" a list of {what}',
                field,
            )
        ]
    if not value:
        return [
            Issue(
                "empty_messages",
                f'"{field}" is empty',
                f"add at least one user and one assistant {what[:-1]}",
                field,
            )
        ]
    return []


def check_role(role: Any, allowed: tuple[str, ...], field: str, key: str) -> list[Issue]:
    """Issues when a message's role (or ShareGPT ``from``) is absent or unknown."""
    choices = ", ".join(allowed)
    if role is None:
        return [Issue("missing_role", f'message has no "{key}"', f'add "{key}": one of {choices}', field)]
    if role in allowed:
        return []
    hint = f"use one of {choices}"
    guess = ROLE_GUESSES.get(str(role).lower()) if isinstance(role, str) else None
    if guess in allowed:
        hint = f"did you mean '{guess}'? " + hint
    shown = repr(role) if isinstance(role, str) else json_type(role, article=True)
    return [Issue("unknown_role", f"unknown role {shown}", hint, field)]


def check_text(obj: dict[str, Any], key: str, prefix: str) -> list[Issue]:
    """Issues when a required text field is absent, not a string, blank, or not encodable."""
    field = join(prefix, key)
    value = obj.get(key)
    if value is None:
        return [Issue("missing_content", f'no "{key}"', f'add "{key}" with the text', field)]
    if not isinstance(value, str):
        return [
            Issue(
                "bad_type",
                f'"{key}" is {json_type(value, article=True)}, not a string',
                f'make "{key}" a plain string',
                field,
            )
        ]
    if not value.strip():
        return [Issue("empty_content", f'"{key}" is empty', "write the text or drop the record", field)]
    return check_encodable(value, field)


def check_optional_str(obj: dict[str, Any], key: str, prefix: str) -> list[Issue]:
    """Issues when an optional field is present but not a string."""
    value = obj.get(key)
    if value is None:
        return []
    field = join(prefix, key)
    if not isinstance(value, str):
        return [
            Issue(
                "bad_type",
                f'"{key}" is {json_type(value, article=True)}, not a string',
                f'make "{key}" a string or drop it',
                field,
            )
        ]
    return check_encodable(value, field)


def check_encodable(text: str, field: str) -> list[Issue]:
    """An invalid_utf8 issue when text holds an unpaired surrogate (e.g. from a "\\ud800" escape)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return [
            Issue(
                "invalid_utf8",
                "text contains an unpaired surrogate escape that is not valid Unicode",
                "remove the broken \\ud8xx-style escape",
                field,
            )
        ]
    return []


def check_weight(message: dict[str, Any], prefix: str) -> list[Issue]:
    """A bad_weight issue when a message weight is present and not 0 or 1."""
    if "weight" not in message:
        return []
    weight = message["weight"]
    if type(weight) is int and weight in (0, 1):
        return []
    return [
        Issue(
            "bad_weight",
            f"weight is {weight!r}; it must be 0 or 1",
            "use 0 to skip training on this message, 1 (or no weight) to train on it",
            join(prefix, "weight"),
        )
    ]


def check_turns(roles: list[str | None], field: str) -> list[Issue]:
    """Issues with the order of turns: an assistant turn must exist and come last.

    Skipped when any role is unknown (None): fixing that role may well fix the order.
    """
    if not roles or None in roles:
        return []
    if "assistant" not in roles:
        return [
            Issue(
                "no_assistant",
                "conversation has no assistant turn",
                "add the answer the model should learn as an assistant message",
                field,
            )
        ]
    last = roles[-1]
    if last != "assistant":
        return [
            Issue(
                "assistant_not_last",
                f"conversation ends with a {last} turn, not an assistant turn",
                "end with the assistant's answer, or drop the trailing turns",
                f"{field}[{len(roles) - 1}]",
            )
        ]
    return []


def join(prefix: str, key: str) -> str:
    """Dotted field path."""
    return f"{prefix}.{key}" if prefix else key
