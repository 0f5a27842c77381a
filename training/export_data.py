"""Curated examples in the formats hosted fine-tuning services and other trainers read.

`openai` is the chat JSONL ({"messages": [{"role", "content"}, ...]}) that the open-weight hosted fine-tuning
providers a new user can buy accept: Together AI ("Conversational" data,
https://docs.together.ai/docs/fine-tuning/data-preparation) and Fireworks AI (OpenAI-compatible chat format,
https://docs.fireworks.ai/fine-tuning/fine-tuning-models), both read 2026-12-02. `alpaca` and `sharegpt` are for
local trainers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from curation.errors import UsageError
from curation.example import Example

FORMATS = ("openai", "alpaca", "sharegpt")
_SHAREGPT_ROLES = {"system": "system", "user": "human", "assistant": "gpt"}


def to_openai(example: Example) -> dict[str, Any]:
    """OpenAI chat fine-tuning line: {"messages": [{"role", "content"}, ...]}."""
    return {"messages": [{"role": m["role"], "content": m["content"]} for m in example.messages]}


def to_alpaca(example: Example) -> dict[str, Any]:
    """Alpaca record: the last user turn as instruction, the last reply as output; earlier turns as history."""
    turns = [m for m in example.messages if m["role"] != "system"]
    last = max(i for i, m in enumerate(turns) if m["role"] == "assistant")
    prompt = next((turns[i]["content"] for i in range(last - 1, -1, -1) if turns[i]["role"] == "user"), "")
    record: dict[str, Any] = {"instruction": prompt, "input": "", "output": turns[last]["content"]}
    if example.system_text:
        record["system"] = example.system_text
    history, pending = [], None
    for m in turns[: max(last - 1, 0)]:
        if m["role"] == "user":
            pending = m["content"]
        elif pending is not None:
            history.append([pending, m["content"]])
            pending = None
    if history:
        record["history"] = history
    return record


def to_sharegpt(example: Example) -> dict[str, Any]:
    """ShareGPT record: {"conversations": [{"from": "system"|"human"|"gpt", "value"}, ...]}."""
    return {"conversations": [{"from": _SHAREGPT_ROLES[m["role"]], "value": m["content"]} for m in example.messages]}


def render(examples: Sequence[Example], fmt: str) -> str:
    """The file text for these examples: JSONL for openai and sharegpt, a JSON array for alpaca."""
    if fmt not in FORMATS:
        raise UsageError(f"Unknown export format {fmt!r}.", f"Choose one of {', '.join(FORMATS)}.")
    convert = {"openai": to_openai, "alpaca": to_alpaca, "sharegpt": to_sharegpt}[fmt]
    records = [convert(e) for e in examples]
    if fmt == "alpaca":
        return json.dumps(records, indent=2, ensure_ascii=False) + "\n"
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def export_data(splits: dict[str, Sequence[Example]], fmt: str, out_dir: str | Path) -> list[Path]:
    """Write each split (e.g. {"train": [...], "eval": [...]}) as out_dir/<split>.<fmt>.jsonl (alpaca: .json)."""
    from training.runs import write_text

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} is a file.", "Pass a folder for --out.")
    written = []
    for split, examples in splits.items():
        if not examples:
            continue
        path = out / f"{split}.{fmt}.{'json' if fmt == 'alpaca' else 'jsonl'}"
        write_text(path, render(examples, fmt))
        written.append(path)
    return written
