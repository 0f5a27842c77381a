"""The prompt panel of the run step: build a few-shot prompt from the train split as a job, edit its messages,
save them (checked like `tunewise prompt run` checks them), and try the prompt on an eval example."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, DataTable, Select, Static, TextArea

from advisor.project import build_project_prompt, load_saved_prompt, save_messages, shown_path
from advisor.project.prompt import (
    BuiltPrompt,
    messages_text,
    parse_messages,
    project_eval_examples,
    try_prompt,
)
from advisor.tui.jobs import Job, JobRunner
from advisor.tui.messages import ErrorRaised
from advisor.tui.run_format import (
    PROMPT_STAGES,
    prompt_example_row,
    prompt_summary,
    shorten,
)
from advisor.tui.widgets.plain import PlainTable
from advisor.tui.widgets.progress import ProgressPanel
from curation.errors import TunewiseError, UsageError


class PromptPanel(VerticalScroll):
    """Build, edit, save and try the project's few-shot prompt (prompt/messages.json)."""

    def __init__(self, project, models=None, max_new_tokens: int = 64, **kwargs) -> None:
        super().__init__(**kwargs)
        self.project = project
        self.models = models
        self.max_new_tokens = max_new_tokens
        self.build_job = JobRunner(self, "prompt-build")
        self.try_job = JobRunner(self, "prompt-try")
        self.eval_examples: list = []
        self.reply: str | None = None
        self._saved_text = ""  # the messages as saved in prompt/messages.json (what Build would replace)
        self._replace_confirmed = False

    @property
    def prompt_dir(self):
        """Where the project's prompt is saved."""
        return self.project.layout.prompt

    def compose(self) -> ComposeResult:
        with Horizontal(classes="buttons"):
            yield Button("Build", id="pr-build", variant="primary", tooltip="Build the prompt from the train split (ctrl+r)")
            yield Button("Cancel", id="pr-cancel", variant="error", disabled=True)
            yield Button("Save edits", id="pr-save", tooltip="Check the messages and save them as the project's prompt (ctrl+s)")
        yield ProgressPanel(PROMPT_STAGES, id="pr-progress")
        yield Static("", id="pr-summary", markup=False)
        yield PlainTable(id="pr-examples", cursor_type="row", zebra_stripes=True)
        yield TextArea("", id="pr-messages", soft_wrap=True, show_line_numbers=False, tab_behavior="indent")
        with Horizontal(classes="row"):
            yield Select([], prompt="eval example to try", id="pr-input", compact=True)
            yield Button("Try", id="pr-try", compact=True, tooltip="Answer the chosen eval example with this prompt (ctrl+t)")
        with Horizontal(id="pr-result"):
            yield Static("", id="pr-reply", markup=False)
            yield Static("", id="pr-expected", markup=False)

    def on_mount(self) -> None:
        self.query_one("#pr-examples", DataTable).add_columns("cluster", "size", "keywords", "tokens", "id")
        self.eval_examples = project_eval_examples(self.project)
        self.query_one("#pr-input", Select).set_options((Text(shorten(e.input_text, 70)), n) for n, e in enumerate(self.eval_examples))
        summary = self.query_one("#pr-summary", Static)
        try:
            saved = load_saved_prompt(self.project)
            if saved is not None:
                self.query_one("#pr-messages", TextArea).text = self._saved_text = messages_text(saved.messages)
                self._show_selection(saved.selection, None)
        except (TunewiseError, KeyError) as exc:
            summary.update(f"The saved prompt cannot be read ({getattr(exc, 'message', exc)}): build it again.")
            return
        folder = self.project.layout.current_split()
        if saved is not None:
            return
        if folder is None:
            summary.update("No curated data yet: curate it on the data screen first.")
        else:
            summary.update(f"Build picks one typical example per topic from the train split in {shown_path(folder)}/.")

    def on_unmount(self) -> None:
        """Leaving the screen cancels a running build or try."""
        self.build_job.cancel()
        self.try_job.cancel()

    @property
    def busy(self) -> bool:
        """Whether a build or a try is running."""
        return self.build_job.running or self.try_job.running

    def _busy(self) -> bool:
        if self.busy:
            self.notify("The prompt panel is busy (escape cancels).", severity="warning", markup=False)
        return self.busy

    # --- building -----------------------------------------------------------------------------------

    @on(Button.Pressed, "#pr-build")
    def action_start(self) -> None:
        """Build the few-shot prompt from the train split and save it to prompt/."""
        if self._busy():
            return
        if self.project.layout.current_split() is None:
            self.post_message(ErrorRaised(UsageError("No curated data to build a prompt from.", "Curate the data on the data screen first.")))
            return
        if self._unsaved() and not self._replace_confirmed:
            self._replace_confirmed = True
            self.notify("The editor holds unsaved edits: Save them first, or Build again to replace them.",
                        title="Prompt", severity="warning", markup=False)
            return
        self._replace_confirmed = False
        project, models = self.project, self.models
        self.build_job.start(lambda progress, cancel: self._build(project, models, progress, cancel))
        self._buttons()
        self.query_one(ProgressPanel).start("Reading the train split…")

    def _unsaved(self) -> bool:
        """Whether the editor holds messages other than the saved ones (formatting aside)."""
        text = self.query_one("#pr-messages", TextArea).text
        if text == self._saved_text or not text.strip():
            return False
        try:
            return messages_text(parse_messages(text)) != self._saved_text
        except TunewiseError:
            return True

    @on(Button.Pressed, "#pr-cancel")
    def action_stop(self) -> None:
        """Cancel the running build or try."""
        if self.busy:
            self.build_job.cancel()
            self.try_job.cancel()
            self.query_one(ProgressPanel).stop("Cancelling…", "running")

    @staticmethod
    def _build(project, models, progress, cancel) -> BuiltPrompt:
        """The job (in a worker thread): the project's prompt built from its train split with the shared embedder,
        saved, each example's tokens counted."""
        return build_project_prompt(project, progress=progress, cancel=cancel, embedder=models.embedder())

    @on(Job.Progress)
    def _progressed(self, message: Job.Progress) -> None:
        if not (self.build_job.cancelling or self.try_job.cancelling):
            self.query_one(ProgressPanel).report(message.stage, message.done, message.total)

    @on(Job.Finished)
    def _finished(self, message: Job.Finished) -> None:
        self._job_over(message.job)
        if message.job == "prompt-build":
            built: BuiltPrompt = message.result
            self.query_one("#pr-messages", TextArea).text = self._saved_text = messages_text(built.prompt.messages)
            self._show_selection(built.prompt.to_dict(), built.tokens)
            self.query_one(ProgressPanel).finish(f"Built and saved to {shown_path(self.prompt_dir)}/.")
            self.notify(f"Prompt saved to {shown_path(self.project.layout.prompt_messages)}.", title="Prompt", markup=False)
        else:
            self.reply = message.result
            self.query_one("#pr-reply", Static).update(f"Reply:\n{self.reply}")
            self.query_one(ProgressPanel).finish("Reply ready.")

    @on(Job.Failed)
    def _failed(self, message: Job.Failed) -> None:
        """Shown on the progress line; the App shows the notice."""
        self._job_over(message.job)
        self.query_one(ProgressPanel).stop(f"Failed: {getattr(message.error, 'message', message.error)}")

    @on(Job.Cancelled)
    def _cancelled(self, message: Job.Cancelled) -> None:
        self._job_over(message.job)
        self.query_one(ProgressPanel).stop("Cancelled.", "cancelled")

    def _job_over(self, job: str) -> None:
        (self.build_job if job == "prompt-build" else self.try_job).done()
        self._buttons()

    def _show_selection(self, selection: dict, tokens: list[int] | None) -> None:
        table = self.query_one("#pr-examples", DataTable)
        table.clear()
        for n, example in enumerate(selection["examples"]):
            table.add_row(*prompt_example_row(example, tokens[n] if tokens else None))
        self.query_one("#pr-summary", Static).update(prompt_summary(selection))

    # --- editing ------------------------------------------------------------------------------------

    @on(Button.Pressed, "#pr-save")
    def action_save(self) -> bool:
        """Save the edited messages (and the prompt text beside them) if they are valid (else a notice; unchanged)."""
        try:
            messages = save_messages(self.project, self.query_one("#pr-messages", TextArea).text)
        except (TunewiseError, OSError) as exc:
            self.post_message(ErrorRaised(exc))
            return False
        self._saved_text = messages_text(messages)
        layout = self.project.layout
        self.notify(f"Saved {len(messages)} message(s) to {shown_path(layout.prompt_messages)} and "
                    f"{layout.prompt_text.name}.", title="Prompt", markup=False)
        return True

    # --- trying -------------------------------------------------------------------------------------

    @on(Button.Pressed, "#pr-try")
    def action_try(self) -> None:
        """Answer the chosen eval example with the prompt as it is in the editor."""
        if self._busy():
            return
        choice = self.query_one("#pr-input", Select).value
        try:
            if not self.eval_examples:
                raise UsageError("There are no eval examples to try.", "Curate the data first: it holds out an eval split.")
            if choice is Select.NULL:
                raise UsageError("No eval example chosen.", "Pick one in the list next to Try.")
            messages = parse_messages(self.query_one("#pr-messages", TextArea).text)
        except TunewiseError as exc:
            self.post_message(ErrorRaised(exc))
            return
        example = self.eval_examples[int(choice)]
        self.reply = None
        models = self.models
        self.try_job.start(lambda progress, cancel: self._try(models, messages, example.input_text, progress, cancel))
        self._buttons()
        self.query_one(ProgressPanel).start("Loading the local model…")
        self.query_one("#pr-reply", Static).update("Reply: …")
        self.query_one("#pr-expected", Static).update(f"Expected:\n{example.output_text}")

    def _try(self, models, messages: list[dict], text: str, progress, cancel) -> str:
        """The job (in a worker thread): the prompt on one input with the shared base model (the prompting path)."""
        progress("load model", 0, 1)
        return try_prompt(messages, text, models.generator(), self.max_new_tokens, progress=progress, cancel=cancel)

    def _buttons(self) -> None:
        busy = self.busy
        self.query_one("#pr-build", Button).disabled = busy
        self.query_one("#pr-try", Button).disabled = busy
        self.query_one("#pr-cancel", Button).disabled = not busy
