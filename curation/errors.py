"""The one exception hierarchy: every error a user can cause carries a message and a hint."""

from __future__ import annotations


class TunewiseError(Exception):
    """Base of every error tunewise raises on purpose; the CLI and TUI turn it into a message."""

    exit_code = 1
    title = "Error"

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\nHint: {self.hint}"


class DataError(TunewiseError):
    """The user's data cannot be used as it is (exit code 1)."""

    title = "Data error"


class UsageError(TunewiseError):
    """The command was called wrongly: bad option, missing file (exit code 2)."""

    exit_code = 2
    title = "Usage error"


class ModelError(TunewiseError):
    """A model or tokenizer could not be found or loaded."""

    title = "Model error"


class CancelledError(TunewiseError):
    """The user cancelled a long-running job."""

    title = "Cancelled"
