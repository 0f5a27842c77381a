"""Atomic writes: a folder swapped in complete or not at all (leftovers of a killed swap dealt with), several
files staged then moved, the file hash."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest

from curation.errors import UsageError
from curation.files import (
    process_alive,
    remove_stale_staging,
    sha256_file,
    staged_folder,
    staging_path,
    write_files_atomic,
    write_jsonl_atomic,
)


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def test_sha256_file_is_the_digest_of_the_bytes(tmp_path):
    data = os.urandom(3 << 20)  # more than one read block
    (tmp_path / "blob").write_bytes(data)
    assert sha256_file(tmp_path / "blob") == hashlib.sha256(data).hexdigest()


def test_staged_folder_replaces_the_target_whole(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with staged_folder(target) as staging:
        assert staging.parent == tmp_path and staging.name.startswith(".out.")
        (staging / "new.txt").write_text("new")
        assert (target / "old.txt").exists()  # untouched while the new one is built
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # nothing staged is left beside it


def test_staged_folder_that_fails_leaves_the_target_as_it_was_or_absent(tmp_path):
    target = tmp_path / "out"
    with pytest.raises(RuntimeError):
        with staged_folder(target) as staging:
            (staging / "half.txt").write_text("half")
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []  # absent, no staging folder
    target.mkdir()
    (target / "keep.txt").write_text("keep")
    with pytest.raises(KeyboardInterrupt):
        with staged_folder(target) as staging:
            raise KeyboardInterrupt
    assert [p.name for p in tmp_path.iterdir()] == ["out"] and (target / "keep.txt").read_text() == "keep"


def test_a_killed_swap_is_dealt_with_by_the_next_one(tmp_path):
    dead = _dead_pid()
    target = tmp_path / "out"
    half = staging_path(target, "tmp", f"{dead}-0123abcd")  # a build killed while writing
    half.mkdir()
    (half / "half.txt").write_text("half")
    old = staging_path(target, "old", f"{dead}-89abcdef")  # killed between moving the old aside and the new in
    old.mkdir()
    (old / "complete.txt").write_text("complete")
    running = staging_path(target, "tmp", f"{os.getpid()}-fedcba98")  # a live writer's: kept
    running.mkdir()
    remove_stale_staging(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["out", running.name])
    assert [p.name for p in target.iterdir()] == ["complete.txt"]  # the old, complete version is back
    running.rmdir()
    half.mkdir()
    with staged_folder(target) as staging:
        (staging / "new.txt").write_text("new")
    assert [p.name for p in tmp_path.iterdir()] == ["out"] and [p.name for p in target.iterdir()] == ["new.txt"]


def test_process_alive():
    assert process_alive(os.getpid()) and not process_alive(_dead_pid()) and not process_alive(None)


def test_write_files_atomic_moves_every_file_and_drops_stale_ones(tmp_path):
    (tmp_path / "rejected.jsonl").write_text("old\n")
    (tmp_path / "mine.txt").write_text("keep")
    write_files_atomic(tmp_path, {"a.txt": "A", "b.txt": "B"}, stale=("rejected.jsonl",))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt", "mine.txt"]
    assert (tmp_path / "a.txt").read_text() == "A"


def test_write_files_atomic_failing_while_staging_changes_nothing(tmp_path):
    (tmp_path / "a.txt").write_text("before")
    with pytest.raises(UsageError, match="Nothing there was changed"):
        write_files_atomic(tmp_path, {"a.txt": "after", "bad/b.txt": "no such folder"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"] and (tmp_path / "a.txt").read_text() == "before"


def test_write_jsonl_atomic_writes_one_record_per_line(tmp_path):
    write_jsonl_atomic(tmp_path / "deep" / "r.jsonl", [{"a": "x\u2028y"}, {"b": 2}])
    assert (tmp_path / "deep" / "r.jsonl").read_text(encoding="utf-8") == '{"a": "x\\u2028y"}\n{"b": 2}\n'
