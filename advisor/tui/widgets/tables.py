"""Tables of what curation found: clusters, conflicts (with a keep/remove toggle), flags, validation problems.

A row is one line, cut to fit; selecting one (enter or a click) posts ``Opened`` so the screen shows the whole of it.
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from advisor.tui.widgets.example import short, turn
from advisor.tui.widgets.plain import PlainTable

FLAG_TEXT = {
    "outlier": "far from every other example",
    "too_short": "much shorter reply than usual",
    "too_long": "longer than the training length",
    "tiny_cluster": "in a very small cluster",
    "language": "another language than the rest",
    "unusual_text": "reads like logs or code",
}


class RowOpened(Message):
    """The curator asked to see the whole of a row: ``key`` is the row's key (cluster id, example id, flag number)."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key


class DetailTable(PlainTable):
    """A table whose selected row asks for its detail view."""

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(self.Opened(str(event.row_key.value)))

    class Opened(RowOpened):
        """Posted when a row is selected (enter or click)."""


class ClusterTable(DetailTable):
    """Clusters of kept examples: size, keywords and the most typical example; enter shows the whole cluster."""

    class Opened(RowOpened):
        """A cluster's detail was asked for (key: the cluster id)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.add_column("#", key="id")
        self.add_column("size", key="size")
        self.add_column("keywords", key="keywords")
        self.add_column("typical example", key="medoid")

    def show(self, clusters: list[dict[str, Any]], records: dict[str, dict[str, Any]]) -> None:
        """Render clusters as written to clusters.json."""
        self.clear()
        for c in clusters:
            medoid = c.get("medoid", "")
            question = short(turn(records.get(medoid), "user"), 40)
            self.add_row(str(c["id"]), str(c["size"]), short(", ".join(c.get("keywords", [])[:4]), 28), f"{medoid}: {question}", key=str(c["id"]))


class ConflictTable(DetailTable):
    """Examples that ask the same thing and answer differently, grouped; space flips one kept/removed, enter shows
    the whole group."""

    BINDINGS = [Binding("space", "toggle", "Keep/remove"), Binding("enter", "select_cursor", "Details")]

    class Opened(RowOpened):
        """A conflict's detail was asked for (key: the example id)."""

    class Toggled(Message):
        """The curator asked to flip an example between kept and removed."""

        def __init__(self, example_id: str) -> None:
            super().__init__()
            self.example_id = example_id

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.add_column("grp", key="group")
        self.add_column("status", key="status", width=11)
        self.add_column("example", key="id")
        self.add_column("reply", key="reply")

    def show(self, groups: list[list[str]], records: dict[str, dict[str, Any]], labels: dict[str, str]) -> None:
        """Render conflict groups (lists of ids); labels maps id → status."""
        row = self.cursor_row
        self.clear()
        for g, members in enumerate(groups):
            for example_id in members:
                self.add_row(str(g + 1), labels.get(example_id, ""), example_id, short(turn(records.get(example_id), "assistant"), 44), key=example_id)
        if self.row_count:
            self.move_cursor(row=min(max(row, 0), self.row_count - 1))

    def action_toggle(self) -> None:
        """Ask the screen to flip the highlighted example."""
        if self.row_count:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
            self.post_message(self.Toggled(str(key.value)))


class FlagTable(DetailTable):
    """Everything else flagged for a look: outliers, short replies, tiny clusters, language, log-like text; enter
    shows the flag and its example in full."""

    class Opened(RowOpened):
        """A flag's detail was asked for (key: its position in the list shown)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.add_column("example", key="id")
        self.add_column("flag", key="kind")
        self.add_column("why", key="why")

    def show(self, flags: list[dict[str, Any]]) -> None:
        """Render flag rows as written to flags.jsonl."""
        self.clear()
        for n, f in enumerate(flags):
            self.add_row(f["id"], f["kind"], short(flag_why(f), 60), key=str(n))


DETAIL_NAMES = {"view": "", "z": "z", "tokens": "tokens", "assistant_tokens": "reply tokens", "size": "size",
                "language": "language", "expected": "expected", "symbol_ratio": "symbols", "cluster": "cluster"}


def flag_why(flag: dict[str, Any]) -> str:
    """The flag in words, with its telling details (which side, how unusual)."""
    text = FLAG_TEXT.get(flag["kind"], "")
    details = [f"{name} {flag[key]}".strip() for key, name in DETAIL_NAMES.items() if key in flag and not isinstance(flag[key], (list, dict))]
    return f"{text} ({', '.join(details)})" if details else text


class ProblemTable(PlainTable):
    """Validation problems, one per row: where, what, and how to fix it."""

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.add_column("where", key="where")
        self.add_column("problem", key="message")
        self.add_column("fix", key="hint")

    def show(self, problems: list[dict[str, Any]]) -> None:
        """Render problems as in report.json (file, line, message, hint)."""
        self.clear()
        for p in problems:
            where = f"{_name(p.get('file', ''))}:{p.get('line', '')}"
            self.add_row(where, short(p.get("message", ""), 40), short(p.get("hint", ""), 40))


def _name(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]
