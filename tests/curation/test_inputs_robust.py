"""No traceback from any input: odd files and bad output folders are messages, found before any expensive work.

Every CLI test here runs with the tokenizer and the embedder replaced by tripwires, so passing proves the
error came before a model was loaded; the output-folder tests also trip on reading the inputs.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from advisor.cli import cli
from curation.embed import Embedder, EmbeddingCache
from curation.errors import UsageError
from curation.files import check_output_dir

GOOD = json.dumps({"messages": [{"role": "user", "content": "Hi?"}, {"role": "assistant", "content": "Hello."}]}) + "\n"


def _tripwire(what: str):
    def trip(*args, **kwargs):
        raise AssertionError(f"{what} ran before the error was found")

    return trip


@pytest.fixture(autouse=True)
def no_models(monkeypatch):
    """Loading the tokenizer or the embedder fails the test: every error here must come before them."""
    import curation.embed
    import curation.model_sources

    monkeypatch.setattr(curation.model_sources, "load_tokenizer", _tripwire("load_tokenizer"))
    monkeypatch.setattr(curation.embed.Embedder, "model", property(_tripwire("the embedding model")))


@pytest.fixture
def good(tmp_path: Path) -> Path:
    path = tmp_path / "good.jsonl"
    path.write_text(GOOD, encoding="utf-8")
    return path


def curate(*args: str | Path) -> tuple[int, str]:
    """Run `tunewise curate ARGS` in-process; the exit code and all output. Anything but a clean exit fails."""
    result = CliRunner().invoke(cli, ["curate", *map(str, args)])
    assert isinstance(result.exception, SystemExit), result.exception  # a TunewiseError became an exit, no more
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def assert_nothing_written(out: Path) -> None:
    assert not out.exists(), f"{out} was created"


# ---- inputs -------------------------------------------------------------------------------------------------


def test_symlink_loop_input(tmp_path: Path) -> None:
    loop = tmp_path / "loop.jsonl"
    loop.symlink_to(loop)
    code, output = curate(loop, "--out", tmp_path / "out")
    assert code == 2 and str(loop) in output and "symbolic link loop" in output and "Hint:" in output
    assert_nothing_written(tmp_path / "out")


def test_symlink_to_dev_zero_is_refused_not_read(tmp_path: Path, monkeypatch, deadline) -> None:
    monkeypatch.setenv("TUNEWISE_MAX_FILE_BYTES", str(1 << 20))  # should it be read after all, stop soon
    zero = tmp_path / "zero.jsonl"
    zero.symlink_to("/dev/zero")
    code, output = curate(zero, "--out", tmp_path / "out")
    assert code == 2 and str(zero) in output and "a device" in output
    assert_nothing_written(tmp_path / "out")


def test_fifo_input_is_refused_without_hanging(tmp_path: Path) -> None:
    """A real process, so that a regression (opening the FIFO blocks forever) fails on the timeout, not hangs."""
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    out = tmp_path / "out"
    code = "import sys; from advisor.cli import cli; sys.argv = ['tunewise', 'curate', sys.argv[1], '--out', sys.argv[2]]; cli()"
    done = subprocess.run([sys.executable, "-c", code, str(fifo), str(out)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "Traceback" not in output and str(fifo) in output and "named pipe (FIFO)" in output
    assert_nothing_written(out)


def test_fifo_in_a_folder_is_named_not_skipped(tmp_path: Path, deadline) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "good.jsonl").write_text(GOOD)
    os.mkfifo(folder / "pipe.jsonl")
    code, output = curate(folder, "--out", tmp_path / "out")
    assert code == 2 and str(folder / "pipe.jsonl") in output and "named pipe (FIFO)" in output
    assert_nothing_written(tmp_path / "out")


def test_file_over_the_size_limit(tmp_path: Path, good: Path, monkeypatch) -> None:
    monkeypatch.setenv("TUNEWISE_MAX_FILE_BYTES", "10")
    code, output = curate(good, "--out", tmp_path / "out")
    assert code == 1 and str(good) in output and "larger than the limit of 10 bytes" in output
    assert "TUNEWISE_MAX_FILE_BYTES" in output
    assert_nothing_written(tmp_path / "out")


# ---- the output folder: checked before the inputs are even read ---------------------------------------------


@pytest.fixture
def no_reading(monkeypatch):
    """Reading the inputs fails the test: the output folder must be checked first."""
    import curation.curate_files

    monkeypatch.setattr(curation.curate_files, "load_files", _tripwire("reading the inputs"))


def test_out_whose_parent_is_a_file(tmp_path: Path, good: Path, no_reading) -> None:
    blocker = tmp_path / "notes.txt"
    blocker.write_text("not a folder")
    out = blocker / "out"
    code, output = curate(good, "--out", out)
    assert code == 2 and str(out) in output and f"{blocker} is a file" in output and "Hint:" in output
    assert blocker.read_text() == "not a folder"


def test_out_deeper_under_a_file(tmp_path: Path, good: Path, no_reading) -> None:
    blocker = tmp_path / "notes.txt"
    blocker.write_text("not a folder")
    code, output = curate(good, "--out", blocker / "a" / "b")
    assert code == 2 and f"{blocker} is a file" in output


def _root_cannot_write(folder: str) -> bool:
    try:
        fd, tmp = tempfile.mkstemp(dir=folder)
    except OSError:
        return True
    os.close(fd)
    os.unlink(tmp)
    return False


@pytest.mark.skipif(not os.path.isdir("/sys") or not _root_cannot_write("/sys"), reason="needs a /sys nobody can write in")
def test_out_in_a_folder_nobody_can_write(tmp_path: Path, good: Path, no_reading) -> None:
    """/sys refuses new files even to root, so this runs in CI (as root) too."""
    out = Path("/sys/tunewise-test-out")
    code, output = curate(good, "--out", out)
    assert code == 2 and str(out) in output and "Cannot write in /sys (to create" in output and "Hint:" in output
    assert_nothing_written(out)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes in read-only folders")
def test_out_in_a_read_only_folder(tmp_path: Path, good: Path, no_reading) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        code, output = curate(good, "--out", locked / "out")
        code2, output2 = curate(good, "--out", locked)
    finally:
        locked.chmod(0o700)
    assert code == 2 and str(locked) in output and "Permission denied" in output
    assert code2 == 2 and str(locked) in output2
    assert list(locked.iterdir()) == []


def test_out_that_is_a_broken_link(tmp_path: Path, good: Path, no_reading) -> None:
    out = tmp_path / "out"
    out.symlink_to(tmp_path / "gone" / "away")
    code, output = curate(good, "--out", out)
    assert code == 2 and str(out) in output and "broken symbolic link" in output


def test_out_that_is_a_link_loop(tmp_path: Path, good: Path, no_reading) -> None:
    out = tmp_path / "out"
    out.symlink_to(out)
    code, output = curate(good, "--out", out)
    assert code == 2 and str(out) in output


# ---- check_output_dir and write_outputs ---------------------------------------------------------------------


def test_check_output_dir_creates_nothing(tmp_path: Path) -> None:
    assert check_output_dir(tmp_path / "a" / "b") == tmp_path / "a" / "b"
    assert check_output_dir(tmp_path) == tmp_path
    assert list(tmp_path.iterdir()) == []  # neither the folders nor the probe file are left


def test_check_output_dir_refuses_a_file(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_text("x")
    with pytest.raises(UsageError, match="is a file, not a folder"):
        check_output_dir(path)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(UsageError, match=r"pipe is a named pipe \(FIFO\), not a folder"):
        check_output_dir(fifo)


def test_check_output_dir_reports_a_folder_it_cannot_write_in(tmp_path: Path, monkeypatch) -> None:
    """What a read-only folder does to a normal user, simulated so that it runs as root too."""
    import curation.files

    def refused(*args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(curation.files.tempfile, "mkstemp", refused)
    with pytest.raises(UsageError) as err:
        check_output_dir(tmp_path / "out")
    assert f"Cannot write in {tmp_path} (to create the output folder {tmp_path / 'out'})" in err.value.message
    assert "Permission denied" in err.value.message and err.value.hint == "Choose a folder you can write to."
    with pytest.raises(UsageError, match=f"Cannot write in the output folder {tmp_path}: Permission denied"):
        check_output_dir(tmp_path)


def _tiny_result():
    """write_outputs only needs output_texts; give it a stub so no model is involved."""
    return object(), {}, []


def test_disk_full_while_writing_is_a_message_and_changes_nothing(tmp_path: Path, monkeypatch) -> None:
    import curation.curate_files

    out = tmp_path / "out"
    out.mkdir()
    (out / "clean.jsonl").write_text("earlier run\n")
    monkeypatch.setattr(curation.curate_files, "output_texts", lambda *a: {"clean.jsonl": "new\n", "report.md": "# new\n"})

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))

    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(UsageError) as err:
        curation.curate_files.write_outputs(out, *_tiny_result())
    monkeypatch.undo()
    assert str(out) in err.value.message and "No space left" in err.value.message and "Nothing there was changed" in err.value.message
    assert "disk space" in err.value.hint
    assert sorted(p.name for p in out.iterdir()) == ["clean.jsonl"]  # no staging folder left behind
    assert (out / "clean.jsonl").read_text() == "earlier run\n"


def test_out_replaced_by_a_file_before_writing_is_a_message(tmp_path: Path, monkeypatch) -> None:
    import curation.curate_files

    out = tmp_path / "out"
    out.write_text("a file now")
    monkeypatch.setattr(curation.curate_files, "output_texts", lambda *a: {"clean.jsonl": "new\n"})
    with pytest.raises(UsageError) as err:
        curation.curate_files.write_outputs(out, *_tiny_result())
    assert str(out) in err.value.message and out.read_text() == "a file now"


# ---- the embedding cache: a damaged shard is a cache miss, never a traceback --------------------------------


def _shard(folder: Path, name: str, keys, vectors) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(keys))
    np.save(folder / f"{name}.npy", vectors, allow_pickle=False)


def test_damaged_cache_shards_are_ignored(tmp_path: Path, deadline) -> None:
    folder = tmp_path / "cache"
    _shard(folder, "good", ["a", "b"], np.ones((2, 4), np.float32))
    (folder / "empty.json").write_text('["c"]')
    (folder / "empty.npy").write_bytes(b"")  # np.load raises EOFError on this
    (folder / "cut.json").write_text('["d"]')
    (folder / "cut.npy").write_bytes((folder / "good.npy").read_bytes()[:90])
    (folder / "badkeys.json").write_bytes(b"\xff\xfe not json")
    np.save(folder / "badkeys.npy", np.ones((1, 4), np.float32))
    _shard(folder, "notlist", 7, np.ones((1, 4), np.float32))
    _shard(folder, "nested", [["e"]], np.ones((1, 4), np.float32))
    _shard(folder, "flat", ["f"], np.ones(4, np.float32))
    _shard(folder, "scalar", ["g"], np.float32(1))
    _shard(folder, "ints", ["h"], np.ones((1, 4), np.int64))
    _shard(folder, "short", ["i", "j"], np.ones((1, 4), np.float32))
    _shard(folder, "narrow", ["k"], np.ones((1, 3), np.float32))  # another width than the rest
    (folder / "deep.json").write_text("[" * 100_000)
    np.save(folder / "deep.npy", np.ones((1, 4), np.float32))
    np.save(folder / "pickled.npy", np.array([object()], dtype=object), allow_pickle=True)
    (folder / "pickled.json").write_text('["l"]')
    os.mkfifo(folder / "pipe.json")  # opening it would block: must be refused by type
    np.save(folder / "pipe.npy", np.ones((1, 4), np.float32))
    (folder / "pipe2.json").write_text('["m"]')
    os.mkfifo(folder / "pipe2.npy")
    cache = EmbeddingCache(folder)
    assert "a" in cache and "b" in cache
    assert not any(key in cache for key in "cdefghijklm")
    assert cache.get("a").shape == (4,)


def test_cache_that_cannot_be_written_is_kept_in_memory(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cache = EmbeddingCache(blocker / "cache")
    cache.add(["a"], np.ones((1, 4), np.float32))
    assert "a" in cache and cache.write_failed is not None
    assert blocker.read_text() == "x"


def test_cached_vectors_of_another_width_are_embedded_again(tmp_path: Path, monkeypatch) -> None:
    """A cache whose shards agree on a width the model does not have cannot break the assembled array."""
    from curation.embed import text_key

    class Fake:
        def encode(self, texts, **kwargs):
            return np.ones((len(texts), 5), np.float32)

    monkeypatch.setattr(Embedder, "model", property(lambda self: Fake()))
    embedder = Embedder(cache_dir=tmp_path)
    _shard(embedder.cache.folder, "wide", [text_key("old")], np.ones((1, 3), np.float32))
    embedder.cache = EmbeddingCache(embedder.cache.folder)
    vectors = embedder.encode(["old", "new"])
    assert vectors.shape == (2, 5)
