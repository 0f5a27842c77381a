"""One eval example side by side: its input, the reference and a chosen candidate's output, words diffed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Label, Select, Static

from advisor.tui.bakeoff_format import Token, coverage, word_diff

MISSING_STYLE = "bold black on yellow"  # reference words the output misses
EXTRA_STYLE = "bold white on dark_red"  # output words that are not in the reference (added or changed)


def diff_text(tokens: Sequence[Token], empty: str = "(empty)") -> Text:
    """Tagged words as Rich text: matching words plain, missing/extra words highlighted."""
    text = Text()
    for n, (word, tag) in enumerate(tokens):
        if n:
            text.append(" ")
        text.append(word, style={"missing": MISSING_STYLE, "extra": EXTRA_STYLE}.get(tag, ""))
    return text if tokens else Text(empty, style="dim italic")


class ExampleDiff(Vertical):
    """Shows one per-example record of a bake-off; the Select picks whose output is compared with the reference."""

    DEFAULT_CSS = """
    ExampleDiff {
        height: 2fr;
    }
    ExampleDiff #diff-input {
        height: auto;
        max-height: 3;
        color: $text-muted;
    }
    ExampleDiff #diff-pick {
        height: 1;
    }
    ExampleDiff #diff-pick Label {
        padding: 0 1 0 0;
    }
    ExampleDiff #diff-candidate {
        width: 28;
    }
    ExampleDiff #diff-coverage {
        width: 1fr;
        padding: 0 0 0 2;
        color: $text-muted;
    }
    ExampleDiff #diff-panes {
        height: 1fr;
        min-height: 4;
    }
    ExampleDiff .diff-pane {
        width: 1fr;
        height: 1fr;
        border: round $primary 50%;
        padding: 0 1;
    }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.row: dict[str, Any] | None = None
        self.reference_tokens: list[Token] = []
        self.output_tokens: list[Token] = []
        self.primary: str | None = None

    def compose(self) -> ComposeResult:
        yield Static("Highlight an example above to compare its outputs.", id="diff-input")
        with Horizontal(id="diff-pick"):
            yield Label("output of")
            yield Select[str]([], prompt="candidate", id="diff-candidate", compact=True)
            yield Static("", id="diff-coverage")
        with Horizontal(id="diff-panes"):
            with VerticalScroll(id="reference-pane", classes="diff-pane"):
                yield Static("", id="diff-reference")
            with VerticalScroll(id="output-pane", classes="diff-pane"):
                yield Static("", id="diff-output")

    def on_mount(self) -> None:
        self.query_one("#reference-pane").border_title = "reference (missed words marked)"
        self.query_one("#output-pane").border_title = "output (extra or changed words marked)"

    @property
    def candidate(self) -> str | None:
        """The candidate whose output is shown."""
        value = self.query_one("#diff-candidate", Select).value
        return None if value == Select.NULL else str(value)

    def set_candidates(self, names: Sequence[str], chosen: str | None, primary: str | None = None) -> None:
        """The candidates to pick from (ranked), the one shown first (the winner), and the metric that decides."""
        self.primary = primary
        select = self.query_one("#diff-candidate", Select)
        select.set_options([(Text(name), name) for name in names])
        if chosen in names:
            select.value = chosen
        self.row = None
        self.refresh_diff()

    def show(self, row: dict[str, Any] | None) -> None:
        """Show a per-example record (id, input, reference, outputs, scores)."""
        self.row = row
        self.refresh_diff()

    @on(Select.Changed, "#diff-candidate")
    def _candidate_changed(self) -> None:
        self.refresh_diff()

    def refresh_diff(self) -> None:
        """Render the current record against the chosen candidate's output."""
        row, name = self.row, self.candidate
        note, reference, output = self.query_one("#diff-input", Static), self.query_one("#diff-reference", Static), \
            self.query_one("#diff-output", Static)
        if row is None:
            self.reference_tokens, self.output_tokens = [], []
            note.update("Highlight an example above to compare its outputs.")
            reference.update("")
            output.update("")
            self.query_one("#diff-coverage", Static).update("")
            return
        heading = Text()
        heading.append(f"{row['id']} ", style="bold")
        heading.append("input: ", style="bold")
        heading.append(" ".join(str(row.get("input", "")).split()))
        note.update(heading)
        text = row.get("outputs", {}).get(name, "") if name else ""
        self.reference_tokens, self.output_tokens = word_diff(str(row.get("reference", "")), str(text))
        reference.update(diff_text(self.reference_tokens))
        output.update(diff_text(self.output_tokens, "(no output)" if name else "(pick a candidate)"))
        matched, total = coverage(self.reference_tokens)
        score = row.get("scores", {}).get(name, {}).get(self.primary) if name and self.primary else None
        detail = f"{self.primary} {score:.2f}" if score is not None else ""
        self.query_one("#diff-coverage", Static).update(
            Text(f"has {matched}/{total} reference words" + (f" · {detail}" if detail else "")))
