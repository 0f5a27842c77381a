"""Duplicates side by side: a table of pairs and the highlighted pair's two examples, with a keep/restore toggle."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Static

from advisor.project import DuplicatePair
from advisor.tui.widgets.example import example_text
from advisor.tui.widgets.plain import PlainTable

REASONS = {"exact_duplicate": "exact", "near_duplicate": "near", "possible_duplicate": "review"}


class DuplicateReview(Vertical):
    """Pairs of duplicates; the screen gives pairs, records and status labels, and hears `Toggled`."""

    BINDINGS = [Binding("space", "toggle", "Keep/restore")]

    class Toggled(Message):
        """The curator asked to flip an example between kept and removed."""

        def __init__(self, example_id: str) -> None:
            super().__init__()
            self.example_id = example_id

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.pairs: list[DuplicatePair] = []
        self.records: dict[str, dict[str, Any]] = {}
        self.labels: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        table = PlainTable(id="dup-table", cursor_type="row", zebra_stripes=True)
        table.add_column("status", key="status", width=11)
        table.add_column("example", key="subject")
        table.add_column("twin", key="twin")
        table.add_column("sim.", key="similarity")
        table.add_column("kind", key="reason")
        table.add_column("why", key="rule")
        yield table
        with Horizontal(id="dup-pair"):
            with VerticalScroll(classes="pane"):
                yield Static(id="dup-subject")
            with VerticalScroll(classes="pane"):
                yield Static(id="dup-twin")

    def show(self, pairs: list[DuplicatePair], records: dict[str, dict[str, Any]], labels: dict[str, str]) -> None:
        """Render these pairs; labels maps example id → its status (removed, restored, kept, you removed)."""
        self.pairs, self.records, self.labels = pairs, records, labels
        table = self.query_one("#dup-table", DataTable)
        row = table.cursor_row
        table.clear()
        for n, pair in enumerate(pairs):
            table.add_row(self.labels.get(pair.subject, ""), pair.subject, pair.twin, f"{pair.similarity:.3f}",
                          REASONS.get(pair.reason, pair.reason), pair.rule, key=str(n))
        if pairs:
            table.move_cursor(row=min(max(row, 0), len(pairs) - 1))
            self._show_pair(table.cursor_row)
        else:
            self.query_one("#dup-subject", Static).update("No duplicates found.")
            self.query_one("#dup-twin", Static).update("")

    def _show_pair(self, index: int) -> None:
        if not 0 <= index < len(self.pairs):
            return
        pair = self.pairs[index]
        self.query_one("#dup-subject", Static).update(example_text(self.records.get(pair.subject), pair.subject, self.labels.get(pair.subject, "")))
        self.query_one("#dup-twin", Static).update(
            example_text(self.records.get(pair.twin), f"{pair.twin} (twin)", self.labels.get(pair.twin, ""))
        )

    @on(DataTable.RowHighlighted, "#dup-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._show_pair(event.cursor_row)

    @on(DataTable.RowSelected, "#dup-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_toggle()

    def action_toggle(self) -> None:
        """Ask the screen to flip the highlighted pair's example."""
        row = self.query_one("#dup-table", DataTable).cursor_row
        if 0 <= row < len(self.pairs):
            self.post_message(self.Toggled(self.pairs[row].subject))
