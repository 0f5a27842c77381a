"""The `tunewise` command line: one group, a subcommand per job, thin over the library."""

from __future__ import annotations

import click

from advisor.clitools import handle_errors, stderr_console  # noqa: F401  (re-exported for commands)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tunewise")
def cli() -> None:
    """tunewise: decide between prompting, RAG and fine-tuning from your own data, then do it well."""


# Each job is a module in advisor/commands exposing one click command or group named like the module.
COMMANDS = ("curate", "advise")


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
