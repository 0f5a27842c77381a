"""Pilot tests of the app's one job runner: a job that finishes, fails or is cancelled reaches its owner as messages,
progress is throttled but its last step arrives, and quitting the app stops every running job."""

from __future__ import annotations

import asyncio
import threading

from textual import on
from textual.app import App, ComposeResult
from textual.widgets import Static

from advisor.tui.app import TunewiseApp
from advisor.tui.jobs import Job, JobRunner
from curation.errors import CancelledError, DataError


class Owner(Static):
    """A widget that runs jobs and records every message it hears."""

    def __init__(self) -> None:
        super().__init__()
        self.runner = JobRunner(self, "work")
        self.heard: list[Job.Started | Job.Progress | Job.Finished | Job.Failed | Job.Cancelled] = []

    @on(Job.Started)
    @on(Job.Progress)
    def _heard(self, message) -> None:
        self.heard.append(message)

    @on(Job.Finished)
    @on(Job.Failed)
    @on(Job.Cancelled)
    def _over(self, message) -> None:
        self.runner.done()
        self.heard.append(message)


class JobApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Owner()


async def _finish(pilot, owner: Owner) -> None:
    await pilot.app.workers.wait_for_complete()
    for _ in range(100):
        await pilot.pause()
        if not owner.runner.running:
            return
    raise AssertionError("the job's last message never arrived")


def _kinds(owner: Owner) -> list[str]:
    return [type(m).__name__ for m in owner.heard]


async def test_a_finished_job_reports_progress_then_its_result():
    def count(progress, cancel) -> int:
        for n in range(1, 501):
            progress("count", n, 500)
        return 42

    app = JobApp()
    async with app.run_test() as pilot:
        owner = app.query_one(Owner)
        assert owner.runner.start(count)
        assert not owner.runner.start(count)  # one job at a time
        await _finish(pilot, owner)
        kinds = _kinds(owner)
        assert kinds[0] == "Started" and kinds[-1] == "Finished" and owner.heard[-1].result == 42
        steps = [m.done for m in owner.heard if isinstance(m, Job.Progress)]
        assert steps[-1] == 500 and len(steps) < 100  # throttled, the last step always sent
        assert all(m.job == "work" for m in owner.heard)


async def test_a_failing_job_posts_failed_with_its_error():
    def fail(progress, cancel) -> None:
        progress("read", 0, 3)
        raise DataError("line 3 is not JSON.")

    app = JobApp()
    async with app.run_test() as pilot:
        owner = app.query_one(Owner)
        owner.runner.start(fail)
        await _finish(pilot, owner)
        assert _kinds(owner) == ["Started", "Progress", "Failed"]
        assert isinstance(owner.heard[-1].error, DataError) and owner.heard[-1].error.message == "line 3 is not JSON."


async def test_a_cancelled_job_posts_cancelled_with_what_the_library_said():
    started = threading.Event()

    def wait(progress, cancel) -> None:
        started.set()
        cancel.wait(30)
        raise CancelledError("Stopped; outputs so far are kept.")

    def quiet(progress, cancel) -> None:  # stops on the token without a word: returns nothing
        started.set()
        cancel.wait(30)

    app = JobApp()
    async with app.run_test() as pilot:
        owner = app.query_one(Owner)
        for operation, text in ((wait, "Stopped; outputs so far are kept."), (quiet, "Cancelled.")):
            owner.heard.clear()
            started.clear()
            owner.runner.start(operation)
            assert await asyncio.to_thread(started.wait, 30)
            assert owner.runner.running and not owner.runner.cancelling
            owner.runner.cancel()
            await _finish(pilot, owner)
            assert _kinds(owner) == ["Started", "Cancelled"] and owner.heard[-1].text == text


async def test_failures_and_cancels_become_notices_and_quitting_cancels_every_job():
    app = TunewiseApp()
    started = threading.Event()

    def wait(progress, cancel) -> None:
        started.set()
        cancel.wait(60)

    async with app.run_test(notifications=True) as pilot:
        await pilot.pause()
        screen = app.screen
        first, second = JobRunner(screen, "first"), JobRunner(screen, "second")
        first.start(wait)
        second.start(wait)
        assert await asyncio.to_thread(started.wait, 30)
        await pilot.pause()
        events = [first.cancel_event, second.cancel_event]
        assert set(events) <= set(app.jobs)
        screen.post_message(Job.Failed("x", DataError("Bad file.", "Run `tunewise curate DATA --out DIR` first.")))
        await pilot.pause()
        notice = list(app._notifications)[-1]
        assert notice.severity == "error" and "Bad file." in notice.message and "tunewise curate" not in notice.message
        assert "Data step" in notice.message  # the app's wording, not the command line's
        await app.action_quit()
        assert all(event.is_set() for event in events)
