"""A rich progress bar on stderr that the library reports into through a plain callback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from advisor.cli_output import stderr_console

STAGES = {
    "tokens": "Counting tokens", "embed": "Embedding", "dedupe": "Finding duplicates", "cluster": "Clustering",
    "read": "Reading documents", "index": "Indexing", "search": "Searching", "generate": "Generating",
    "load embedder": "Loading the embedding model", "read shards": "Reading shards",
    "near-identical": "Near-identical text",
}


def progress_bars(label_width: int = 20, info: bool = False):
    """A rich Progress on stderr: label, bar, n/N, elapsed, ETA (and a free-text info column); labels never markup."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = [TextColumn(f"{{task.description:<{label_width}}}", markup=False), BarColumn(), MofNCompleteColumn()]
    if info:
        columns.append(TextColumn("{task.fields[info]}", markup=False))
    columns += [TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()] if info else [TimeElapsedColumn(), TimeRemainingColumn()]
    return Progress(*columns, console=stderr_console(), transient=False)


@contextmanager
def cli_progress() -> Iterator:
    """Yield a progress(stage, done, total) callback drawing one bar per stage on stderr."""
    bars = progress_bars()
    tasks: dict[str, int] = {}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bars.add_task(STAGES.get(stage, stage), total=max(total, 1))
        if total == 0:  # nothing to do (e.g. every embedding cached): show the stage as complete
            done = total = 1
        bars.update(tasks[stage], completed=done, total=total)

    with bars:
        yield update
