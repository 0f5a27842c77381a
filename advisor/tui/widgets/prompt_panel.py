"""The prompt panel of the run step: build a few-shot prompt from the train split in a worker, edit its messages,
save them (checked like `tunewise prompt run` checks them), and try the prompt on an eval example."""

from __future__ import annotations

import json
import threading
import time

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, DataTable, Select, Static, TextArea

from advisor.project import curated_examples, shown_path
from advisor.tui.run_format import (
    PROMPT_STAGES,
    Throttle,
    messages_text,
    parse_messages,
    prompt_example_row,
    prompt_summary,
    shorten,
)
from advisor.tui.widgets.plain import PlainTable
from advisor.tui.widgets.progress import StagedProgress
from curation.errors import TunewiseError, UsageError
from curation.files import write_text_atomic


class PromptPanel(VerticalScroll):
    """Build, edit, save and try the project's few-shot prompt (prompt/messages.json)."""

    def __init__(self, project, max_new_tokens: int = 64, **kwargs) -> None:
        super().__init__(**kwargs)
        self.project = project
        self.max_new_tokens = max_new_tokens
        self.cancel_event: threading.Event | None = None
        self.eval_examples: list = []
        self.reply: str | None = None
        self._closing = False
        self._saved_text = ""  # the messages as saved in prompt/messages.json (what Build would replace)
        self._replace_confirmed = False

    @property
    def prompt_dir(self):
        """Where the project's prompt is saved."""
        return self.project.root / "prompt"

    def compose(self) -> ComposeResult:
        with Horizontal(classes="buttons"):
            yield Button("Build", id="pr-build", variant="primary", tooltip="Build the prompt from the train split (ctrl+r)")
            yield Button("Cancel", id="pr-cancel", variant="error", disabled=True)
            yield Button("Save edits", id="pr-save", tooltip="Check the messages and save them to prompt/messages.json")
        yield StagedProgress(PROMPT_STAGES, id="pr-progress")
        yield Static("", id="pr-summary", markup=False)
        yield PlainTable(id="pr-examples", cursor_type="row", zebra_stripes=True)
        yield TextArea("", id="pr-messages", soft_wrap=True, show_line_numbers=False, tab_behavior="indent")
        with Horizontal(classes="row"):
            yield Select([], prompt="eval example to try", id="pr-input", compact=True)
            yield Button("Try", id="pr-try", compact=True, tooltip="Answer the chosen eval example with this prompt")
        with Horizontal(id="pr-result"):
            yield Static("", id="pr-reply", markup=False)
            yield Static("", id="pr-expected", markup=False)

    def on_mount(self) -> None:
        from training.prompting import MESSAGES_FILE, SELECTION_FILE, load_examples, load_prompt

        self.query_one("#pr-examples", DataTable).add_columns("cluster", "size", "keywords", "tokens", "id")
        folder = curated_examples(self.project)
        if folder is not None and (folder / "eval.jsonl").is_file():
            try:
                self.eval_examples = load_examples([folder / "eval.jsonl"])
            except TunewiseError:
                self.eval_examples = []
        self.query_one("#pr-input", Select).set_options((Text(shorten(e.input_text, 70)), n) for n, e in enumerate(self.eval_examples))
        summary = self.query_one("#pr-summary", Static)
        if (self.prompt_dir / MESSAGES_FILE).is_file():
            try:
                self.query_one("#pr-messages", TextArea).text = self._saved_text = messages_text(load_prompt(self.prompt_dir))
                selection = json.loads((self.prompt_dir / SELECTION_FILE).read_text(encoding="utf-8"))
                self._show_selection(selection, None)
            except (TunewiseError, OSError, ValueError, KeyError) as exc:
                summary.update(f"The saved prompt cannot be read ({getattr(exc, 'message', exc)}): build it again.")
        elif folder is None:
            summary.update("No curated data yet: curate it on the data screen first.")
        else:
            summary.update(f"Build picks one typical example per topic from {shown_path(folder)}/train.jsonl.")

    def on_unmount(self) -> None:
        """Leaving the screen cancels a running build or try."""
        self._closing = True
        if self.cancel_event is not None:
            self.cancel_event.set()

    def _post(self, callback, *args) -> None:
        """Run callback(*args) on the UI thread (nothing once the panel is gone or the app has stopped)."""
        if self._closing:
            return
        try:
            self.app.call_from_thread(callback, *args)
        except RuntimeError:
            pass

    def _busy(self) -> bool:
        if self.cancel_event is not None:
            self.notify("The prompt panel is busy (escape cancels).", severity="warning", markup=False)
        return self.cancel_event is not None

    # --- building -----------------------------------------------------------------------------------

    @on(Button.Pressed, "#pr-build")
    def action_start(self) -> None:
        """Build the few-shot prompt from the train split and save it to prompt/."""
        if self._busy():
            return
        folder = curated_examples(self.project)
        if folder is None:
            self.app.report_error(UsageError("No curated data to build a prompt from.", "Curate the data on the data screen first."))  # type: ignore[attr-defined]
            return
        if self._unsaved() and not self._replace_confirmed:
            self._replace_confirmed = True
            self.notify("The editor holds unsaved edits: Save them first, or Build again to replace them.",
                        title="Prompt", severity="warning", markup=False)
            return
        self._replace_confirmed = False
        self.cancel_event = threading.Event()
        self._buttons()
        self.query_one(StagedProgress).start("Reading the train split…")
        self.build(folder, self.cancel_event)

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
        if self.cancel_event is not None:
            self.cancel_event.set()
            self.query_one(StagedProgress).stop("Cancelling…", "running")

    @work(thread=True, exclusive=True, exit_on_error=False, group="prompt")
    def build(self, folder, cancel: threading.Event) -> None:
        """build_prompt on the train split with the app's embedder, save it, count each example's tokens."""
        from curation.model_sources import load_tokenizer
        from training.prompting import (
            PromptConfig,
            build_prompt,
            count_prompt_tokens,
            load_examples,
            save_prompt,
        )

        throttle = Throttle()

        def progress(stage: str, done: int, total: int) -> None:
            if throttle.ready(stage, done, total, time.monotonic()):
                self._post(self.query_one(StagedProgress).report, stage, done, total)

        try:
            answers = self.project.answers_path
            config = PromptConfig(answers=str(answers) if answers.is_file() else None)
            examples = load_examples([folder])
            prompt = build_prompt(examples, config, embedder=self.app.get_embedder(), progress=progress, cancel=cancel)  # type: ignore[attr-defined]
            save_prompt(prompt, self.prompt_dir, config)
            tokenizer = load_tokenizer(config.model).tokenizer
            tokens = [count_prompt_tokens(e.messages, tokenizer) for e in prompt.examples]
        except Exception as exc:
            self._post(self._failed, exc)
        else:
            self._post(self._built, prompt.to_dict(), messages_text(prompt.messages), tokens)

    def _built(self, selection: dict, text: str, tokens: list[int]) -> None:
        self.cancel_event = None
        self._buttons()
        self.query_one("#pr-messages", TextArea).text = self._saved_text = text
        self._show_selection(selection, tokens)
        self.query_one(StagedProgress).finish(Text(f"Built and saved to {shown_path(self.prompt_dir)}/."))
        self.notify(f"Prompt saved to {shown_path(self.prompt_dir)}/messages.json.", title="Prompt", markup=False)

    def _show_selection(self, selection: dict, tokens: list[int] | None) -> None:
        table = self.query_one("#pr-examples", DataTable)
        table.clear()
        for n, example in enumerate(selection["examples"]):
            table.add_row(*prompt_example_row(example, tokens[n] if tokens else None))
        self.query_one("#pr-summary", Static).update(prompt_summary(selection))

    def _failed(self, exc: Exception) -> None:
        self.cancel_event = None
        self._buttons()
        self.query_one(StagedProgress).fail(exc)
        self.app.report_stop(exc, "Prompt")  # type: ignore[attr-defined]

    # --- editing ------------------------------------------------------------------------------------

    @on(Button.Pressed, "#pr-save")
    def action_save(self) -> bool:
        """Save the edited messages to prompt/messages.json if they are valid (else a notice; the file is unchanged)."""
        from training.prompting import MESSAGES_FILE, TEXT_FILE, prompt_text

        try:
            messages = parse_messages(self.query_one("#pr-messages", TextArea).text)
        except TunewiseError as exc:
            self.app.report_error(exc)  # type: ignore[attr-defined]
            return False
        self._saved_text = messages_text(messages)
        write_text_atomic(self.prompt_dir / MESSAGES_FILE, self._saved_text)
        write_text_atomic(self.prompt_dir / TEXT_FILE, prompt_text(messages))  # keep prompt.txt in step with the edit
        self.notify(f"Saved {len(messages)} message(s) to {shown_path(self.prompt_dir)}/{MESSAGES_FILE} and {TEXT_FILE}.",
                    title="Prompt", markup=False)
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
            self.app.report_error(exc)  # type: ignore[attr-defined]
            return
        example = self.eval_examples[int(choice)]
        self.reply = None
        self.cancel_event = threading.Event()
        self._buttons()
        self.query_one(StagedProgress).start("Loading the local model…")
        self.query_one("#pr-reply", Static).update("Reply: …")
        self.query_one("#pr-expected", Static).update(f"Expected:\n{example.output_text}")
        self.try_prompt(messages, example.input_text, self.cancel_event)

    @work(thread=True, exclusive=True, exit_on_error=False, group="prompt")
    def try_prompt(self, messages: list[dict], text: str, cancel: threading.Event) -> None:
        """run_prompt on one input with the packaged base model (the app's shared copy): the prompting path."""
        from training.prompting import run_prompt

        try:
            generator = self.app.get_generator()  # type: ignore[attr-defined]
            reply = run_prompt(messages, [text], generator, max_new_tokens=self.max_new_tokens, cancel=cancel,
                               progress=lambda s, d, t: self._post(self.query_one(StagedProgress).report, s, d, t))[0]
        except Exception as exc:
            self._post(self._failed, exc)
        else:
            self._post(self._tried, reply)

    def _tried(self, reply: str) -> None:
        self.cancel_event = None
        self._buttons()
        self.reply = reply
        self.query_one("#pr-reply", Static).update(f"Reply:\n{reply}")
        self.query_one(StagedProgress).finish("Reply ready.")

    def _buttons(self) -> None:
        busy = self.cancel_event is not None
        self.query_one("#pr-build", Button).disabled = busy
        self.query_one("#pr-try", Button).disabled = busy
        self.query_one("#pr-cancel", Button).disabled = not busy
