"""`tunewise runs list|use`: the fine-tuning runs of a project and which adapter is active."""

from __future__ import annotations

import json

import click

from advisor.cli_output import handle_errors, plain, print_renderable, say

_PROJECT = click.option("--project", default=".", show_default=True, type=click.Path(file_okay=False), help="Project folder holding runs/.")


@click.group()
def runs() -> None:
    """List fine-tuning runs and choose the active adapter."""


@runs.command("list")
@_PROJECT
@click.option("--json", "as_json", is_flag=True, help="Print the runs as a JSON array on stdout.")
@handle_errors
def list_(project, as_json) -> None:
    """Every run: name, date, data, eval loss, status; * marks the active one."""
    from training.runs import list_runs

    found = list_runs(project)
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in found], indent=2))
        return
    if not found:
        say(f"No runs in {project}/runs yet. Train one with `tunewise finetune`.")
        return
    from rich.table import Table

    table = Table("", "name", "date", "status", "data", "train", "eval loss", box=None)
    for r in found:
        table.add_row("*" if r.active else "", plain(r.name), plain(r.created[:19].replace("T", " ")), plain(r.status),
                      plain(r.data), str(r.train_examples or "-"), f"{r.eval_loss:.4f}" if r.eval_loss is not None else "-")
    print_renderable(table)
    for problem in getattr(found, "problems", []):
        say(("Warning:", "yellow"), " ", problem)


@runs.command("use")
@click.argument("name")
@_PROJECT
@handle_errors
def use(name, project) -> None:
    """Make run NAME's adapter the active one (also rolls back to an earlier run)."""
    from training.runs import set_active

    folder = set_active(project, name)
    click.echo(f"Active adapter: {name} ({folder / 'adapter'})")
