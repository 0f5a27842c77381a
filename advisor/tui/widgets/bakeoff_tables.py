"""The bake-off's tables: candidates with their scores (best first), and the examples where they differ most."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.text import Text

from advisor.tui.bakeoff_format import example_rows, summary_columns, summary_rows
from advisor.tui.widgets.plain import PlainTable

if TYPE_CHECKING:
    from training.evaluation.results import Bakeoff


class SummaryTable(PlainTable):
    """One row per candidate, ranked: each metric as mean [95% interval], the primary marked ★, new/cached outputs."""

    DEFAULT_CSS = """
    SummaryTable {
        height: auto;
        max-height: 10;
    }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)

    def show(self, bakeoff: Bakeoff | None) -> None:
        """Render a bake-off (None clears the table)."""
        self.clear(columns=True)
        if bakeoff is None:
            return
        for n, title in enumerate(summary_columns(bakeoff)):
            self.add_column(Text(title, style="bold") if "★" in title else title, key=f"col{n}")
        for rank, cells in enumerate(summary_rows(bakeoff)):
            name = Text(cells[0], style="bold") if rank == 0 else cells[0]
            self.add_row(name, *cells[1:], key=cells[0])


class ExampleTable(PlainTable):
    """Eval examples, where the candidates differ most first: id, spread on the primary metric, each one's score."""

    DEFAULT_CSS = """
    ExampleTable {
        height: 1fr;
        min-height: 4;
        max-height: 16;
    }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)

    def show(self, rows: Sequence[dict[str, Any]], candidates: Sequence[str], primary: str) -> None:
        """Render the per-example records of outputs.jsonl; rows are keyed by example id."""
        self.clear(columns=True)
        self.add_column("example", key="id")
        self.add_column("spread", key="spread")
        for name in candidates:
            self.add_column(name, key=f"cand:{name}")
        for cells in example_rows(rows, candidates, primary):
            self.add_row(*cells, key=cells[0])

    def highlighted_id(self) -> str | None:
        """The id of the example under the cursor, if any."""
        if not self.row_count:
            return None
        return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)
