"""JSON Lines as tunewise writes and reads them: one object per "\\n"-terminated line, UTF-8."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# json.dumps escapes control characters but not these, which str.splitlines() (and some editors and
# JSONL readers) treat as line breaks: escape them so a record can never span two lines.
_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def dumps_line(record: Any) -> str:
    """One record as a JSON line (non-ASCII kept readable, line-break characters escaped)."""
    return json.dumps(record, ensure_ascii=False).translate(_LINE_BREAKS) + "\n"


def dumps_lines(records: Iterable[Any]) -> str:
    """Many records as JSON Lines text."""
    return "".join(dumps_line(r) for r in records)


def read_jsonl(path: str | Path) -> list[dict]:
    """Records of a JSONL file tunewise wrote (an absent file has none)."""
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]
