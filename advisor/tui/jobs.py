"""The app's one job runner: a project operation in a worker thread, reported back as Textual messages.

A panel owns a ``JobRunner`` per kind of job and handles the messages with ``@on``::

    self.build = JobRunner(self, "build")
    self.build.start(lambda progress, cancel: build_index(project, progress=progress, cancel=cancel))

    @on(Job.Progress)
    def _progress(self, message: Job.Progress) -> None: ...

Every job posts ``Job.Started``, then ``Job.Progress`` (throttled, the last step of a stage always arrives),
then exactly one of ``Job.Finished`` (with the result), ``Job.Failed`` (with the exception) or ``Job.Cancelled``.
The messages bubble on from the owner to its screen and the App: the App keeps every running job's cancel token (so
quitting stops them all) and shows every failure and cancel as a notice, so an owner only renders its own state.
Messages go to the owner only while it is mounted; leaving the screen cancels the job through its token.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from textual.message import Message
from textual.widget import Widget

from curation.errors import CancelledError

#: The least time between two progress messages of one stage (a stage's last step is always sent).
PROGRESS_INTERVAL = 0.1

Progress = Callable[[str, int, int], None]
Operation = Callable[[Progress, threading.Event], Any]


class Job:
    """The messages a job posts; ``job`` is the runner's name, so one panel can tell its jobs apart."""

    class Started(Message):
        """A job began; ``cancel`` is its token (set it to stop the job at its next check)."""

        def __init__(self, job: str, cancel: threading.Event) -> None:
            super().__init__()
            self.job, self.cancel = job, cancel

    class Progress(Message):
        """A progress(stage, done, total) report of the operation; ``elapsed`` seconds since the job began."""

        def __init__(self, job: str, stage: str, done: int, total: int, elapsed: float) -> None:
            super().__init__()
            self.job, self.stage, self.done, self.total, self.elapsed = job, stage, done, total, elapsed

    class Finished(Message):
        """The operation returned ``result``."""

        def __init__(self, job: str, result: Any, elapsed: float = 0.0) -> None:
            super().__init__()
            self.job, self.result, self.elapsed = job, result, elapsed

    class Failed(Message):
        """The operation raised ``error``."""

        def __init__(self, job: str, error: BaseException) -> None:
            super().__init__()
            self.job, self.error = job, error

    class Cancelled(Message):
        """The operation stopped on its cancel token; ``error`` says what was kept, when the library said so."""

        def __init__(self, job: str, error: CancelledError | None = None) -> None:
            super().__init__()
            self.job, self.error = job, error

        @property
        def text(self) -> str:
            """What the library said about the cancel, or "Cancelled."."""
            return self.error.message if self.error is not None else "Cancelled."


class JobRunner:
    """Runs one operation at a time for its owner widget, with a cancel token and progress messages."""

    def __init__(self, owner: Widget, name: str) -> None:
        self.owner = owner
        self.name = name
        self.cancel_event: threading.Event | None = None
        self.started_at = 0.0

    @property
    def running(self) -> bool:
        """Whether a job of this runner is under way."""
        return self.cancel_event is not None

    def start(self, operation: Operation) -> bool:
        """Run operation(progress, cancel) in a thread; False (and nothing started) if one is already running."""
        if self.running:
            return False
        cancel = self.cancel_event = threading.Event()
        self.started_at = time.monotonic()
        self.owner.post_message(Job.Started(self.name, cancel))
        self.owner.run_worker(lambda: self._run(operation, cancel), thread=True, exclusive=False,
                              exit_on_error=False, group=f"job-{self.name}", name=self.name)
        return True

    def cancel(self) -> None:
        """Ask the running job to stop at its next check; it then posts Job.Cancelled."""
        if self.cancel_event is not None:
            self.cancel_event.set()

    @property
    def cancelling(self) -> bool:
        """Whether the running job was asked to stop."""
        return self.cancel_event is not None and self.cancel_event.is_set()

    def done(self) -> None:
        """Mark the job over (call from the handler of Finished/Failed/Cancelled)."""
        self.cancel_event = None

    def _run(self, operation: Operation, cancel: threading.Event) -> None:
        last: dict[str, float] = {}

        def progress(stage: str, done: int, total: int) -> None:  # the operation itself honours `cancel`
            now = time.monotonic()
            if done >= total or now - last.get(stage, -PROGRESS_INTERVAL) >= PROGRESS_INTERVAL:
                last[stage] = now
                self._post(Job.Progress(self.name, stage, done, total, now - self.started_at))

        try:
            result = operation(progress, cancel)
        except CancelledError as exc:
            self._post(Job.Cancelled(self.name, exc))
        except Exception as exc:  # every failure reaches the owner as a message, never a crash
            self._post(Job.Failed(self.name, exc))
        else:
            if cancel.is_set() and result is None:
                self._post(Job.Cancelled(self.name))
            else:
                self._post(Job.Finished(self.name, result, time.monotonic() - self.started_at))

    def _post(self, message: Message) -> None:
        """Post to the owner; a closed owner (screen left, app quit) simply does not receive it."""
        if self.owner.is_attached:
            self.owner.post_message(message)
