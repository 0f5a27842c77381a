"""Operation: the curator's keep/remove marks over curated/, and export/ with them applied."""

from __future__ import annotations

from advisor.project.curation_view import load_curation
from advisor.project.folder import Project
from curation.errors import DataError, UsageError


def marks(project: Project) -> dict[str, str]:
    """The curator's marks (example id → keep/remove)."""
    from curation.decisions import load_decisions

    return load_decisions(project.decisions_path)


def set_mark(project: Project, example_id: str, decision: str | None) -> dict[str, str]:
    """Mark one example keep/remove (None clears the mark), save, and return every mark."""
    from curation.decisions import DECISIONS, save_decisions

    if decision is not None and decision not in DECISIONS:
        raise UsageError(f"Unknown decision {decision!r}.", "Use 'keep' or 'remove'.")
    current = marks(project)
    if decision is None:
        current.pop(example_id, None)
    else:
        current[example_id] = decision
    save_decisions(project.decisions_path, current)
    return current


def export_marked(project: Project):
    """Write export/ from curated/ with the marks applied; marks naming ids of an older run are left out.

    Returns:
        (ExportSummary, ids of marks that were not applied)
    """
    from curation.decisions import export_with_decisions

    view = load_curation(project.curated_dir) if project.is_curated else None
    if view is None:
        raise DataError("Nothing to export yet.", "Curate the data on the data screen first.")
    current = marks(project)
    stale = sorted(set(current) - set(view.records))
    applied = {k: v for k, v in current.items() if k not in stale}
    return export_with_decisions(project.curated_dir, applied, project.export_dir), stale
