"""Reading back the example files tunewise curate wrote (train.jsonl, eval.jsonl) with every record checked.

A record that is not a conversation (no messages, a role that is not system/user/assistant, content that is not
text, no assistant reply) is a DataError naming the file and line, not a crash deep inside tokenization.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from curation.errors import DataError
from curation.example import ROLES, Example
from curation.jsonl import read_jsonl


def read_examples(path: str | Path, what: str = "curated data file", hint: str | None = None) -> list[Example]:
    """Examples of a JSONL file tunewise wrote (an absent file has none); DataError naming the line that is wrong."""
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
