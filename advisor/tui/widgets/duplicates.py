"""Duplicates side by side: a table of pairs and the highlighted pair's two examples, with a keep/restore toggle;
or (g) the possible duplicates as ranked groups, each accepted (a) or rejected (r) whole, and undo (u)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Static

from advisor.project import DuplicatePair
from advisor.tui.widgets.example import example_text
from advisor.tui.widgets.plain import PlainTable
from curation.review_groups import ReviewGroup

REASONS = {"exact_duplicate": "exact", "near_duplicate": "near", "possible_duplicate": "review"}


class DuplicateReview(Vertical):
    """Pairs of duplicates, or groups of possible ones; the screen gives pairs, groups, records and status labels,
    and hears `Toggled`, `GroupDecided` and `UndoRequested`."""

    BINDINGS = [
        Binding("space", "toggle", "Keep/restore"),
        Binding("g", "switch", "Groups"),
        Binding("a", "decide('accept')", "Accept group"),
        Binding("r", "decide('reject')", "Reject group"),
        Binding("u", "undo", "Undo"),
    ]
    DEFAULT_CSS = """
    DuplicateReview #group-table {
        height: 6;
    }
    """

    class Toggled(Message):
        """The curator asked to flip an example between kept and removed."""

        def __init__(self, example_id: str) -> None:
            super().__init__()
            self.example_id = example_id

    class GroupDecided(Message):
        """The curator accepted or rejected a whole group of possible duplicates."""

        def __init__(self, group_id: int, decision: str) -> None:
            super().__init__()
            self.group_id = group_id
            self.decision = decision

    class UndoRequested(Message):
        """The curator asked to take back the last change of the marks."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.pairs: list[DuplicatePair] = []
        self.records: dict[str, dict[str, Any]] = {}
        self.labels: dict[str, str] = {}
        self.groups: list[ReviewGroup] = []
        self.statuses: dict[int, str] = {}
        self.mode = "pairs"

    def compose(self) -> ComposeResult:
        table = PlainTable(id="dup-table", cursor_type="row", zebra_stripes=True)
        table.add_column("status", key="status", width=11)
        table.add_column("example", key="subject")
        table.add_column("twin", key="twin")
        table.add_column("sim.", key="similarity")
        table.add_column("kind", key="reason")
        table.add_column("why", key="rule")
        yield table
        groups = PlainTable(id="group-table", cursor_type="row", zebra_stripes=True)
        groups.add_column("#", key="rank", width=3)
        groups.add_column("score", key="score")
        groups.add_column("size", key="size")
        groups.add_column("status", key="status", width=8)
        groups.add_column("keeper", key="keeper")
        groups.add_column("others", key="others")
        groups.add_column("caution", key="caution")
        groups.display = False
        yield groups
        with Horizontal(id="dup-pair"):
            with VerticalScroll(classes="pane"):
                yield Static(id="dup-subject")
            with VerticalScroll(classes="pane"):
                yield Static(id="dup-twin")

    def show(self, pairs: list[DuplicatePair], records: dict[str, dict[str, Any]], labels: dict[str, str],
             groups: list[ReviewGroup] | None = None, statuses: dict[int, str] | None = None) -> None:
        """Render these pairs and groups; labels maps example id → its status (removed, restored, kept, you removed),
        statuses group id → open/accepted/rejected/mixed."""
        self.pairs, self.records, self.labels = pairs, records, labels
        self.groups, self.statuses = groups or [], statuses or {}
        self._show_groups()
        table = self.query_one("#dup-table", DataTable)
        row = table.cursor_row
        table.clear()
        for n, pair in enumerate(pairs):
            table.add_row(self.labels.get(pair.subject, ""), pair.subject, pair.twin, f"{pair.similarity:.3f}",
                          REASONS.get(pair.reason, pair.reason), pair.rule, key=str(n))
        if pairs:
            table.move_cursor(row=min(max(row, 0), len(pairs) - 1))
        self._show_current()

    def _show_groups(self) -> None:
        table = self.query_one("#group-table", DataTable)
        row = table.cursor_row
        table.clear()
        for g in self.groups:
            cautions = "; ".join(dict.fromkeys(p.caution for p in g.pairs if p.caution))
            table.add_row(str(g.id), f"{g.score:.3f}", str(len(g.members)), self.statuses.get(g.id, ""), g.keeper,
                          ", ".join(m for m in g.members if m != g.keeper), cautions, key=str(g.id))
        if self.groups:
            table.move_cursor(row=min(max(row, 0), len(self.groups) - 1))

    def _show_current(self) -> None:
        """The bottom panes: the highlighted pair, or the highlighted group (keeper left, the others right)."""
        if self.mode == "groups":
            self._show_group(self.query_one("#group-table", DataTable).cursor_row)
        elif self.pairs:
            self._show_pair(self.query_one("#dup-table", DataTable).cursor_row)
        else:
            self.query_one("#dup-subject", Static).update("No duplicates found.")
            self.query_one("#dup-twin", Static).update("")

    def _show_group(self, index: int) -> None:
        if not 0 <= index < len(self.groups):
            self.query_one("#dup-subject", Static).update("No possible duplicates to review.")
            self.query_one("#dup-twin", Static).update("")
            return
        group = self.groups[index]
        self.query_one("#dup-subject", Static).update(
            example_text(self.records.get(group.keeper), f"{group.keeper} (keeper)", self.labels.get(group.keeper, "")))
        self.query_one("#dup-twin", Static).update(group_text(group, self.records, self.labels, self.statuses.get(group.id, "")))

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

    @on(DataTable.RowHighlighted, "#group-table")
    def _group_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._show_group(event.cursor_row)

    @on(DataTable.RowSelected, "#dup-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_toggle()

    @on(DataTable.RowSelected, "#group-table")
    def _group_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()  # enter on a group decides nothing: a and r do

    def action_toggle(self) -> None:
        """Ask the screen to flip the highlighted pair's example."""
        row = self.query_one("#dup-table", DataTable).cursor_row
        if self.mode == "pairs" and 0 <= row < len(self.pairs):
            self.post_message(self.Toggled(self.pairs[row].subject))

    def action_switch(self) -> None:
        """Show the possible duplicates as ranked groups, or every pair."""
        self.mode = "groups" if self.mode == "pairs" else "pairs"
        pairs, groups = self.query_one("#dup-table", DataTable), self.query_one("#group-table", DataTable)
        pairs.display, groups.display = self.mode == "pairs", self.mode == "groups"
        (groups if self.mode == "groups" else pairs).focus()
        self._show_current()
        self.refresh_bindings()

    def action_decide(self, decision: str) -> None:
        """Ask the screen to accept or reject the highlighted group."""
        row = self.query_one("#group-table", DataTable).cursor_row
        if self.mode == "groups" and 0 <= row < len(self.groups):
            self.post_message(self.GroupDecided(self.groups[row].id, decision))

    def action_undo(self) -> None:
        """Ask the screen to take back the last change of the marks."""
        self.post_message(self.UndoRequested())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Keep/restore is for pairs, accept/reject for groups: the footer offers what the view can do."""
        if action == "toggle":
            return self.mode == "pairs"
        if action == "decide":
            return self.mode == "groups"
        return True


def group_text(group: ReviewGroup, records: dict[str, dict[str, Any]], labels: dict[str, str], status: str = "") -> Text:
    """A group's evidence (each pair's similarity, rule and caution), then every member but the keeper in full."""
    text = Text()
    text.append(f"Group {group.id}", style="bold")
    text.append(f" · score {group.score:.3f} · {len(group.members)} examples" + (f" · {status}" if status else ""))
    for p in group.pairs:
        text.append(f"\n{p.a} ~ {p.b}: {p.similarity:.3f}", style="dim")
        if p.rule:
            text.append(f" {p.rule}", style="dim")
        if p.caution:
            text.append(f" caution: {p.caution}", style="yellow")
    for member in group.members:
        if member != group.keeper:
            text.append("\n\n")
            text.append_text(example_text(records.get(member), member, labels.get(member, "")))
    return text
