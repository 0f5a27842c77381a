"""`tunewise app`: the terminal app (interview, data review, recommendation, run) on a project folder."""

from __future__ import annotations

import click

from advisor.cli_output import handle_errors


@click.command()
@click.argument("project_dir", required=False, type=click.Path(file_okay=False))
@click.option("--sample", is_flag=True, help="Create the project on the bundled Northwind Bikes sample (data, docs, answers) if it is new.")
@handle_errors
def app(project_dir, sample) -> None:
    """Open the tunewise app on PROJECT_DIR (created if new, resumed where you left it if not).

    Without PROJECT_DIR, the app starts on its project screen, where you pick or create one.
    """
    from advisor.tui.app import run_app

    if sample and project_dir is None:
        raise click.UsageError("--sample needs a PROJECT_DIR to create the sample project in (e.g. out/demo).")
    run_app(project_dir, sample)
