"""What every command shares: error handling (message + hint, exit code, never a traceback) and stderr."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps

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
