"""Operation: the curator's keep/remove marks over curated/ (one by one or a group of possible duplicates at a
time, every change undoable), and export/ with them applied."""

from __future__ import annotations

from dataclasses import dataclass

from advisor.project.curation_view import CurationView, load_curation
from advisor.project.folder import Project
from curation.errors import DataError, UsageError


def marks(project: Project) -> dict[str, str]:
    """The curator's marks (example id → keep/remove)."""
    from curation.decisions import load_decisions

    return load_decisions(project.decisions_path)


def set_mark(project: Project, example_id: str, decision: str | None) -> dict[str, str]:
    """Mark one example keep/remove (None clears the mark), save, and return every mark."""
    from curation.decisions import DECISIONS, change_marks

    if decision is not None and decision not in DECISIONS:
        raise UsageError(f"Unknown decision {decision!r}.", "Use 'keep' or 'remove'.")
    action = f"{decision} {example_id}" if decision else f"clear the mark of {example_id}"
    return change_marks(project.decisions_path, {example_id: decision}, action=action)


def export_marked(project: Project):
    """Write export/ from curated/ with the marks applied; marks naming ids of an older run are left out.

    Returns:
        (ExportSummary, ids of marks that were not applied)
    """
    from curation.decisions import export_with_decisions, load_log

    view = load_curation(project.curated_dir) if project.is_curated else None
    if view is None:
        raise DataError("Nothing to export yet.", "Curate the data on the data screen first.")
    current = marks(project)
    stale = sorted(set(current) - set(view.records))
    applied = {k: v for k, v in current.items() if k not in stale}
    reasons = load_log(project.decisions_path).reasons
    return export_with_decisions(project.curated_dir, applied, project.export_dir, reasons), stale


# --- possible duplicates, a group at a time ---------------------------------------------------------------------


def _question_and_reply(record: dict) -> str:
    """What a caution compares: the last question and the last reply of an example."""
    turns = {m.get("role"): str(m.get("content", "")) for m in record.get("messages", []) if isinstance(m, dict)}
    return f"{turns.get('user', '')}\n{turns.get('assistant', '')}"


def groups_of(view: CurationView):
    """The possible duplicates of a curation run as ranked review groups (curation.review_groups)."""
    from curation.review_groups import CandidatePair, group_candidates

    pairs = [CandidatePair(p.subject, p.twin, p.similarity, p.rule) for p in view.duplicates()
             if p.reason == "possible_duplicate" and p.subject in view.records and p.twin in view.records]
    ids = {i for p in pairs for i in (p.a, p.b)}
    return group_candidates(pairs, list(view.records), {i: _question_and_reply(view.records[i]) for i in ids})


def curated_view(project: Project) -> CurationView:
    """The project's curation outputs; DataError when it has none."""
    view = load_curation(project.curated_dir) if project.is_curated else None
    if view is None:
        raise DataError(f"{project.root} has no curation outputs to review.", "Curate the data first (`tunewise curate` or the app's data screen).")
    return view


def review_groups(project: Project):
    """The project's possible duplicates grouped and ranked, 1 = most likely duplicates."""
    return groups_of(curated_view(project))


@dataclass
class GroupDecision:
    """What a group decision changed: the groups decided, and every mark after it."""

    decision: str
    groups: list[int]
    removed: list[str]
    marks: dict[str, str]


def find_group(groups, group_id: int | str):
    """The group with this number (as `review list` shows it); UsageError naming the range otherwise."""
    try:
        wanted = int(str(group_id).lstrip("#"))
    except ValueError:
        wanted = None
    found = next((g for g in groups if g.id == wanted), None)
    if found is None:
        known = f"groups are numbered 1 to {len(groups)}" if groups else "this curation has no possible duplicates to review"
        raise UsageError(f"No review group {group_id!r}: {known}.", "List them with `tunewise review list`.")
    return found


def decide_group(project: Project, group_id: int | str, decision: str, keeper: str | None = None,
                 groups=None) -> GroupDecision:
    """Accept (keep the keeper, remove the rest, with reasons) or reject (keep all) one group; undoable.

    `groups` are the ranked groups if the caller has them (else they are read from curated/).
    """
    from curation.decisions import change_marks
    from curation.review_groups import GROUP_DECISIONS, decision_marks

    if decision not in GROUP_DECISIONS:
        raise UsageError(f"Unknown group decision {decision!r}.", "Use 'accept' or 'reject'.")
    group = find_group(groups if groups is not None else review_groups(project), group_id)
    if keeper is not None and keeper not in group.members:
        raise UsageError(f"{keeper!r} is not in review group {group.id} ({', '.join(group.members)}).",
                         "Name one of the group's examples with --keep.")
    new, reasons = decision_marks(group, decision, keeper)
    current = change_marks(project.decisions_path, new, reasons, action=f"{decision} group {group.id}")
    return GroupDecision(decision, [group.id], sorted(k for k, v in new.items() if v == "remove"), current)


def accept_above(project: Project, score: float, groups=None) -> GroupDecision:
    """Accept every open group scoring at least `score` without a caution, as one undoable change."""
    from curation.decisions import change_marks
    from curation.review_groups import decision_marks, groups_above

    if not 0.0 <= score <= 1.0:
        raise UsageError(f"--all-above {score} is not a similarity.", "Give a score between 0 and 1, e.g. 0.85.")
    groups = groups if groups is not None else review_groups(project)
    chosen = groups_above(groups, score, marks(project))
    new: dict[str, str | None] = {}
    reasons: dict[str, dict | None] = {}
    for group in chosen:
        m, r = decision_marks(group, "accept")
        new.update(m)
        reasons.update(r)
    ids = [g.id for g in chosen]
    current = change_marks(project.decisions_path, new, reasons, action=f"accept {len(ids)} group(s) scoring {score:.2f} or more")
    return GroupDecision("accept", ids, sorted(k for k, v in new.items() if v == "remove"), current)


def undo(project: Project) -> tuple[str, dict[str, str]]:
    """Undo the last change of the marks (a group decision or a single mark); UsageError when there is none.

    Returns:
        (what was undone, every mark after the undo)
    """
    from curation.decisions import undo_change

    undone = undo_change(project.decisions_path)
    if undone is None:
        raise UsageError("Nothing to undo.", "Every change of the review marks can be undone once it is made.")
    return undone
