"""Writing files and folders so that nothing is ever half-written (built under a temporary name beside the
target, then renamed), hashing files, and checking an output folder up front, before any expensive work, so a
bad --out fails in a second. The one home of atomic writes: text, JSON Lines, many files, a whole folder."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import stat
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from curation.errors import UsageError
from curation.safe_read import file_kind

#: The names staging_path gives: .NAME.PID-TAG.tmp (being built) and .NAME.PID-TAG.old (the version being replaced).
STAGING_NAME = re.compile(r"^\.(?P<name>.+)\.(?:(?P<pid>\d+)-)?[0-9a-f]{8}\.(?:tmp|old)$")


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


def write_jsonl_atomic(path: str | Path, records: Iterable[Any]) -> None:
    """Write records as JSON Lines (curation.jsonl's format) to path atomically."""
    from curation.jsonl import dumps_lines

    write_text_atomic(path, dumps_lines(records))


def write_files_atomic(folder: str | Path, texts: dict[str, str], stale: Iterable[str] = (),
                       what: str = "output folder") -> None:
    """Write several files into folder: every one is staged first, then each is moved into place.

    `stale` names files that no longer describe the output and are deleted after the move. An OSError (disk
    full, no permission, a file where the folder should be) becomes a UsageError naming the folder; when it
    happens while staging, no file in the folder was changed. The staging folder is always removed.
    """
    folder = Path(folder)
    moving = False
    staging: Path | None = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".tunewise-", dir=folder))
        for name, text in texts.items():
            (staging / name).write_text(text, encoding="utf-8")
        moving = True
        for name in texts:
            os.replace(staging / name, folder / name)
        for name in stale:
            if name not in texts and os.path.lexists(folder / name):
                os.remove(folder / name)
    except OSError as exc:
        raise output_error(exc, folder, what, changed=moving) from None
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)


def sha256_file(path: str | Path) -> str:
    """The SHA-256 hex digest of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def staging_path(target: str | Path, kind: str = "tmp", tag: str | None = None) -> Path:
    """A name beside target for building it (kind "tmp") or for moving its old version aside ("old")."""
    target = Path(target)
    tag = tag or f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    return target.with_name(f".{target.name}.{tag}.{kind}")


def remove_path(path: str | Path) -> None:
    """Delete a file, link or folder if it exists (never following a link); errors are ignored."""
    path = Path(path)
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    except OSError:
        pass


def process_alive(pid: int | None) -> bool:
    """Whether a process with this id runs here (None: a name without one, treated as dead)."""
    if pid is None:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError, ValueError):  # gone, or a number no process can have
        return False
    except OSError:  # PermissionError: another user's process
        return True
    return True


def remove_stale_staging(folder: str | Path, names: Iterable[str] | None = None) -> None:
    """Delete what killed writers left in folder (.NAME.PID-TAG.tmp/.old of a process that is gone).

    A target left absent by a swap that died between its two renames gets its old, complete version back.
    `names` limits the clean-up to those targets; a running writer's names are kept.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return
    wanted = set(names) if names is not None else None
    for path in sorted(folder.iterdir()):
        match = STAGING_NAME.match(path.name)
        if not match or (wanted is not None and match["name"] not in wanted):
            continue
        if process_alive(int(match["pid"]) if match["pid"] else None):
            continue
        target = folder / match["name"]
        if path.name.endswith(".old") and not os.path.lexists(target):
            try:
                os.replace(path, target)
                continue
            except OSError:
                pass
        remove_path(path)


def replace_folder(staging: str | Path, target: str | Path) -> None:
    """Swap a complete staging folder into target's place: the old target is moved aside first, then deleted.

    Whatever stands at target (a folder, a file, a link) is replaced. If the process dies between the two
    renames, target is absent and its old version waits beside it for remove_stale_staging to put back.
    """
    staging, target = Path(staging), Path(target)
    old = staging_path(target, "old")
    if target.is_symlink() or (os.path.lexists(target) and not target.is_dir()):
        target.unlink()
    elif target.exists():
        os.replace(target, old)
    try:
        os.replace(staging, target)
    except BaseException:
        if os.path.lexists(old) and not os.path.lexists(target):
            os.replace(old, target)  # put the old version back: target stays as it was
        raise
    remove_path(old)


@contextmanager
def staged_folder(target: str | Path) -> Iterator[Path]:
    """Build a folder under a staging name beside target, then swap it in: target is complete or as it was.

    Leftovers of an earlier swap that was killed are dealt with first (remove_stale_staging). If the block
    raises, the staging folder is deleted and target is untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(target.parent, [target.name])
    staging = staging_path(target)
    staging.mkdir()
    try:
        yield staging
        replace_folder(staging, target)
    except BaseException:
        remove_path(staging)
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
