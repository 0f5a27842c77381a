"""Output for machines is never re-flowed, and user text is never read as markup."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from advisor import cli_output
from advisor.cli import cli

SMALL = Path(__file__).parent.parent / "fixtures" / "small_chat.jsonl"


@pytest.mark.parametrize("columns", ["20", "500"])
def test_error_for_a_long_path_is_one_whole_line(tmp_path, columns):
    deep = tmp_path.joinpath(*(["a-rather-long-folder-name-for-this-test"] * 6))
    missing = deep / "examples.jsonl"
    result = CliRunner(env={"COLUMNS": columns}).invoke(cli, ["curate", str(missing), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert any(str(missing) in line for line in lines), result.stderr  # the whole path on one line
    assert all(len(line) < 400 for line in lines if str(missing) not in line)
    assert not (tmp_path / "out").exists()


def test_markup_in_a_missing_path_is_shown_verbatim(tmp_path):
    missing = tmp_path / "missing[/x].jsonl"
    result = CliRunner().invoke(cli, ["curate", str(missing), "--out", str(tmp_path / "out[/x]")])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "MarkupError" not in result.output
    assert "missing[/x].jsonl" in result.stderr


def test_markup_in_the_out_folder_is_written_and_echoed_verbatim(tmp_path):
    out = tmp_path / "out[/x][bold]"
    result = CliRunner().invoke(cli, ["curate", str(SMALL), "--out", str(out), "--eval-fraction", "0.2"])
    assert result.exit_code == 0, result.output
    assert (out / "report.md").is_file()
    assert f"to {out}/" in result.stdout  # verbatim, brackets and all


def test_reports_to_a_pipe_are_their_markdown_source(monkeypatch):
    buffer = io.StringIO()
    monkeypatch.setattr("sys.stdout", buffer)
    text = "# Title [bold]not markup[/bold]\n\n" + "word " * 200 + "\n"
    cli_output.print_markdown(text)
    assert buffer.getvalue() == text


def test_messages_to_a_pipe_are_never_wrapped(monkeypatch):
    buffer = io.StringIO()
    monkeypatch.setattr("sys.stderr", buffer)
    monkeypatch.setenv("COLUMNS", "20")
    cli_output.say("x" * 300, " [red]kept[/red] ", ("styled", "bold"))
    assert buffer.getvalue() == "x" * 300 + " [red]kept[/red] styled\n"


def test_a_terminal_gets_soft_wrapping(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdout", Tty())
    console = cli_output.make_console()
    assert console.soft_wrap is True
