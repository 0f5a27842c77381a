"""The `tunewise` command line: one group, a subcommand per job, thin over the library."""

from __future__ import annotations

import click

from advisor.cli_output import handle_errors, stderr_console  # noqa: F401  (re-exported for commands)


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tunewise")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """tunewise: decide between prompting, RAG and fine-tuning from your own data, then do it well.

    Without a command it opens the app (same as `tunewise app`).
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(cli.commands["app"])


# Each job is a module in advisor/commands exposing one click command or group named like the module.
COMMANDS = ("curate", "advise", "app", "finetune", "runs", "generate", "export", "export_data", "rag", "prompt", "evaluate", "endpoints", "review")


def _register() -> None:
    from importlib import import_module

    for name in COMMANDS:
        cli.add_command(getattr(import_module(f"advisor.commands.{name}"), name))


_register()


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="tunewise")


if __name__ == "__main__":
    main()
