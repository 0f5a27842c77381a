"""The Evaluate step's endpoints: a form that adds an OpenAI-compatible endpoint to the project (key variable NAME
only), the configured endpoints with Remove, and Test connection (one request, as a job) showing latency and reply.

Everything goes through advisor.project.endpoints; adding or removing posts ``EndpointsPanel.Changed`` so the screen
lists the new ``prompt@NAME`` / ``rag@NAME`` candidates.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Button, DataTable, Input, Label, Static

from advisor.project.endpoints import (
    add_project_endpoint,
    project_endpoints,
    remove_project_endpoint,
    try_project_endpoint,
)
from advisor.tui.endpoint_form import (
    ENDPOINT_FIELDS,
    HELP,
    PLACEHOLDERS,
    endpoint_from_form,
    endpoint_row,
    reply_text,
)
from advisor.tui.jobs import Job, JobRunner
from advisor.tui.messages import ErrorRaised
from advisor.tui.widgets.plain import PlainTable
from curation.errors import TunewiseError


class EndpointsPanel(VerticalScroll):
    """Add, list, remove and test the project's endpoints; `result` is the last test's text."""

    DEFAULT_CSS = """
    EndpointsPanel #ep-form {
        grid-size: 4;
        grid-columns: 14 1fr 14 1fr;
        grid-rows: 1;
        grid-gutter: 0 1;
        height: auto;
        margin-top: 1;
    }
    EndpointsPanel #ep-form Input {
        width: 1fr;
    }
    EndpointsPanel #ep-list {
        height: auto;
        max-height: 8;
        margin-top: 1;
    }
    EndpointsPanel #ep-result {
        margin-top: 1;
    }
    """

    class Changed(Message):
        """The project's endpoints were added to or removed from (the candidates change with them)."""

    def __init__(self, project, **kwargs) -> None:
        super().__init__(**kwargs)
        self.project = project
        self.job = JobRunner(self, "endpoint-test")
        self.result = ""

    def compose(self) -> ComposeResult:
        with Grid(id="ep-form"):
            for name, label in ENDPOINT_FIELDS.items():
                yield Label(label)
                yield Input(id=f"ep-{name}", placeholder=PLACEHOLDERS[name], tooltip=HELP[name], compact=True,
                            select_on_focus=False)
        with Horizontal(classes="buttons"):
            yield Button("Add", id="ep-add", variant="primary", tooltip="Save this endpoint in the project")
            yield Button("Test connection", id="ep-test", tooltip="Send one short request to the highlighted endpoint")
            yield Button("Remove", id="ep-remove", variant="error", tooltip="Remove the highlighted endpoint")
        yield PlainTable(id="ep-list", cursor_type="row", zebra_stripes=True)
        yield Static("", id="ep-result", markup=False)

    def on_mount(self) -> None:
        self.query_one("#ep-list", DataTable).add_columns("name", "model", "base URL", "key variable", "in / out per 1M",
                                                         "price date")
        self.refresh_list()

    def on_unmount(self) -> None:
        """Leaving the screen drops a running test's result."""
        self.job.cancel()

    def refresh_list(self) -> None:
        """Show the project's endpoints (an unreadable endpoints file is a notice)."""
        table = self.query_one("#ep-list", DataTable)
        table.clear()
        try:
            endpoints = project_endpoints(self.project.root)
        except TunewiseError as exc:
            self.post_message(ErrorRaised(exc))
            endpoints = []
        for endpoint in endpoints:
            table.add_row(*endpoint_row(endpoint), key=endpoint.name)
        self._buttons()

    def highlighted(self) -> str | None:
        """The name of the highlighted endpoint (None when there is none)."""
        table = self.query_one("#ep-list", DataTable)
        if not table.row_count:
            return None
        return str(table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value)

    @on(Button.Pressed, "#ep-add")
    def action_add(self) -> None:
        """Add the endpoint typed in the form (checked first; nothing is saved when a field is wrong)."""
        try:
            endpoint = endpoint_from_form({name: self.query_one(f"#ep-{name}", Input).value for name in ENDPOINT_FIELDS})
            add_project_endpoint(self.project.root, endpoint)
        except TunewiseError as exc:
            self.post_message(ErrorRaised(exc))
            return
        for name in ENDPOINT_FIELDS:
            self.query_one(f"#ep-{name}", Input).value = ""
        self.refresh_list()
        table = self.query_one("#ep-list", DataTable)
        table.move_cursor(row=table.get_row_index(endpoint.name))
        self.notify(f"Added {endpoint.name}: prompt@{endpoint.name} and rag@{endpoint.name} can join the bake-off.",
                    title="Endpoints", markup=False)
        self.post_message(self.Changed())

    @on(Button.Pressed, "#ep-remove")
    def action_remove(self) -> None:
        """Remove the highlighted endpoint from the project."""
        name = self.highlighted()
        if name is None:
            return
        try:
            remove_project_endpoint(self.project.root, name)
        except TunewiseError as exc:
            self.post_message(ErrorRaised(exc))
            return
        self.refresh_list()
        self.notify(f"Removed {name}.", title="Endpoints", markup=False)
        self.post_message(self.Changed())

    @on(Button.Pressed, "#ep-test")
    def action_test(self) -> None:
        """Send one short request to the highlighted endpoint, as a job (a network call)."""
        name = self.highlighted()
        if name is None or self.job.running:
            return
        root = self.project.root
        self.job.start(lambda progress, cancel: try_project_endpoint(root, name))
        self.result = ""
        self.query_one("#ep-result", Static).update(f"Testing {name}…")
        self._buttons()

    @on(Job.Finished)
    def _tested(self, message: Job.Finished) -> None:
        if message.job != self.job.name:
            return
        self.job.done()
        endpoint, reply = message.result
        self._show(reply_text(endpoint, reply))

    @on(Job.Failed)
    def _failed(self, message: Job.Failed) -> None:
        """The error, in plain words, under the list (the App shows the notice too)."""
        if message.job != self.job.name:
            return
        self.job.done()
        self._show(f"Failed: {getattr(message.error, 'message', message.error)}")

    @on(Job.Cancelled)
    def _cancelled(self, message: Job.Cancelled) -> None:
        if message.job != self.job.name:
            return
        self.job.done()
        self._show(message.text)

    def _show(self, text: str) -> None:
        self.result = text
        self.query_one("#ep-result", Static).update(text)
        self._buttons()

    def _buttons(self) -> None:
        empty = not self.query_one("#ep-list", DataTable).row_count
        self.query_one("#ep-test", Button).disabled = empty or self.job.running
        self.query_one("#ep-remove", Button).disabled = empty or self.job.running
