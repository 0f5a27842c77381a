"""Reading files a user hands us without ever ending in a traceback.

Every reader refuses what is not a regular file (a FIFO, a device, a folder, a symlink loop), stops at a size
limit instead of reading an endless file into memory, and turns every decoding or parsing failure into a
``DataError`` that names the file, the place and the fix. YAML is read with a depth limit; JSON and YAML
numbers too large for Python's integer conversion become messages, not ``ValueError``.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path
from typing import Any

from curation.errors import DataError, UsageError

KB = 1024
MB = 1024 * KB
GB = 1024 * MB
#: Limit for settings-like files (answers.yaml, run.json, manifest.json, prompt files, endpoint config).
CONFIG_LIMIT = 16 * MB
#: Limit for one data file (examples, documents); override with TUNEWISE_MAX_FILE_BYTES.
DATA_LIMIT = 4 * GB
#: How deeply YAML may nest before it is refused (answers files are two levels deep).
YAML_MAX_DEPTH = 64


def data_limit() -> int:
    """The size limit for one data file: TUNEWISE_MAX_FILE_BYTES if set, else 4 GB."""
    raw = os.environ.get("TUNEWISE_MAX_FILE_BYTES", "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else DATA_LIMIT


def format_bytes(n: int) -> str:
    """1536 -> '1.5 KB'."""
    for unit, size in (("GB", GB), ("MB", MB), ("KB", KB)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


def stat_path(path: str | Path, what: str = "file") -> os.stat_result:
    """os.stat of path (symlinks followed); UsageError for a missing path, a broken link, a link loop, a path too long."""
    path = Path(path)
    try:
        return os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        if os.path.islink(path):
            raise UsageError(f"The {what} {path} is a broken symbolic link.", "Point it at an existing file.") from None
        raise UsageError(f"The {what} {path} was not found.", "Check the path.") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UsageError(f"The {what} {path} is a symbolic link loop.", "Point the link at a real file.") from None
        if exc.errno == errno.ENAMETOOLONG:
            raise UsageError(f"The {what} path is too long: {path}", "Use a shorter path.") from None
        raise UsageError(f"Cannot read the {what} {path}: {exc.strerror or exc}.", "Check the path and its permissions.") from None
    except RuntimeError:  # pathlib's own symlink-loop detection on older Pythons
        raise UsageError(f"The {what} {path} is a symbolic link loop.", "Point the link at a real file.") from None
    except ValueError:  # a NUL byte in the path
        raise UsageError(f"The {what} {str(path)!r} is not a valid path (it holds a NUL byte).", "Check the path.") from None


def file_kind(mode: int) -> str | None:
    """None for a regular file, else what it is: 'a folder', 'a named pipe (FIFO)', 'a device', 'a socket'."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    return ("a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")


def not_a_file(path: str | Path, what: str, mode: int, hint: str | None = None) -> UsageError:
    """The error for a path that is not a regular file (mode from its stat)."""
    kind = file_kind(mode)
    if kind == "a folder":
        return UsageError(f"The {what} {path} is a folder, not a file.", hint or "Give a file.")
    return UsageError(f"The {what} {path} is {kind}, not a regular file.", hint or "Copy the data into a regular file and give that.")


def too_large(path: str | Path, limit: int, what: str = "file") -> DataError:
    """The error for a file over its size limit."""
    return DataError(
        f"The {what} {path} is larger than the limit of {format_bytes(limit)}.",
        "Split it into smaller files" + (", or raise TUNEWISE_MAX_FILE_BYTES." if limit == data_limit() else "."),
    )


def check_regular_file(path: str | Path, what: str = "file") -> Path:
    """Return path if it is a readable regular file (symlinks followed); UsageError saying why not otherwise."""
    path = Path(path)
    info = stat_path(path, what)
    if not stat.S_ISREG(info.st_mode):
        raise not_a_file(path, what, info.st_mode)
    return path


def read_bytes_limited(path: str | Path, limit: int, what: str = "file") -> bytes:
    """Read a regular file whole, refusing it (DataError) if it is larger than limit bytes.

    The file is opened without blocking and checked again once open, so a file swapped for a FIFO or a device
    after the check is refused, never waited on or read without end.
    """
    path = check_regular_file(path, what)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except PermissionError:
        raise UsageError(f"No permission to read the {what} {path}.", "Check the file's permissions.") from None
    except IsADirectoryError:
        raise UsageError(f"The {what} {path} is a folder, not a file.", "Give a file.") from None
    except OSError as exc:
        raise UsageError(f"Cannot read the {what} {path}: {exc.strerror or exc}.", "Check the file.") from None
    try:
        with os.fdopen(fd, "rb") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            if not stat.S_ISREG(mode):
                raise not_a_file(path, what, mode)
            data = handle.read(limit + 1)
    except IsADirectoryError:
        raise UsageError(f"The {what} {path} is a folder, not a file.", "Give a file.") from None
    except OSError as exc:
        raise UsageError(f"Cannot read the {what} {path}: {exc.strerror or exc}.", "Check the file.") from None
    if len(data) > limit:
        raise too_large(path, limit, what)
    return data


def read_text_limited(path: str | Path, limit: int = CONFIG_LIMIT, what: str = "file") -> str:
    """Read a UTF-8 text file (a BOM is dropped) with a size limit; DataError with the line of bad UTF-8."""
    data = read_bytes_limited(path, limit, what)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(f"{path}:{line}: the {what} is not valid UTF-8 text.", "Save it as UTF-8.") from None


def read_json_file(path: str | Path, what: str = "file", limit: int = CONFIG_LIMIT, hint: str | None = None) -> Any:
    """Parse a JSON file; DataError naming the file, line and column (or the too-large number) on failure."""
    text = read_text_limited(path, limit, what)
    return parse_json(text, f"{path}", what, hint)


def parse_json(text: str, source: str, what: str = "file", hint: str | None = None) -> Any:
    """Parse JSON text from source; DataError with line and column instead of JSONDecodeError/ValueError."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{source}:{exc.lineno}:{exc.colno}: the {what} is not valid JSON: {exc.msg}.",
                        hint or "Fix the JSON, or delete the file to start again.") from None
    except (ValueError, RecursionError) as exc:  # an integer of thousands of digits, or absurd nesting
        raise DataError(f"{source}: the {what} cannot be read: {_short(exc)}.",
                        hint or "Fix the value, or delete the file to start again.") from None


def read_yaml_file(path: str | Path, what: str = "file", limit: int = CONFIG_LIMIT, hint: str | None = None) -> Any:
    """Parse a YAML file safely, with size and depth limits; DataError naming the file and line on failure."""
    return parse_yaml(read_text_limited(path, limit, what), str(path), what, hint)


def parse_yaml(text: str, source: str, what: str = "file", hint: str | None = None) -> Any:
    """Parse YAML text (safe loader, nesting at most YAML_MAX_DEPTH); DataError instead of any parser failure."""
    import yaml

    hint = hint or "Fix the YAML: one `key: value` per line; quote text containing ':' or '#'."
    try:
        return yaml.load(text, Loader=_depth_limited_loader())  # noqa: S506 - a SafeLoader subclass
    except _TooDeep as exc:
        raise DataError(f"{source}:{exc.line}: the {what} nests deeper than {YAML_MAX_DEPTH} levels.", hint) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise DataError(f"{source}{where}: the {what} is not valid YAML: {problem}.", hint) from None
    except (ValueError, OverflowError, RecursionError) as exc:  # e.g. an integer of 5,000 digits
        raise DataError(f"{source}: the {what} cannot be read: {_short(exc)}.", hint) from None


class _TooDeep(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


def _depth_limited_loader():
    import yaml

    class Loader(yaml.SafeLoader):
        _depth = 0

        def compose_node(self, parent, index):  # type: ignore[override]
            self._depth += 1
            try:
                if self._depth > YAML_MAX_DEPTH:
                    raise _TooDeep(self.peek_event().start_mark.line + 1)
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1

        def construct_mapping(self, node, deep=False):  # type: ignore[override]
            # A key given twice is an error naming both lines: YAML would silently keep the last value.
            if isinstance(node, yaml.MappingNode):
                first: dict[tuple[str, str], int] = {}
                for key_node, _ in node.value:
                    if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                        continue
                    key = (key_node.tag, key_node.value)
                    if key in first:
                        raise yaml.constructor.ConstructorError(
                            None, None, f"the key {key_node.value[:80]!r} is given twice (first on line {first[key]})",
                            key_node.start_mark)
                    first[key] = key_node.start_mark.line + 1
            return super().construct_mapping(node, deep=deep)

    return Loader


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if "Exceeds the limit" in text and "digits" in text:
        return "a number has too many digits"
    return text if len(text) < 200 else text[:200] + "…"
