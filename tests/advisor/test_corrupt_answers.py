"""`tunewise advise` on hostile inputs: every corrupt answers.yaml or report.json is a clean message, never a traceback.

Each case goes through the real CLI and checks the exit code (1 data error, 2 usage error), that the message names
the file (and the line where there is one), that no traceback is printed and that the input is left as it was.
"""

from __future__ import annotations

import json
import os
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from advisor.cli import cli
from advisor.interview import Answers, save_answers
from tests.advisor.test_cli_advise import VOICE  # the same valid interview, corrupted one way per test

REPORT = {"counts": {"valid": 40, "kept": 38},
          "tokens": {"per_example": {"median": 300, "p90": 400, "max": 600, "total": 11400}, "assistant": {"median": 100}},
          "cost": {}}


def _advise(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, ["advise", *args], input=input)


def _snapshot(path: Path) -> bytes | str:
    """What is at path now: a regular file's bytes, or the kind of thing it is (a FIFO must stay a FIFO)."""
    if path.is_symlink():
        return "link -> " + os.readlink(path)
    return path.read_bytes() if path.is_file() else f"mode {path.stat().st_mode:o}"


def _check_refused(result, path: Path, before, exit_code: int, *fragments: str) -> None:
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output and not (result.exception and not isinstance(result.exception, SystemExit))
    assert str(path) in result.stderr  # names the file
    assert "Hint:" in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
    assert _snapshot(path) == before  # the input is untouched


@contextmanager
def _unblock_if_hung(fifo: Path, after: float = 10.0):
    """If a reader blocks opening the FIFO, open its other end after a while so the test fails instead of hanging."""

    def release() -> None:
        try:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass  # nobody is reading it: good

    timer = threading.Timer(after, release)
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


ANSWERS_CASES = {
    # name: (content, exit code, fragments of the message)
    "nested-10k-deep": ("examples: " + "[" * 10_000 + "]" * 10_000 + "\n", 1, [":1: ", "nests deeper than 64 levels"]),
    "nested-mappings": ("".join("  " * i + f"k{i}:\n" for i in range(200)), 1, ["nests deeper"]),
    "5000-digit-int": ("task: tickets\nexamples: " + "9" * 5000 + "\n", 1, [":2: ", "too many digits"]),
    "4000-digit-int": ("examples: " + "9" * 4000 + "\n", 1, [":1: ", "'examples'", "too large"]),
    "huge-hex-int": ("requests_per_day: 0x" + "f" * 5000 + "\n", 1, ["'requests_per_day'", "too large"]),
    "over-the-limit": ("examples: 10000000000000\n", 1, ["'examples'", "too large", "between 0 and 10,000,000"]),
    "requests-beyond-any-product": ("requests_per_day: 5000000000\n", 1, [":1:", "too large", "1,000,000,000"]),
    "option-by-position": ("task: tag tickets\nbudget: 3\n", 1, [":2:", "'budget'", "a position, not a choice", "ample"]),
    "duplicated-key": ("examples: 300\nbudget: ample\nexamples: 5\n", 1, [":3:", "'examples' is given twice",
                                                                             "first on line 1"]),
    "int-as-task-text": ("task: 0x" + "f" * 5000 + "\n", 1, ["'task'", "too long"]),
    "inf": ("examples: .inf\n", 1, ["'examples'", "finite"]),
    "nan": ("requests_per_day: .nan\n", 1, ["'requests_per_day'", "finite"]),
    "exponent-overflow": ("requests_per_day: 1e400\n", 1, ["'requests_per_day'", "finite"]),
    "bad-date": ("task: x\nexamples: 2024-13-45\n", 1, [":2: ", "month"]),
    "not-utf8": (b"task: caf\xe9\n", 1, [":1: ", "UTF-8"]),
    "list-not-mapping": ("- task: x\n- examples: 3\n", 1, ["must be a mapping"]),
    "scalar-not-mapping": ("just some text\n", 1, ["must be a mapping"]),
    "billion-laughs": ("a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                       "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                       "budget: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n", 1, ["Unknown question id 'a'"]),
    "laughs-in-a-choice": ("budget: &a [x, x]\noutput_kind: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n", 1, ["'budget'", "a list"]),
    "self-referencing-list": ("budget: &a [*a]\n", 1, ["'budget'", "a list"]),
    "giant-unknown-key": ("? " + "x" * 100_000 + "\n: 1\n", 1, ["Unknown question id", "100,000 characters"]),
    "bad-yaml": ("examples: [1, 2\n", 1, [":2:1: ", "not valid YAML"]),
    "tab-indent": ("task:\n\t- x\n", 1, ["not valid YAML"]),
}


@pytest.mark.parametrize("case", list(ANSWERS_CASES))
def test_corrupt_answers_file_is_a_clean_error(tmp_path, case):
    content, code, fragments = ANSWERS_CASES[case]
    path = tmp_path / "answers.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    before = _snapshot(path)
    result = _advise("--answers", str(path), "--no-ask", "--save-answers", str(tmp_path / "saved.yaml"))
    _check_refused(result, path, before, code, *fragments)
    assert not (tmp_path / "saved.yaml").exists()  # nothing half-done is written


def test_oversized_answers_file_is_refused_unread(tmp_path, monkeypatch):
    monkeypatch.setattr("advisor.interview.CONFIG_LIMIT", 1000)
    path = tmp_path / "answers.yaml"
    path.write_text("task: " + "word " * 1000 + "\n")
    before = _snapshot(path)
    _check_refused(_advise("--answers", str(path), "--no-ask"), path, before, 1, "larger than the limit")


def test_fifo_is_refused_without_hanging(tmp_path):
    path = tmp_path / "answers.yaml"
    os.mkfifo(path)
    before = _snapshot(path)
    with _unblock_if_hung(path):
        result = _advise("--answers", str(path), "--no-ask")
    _check_refused(result, path, before, 2, "named pipe")


def test_fifo_in_the_working_folder_is_not_read(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    os.mkfifo(tmp_path / "answers.yaml")
    with _unblock_if_hung(tmp_path / "answers.yaml"):
        result = _advise("--no-ask", "--json")
    assert result.exit_code in (0, 2), result.output  # ignored as not a file, or refused: never read, never a hang
    assert "Traceback" not in result.output


@pytest.mark.parametrize("kind", ["loop", "broken", "device"])
def test_links_and_devices_are_refused_by_type(tmp_path, kind):
    path = tmp_path / "answers.yaml"
    if kind == "loop":
        os.symlink(tmp_path / "other.yaml", path)
        os.symlink(path, tmp_path / "other.yaml")
        fragment = "symbolic link loop"
    elif kind == "broken":
        os.symlink(tmp_path / "nowhere.yaml", path)
        fragment = "broken symbolic link"
    else:
        path = Path(os.devnull)
        fragment = "a device"
    before = _snapshot(path)
    _check_refused(_advise("--answers", str(path), "--no-ask"), path, before, 2, fragment)


def test_missing_answers_file_keeps_its_message(tmp_path):
    path = tmp_path / "nope.yaml"
    result = _advise("--answers", str(path), "--no-ask")
    assert result.exit_code == 2 and f"Answers file {path} not found." in result.stderr
    assert "Traceback" not in result.output


def test_typed_answers_are_bounded_too(tmp_path):
    """At the prompt, absurd numbers are explained and asked again, never a crash."""
    path = tmp_path / "answers.yaml"
    save_answers(Answers.from_dict({k: v for k, v in VOICE.items() if k != "requests_per_day"}), path)
    before = _snapshot(path)
    typed = "\n".join(["9" * 5000, "1e400", "nan", "-inf", "10000000000000", "250"]) + "\n"
    result = _advise("--answers", str(path), "--ask", "--json", input=typed)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert result.stderr.count("too large") == 2 and result.stderr.count("expected a finite number") == 3
    assert json.loads(result.stdout)["answers"]["requests_per_day"] == 250
    assert _snapshot(path) == before


REPORT_CASES = {
    "not-json": ('{"counts": ', 1, [":1:12: ", "not valid JSON"]),
    "nested-100k-deep": ("[" * 100_000, 1, ["cannot be read"]),
    "5000-digit-int": (json.dumps(REPORT).replace("40", "9" * 5000), 1, ["too many digits"]),
    "infinity": (json.dumps(REPORT).replace("300", "1e400"), 1, ["tokens.per_example.median", "inf"]),
    "nan": (json.dumps(REPORT).replace("300", "NaN"), 1, ["tokens.per_example.median", "nan"]),
    "huge-count": (json.dumps(REPORT).replace("38", "9" * 4000), 1, ["counts.kept"]),
    "a-list": ("[]", 1, ["not a curation report"]),
    "text-cost": (json.dumps({**REPORT, "cost": {"hosted": [{"model": "m", "provider": "p", "cost": "cheap"}]}}), 1,
                  ["cost.hosted[0].cost"]),
    "bad-clusters": (json.dumps({**REPORT, "clusters": {"items": ["x"]}}), 1, ["clusters.items"]),
    "string-keywords": (json.dumps({**REPORT, "clusters": {"items": [{"size": 3, "keywords": "abc"}]}}), 1, ["keywords"]),
    "not-utf8": (b'{"counts": "\xff"}', 1, ["UTF-8"]),
}


@pytest.mark.parametrize("case", list(REPORT_CASES))
def test_corrupt_report_json_is_a_clean_error(tmp_path, case):
    content, code, fragments = REPORT_CASES[case]
    folder = tmp_path / "curated"
    folder.mkdir()
    path = folder / "report.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    before = _snapshot(path)
    _check_refused(_advise("--data", str(folder), "--no-ask", "--json"), path, before, code, *fragments)


def test_sound_minimal_report_still_works(tmp_path):
    folder = tmp_path / "curated"
    folder.mkdir()
    (folder / "report.json").write_text(json.dumps(REPORT))
    (folder / "clean.jsonl").write_text('{"messages": 3}\n[1]\nnot json\n')  # only refines the shape: ignored if bad
    result = _advise("--data", str(folder), "--no-ask", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["evidence"]["kept"] == 38


def test_fifo_report_json_does_not_hang(tmp_path):
    folder = tmp_path / "curated"
    folder.mkdir()
    os.mkfifo(folder / "report.json")
    with _unblock_if_hung(folder / "report.json"):
        result = _advise("--data", str(folder), "--no-ask")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert str(folder) in result.stderr
