"""The RAG panel of the run step: build (or update) the project's index from a documents folder as a job, then
search it (hybrid, dense or BM25) and optionally answer from the hits with the local model, citing them."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, DataTable, Input, Select, Static

from advisor.project import answering_adapter, build_index, query_index, shown_path
from advisor.project.rag import QueryResult, index_manifest
from advisor.tui.jobs import Job, JobRunner
from advisor.tui.messages import ErrorRaised
from advisor.tui.run_format import (
    RAG_STAGES,
    answer_text,
    build_summary,
    hit_row,
    manifest_summary,
    parse_k,
)
from advisor.tui.widgets.plain import PlainTable
from advisor.tui.widgets.progress import ProgressPanel
from curation.errors import TunewiseError, UsageError

MODES = ("hybrid", "dense", "bm25")


class RagPanel(VerticalScroll):
    """Index the documents and query them; `hits` holds the last search's results."""

    def __init__(self, project, models=None, max_new_tokens: int = 96, **kwargs) -> None:
        super().__init__(**kwargs)
        self.project = project
        self.models = models
        self.max_new_tokens = max_new_tokens
        self.build_job = JobRunner(self, "rag-build")
        self.query_job = JobRunner(self, "rag-query")
        self.hits: list = []
        self.answer = None
        self.report_data: dict | None = None
        self._index = None  # the loaded RagIndex, reused between searches (dropped after a build)

    @property
    def index_dir(self) -> Path:
        """Where the project's index lives."""
        return self.project.layout.index

    def compose(self) -> ComposeResult:
        with Horizontal(classes="row"):
            yield Input(placeholder="folder of documents (.md .txt .html .pdf .jsonl)", id="rag-docs", compact=True,
                        select_on_focus=False)
            yield Button("Build", id="rag-build", variant="primary", compact=True, tooltip="Build or update the index (ctrl+r)")
            yield Button("Cancel", id="rag-cancel", variant="error", compact=True, disabled=True)
        yield ProgressPanel(RAG_STAGES, id="rag-progress")
        yield Static("", id="rag-summary", markup=False)
        with Horizontal(classes="row"):
            yield Input(placeholder="question", id="rag-query", compact=True, select_on_focus=False)
            yield Select([(m, m) for m in MODES], value="hybrid", allow_blank=False, compact=True, id="rag-mode")
            yield Input("5", id="rag-k", compact=True, tooltip="hits to show", select_on_focus=False)
            yield Button("Search", id="rag-search", compact=True, tooltip="Show the passages that match (ctrl+f)")
            yield Button("Ask", id="rag-ask", compact=True, tooltip="Answer from the hits with the local model (ctrl+t)")
        yield PlainTable(id="rag-hits", cursor_type="row", zebra_stripes=True)
        yield Static("", id="rag-hit-text", markup=False)
        yield Static("", id="rag-answer", markup=False)

    def on_mount(self) -> None:
        docs = self.project.docs_path
        self.query_one("#rag-docs", Input).value = shown_path(docs) if docs else ""
        self.query_one("#rag-hits", DataTable).add_columns("#", "score", "source", "heading")
        summary = self.query_one("#rag-summary", Static)
        try:
            manifest = index_manifest(self.project)
        except TunewiseError as exc:
            summary.update(f"The index cannot be read: {exc.message}")
            return
        if manifest is None:
            summary.update(f"No index yet: Build indexes the documents folder into {shown_path(self.index_dir)}/.")
        else:
            summary.update(manifest_summary(manifest))
            self.query_one(ProgressPanel).finish("Index built.")

    def on_unmount(self) -> None:
        """Leaving the screen cancels a running build or answer."""
        self.build_job.cancel()
        self.query_job.cancel()

    # --- building -----------------------------------------------------------------------------------

    @on(Button.Pressed, "#rag-build")
    @on(Input.Submitted, "#rag-docs")
    def action_start(self) -> None:
        """Build or update the index from the documents folder (saved as the project's docs folder)."""
        if self.build_job.running:
            self.notify("The index is already being built (escape cancels).", severity="warning", markup=False)
            return
        folder = self.query_one("#rag-docs", Input).value.strip()
        try:
            if not folder:
                raise UsageError("No documents folder given.", "Type the folder holding your documents (.md, .html, .txt, .pdf, .jsonl).")
            self.project.set_docs(folder)  # checks it is a folder, and remembers it (before any job starts)
        except TunewiseError as exc:
            self.post_message(ErrorRaised(exc))
            return
        project, models = self.project, self.models
        self.build_job.start(lambda progress, cancel: self._build(project, models, progress, cancel))
        self._buttons()
        self.query_one(ProgressPanel).start("Scanning the documents…")

    @on(Button.Pressed, "#rag-cancel")
    def action_stop(self) -> None:
        """Cancel the running build (the previous index stays as it was) or answer."""
        self.build_job.cancel()
        self.query_job.cancel()
        if self.build_job.running:
            self.query_one(ProgressPanel).stop("Cancelling…", "running")

    @staticmethod
    def _build(project, models, progress, cancel) -> dict:
        """The job (in a worker thread): the project's index built or updated with the shared embedder."""
        return build_index(project, progress=progress, cancel=cancel, embedder=models.embedder()).to_dict()

    @on(Job.Progress)
    def _progressed(self, message: Job.Progress) -> None:
        if message.job == "rag-build" and not self.build_job.cancelling:
            self.query_one(ProgressPanel).report(message.stage, message.done, message.total)

    @on(Job.Finished)
    def _finished(self, message: Job.Finished) -> None:
        if message.job == "rag-build":
            self.build_job.done()
            self._built(message.result)
        else:
            self.query_job.done()
            self._answered(message.result)
        self._buttons()

    def _built(self, report: dict) -> None:
        self._index = None
        self.report_data = report
        self.query_one(ProgressPanel).finish(f"Built: {report['chunks']} chunks from {report['documents']} document(s).")
        self.query_one("#rag-summary", Static).update(build_summary(report))
        self.notify(f"Index built in {shown_path(self.index_dir)}/.", title="RAG", markup=False)

    @on(Job.Failed)
    def _failed(self, message: Job.Failed) -> None:
        """Shown on the progress line (a build) or cleared (an answer); the App shows the notice."""
        self._job_over(message.job)
        if message.job == "rag-build":
            self.query_one(ProgressPanel).stop(f"Failed: {getattr(message.error, 'message', message.error)}")

    @on(Job.Cancelled)
    def _cancelled(self, message: Job.Cancelled) -> None:
        self._job_over(message.job)
        if message.job == "rag-build":
            self.query_one(ProgressPanel).stop("Cancelled: the previous index is as it was.", "cancelled")

    def _job_over(self, job: str) -> None:
        if job == "rag-build":
            self.build_job.done()
        else:
            self.query_job.done()
            self.query_one("#rag-answer", Static).update("")
        self._buttons()

    # --- searching and asking -----------------------------------------------------------------------

    @on(Button.Pressed, "#rag-search")
    @on(Input.Submitted, "#rag-query")
    def action_search(self) -> None:
        """Show the top-k hits for the question."""
        self._query(ask=False)

    @on(Button.Pressed, "#rag-ask")
    def action_ask(self) -> None:
        """Answer the question from the top hits with the local model, citing them."""
        self._query(ask=True)

    def _query(self, ask: bool) -> None:
        if self.build_job.running:
            self.notify("Wait for the index build to finish (or cancel it).", severity="warning", markup=False)
            return
        if self.query_job.running:
            self.notify("A search is still running.", severity="warning", markup=False)
            return
        question = self.query_one("#rag-query", Input).value.strip()
        try:
            if not question:
                raise UsageError("No question given.", "Type a question about your documents.")
            k = parse_k(self.query_one("#rag-k", Input).value)
        except TunewiseError as exc:
            self.post_message(ErrorRaised(exc))
            return
        mode = str(self.query_one("#rag-mode", Select).value)
        self.query_job.start(lambda progress, cancel: self._run_query(question, mode, k, ask, cancel))
        self._buttons()
        if ask:
            self.query_one("#rag-answer", Static).update("Answering with the local model…")

    def _run_query(self, question: str, mode: str, k: int, ask: bool, cancel) -> QueryResult:
        """The job (in a worker thread): load the index (once), search it, and answer from the hits when asked (with
        the project's active run's adapter when it has one: RAG + fine-tuning)."""
        from training.rag.index import load_rag_index

        embedder = self.models.embedder()
        if self._index is None:
            self._index = load_rag_index(self.index_dir)
        generator = self.models.generator(answering_adapter(self.project)) if ask else None
        return query_index(self._index, question, mode, k, embedder, generator, self.max_new_tokens, cancel)

    def _answered(self, result: QueryResult) -> None:
        hits, answer, model = result.hits, result.answer, result.model
        self.hits, self.answer = hits, answer
        table = self.query_one("#rag-hits", DataTable)
        table.clear()
        for hit in hits:
            table.add_row(*hit_row(hit))
        self._show_hit(0)
        self.query_one("#rag-answer", Static).update(f"Answer ({model}): " + answer_text(answer) if answer is not None else "")
        if not hits:
            self.notify("No passage matches the question.", title="RAG", severity="warning", markup=False)

    @on(DataTable.RowHighlighted, "#rag-hits")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_hit(event.cursor_row)

    def _show_hit(self, row: int) -> None:
        """The full text of a hit under the table."""
        if 0 <= row < len(self.hits):
            hit = self.hits[row]
            where = f"{hit.source} › {hit.heading}" if hit.heading else hit.source
            self.query_one("#rag-hit-text", Static).update(f"[{hit.rank}] {where}\n{hit.text.strip()}")
        else:
            self.query_one("#rag-hit-text", Static).update("")

    def _buttons(self) -> None:
        building, querying = self.build_job.running, self.query_job.running
        self.query_one("#rag-build", Button).disabled = building
        self.query_one("#rag-cancel", Button).disabled = not (building or querying)
        for button in ("#rag-search", "#rag-ask"):
            self.query_one(button, Button).disabled = building or querying
