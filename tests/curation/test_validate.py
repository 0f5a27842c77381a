"""Every validation error is reported with its code, line, field and a hint, and the rest still loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from curation.load import load_files
from curation.validate import CODES, Problem, check_csv_row, check_record

BAD = Path(__file__).parent.parent / "fixtures" / "bad"

# fixture file, code, line, field, examples still loaded from the same file
CASES = [
    ("invalid_json.jsonl", "invalid_json", 2, None, 2),
    ("not_object.jsonl", "not_object", 2, None, 2),
    ("missing_messages.jsonl", "missing_messages", 2, "messages", 2),
    ("empty_messages.jsonl", "empty_messages", 2, "messages", 2),
    ("unknown_role.jsonl", "unknown_role", 2, "messages[1].role", 2),
    ("unknown_key.jsonl", "unknown_key", 2, "source", 2),
    ("unknown_message_key.jsonl", "unknown_key", 2, "messages[1].tool_calls", 2),
    ("missing_content.jsonl", "missing_content", 2, "messages[1].content", 2),
    ("empty_content.jsonl", "empty_content", 2, "messages[0].content", 2),
    ("empty_content_weight0.jsonl", "empty_content", 2, "messages[1].content", 2),
    ("no_assistant.jsonl", "no_assistant", 2, "messages", 2),
    ("assistant_not_last.jsonl", "assistant_not_last", 2, "messages[2]", 2),
    ("missing_role.jsonl", "missing_role", 2, "messages[0].role", 2),
    ("bad_type.jsonl", "bad_type", 2, "messages[1].content", 2),
    ("bad_weight.jsonl", "bad_weight", 2, "messages[1].weight", 2),
    ("bad_id.jsonl", "bad_id", 2, "id", 2),
    ("duplicate_id.jsonl", "duplicate_id", 3, "id", 2),
    ("invalid_utf8.jsonl", "invalid_utf8", 2, None, 2),
    ("invalid_json_array.json", "invalid_json", 4, None, 2),
    ("bad_row.csv", "bad_row", 3, None, 2),
    ("empty_cell.csv", "empty_content", 3, "answer", 2),
]


@pytest.mark.parametrize(("name", "code", "line", "field", "n_good"), CASES, ids=[c[0] for c in CASES])
def test_bad_fixture_reports_exactly_its_problem(
    name: str, code: str, line: int, field: str | None, n_good: int
) -> None:
    """The one bad record is reported precisely, rejected verbatim, and the valid lines still load."""
    path = str(BAD / name)
    result = load_files([path])
    assert [(p.code, p.line, p.field) for p in result.problems] == [(code, line, field)]
    problem = result.problems[0]
    assert problem.file == path
    assert problem.message and problem.hint
    assert len(result.examples) == n_good
    assert [r.line for r in result.rejected] == [line]
    assert result.rejected[0].problems == [problem]
    assert len(result.examples) + len(result.rejected) == result.n_records


def test_invalid_json_has_column_and_raw_line() -> None:
    """A syntax error carries the column json reports, and the rejected raw text is the line verbatim."""
    path = BAD / "invalid_json.jsonl"
    result = load_files([path])
    problem = result.problems[0]
    raw_line = path.read_text(encoding="utf-8").splitlines()[1]
    assert problem.column == len(raw_line) + 1
    assert result.rejected[0].raw == raw_line
    assert result.rejected[0].to_dict()["reasons"][0]["column"] == problem.column


def test_invalid_utf8_raw_is_backslash_escaped() -> None:
    """Undecodable bytes appear as \\xNN in the rejected raw text; the column is the bad byte's position."""
    path = BAD / "invalid_utf8.jsonl"
    result = load_files([path])
    assert "caf\\xe9" in result.rejected[0].raw
    assert result.problems[0].column == path.read_bytes().split(b"\n")[1].index(b"\xe9") + 1
    assert [e.line for e in result.examples] == [1, 3]


def test_bom_is_reported_and_everything_still_loads() -> None:
    """A UTF-8 BOM is a problem on line 1, but both records load."""
    path = BAD / "bom.jsonl"
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    result = load_files([path])
    assert [(p.code, p.line, p.field) for p in result.problems] == [("bom", 1, None)]
    assert result.problems[0].hint == "save the file as UTF-8 without BOM"
    assert len(result.examples) == 2 and result.rejected == []


def test_empty_file_is_a_problem_on_line_zero() -> None:
    """Blank lines are skipped; a file with no records is one problem on line 0."""
    result = load_files([BAD / "empty_file.jsonl"])
    assert [(p.code, p.line) for p in result.problems] == [("empty_file", 0)]
    assert result.n_records == 0


def test_unknown_format_lists_formats_and_option() -> None:
    """Keys that match no format give one unknown_format problem naming the formats and --format."""
    result = load_files([BAD / "unknown_format.jsonl"])
    assert [(p.code, p.line) for p in result.problems] == [("unknown_format", 1)]
    hint = result.problems[0].hint
    assert "--format" in hint and all(
        name in hint for name in ("chat", "completion", "alpaca", "sharegpt", "csv")
    )
    assert result.formats[str(BAD / "unknown_format.jsonl")] == "unknown"


def test_bad_column_names_available_columns() -> None:
    """A CSV without a known output column reports the header's columns."""
    result = load_files([BAD / "bad_column.csv"])
    assert [(p.code, p.line) for p in result.problems] == [("bad_column", 1)]
    assert "question, reply" in result.problems[0].message
    assert "--output-column" in result.problems[0].hint


def test_file_with_several_errors_reports_all() -> None:
    """Every problem of every line is reported, several per line where a line has several."""
    result = load_files([BAD / "several_errors.jsonl"])
    got = [(p.line, p.code, p.field) for p in result.problems]
    assert got == [
        (2, "invalid_json", None),
        (3, "unknown_key", "extra"),
        (3, "unknown_role", "messages[0].role"),
        (3, "empty_content", "messages[0].content"),
        (4, "not_object", None),
        (6, "bad_type", "messages"),
        (7, "assistant_not_last", "messages[2]"),
        (7, "duplicate_id", "id"),
        (10, "no_assistant", "messages"),
    ]
    assert [e.line for e in result.examples] == [1, 5, 9]
    assert [r.line for r in result.rejected] == [2, 3, 4, 6, 7, 10]
    assert result.n_records == 9


def test_problem_format_is_one_readable_line() -> None:
    """format() gives file:line:col: field: message — hint."""
    problem = Problem(
        "data.jsonl",
        12,
        "unknown_role",
        "unknown role 'bot'",
        "use one of system, user, assistant",
        "messages[2].role",
        5,
    )
    assert (
        problem.format()
        == "data.jsonl:12:5: messages[2].role: unknown role 'bot' — use one of system, user, assistant"
    )
    assert (
        Problem("d.jsonl", 0, "empty_file", "no records", "check").format() == "d.jsonl: no records — check"
    )
    assert problem.to_dict() == {
        "file": "data.jsonl",
        "line": 12,
        "code": "unknown_role",
        "message": "unknown role 'bot'",
        "hint": "use one of system, user, assistant",
        "field": "messages[2].role",
        "column": 5,
    }


def test_role_typo_gets_a_suggestion() -> None:
    """A ShareGPT speaker name in a chat file suggests the chat role."""
    record = {"messages": [{"role": "human", "content": "hi"}, {"role": "assistant", "content": "yo"}]}
    (problem,) = check_record(record, "chat", "f.jsonl", 3)
    assert problem.code == "unknown_role" and "did you mean 'user'" in problem.hint


@pytest.mark.parametrize(
    ("fmt", "record", "expected"),
    [
        ("completion", {"prompt": "a"}, [("missing_content", "completion")]),
        (
            "completion",
            {"prompt": " ", "completion": 3, "x": 1},
            [("unknown_key", "x"), ("empty_content", "prompt"), ("bad_type", "completion")],
        ),
        (
            "alpaca",
            {"instruction": "do", "input": 5, "output": ""},
            [("bad_type", "input"), ("empty_content", "output")],
        ),
        ("alpaca", {"instruction": "do", "output": "ok", "metadata": []}, [("bad_type", "metadata")]),
        (
            "sharegpt",
            {"conversations": [{"from": "human", "value": "hi"}]},
            [("no_assistant", "conversations")],
        ),
        (
            "sharegpt",
            {"conversations": [{"from": "bot", "value": "hi"}, {"value": ""}, "x"]},
            [
                ("unknown_role", "conversations[0].from"),
                ("missing_role", "conversations[1].from"),
                ("empty_content", "conversations[1].value"),
                ("not_object", "conversations[2]"),
            ],
        ),
        (
            "sharegpt",
            {"conversation": []},
            [("unknown_key", "conversation"), ("missing_messages", "conversations")],
        ),
        (
            "chat",
            {"messages": [{"role": "user", "content": "\ud800"}, {"role": "assistant", "content": "x"}]},
            [("invalid_utf8", "messages[0].content")],
        ),
        (
            "chat",
            {"id": True, "messages": [{"role": "assistant", "content": "x", "weight": True}]},
            [("bad_id", "id"), ("bad_weight", "messages[0].weight")],
        ),
        ("chat", [], [("not_object", None)]),
    ],
)
def test_check_record(fmt: str, record: object, expected: list[tuple[str, str | None]]) -> None:
    """check_record reports every problem of a record, in order, each with a field, message and hint."""
    problems = check_record(record, fmt, "f.jsonl", 9)
    assert [(p.code, p.field) for p in problems] == expected
    assert all(p.line == 9 and p.file == "f.jsonl" and p.message and p.hint for p in problems)
    assert all(p.code in CODES for p in problems)


def test_check_csv_row_reports_both_empty_cells() -> None:
    """Both an empty input and an empty output cell are reported."""
    problems = check_csv_row({"q": " ", "a": ""}, "q", "a", "f.csv", 4)
    assert [(p.code, p.field, p.line) for p in problems] == [
        ("empty_content", "q", 4),
        ("empty_content", "a", 4),
    ]


def test_too_long_is_documented() -> None:
    """The tokenizer-based too_long code is part of the documented codes."""
    assert "too_long" in CODES
