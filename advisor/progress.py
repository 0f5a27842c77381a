"""A rich progress bar on stderr that the library reports into through a plain callback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from advisor.clitools import stderr_console

STAGES = {
    "tokens": "Counting tokens", "embed": "Embedding", "dedupe": "Finding duplicates", "cluster": "Clustering",
    "read": "Reading documents", "index": "Indexing", "search": "Searching", "generate": "Generating",
}


@contextmanager
def cli_progress() -> Iterator:
    """Yield a progress(stage, done, total) callback drawing one bar per stage on stderr."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bars = Progress(
        TextColumn("{task.description:<20}", markup=False), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
        console=stderr_console(), transient=False,
    )
    tasks: dict[str, int] = {}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bars.add_task(STAGES.get(stage, stage), total=max(total, 1))
        if total == 0:  # nothing to do (e.g. every embedding cached): show the stage as complete
            done = total = 1
        bars.update(tasks[stage], completed=done, total=total)

    with bars:
        yield update
