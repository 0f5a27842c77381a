"""How one chat example is shown: its turns without the (shared) system prompt."""

from __future__ import annotations

from typing import Any

from rich.text import Text

ROLE_MARK = {"user": ("Q", "bold cyan"), "assistant": ("A", "bold green")}


def example_text(record: dict[str, Any] | None, title: str, status: str = "") -> Text:
    """An example as Rich text: a title line, then each user/assistant turn."""
    text = Text()
    text.append(title, style="bold")
    if status:
        text.append(f"  {status}", style=STATUS_STYLE.get(status, ""))
    if record is None:
        text.append("\n(not in this curation run)", style="dim")
        return text
    for message in record.get("messages", []):
        mark = ROLE_MARK.get(message.get("role", ""))
        if mark is None:
            continue
        text.append(f"\n{mark[0]}: ", style=mark[1])
        text.append(" ".join(str(message.get("content", "")).split()))
    return text


def short(text: str, n: int = 60) -> str:
    """One line of at most n characters."""
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def turn(record: dict[str, Any] | None, role: str) -> str:
    """The last turn of a role (the question asked or the reply given)."""
    if not record:
        return ""
    contents = [m.get("content", "") for m in record.get("messages", []) if m.get("role") == role]
    return contents[-1] if contents else ""


STATUS_LABELS = {
    ("remove", "remove"): "removed",
    ("remove", "keep"): "restored",
    ("keep", "keep"): "kept",
    ("keep", "remove"): "you removed",
}
STATUS_STYLE = {"removed": "red", "restored": "bold green", "kept": "green", "you removed": "bold red"}


def status_label(default: str, status: str) -> str:
    """What happened to an example: curation's default and the curator's mark together."""
    return STATUS_LABELS[(default, status)]
