"""The whole of a row the review tables cut off: a conflict group, a flag or a cluster, as plain text in a modal.

The text builders are pure (records in, Rich Text out); every piece of user text is appended verbatim, never parsed
as markup.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from advisor.tui.widgets.example import example_text
from advisor.tui.widgets.plain import plain


def conflict_detail(group: int, members: list[str], records: dict[str, dict[str, Any]], labels: dict[str, str],
                    flags: list[dict[str, Any]]) -> Text:
    """A conflict group: why it was flagged, then every example in it, question and reply in full."""
    text = Text()
    text.append("Why: ", style="bold")
    text.append(f"these {len(members)} examples ask the same thing and answer differently (conflict group {group}).")
    similar = {f["id"]: f for f in flags if f.get("kind") == "conflict" and f.get("id") in members}
    for example_id in members:
        flag = similar.get(example_id, {})
        text.append("\n\n")
        text.append_text(example_text(records.get(example_id), example_id, labels.get(example_id, "")))
        pairs = zip(flag.get("with", []), flag.get("input_similarity", []), flag.get("output_similarity", []))
        for other, question, reply in pairs:
            text.append(f"\n  vs {other}: question similarity {question:.2f}, reply similarity {reply:.2f}", style="dim")
        if flag.get("rule"):
            text.append("\n  rule: ", style="dim")
            text.append(str(flag["rule"]), style="dim")
    return text


def flag_detail(flag: dict[str, Any], why: str, record: dict[str, Any] | None, label: str = "") -> Text:
    """A flag: what it says and every detail curation measured, then the example in full."""
    text = Text()
    text.append("Flag: ", style="bold")
    text.append(str(flag.get("kind", "")))
    text.append("\nWhy: ", style="bold")
    text.append(why)
    details = {k: v for k, v in flag.items() if k not in ("id", "kind")}
    if details:
        text.append("\nDetails: ", style="bold")
        text.append(", ".join(f"{k} {v}" for k, v in details.items()))
    text.append("\n\n")
    text.append_text(example_text(record, str(flag.get("id", "")), label))
    return text


def cluster_detail(cluster: dict[str, Any], records: dict[str, dict[str, Any]]) -> Text:
    """A cluster: its size, all its keywords, its most typical example in full and its members."""
    text = Text()
    text.append(f"Cluster {cluster.get('id')}", style="bold")
    text.append(f" · {cluster.get('size', 0)} examples\n")
    text.append("Keywords: ", style="bold")
    text.append(", ".join(str(k) for k in cluster.get("keywords", [])) or "—")
    medoid = str(cluster.get("medoid", ""))
    text.append("\n\nMost typical example\n", style="bold underline")
    text.append_text(example_text(records.get(medoid), medoid))
    members = [str(m) for m in cluster.get("members", [])]
    if members:
        text.append("\n\nMembers: ", style="bold")
        text.append(", ".join(members))
    return text


class DetailScreen(ModalScreen[None]):
    """A modal with a title and a text shown as it is; escape or enter closes it."""

    BINDINGS = [Binding("escape,enter,q", "close", "Close")]
    DEFAULT_CSS = """
    DetailScreen {
        align: center middle;
    }
    DetailScreen #detail {
        width: 90%;
        height: 80%;
        border: round $primary;
        background: $surface;
        padding: 0 1;
    }
    DetailScreen #detail-body {
        height: 1fr;
    }
    """

    def __init__(self, title: str, body: Text) -> None:
        super().__init__()
        self.title_text = title
        self.body = body

    def compose(self) -> ComposeResult:
        with Vertical(id="detail"):
            with VerticalScroll(id="detail-body"):
                yield Static(plain(self.body), id="detail-text")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#detail").border_title = plain(self.title_text)
        self.query_one("#detail-body").focus()

    def action_close(self) -> None:
        """Back to the table."""
        self.dismiss(None)
