"""The app's one job runner: a project operation in a worker thread, reported back as Textual messages.

A panel owns a ``JobRunner`` per kind of job and handles the messages with ``@on``::

    self.build = JobRunner(self, "build")
    self.build.start(lambda progress, cancel: build_index(project, progress=progress, cancel=cancel))

    @on(Job.Progress)
    def _progress(self, message: Job.Progress) -> None: ...

Every job posts ``Job.Started``, then ``Job.Progress`` (throttled, the last step of a stage always arrives),
then exactly one of ``Job.Finished`` (with the result), ``Job.Failed`` (with the exception) or ``Job.Cancelled``.
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

Operation = Callable[[Callable[[str, int, int], None], threading.Event], Any]


class Job:
    """The messages a job posts; ``job`` is the runner's name, so one panel can tell its jobs apart."""

    class Started(Message):
        def __init__(self, job: str) -> None:
            super().__init__()
            self.job = job

    class Progress(Message):
        def __init__(self, job: str, stage: str, done: int, total: int, at: float) -> None:
            super().__init__()
            self.job, self.stage, self.done, self.total, self.at = job, stage, done, total, at

    class Finished(Message):
        def __init__(self, job: str, result: Any) -> None:
            super().__init__()
            self.job, self.result = job, result

    class Failed(Message):
        def __init__(self, job: str, error: BaseException) -> None:
            super().__init__()
            self.job, self.error = job, error

    class Cancelled(Message):
        def __init__(self, job: str) -> None:
            super().__init__()
            self.job = job


class JobRunner:
    """Runs one operation at a time for its owner widget, with a cancel token and progress messages."""

    def __init__(self, owner: Widget, name: str) -> None:
        self.owner = owner
        self.name = name
        self.cancel_event: threading.Event | None = None

    @property
    def running(self) -> bool:
        """Whether a job of this runner is under way."""
        return self.cancel_event is not None

    def start(self, operation: Operation) -> bool:
        """Run operation(progress, cancel) in a thread; False (and nothing started) if one is already running."""
        if self.running:
            return False
        cancel = self.cancel_event = threading.Event()
        self.owner.post_message(Job.Started(self.name))
        self.owner.run_worker(lambda: self._run(operation, cancel), thread=True, exclusive=False,
                              exit_on_error=False, group=f"job-{self.name}", name=self.name)
        return True

    def cancel(self) -> None:
        """Ask the running job to stop at its next check; it then posts Job.Cancelled."""
        if self.cancel_event is not None:
            self.cancel_event.set()

    def done(self) -> None:
        """Mark the job over (call from the handler of Finished/Failed/Cancelled)."""
        self.cancel_event = None

    def _run(self, operation: Operation, cancel: threading.Event) -> None:
        last: dict[str, float] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if cancel.is_set():
                raise CancelledError("Cancelled.")
            now = time.monotonic()
            if done >= total or now - last.get(stage, 0.0) >= PROGRESS_INTERVAL:
                last[stage] = now
                self._post(Job.Progress(self.name, stage, done, total, now))

        try:
            result = operation(progress, cancel)
        except CancelledError:
            self._post(Job.Cancelled(self.name))
        except Exception as exc:  # every failure reaches the owner as a message, never a crash
            self._post(Job.Cancelled(self.name) if cancel.is_set() else Job.Failed(self.name, exc))
        else:
            self._post(Job.Cancelled(self.name) if cancel.is_set() and result is None else Job.Finished(self.name, result))

    def _post(self, message: Message) -> None:
        """Post to the owner; a closed owner (screen left, app quit) simply does not receive it."""
        if self.owner.is_attached:
            self.owner.post_message(message)
