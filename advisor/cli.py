"""The `tunewise` command line: one group, a subcommand per job, thin over the library."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps

import click

from curation.errors import TunewiseError


def stderr_console():
    from rich.console import Console

    return Console(stderr=True)


def handle_errors(func: Callable) -> Callable:
    """Turn TunewiseError into a message on stderr and its exit code; Ctrl-C into exit 130. Never a traceback."""

    @wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except TunewiseError as exc:
            console = stderr_console()
            for problem in getattr(exc, "problems", []):
                console.print(problem.format(), markup=False, highlight=False)
            console.print(f"[bold red]{exc.title}:[/] {exc.message}", highlight=False)
            if exc.hint:
                console.print(f"[dim]Hint:[/] {exc.hint}", highlight=False)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            stderr_console().print("Interrupted. Finished work is cached; run the same command again to resume.")
            sys.exit(130)

    return wrapper


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
