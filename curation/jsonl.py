"""JSON Lines as tunewise writes and reads them: one object per "\\n"-terminated line, UTF-8."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from curation.errors import DataError
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


def json_type(value: Any) -> str:
    """The JSON name of a parsed value's type, for messages: object, array, string, number, true/false, null."""
    if isinstance(value, dict):
        return "JSON object"
    if isinstance(value, list):
        return "JSON array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "number"
    return "null" if value is None else type(value).__name__
