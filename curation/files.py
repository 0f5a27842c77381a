"""Writing files so that nothing is ever half-written (a temporary file in the same folder, then a rename),
and checking an output folder up front, before any expensive work, so a bad --out fails in a second."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

from curation.errors import UsageError
from curation.safe_read import file_kind


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write text (UTF-8) to path atomically; the folder is created if needed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_output_dir(path: str | Path, what: str = "output folder") -> Path:
    """Make sure path is, or can be created as, a folder we can write in; UsageError naming the culprit if not.

    Nothing is created: an existing folder, or else its nearest existing ancestor, must be a folder in which a
    temporary file can be created (and is deleted again). Run it before any expensive work.
    """
    path = Path(path)
    probe = path
    while True:
        try:
            info = os.stat(probe)
            break
        except (FileNotFoundError, NotADirectoryError):
            if os.path.islink(probe):
                raise UsageError(f"The {what} {path} cannot be created: {probe} is a broken symbolic link.",
                                 "Remove the link or choose another folder.") from None
            if probe.parent == probe:
                raise UsageError(f"The {what} {path} cannot be created.", "Choose another folder.") from None
            probe = probe.parent
        except OSError as exc:
            raise output_error(exc, path, what) from None
        except ValueError:  # a NUL byte in the path
            raise UsageError(f"The {what} {str(path)!r} is not a valid path (it holds a NUL byte).", "Choose another folder.") from None
    if not stat.S_ISDIR(info.st_mode):
        kind = file_kind(info.st_mode) or "a file"
        if probe == path:
            raise UsageError(f"The {what} {path} is {kind}, not a folder.", "Choose a folder (it is created if missing).")
        raise UsageError(f"The {what} {path} cannot be created: {probe} is {kind}, not a folder.",
                         f"Move {probe} out of the way, or choose another folder.")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".tunewise-check-", dir=probe)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        where = f"the {what} {path}" if probe == path else f"{probe} (to create the {what} {path})"
        raise UsageError(f"Cannot write in {where}: {exc.strerror or exc}.", _hint(exc.errno)) from None
    return path


def output_error(exc: OSError, path: str | Path, what: str = "output folder", changed: bool = False) -> UsageError:
    """The message for an OSError met while writing into path (disk full, no permission, read-only, ...)."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.errno == errno.ELOOP:
        reason = "a symbolic link loop"
    note = " Some files there may already be replaced: run again once this is fixed." if changed else " Nothing there was changed."
    culprit = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(path) else ""
    return UsageError(f"Could not write the {what} {path}{culprit}: {reason}.{note}", _hint(exc.errno))


def _hint(code: int | None) -> str:
    if code in (errno.ENOSPC, errno.EDQUOT):
        return "Free some disk space, or choose a folder on another disk."
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "Choose a folder you can write to."
    if code in (errno.ENOTDIR, errno.EEXIST):
        return "A file stands where a folder is needed: choose another folder."
    if code == errno.ENAMETOOLONG:
        return "Choose a shorter path."
    return "Check the folder, or choose another one."
