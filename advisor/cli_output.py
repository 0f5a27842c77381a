"""What every command shares: consoles that never re-flow machine-read output, and errors as messages.

Rules every command follows:
- user text (paths, ids, field values, model names) is never interpreted as markup: print it with ``say`` or
  wrap it in ``plain`` (a ``rich.text.Text``), never inside a markup string;
- on a terminal long lines wrap softly (the terminal wraps them); to a pipe or file every message is one whole
  line, never hard-wrapped at some width, and reports are written as their Markdown source.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

from curation.errors import TunewiseError

#: Width given to rich when the output is not a terminal: wide enough that nothing is ever wrapped.
UNWRAPPED_WIDTH = 100_000


def is_terminal(stderr: bool = False) -> bool:
    """Whether stdout (or stderr) is an interactive terminal."""
    stream = sys.stderr if stderr else sys.stdout
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def make_console(stderr: bool = False):
    """A rich Console for stdout or stderr: soft wrap on a terminal, no wrapping at all to a pipe or file."""
    from rich.console import Console

    if is_terminal(stderr):
        return Console(stderr=stderr, soft_wrap=True, highlight=False)
    return Console(stderr=stderr, soft_wrap=True, highlight=False, width=UNWRAPPED_WIDTH)


def stderr_console():
    """The console for messages and prompts (stderr), so piped stdout stays clean."""
    return make_console(stderr=True)


def plain(text: Any, style: str = "") -> Any:
    """User text as a rich Text: shown verbatim, never read as markup."""
    from rich.text import Text

    return Text(str(text), style=style)


def say(*parts: Any, err: bool = True, style: str = "") -> None:
    """Print one message line made of plain strings or (text, style) pairs; nothing is read as markup."""
    from rich.text import Text

    line = Text(style=style)
    for part in parts:
        if isinstance(part, tuple):
            line.append(str(part[0]), style=part[1])
        else:
            line.append(str(part))
    make_console(stderr=err).print(line)


def print_markdown(markdown: str) -> None:
    """A Markdown report on stdout: rendered on a terminal, its source verbatim to a pipe or file."""
    if not is_terminal():
        sys.stdout.write(markdown if markdown.endswith("\n") else markdown + "\n")
        sys.stdout.flush()
        return
    from rich.markdown import Markdown

    make_console().print(Markdown(markdown))


def print_renderable(renderable: Any, err: bool = False) -> None:
    """Print a rich table or other renderable; to a pipe or file at its natural width, never wrapped."""
    console = make_console(stderr=err)
    if not is_terminal(err):
        from rich.console import Console

        width = min(UNWRAPPED_WIDTH, console.measure(renderable).maximum)
        console = Console(stderr=err, soft_wrap=True, highlight=False, width=max(width, 1))
    console.print(renderable)


def handle_errors(func: Callable) -> Callable:
    """Turn TunewiseError into a message on stderr and its exit code; Ctrl-C into exit 130. Never a traceback."""

    @wraps(func)
    def wrapper(*args, **kwargs):
        from curation.errors import CancelledError

        try:
            return func(*args, **kwargs)
        except CancelledError as exc:  # Ctrl-C noticed by the library: the documented 130, like a bare KeyboardInterrupt
            report_error(exc)
            say("Finished work is kept; run the same command again to resume.")
            sys.exit(130)
        except TunewiseError as exc:
            report_error(exc)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            say("Interrupted. Finished work is cached; run the same command again to resume.")
            sys.exit(130)

    return wrapper


def report_error(exc: TunewiseError) -> None:
    """Write an error's problems, message and hint to stderr, each a whole line, user text verbatim."""
    for problem in getattr(exc, "problems", []):
        say(problem.format())
    say((f"{exc.title}:", "bold red"), " ", exc.message)
    if exc.hint:
        say(("Hint:", "dim"), " ", exc.hint)


def plain_warning(message: str) -> Any:
    """'Warning: <message>' with the label styled and the message verbatim."""
    from rich.text import Text

    return Text.assemble(("Warning:", "yellow"), " ", str(message))
