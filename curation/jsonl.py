"""JSON Lines as tunewise writes and reads them: one object per "\\n"-terminated line, UTF-8; and the one reader
of the example files tunewise curate writes (train.jsonl, eval.jsonl, clean.jsonl), every record checked."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from curation.errors import DataError
from curation.example import ROLES, Example
from curation.safe_read import data_limit, read_text_limited

# json.dumps escapes control characters but not these, which str.splitlines() (and some editors and
# JSONL readers) treat as line breaks: escape them so a record can never span two lines.
_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def dumps_line(record: Any) -> str:
    """One record as a JSON line (non-ASCII kept readable, line-break characters escaped)."""
    return json.dumps(record, ensure_ascii=False).translate(_LINE_BREAKS) + "\n"


def dumps_lines(records: Iterable[Any]) -> str:
    """Many records as JSON Lines text."""
    return "".join(dumps_line(r) for r in records)


def read_jsonl(path: str | Path, what: str = "JSON Lines file", hint: str | None = None,
               limit: int | None = None) -> list[dict]:
    """Records of a JSONL file tunewise wrote (an absent file has none).

    Anything but a regular file is refused (a FIFO is never opened), a file over `limit` bytes (default: the data
    limit, TUNEWISE_MAX_FILE_BYTES) is refused, and a line that is not a JSON object is a DataError naming the file,
    the line and the column, never a JSONDecodeError or RecursionError.
    """
    path = Path(path)
    if not os.path.lexists(path):  # a symlink loop or a broken link is refused by read_text_limited
        return []
    hint = hint or "The file was written by tunewise: run the step that wrote it again."
    text = read_text_limited(path, limit or data_limit(), what)
    records = []
    for n, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{n}:{exc.colno}: the {what} is not valid JSON: {exc.msg}.", hint) from None
        except (ValueError, RecursionError) as exc:  # an integer of thousands of digits, or absurd nesting
            problem = "a number has too many digits" if "digits" in str(exc) else "it nests too deeply" if isinstance(
                exc, RecursionError) else str(exc)[:200]
            raise DataError(f"{path}:{n}: the {what} cannot be read: {problem}.", hint) from None
        if not isinstance(record, dict):
            raise DataError(f"{path}:{n}: the {what} holds a {json_type(record)} where a JSON object belongs.", hint)
        records.append(record)
    return records


def read_examples(path: str | Path, what: str = "curated data file", hint: str | None = None) -> list[Example]:
    """Examples of a JSONL file tunewise wrote (an absent file has none); DataError naming the record that is wrong.

    A record that is not a conversation (no messages, a role that is not system/user/assistant, content that is
    not text, no assistant reply) is refused here, not deep inside tokenization.
    """
    path = Path(path)
    hint = hint or f"Re-run `tunewise curate DATA --out {path.parent}` to rewrite it."
    examples = []
    for n, record in enumerate(read_jsonl(path, what, hint), 1):
        problem = record_problem(record)
        if problem:
            raise DataError(f"{path}: record {n} is not a curated example: {problem}.", hint)
        examples.append(Example.from_record(record, str(path), n))
    return examples


def record_problem(record: Any) -> str | None:
    """What is wrong with one curated record ({id, messages, metadata?}), or None."""
    if not isinstance(record, dict):
        return "it is not a JSON object"
    if not isinstance(record.get("id"), (str, int)) or isinstance(record.get("id"), bool):
        return "its id is missing or not text"
    messages = record.get("messages")
    if not isinstance(messages, list) or not messages:
        return "it has no list of messages"
    for i, message in enumerate(messages, 1):
        if not isinstance(message, dict) or message.get("role") not in ROLES or not isinstance(message.get("content"), str):
            return f"message {i} is not {{role: system|user|assistant, content: text}}"
    if not any(m["role"] == "assistant" for m in messages):
        return "it has no assistant reply"
    if not isinstance(record.get("metadata") or {}, dict):
        return "its metadata is not a JSON object"
    return None


_TYPE_NAMES = {  # (plain, with an article): "holds a JSON array where …" / "metadata is an array, not …"
    "object": ("JSON object", "an object"), "array": ("JSON array", "an array"), "string": ("string", "a string"),
    "boolean": ("true/false", "a boolean"), "number": ("number", "a number"), "null": ("null", "null"),
}


def json_type(value: Any, article: bool = False) -> str:
    """The JSON name of a parsed value's type, for messages.

    Plain (after "a"): JSON object, JSON array, string, number, true/false, null. With `article`: an object,
    an array, a string, a number, a boolean, null.
    """
    if isinstance(value, dict):
        kind = "object"
    elif isinstance(value, list):
        kind = "array"
    elif isinstance(value, str):
        kind = "string"
    elif isinstance(value, bool):
        kind = "boolean"
    elif isinstance(value, (int, float)):
        kind = "number"
    elif value is None:
        kind = "null"
    else:
        return type(value).__name__
    return _TYPE_NAMES[kind][article]
