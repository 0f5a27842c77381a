"""User-controlled text (paths, ids, example text, run names, error messages) shown verbatim, never as markup.

Textual reads a plain ``str`` as markup almost everywhere: ``Static``/``Label`` content, ``notify`` messages,
``Option``/``Select``/``SelectionList`` prompts, and ``DataTable`` cells and column labels (Rich markup there). A data
file named ``missing[/x].jsonl`` would then raise a MarkupError, ``[bold]x`` would lose its brackets, and an example
reading ``[@click=app.quit]quit[/]`` would become a link that runs an action. So everything a user controls reaches
the screen as Rich ``Text`` (built with ``append``, or through ``plain``), through a widget made with
``markup=False``, or in a ``notify(..., markup=False)``; every table of the app is a ``PlainTable``.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable


def plain(value: object, style: str = "") -> Text:
    """Any value as literal text (a Text is kept as it is): brackets stay brackets, nothing is an action."""
    return value if isinstance(value, Text) else Text(str(value), style=style)


def plain_cell(value: object) -> object:
    """A table cell: a str becomes literal text laid out as DataTable lays out its own str cells; the rest is kept."""
    return Text(value, end="", no_wrap=True) if isinstance(value, str) else value


class PlainTable(DataTable):
    """A DataTable whose str cells, row labels and column labels are literal text (DataTable parses str as markup).

    Cells are stored as Text: ``str(cell)`` is the text shown.
    """

    def add_column(self, label, *, width: int | None = None, key: str | None = None, default=None):
        return super().add_column(plain(label), width=width, key=key, default=plain_cell(default))

    def add_row(self, *cells, height: int | None = 1, key: str | None = None, label=None):
        return super().add_row(*(plain_cell(cell) for cell in cells), height=height, key=key, label=plain_cell(label))

    def update_cell(self, row_key, column_key, value, *, update_width: bool = False) -> None:
        super().update_cell(row_key, column_key, plain_cell(value), update_width=update_width)
