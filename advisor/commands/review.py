"""`tunewise review [PROJECT] list|show|accept|reject|undo`: possible duplicates decided a group at a time."""

from __future__ import annotations

import json

import click

from advisor.cli_output import handle_errors, plain, print_renderable, say

COMMANDS_HELP = "list | show GROUP | accept GROUP | accept --all-above SCORE | reject GROUP | undo"


class _ProjectFirst(click.Group):
    """A group whose first word may be the project folder: `review [PROJECT] COMMAND ...` (default: .)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            ctx.meta["review_project"] = args[0]
            args = args[1:]
        return super().parse_args(ctx, args)

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        return ["[PROJECT]", *super().collect_usage_pieces(ctx)]


def _project(ctx: click.Context):
    from advisor.project import open_project

    return open_project(ctx.meta.get("review_project", "."))


@click.group(cls=_ProjectFirst)
def review() -> None:
    """Review possible duplicates a group at a time: accept (keep one, remove the rest) or reject (keep all).

    PROJECT is the project folder (default: the current folder). Pairs flagged `possible_duplicate` by curation are
    joined into groups, ranked by how likely they are duplicates (score: the similarity at which the group still
    holds together; groups whose texts differ in a word like "not", "more" or "first" come last). Every decision is
    a keep/remove mark in PROJECT/decisions.json, undoable with `undo`, and applied by export.
    """


@review.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the groups as a JSON array on stdout.")
@click.pass_context
@handle_errors
def list_(ctx, as_json) -> None:
    """Every group, most likely duplicates first: score, size, status, proposed keeper, members."""
    from advisor.project.review import marks, review_groups

    project = _project(ctx)
    groups, current = review_groups(project), marks(project)
    if as_json:
        click.echo(json.dumps([g.to_dict(current) for g in groups], indent=2, ensure_ascii=False))
        return
    if not groups:
        say("No possible duplicates to review.")
        return
    from rich.table import Table

    table = Table("group", "score", "mean", "size", "status", "keeper", "others", "caution", box=None)
    for g in groups:
        others = ", ".join(m for m in g.members if m != g.keeper)
        cautions = "; ".join(dict.fromkeys(p.caution for p in g.pairs if p.caution))
        table.add_row(str(g.id), f"{g.score:.3f}", f"{g.mean_similarity:.3f}", str(len(g.members)), g.status(current),
                      plain(g.keeper), plain(others), plain(cautions))
    print_renderable(table)
    open_groups = sum(1 for g in groups if g.status(current) == "open")
    say(f"{len(groups)} group(s), {open_groups} open. See one with `tunewise review show GROUP`; decide with "
        "`accept GROUP`, `reject GROUP` or `accept --all-above SCORE`; `undo` takes the last decision back.")


@review.command("show")
@click.argument("group")
@click.option("--json", "as_json", is_flag=True, help="Print the group and its examples as JSON on stdout.")
@click.pass_context
@handle_errors
def show(ctx, group, as_json) -> None:
    """One group: each pair with its similarity and rule, then every example in full."""
    from advisor.project.review import curated_view, find_group, groups_of, marks

    project = _project(ctx)
    view = curated_view(project)
    found, current = find_group(groups_of(view), group), marks(project)
    if as_json:
        data = found.to_dict(current)
        data["examples"] = {m: view.records[m] for m in found.members}
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    say((f"Group {found.id}", "bold"), f": score {found.score:.3f}, {len(found.members)} examples, {found.status(current)}; "
        "proposed keeper ", (found.keeper, "bold"))
    for p in found.pairs:
        say(f"  {p.a} ~ {p.b}: {p.similarity:.3f}", f" — {p.rule}" if p.rule else "", (f"  caution: {p.caution}", "yellow") if p.caution else "")
    for m in found.members:
        record = view.records[m]
        say("")
        say((m, "bold"), "  (keeper)" if m == found.keeper else "")
        for message in record.get("messages", []):
            if message.get("role") in ("user", "assistant"):
                say(("Q: " if message["role"] == "user" else "A: ", "bold"), " ".join(str(message.get("content", "")).split()))


@review.command("accept")
@click.argument("group", required=False)
@click.option("--all-above", "all_above", type=float, help="Accept every open group scoring at least this (groups with a caution excepted).")
@click.option("--keep", "keeper", help="Keep this example of the group instead of the proposed keeper.")
@click.option("--json", "as_json", is_flag=True, help="Print what changed as JSON on stdout.")
@click.pass_context
@handle_errors
def accept(ctx, group, all_above, keeper, as_json) -> None:
    """Accept GROUP: keep its proposed keeper (or --keep ID) and mark the others removed, each with its reason."""
    from advisor.project.review import accept_above, decide_group
    from curation.errors import UsageError

    if (group is None) == (all_above is None):
        raise UsageError("Name one GROUP, or give --all-above SCORE (not both).", "e.g. `tunewise review accept 3` or `tunewise review accept --all-above 0.86`.")
    if all_above is not None and keeper:
        raise UsageError("--keep names the keeper of one group; it cannot go with --all-above.", "Accept that group on its own.")
    project = _project(ctx)
    done = accept_above(project, all_above) if all_above is not None else decide_group(project, group, "accept", keeper)
    _report(done, as_json)


@review.command("reject")
@click.argument("group")
@click.option("--json", "as_json", is_flag=True, help="Print what changed as JSON on stdout.")
@click.pass_context
@handle_errors
def reject(ctx, group, as_json) -> None:
    """Reject GROUP: they are not duplicates; keep every example in it."""
    from advisor.project.review import decide_group

    _report(decide_group(_project(ctx), group, "reject"), as_json)


@review.command("undo")
@click.option("--json", "as_json", is_flag=True, help="Print what was undone as JSON on stdout.")
@click.pass_context
@handle_errors
def undo(ctx, as_json) -> None:
    """Take back the last change of the marks (a group decision, a bulk accept or a single mark)."""
    from advisor.project.review import undo as undo_last

    action, current = undo_last(_project(ctx))
    if as_json:
        click.echo(json.dumps({"undone": action, "marks": len(current)}, indent=2))
        return
    say("Undone: ", plain(action), f" ({len(current)} mark(s) now).")


def _report(done, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"decision": done.decision, "groups": done.groups, "removed": done.removed,
                               "marks": len(done.marks)}, indent=2, ensure_ascii=False))
        return
    if not done.groups:
        say("No open group without a caution scores that high; nothing changed.")
        return
    which = f"group {done.groups[0]}" if len(done.groups) == 1 else f"{len(done.groups)} groups ({', '.join(map(str, done.groups))})"
    verb = "Accepted" if done.decision == "accept" else "Rejected"
    removed = f"; marked removed: {', '.join(done.removed)}" if done.removed else "; every example kept"
    say(f"{verb} {which}", removed, ". Export applies the marks; `tunewise review undo` takes it back.")
