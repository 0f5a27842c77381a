"""The messages screens and widgets send up to the App instead of calling it: go to a step, show an error."""

from __future__ import annotations

from textual.message import Message


class GoTo(Message):
    """Show this step of the flow (the App replaces the current screen and remembers the step)."""

    def __init__(self, step: str) -> None:
        super().__init__()
        self.step = step


class ErrorRaised(Message):
    """Show this error as a notice (the library's message and hint, in the app's wording)."""

    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error
