"""Generated outputs cached per (model, adapter, decoding settings, exact conversation), so re-runs are instant.

One append-only JSONL file: each line {"key", "output"} and, when measured, "meta" (tokens in/out, latency), so a
re-run reports the cost and latency measured when the output was made. Endpoint outputs are cached the same way,
keyed by the endpoint's base URL and model (never its key). A line cut by a crash is ignored, so an interrupted
bake-off resumes from everything generated before it stopped.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from curation.errors import DataError, TunewiseError
from curation.jsonl import dumps_line
from curation.safe_read import data_limit, read_bytes_limited


def generation_key(model: str, adapter: str | None, decoding: dict[str, Any], messages: list[dict[str, str]]) -> str:
    """A key for one generation: anything that could change the output is in it."""
    payload = json.dumps({"model": model, "adapter": adapter, "decoding": decoding, "messages": messages},
                         sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def endpoint_model_id(base_url: str, model: str) -> str:
    """What stands for the model in an endpoint output's key: where it is served and its name (no key, ever)."""
    return f"endpoint:{base_url.rstrip('/')}|{model}"


class GenerationCache:
    """Outputs by key, read from and appended to one JSONL file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.outputs: dict[str, str] = {}
        self.meta: dict[str, dict[str, Any]] = {}  # measurements by key, where the output was measured
        self.skipped = 0  # lines that were not a {"key", "output"} record: cut by a crash, or damaged
        if not os.path.lexists(self.path):
            return
        try:  # a FIFO or a folder in its place would hang or fail every later write: say so now
            data = read_bytes_limited(self.path, data_limit(), "generation cache")
        except TunewiseError as exc:
            raise DataError(exc.message, f"Delete {self.path}: it only saves time (outputs are generated again).") from None
        for line in data.split(b"\n"):
            record = _record(line)
            if record is None:
                self.skipped += bool(line.strip())
            else:
                self.outputs[record[0]] = record[1]
                if record[2]:
                    self.meta[record[0]] = record[2]

    def get(self, key: str) -> str | None:
        return self.outputs.get(key)

    def put(self, items: dict[str, str], meta: dict[str, dict[str, Any]] | None = None) -> None:
        """Remember outputs (and their measurements, by key) and append them to the file, flushed before returning."""
        if not items:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        cut = False
        if self.path.exists() and self.path.stat().st_size > 0:
            with self.path.open("rb") as tail:
                tail.seek(-1, os.SEEK_END)
                cut = tail.read(1) != b"\n"
        with self.path.open("a", encoding="utf-8") as handle:
            if cut:  # a crash cut the last line: start on a fresh one
                handle.write("\n")
            handle.write("".join(dumps_line({"key": k, "output": v, **({"meta": meta[k]} if meta and k in meta else {})})
                                 for k, v in items.items()))
            handle.flush()
            os.fsync(handle.fileno())
        self.outputs.update(items)
        self.meta.update({k: m for k, m in (meta or {}).items() if k in items})


def _record(line: bytes) -> tuple[str, str, dict[str, Any] | None] | None:
    """(key, output, meta) of one cache line, or None for a blank, cut, or damaged line (never an exception)."""
    try:
        record = json.loads(line.decode("utf-8"))
    except (ValueError, RecursionError):  # bad UTF-8, not JSON, a 5,000-digit number, absurd nesting
        return None
    if not isinstance(record, dict):
        return None
    key, output, meta = record.get("key"), record.get("output"), record.get("meta")
    if not isinstance(key, str) or not isinstance(output, str):
        return None
    return key, output, meta if isinstance(meta, dict) else None

