"""Step 2: the interview, one question at a time, with back and forward, a help panel and progress."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Button, Input, Label, OptionList, ProgressBar, Static
from textual.widgets.option_list import Option

from advisor.interview import Answers, Question
from advisor.tui.screens.base import PaletteCommand, StepScreen
from curation.errors import TunewiseError, UsageError


class InterviewScreen(StepScreen[Answers]):
    """Asks the questions that apply, saving after each; dismisses with the Answers after the last one."""

    STEP = "interview"
    BINDINGS = [
        Binding("ctrl+n", "next", "Next"),
        Binding("ctrl+b", "back", "Back"),
        Binding("f1", "toggle_help", "Help"),
    ]

    def __init__(self, project, answers: Answers, start: int = 0) -> None:
        super().__init__(project)
        self.answers = answers
        self.questions: list[Question] = list(answers.questions)
        self.index = min(max(start, 0), len(self.questions) - 1)

    def body(self) -> ComposeResult:
        with Vertical(id="interview"):
            with Horizontal(id="interview-progress"):
                yield Label("", id="position")
                yield ProgressBar(show_eta=False, show_percentage=False, id="interview-bar")
            yield Static("", id="question")
            yield Vertical(id="answer")
            yield Static("", id="error")
            yield Static("", id="help")
            with Horizontal(classes="buttons"):
                yield Button("Back", id="back")
                yield Button("Next", id="next", variant="primary")

    async def on_mount(self) -> None:
        if not self.questions[self.index].applies(self.answers):
            self.index = self._step(self.index, +1) or 0
        await self.show_question(self.index)

    # --- which questions are asked ------------------------------------------------------------------

    def asked(self) -> list[int]:
        """Positions of the questions that apply, given the answers so far."""
        return [i for i, q in enumerate(self.questions) if q.applies(self.answers)]

    def _step(self, index: int, direction: int) -> int | None:
        """The next (or previous) question that applies, or None past either end."""
        i = index + direction
        while 0 <= i < len(self.questions):
            if self.questions[i].applies(self.answers):
                return i
            i += direction
        return None

    @property
    def question(self) -> Question:
        return self.questions[self.index]

    # --- showing one question -----------------------------------------------------------------------

    async def show_question(self, index: int) -> None:
        """Show the question at this position with its current answer filled in."""
        self.index = index
        question = self.question
        asked = self.asked()
        position = asked.index(index) + 1 if index in asked else 1
        section = f" · {question.section.capitalize()}" if question.section else ""
        optional = " (optional)" if question.optional else ""
        self.query_one("#position", Label).update(Text(f"Question {position} of {len(asked)}{section}{optional}"))
        self.query_one("#interview-bar", ProgressBar).update(total=len(asked), progress=position - 1)
        self.query_one("#question", Static).update(Text(question.text))  # questions come from a file: verbatim
        self.query_one("#help", Static).update(Text(f"Why we ask: {question.help}" if question.help else ""))
        self.query_one("#error", Static).update("")
        self.query_one("#back", Button).disabled = False
        self.query_one("#next", Button).label = "Next" if self._step(index, +1) is not None else "Finish"
        container = self.query_one("#answer", Vertical)
        await container.remove_children()
        widget = self._answer_widget(question)
        await container.mount(widget)
        widget.focus()

    def _answer_widget(self, question: Question) -> Widget:
        current = self.answers.get(question.id, question.default)
        if question.kind in ("choice", "yesno"):
            options = question.options if question.kind == "choice" else ()
            items = [Option(Text(f"{n}. {o.label}"), id=o.value) for n, o in enumerate(options, 1)] or [
                Option("Yes", id="yes"), Option("No", id="no")
            ]
            widget = OptionList(*items, id="choice")
            values = [item.id for item in items]
            if isinstance(current, bool):
                current = "yes" if current else "no"
            widget.highlighted = values.index(current) if current in values else 0
            return widget
        placeholder = "a number" if question.kind == "number" else "your answer"
        value = "" if current is None else (question.label_of(current) if question.kind == "number" else str(current))
        return Input(value=value, placeholder=placeholder, id="text", select_on_focus=False)  # one key must not wipe it

    def _value(self) -> object:
        """What the user has entered for the current question (raw, parsed by Answers.set)."""
        if self.question.kind in ("choice", "yesno"):
            option = self.query_one("#choice", OptionList).highlighted_option
            return option.id if option else None
        return self.query_one("#text", Input).value

    # --- moving -------------------------------------------------------------------------------------

    @on(Input.Submitted, "#text")
    @on(OptionList.OptionSelected, "#choice")
    @on(Button.Pressed, "#next")
    async def action_next(self) -> None:
        """Save the answer and go to the next question (or finish)."""
        question = self.question
        try:
            self.answers.set(question.id, self._value())
        except UsageError as exc:
            self._error(exc.message, exc.hint)
            return
        if not question.optional and not self.answers.answered(question.id):
            self._error("This question needs an answer.", "Type one, then press Enter.")
            return
        following = self._step(self.index, +1)
        if not self._save(self.index if following is None else following):
            return
        if following is None:
            self.dismiss(self.answers)
        else:
            await self.show_question(following)

    @on(Button.Pressed, "#back")
    async def action_back(self) -> None:
        """Go to the previous question (keeping what was typed here if it is valid); before the first, to the project."""
        try:
            self.answers.set(self.question.id, self._value())
        except UsageError:
            pass  # leaving an invalid answer behind is fine when going back: it was not saved
        previous = self._step(self.index, -1)
        if previous is None:
            self._save(self.index)
            self.go("project")
            return
        if self._save(previous):
            await self.show_question(previous)

    def _save(self, index: int) -> bool:
        try:
            self.project.save_answers(self.answers)
            self.project.reach("interview", index)
        except (TunewiseError, OSError) as exc:
            self.report(exc)
            return False
        return True

    def _error(self, message: str, hint: str | None) -> None:
        self.query_one("#error", Static).update(Text(f"{message} {hint or ''}".strip()))  # echoes what was typed

    def action_toggle_help(self) -> None:
        """Show or hide the 'why we ask' panel."""
        self.query_one("#help", Static).toggle_class("hidden")

    def palette_commands(self):
        yield PaletteCommand("Toggle help", "Show or hide why each question is asked", self.action_toggle_help)
