"""The canonical training example every input format is turned into."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ROLES = ("system", "user", "assistant")


@dataclass
class Example:
    """One conversation: ordered chat messages plus where it came from."""

    id: str
    messages: list[dict[str, str]]
    source: str = ""
    line: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)

    def texts(self, role: str) -> list[str]:
        """Contents of every message with this role, in order."""
        return [m["content"] for m in self.messages if m["role"] == role]

    @property
    def system_text(self) -> str:
        """All system messages joined."""
        return "\n".join(self.texts("system"))

    @property
    def input_text(self) -> str:
        """What the model is given: every turn before the last assistant turn (system excluded)."""
        last = max(i for i, m in enumerate(self.messages) if m["role"] == "assistant")
        return "\n".join(m["content"] for m in self.messages[:last] if m["role"] != "system")

    @property
    def output_text(self) -> str:
        """What the model must produce: the last assistant turn."""
        return self.texts("assistant")[-1]

    def to_record(self) -> dict[str, Any]:
        """The JSON object written to clean.jsonl / train.jsonl (OpenAI chat format plus id)."""
        record: dict[str, Any] = {"id": self.id, "messages": [dict(m) for m in self.messages]}
        if self.metadata:
            record["metadata"] = self.metadata
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any], source: str = "", line: int = 0) -> Example:
        """Inverse of to_record, for files tunewise itself wrote."""
        return cls(
            id=str(record["id"]),
            messages=[dict(m) for m in record["messages"]],
            source=source,
            line=line,
            metadata=dict(record.get("metadata") or {}),
        )
