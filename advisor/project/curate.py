"""Operation: curate a project's data files into curated/ (validate, dedupe, flag, cluster, split)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from advisor.project.folder import Project
from curation.errors import UsageError

Progress = Callable[[str, int, int], None]


def curate_project(project: Project, progress: Progress | None = None, cancel: threading.Event | None = None,
                   embedder=None, config=None):
    """Curate the project's data files into curated/ (see curation.curate_files.run_curation); returns the job."""
    from curation.curate_files import run_curation

    if not project.state.data:
        raise UsageError("This project has no data file yet.", "Load a file of examples on the data screen first.")
    return run_curation(
        [str(p) for p in project.data_paths], project.curated_dir, config, skip_invalid=project.state.skip_invalid,
        progress=progress, cancel=cancel, embedder=embedder,
    )
