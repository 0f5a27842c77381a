"""Reading files of every format into Examples; ids, directories, and robustness against any bytes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curation.errors import DataError, UsageError
from curation.load import FORMATS, detect_format, load_files

FIXTURES = Path(__file__).parent.parent / "fixtures"
FORMATS_DIR = FIXTURES / "formats"


def msgs(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    """Messages from (role, content) pairs."""
    return [{"role": role, "content": content} for role, content in pairs]


def load_one(name: str, **kwargs: str) -> tuple[list, list]:
    """Load one good fixture; assert it is clean; return (messages of each example, examples)."""
    result = load_files([FORMATS_DIR / name], **kwargs)
    assert result.problems == [] and result.rejected == []
    return [e.messages for e in result.examples], result.examples


def test_chat_format() -> None:
    """Chat records keep their messages, optional name/weight, id and metadata."""
    messages, examples = load_one("chat.jsonl")
    assert messages == [
        msgs(("system", "You are terse."), ("user", "What is 2+2?"), ("assistant", "4")),
        [
            {"role": "user", "content": "Hi", "name": "ann"},
            {"role": "assistant", "content": "draft", "weight": 0},
            {"role": "user", "content": "Again"},
            {"role": "assistant", "content": "Hello!", "weight": 1},
        ],
    ]
    assert [(e.id, e.line) for e in examples] == [("c1", 1), ("L3", 3)]
    assert examples[0].metadata == {"topic": "math"}
    assert examples[0].source == str(FORMATS_DIR / "chat.jsonl")


def test_completion_format() -> None:
    """prompt/completion become a user and an assistant turn; an integer id is kept as a string."""
    messages, examples = load_one("completion.jsonl")
    assert messages == [
        msgs(("user", "Translate 'chat' to English:"), ("assistant", "cat")),
        msgs(("user", "2+2="), ("assistant", "4")),
    ]
    assert [e.id for e in examples] == ["L1", "7"]


def test_alpaca_json_array() -> None:
    """An Alpaca array: instruction + blank line + input, optional system; lines are where elements start."""
    messages, examples = load_one("alpaca.json")
    assert messages == [
        msgs(("user", "Summarize the text.\n\nCats sleep a lot."), ("assistant", "Cats nap.")),
        msgs(("system", "Be polite."), ("user", "Say hello."), ("assistant", "Hello.")),
    ]
    assert [e.line for e in examples] == [2, 7]


def test_alpaca_jsonl() -> None:
    """Alpaca records also load from JSONL, without input."""
    messages, _ = load_one("alpaca.jsonl")
    assert messages == [msgs(("user", "Name a colour."), ("assistant", "Blue"))]


def test_sharegpt_format() -> None:
    """ShareGPT speakers map to chat roles; a top-level system becomes the first message."""
    messages, _ = load_one("sharegpt.jsonl")
    assert messages == [
        msgs(
            ("system", "Be kind."),
            ("user", "Hi"),
            ("assistant", "Hello!"),
            ("user", "Bye"),
            ("assistant", "Goodbye!"),
        )
    ]


def test_csv_format() -> None:
    """CSV: default columns, id column, extra columns as metadata, physical line numbers, quoted newlines."""
    messages, examples = load_one("qa.csv")
    assert messages == [
        msgs(("user", "What is 2+2?"), ("assistant", "4")),
        msgs(("user", "Two\nlines?"), ("assistant", "Yes, two")),
    ]
    assert [(e.id, e.line, e.metadata) for e in examples] == [
        ("q1", 2, {"topic": "math"}),
        ("q2", 3, {"topic": "misc"}),
    ]


def test_tsv_format_with_system_column() -> None:
    """TSV uses tabs; a system column adds a system message when the cell is not empty."""
    messages, _ = load_one("qa.tsv")
    assert messages == [
        msgs(("system", "Be brief."), ("user", "Hi"), ("assistant", "Hello")),
        msgs(("user", "Bye"), ("assistant", "Ciao")),
    ]


def test_csv_explicit_columns(tmp_path: Path) -> None:
    """input_column/output_column/system_column pick the columns; the rest is metadata."""
    path = tmp_path / "d.csv"
    path.write_text("a,b,c,d\nq,ans,sys,x\n", encoding="utf-8")
    result = load_files([path], input_column="a", output_column="b", system_column="c")
    assert result.problems == []
    assert result.examples[0].messages == msgs(("system", "sys"), ("user", "q"), ("assistant", "ans"))
    assert result.examples[0].metadata == {"d": "x"}


def test_csv_missing_named_column(tmp_path: Path) -> None:
    """A named column that does not exist is a bad_column problem listing the available ones."""
    path = tmp_path / "d.csv"
    path.write_text("a,b\nq,ans\n", encoding="utf-8")
    result = load_files([path], input_column="a", output_column="b", system_column="sys")
    assert [p.code for p in result.problems] == ["bad_column"]
    assert "a, b" in result.problems[0].message and result.examples == []


def test_csv_alpaca_columns(tmp_path: Path) -> None:
    """An Alpaca-style CSV (instruction, input, output) joins instruction and input like Alpaca JSON."""
    path = tmp_path / "d.csv"
    path.write_text("instruction,input,output\nSummarize.,Cats nap.,Naps.\nSay hi.,,Hi\n", encoding="utf-8")
    result = load_files([path])
    assert result.problems == []
    assert [e.messages[0]["content"] for e in result.examples] == ["Summarize.\n\nCats nap.", "Say hi."]
    assert result.examples[0].metadata == {}


def test_csv_bom_blank_lines_and_line_numbers(tmp_path: Path) -> None:
    """A BOM is reported but the header still matches; blank lines are skipped; lines are physical."""
    path = tmp_path / "d.csv"
    path.write_bytes(b'\xef\xbb\xbfprompt,completion\r\n\r\na,b\r\n\r\n"c\r\nd",\r\ne,f\r\n')
    result = load_files([path])
    assert [(p.code, p.line, p.field) for p in result.problems] == [
        ("bom", 1, None),
        ("empty_content", 5, "completion"),
    ]
    assert [(e.line, e.messages[0]["content"]) for e in result.examples] == [(3, "a"), (7, "e")]
    assert result.rejected[0].raw == '"c\nd",'


def test_csv_semicolons_get_a_hint(tmp_path: Path) -> None:
    """A .csv saved with semicolons is recognised in the hint."""
    path = tmp_path / "d.csv"
    path.write_text("question;answer\nq;a\n", encoding="utf-8")
    result = load_files([path])
    assert result.problems[0].code == "bad_column" and "semicolons" in result.problems[0].hint


@pytest.mark.parametrize(
    ("name", "record", "expected"),
    [
        ("x.csv", None, "csv"),
        ("x.TSV", None, "csv"),
        ("x.jsonl", {"messages": []}, "chat"),
        ("x.jsonl", {"conversations": []}, "sharegpt"),
        ("x.json", {"instruction": "i", "output": "o"}, "alpaca"),
        ("x.jsonl", {"prompt": "p", "completion": "c"}, "completion"),
        ("x.jsonl", {"text": "t"}, "unknown"),
        ("x.jsonl", None, "unknown"),
    ],
)
def test_detect_format(name: str, record: dict | None, expected: str) -> None:
    """Detection by extension for CSV/TSV, else by the keys of the first record."""
    assert detect_format(name, record) == expected


def test_json_array_of_chat_and_single_object(tmp_path: Path) -> None:
    """A .json array of chat objects is chat; a pretty-printed single object is one record."""
    record = {"messages": msgs(("user", "q"), ("assistant", "a"))}
    (tmp_path / "arr.json").write_text(json.dumps([record, record], indent=2), encoding="utf-8")
    (tmp_path / "one.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
    result = load_files([tmp_path / "arr.json", tmp_path / "one.json"])
    assert result.problems == []
    assert list(result.formats.values()) == ["chat", "chat"]
    assert [(Path(e.source).name, e.line) for e in result.examples] == [
        ("arr.json", 2),
        ("arr.json", 14),
        ("one.json", 1),
    ]


def test_json_array_problem_is_on_element_line(tmp_path: Path) -> None:
    """Problems inside a JSON array point at the line where the bad element starts."""
    items = [{"instruction": "i", "output": "o"}, {"instruction": "i", "output": ""}]
    (tmp_path / "a.json").write_text(json.dumps(items, indent=2), encoding="utf-8")
    result = load_files([tmp_path / "a.json"])
    assert [(p.code, p.line, p.field) for p in result.problems] == [("empty_content", 6, "output")]
    assert json.loads(result.rejected[0].raw) == items[1]


def test_forced_format(tmp_path: Path) -> None:
    """fmt overrides detection: a chat file read as completion reports the missing prompt."""
    path = tmp_path / "d.jsonl"
    path.write_text(
        json.dumps({"messages": msgs(("user", "q"), ("assistant", "a"))}) + "\n", encoding="utf-8"
    )
    result = load_files([path], fmt="completion")
    assert result.formats == {str(path): "completion"}
    assert {p.code for p in result.problems} == {"unknown_key", "missing_content"}


def test_unknown_format_option_raises() -> None:
    """An unknown fmt is a UsageError with a hint listing the formats."""
    with pytest.raises(UsageError) as err:
        load_files([FORMATS_DIR / "chat.jsonl"], fmt="yaml")
    assert all(name in err.value.hint for name in FORMATS)


def test_missing_path_raises(tmp_path: Path) -> None:
    """A path that does not exist is a UsageError with a hint."""
    with pytest.raises(UsageError) as err:
        load_files([tmp_path / "nope.jsonl"])
    assert err.value.hint


def test_directory_input() -> None:
    """A directory loads every data file in it, sorted by name."""
    result = load_files([FORMATS_DIR])
    names = [Path(f).name for f in result.formats]
    assert names == sorted(p.name for p in FORMATS_DIR.iterdir())
    assert result.problems == []
    assert len(result.examples) == result.n_records == 12


def test_directory_without_data_files_raises(tmp_path: Path) -> None:
    """An empty directory is a usage error, not silently nothing."""
    with pytest.raises(UsageError):
        load_files([tmp_path])


def test_duplicate_ids_across_files(tmp_path: Path) -> None:
    """The same explicit id in two files is a duplicate_id problem on the second occurrence."""
    rec = {"id": "same", "messages": msgs(("user", "q"), ("assistant", "a"))}
    for name in ("a.jsonl", "b.jsonl"):
        (tmp_path / name).write_text(json.dumps(rec) + "\n", encoding="utf-8")
    result = load_files([tmp_path / "a.jsonl", tmp_path / "b.jsonl"])
    assert [(Path(p.file).name, p.line, p.code, p.field) for p in result.problems] == [
        ("b.jsonl", 1, "duplicate_id", "id")
    ]
    assert "a.jsonl:1" in result.problems[0].message
    assert [e.id for e in result.examples] == ["same"]


def test_line_ids_are_prefixed_when_they_collide(tmp_path: Path) -> None:
    """Line-number ids from several files get the file stem when they would collide."""
    rec = json.dumps({"messages": msgs(("user", "q"), ("assistant", "a"))})
    (tmp_path / "a.jsonl").write_text(rec + "\n" + rec + "\n", encoding="utf-8")
    (tmp_path / "b.jsonl").write_text(rec + "\n", encoding="utf-8")
    result = load_files([tmp_path])
    assert [e.id for e in result.examples] == ["a:L1", "L2", "b:L1"]
    assert len({e.id for e in result.examples}) == 3


def test_same_file_twice_is_read_once() -> None:
    """A file named twice (or also through its directory) is loaded once."""
    path = FORMATS_DIR / "chat.jsonl"
    result = load_files([path, FORMATS_DIR])
    assert [Path(f).name for f in result.formats].count("chat.jsonl") == 1
    assert result.problems == []


def test_symlink_and_hard_link_to_the_same_file_are_read_once(tmp_path: Path) -> None:
    """A file reached through a symbolic link or a hard link as well is loaded once (same device and inode)."""
    data = tmp_path / "a.jsonl"
    data.write_text(json.dumps({"messages": msgs(("user", "q"), ("assistant", "a"))}) + "\n", encoding="utf-8")
    (tmp_path / "link.jsonl").symlink_to(data)
    (tmp_path / "hard.jsonl").hardlink_to(data)
    result = load_files([data, tmp_path])
    assert list(result.formats) == [str(data)] and len(result.examples) == 1


def _folder_with(tmp_path: Path, make) -> Path:
    """A folder holding one good data file and one odd entry made by make(path of the odd entry)."""
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "good.jsonl").write_text(json.dumps({"messages": msgs(("user", "q"), ("assistant", "a"))}) + "\n")
    make(folder / "odd.jsonl")
    return folder


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (os.mkfifo, "named pipe (FIFO)"),
        (lambda p: p.symlink_to("/dev/zero"), "device"),
        (lambda p: p.symlink_to(p.with_name("nowhere.jsonl")), "broken symbolic link"),
        (lambda p: p.symlink_to(p), "symbolic link loop"),
    ],
    ids=["fifo", "device", "broken-link", "link-loop"],
)
def test_odd_entry_in_a_folder_is_an_error_naming_it(tmp_path: Path, make, words: str) -> None:
    """A FIFO, device, broken link or link loop named like a data file is never read nor silently skipped."""
    folder = _folder_with(tmp_path, make)
    with pytest.raises(UsageError) as err:
        load_files([folder])
    assert str(folder / "odd.jsonl") in err.value.message and words in err.value.message
    assert str(folder) in err.value.hint


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (os.mkfifo, "named pipe (FIFO)"),
        (lambda p: p.symlink_to("/dev/zero"), "device"),
        (lambda p: p.symlink_to(p), "symbolic link loop"),
        (lambda p: p.symlink_to(p.with_name("nowhere.jsonl")), "broken symbolic link"),
    ],
    ids=["fifo", "device", "link-loop", "broken-link"],
)
def test_odd_file_given_directly_is_an_error_naming_it(tmp_path: Path, make, words: str) -> None:
    """The same entries given by name are refused by type, before anything is opened (a FIFO would block)."""
    path = tmp_path / "odd.jsonl"
    make(path)
    with pytest.raises(UsageError) as err:
        load_files([path])
    assert str(path) in err.value.message and words in err.value.message and err.value.hint


def test_sub_folder_named_like_a_data_file_is_skipped(tmp_path: Path) -> None:
    """The walk is not recursive: a sub-folder is not read, whatever its name."""
    folder = _folder_with(tmp_path, lambda p: p.mkdir())
    result = load_files([folder])
    assert list(result.formats) == [str(folder / "good.jsonl")]


def test_file_over_the_size_limit_is_refused_before_anything_is_read(tmp_path: Path, monkeypatch) -> None:
    """A data file larger than TUNEWISE_MAX_FILE_BYTES is a DataError naming it and the way out."""
    small, big = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    small.write_text("{}\n")
    big.write_text("x" * 200)
    monkeypatch.setenv("TUNEWISE_MAX_FILE_BYTES", "100")
    with pytest.raises(DataError) as err:
        load_files([small, big])
    assert str(big) in err.value.message and "100 bytes" in err.value.message
    assert "TUNEWISE_MAX_FILE_BYTES" in err.value.hint


def test_file_that_grows_past_the_limit_is_still_refused(tmp_path: Path, monkeypatch) -> None:
    """The limit is enforced while reading too, not only from the size seen up front."""
    from curation import load

    path = tmp_path / "a.jsonl"
    path.write_text("{}\n")
    files = load.expand_paths([path])
    path.write_text("x" * 200)
    monkeypatch.setenv("TUNEWISE_MAX_FILE_BYTES", "100")
    monkeypatch.setattr(load, "expand_paths", lambda paths: files)
    with pytest.raises(DataError, match="larger than the limit"):
        load_files([path])


def test_rejected_to_dict() -> None:
    """Rejected.to_dict has file, line, raw and reasons."""
    result = load_files([FIXTURES / "bad" / "not_object.jsonl"])
    data = result.rejected[0].to_dict()
    assert set(data) == {"file", "line", "raw", "reasons"}
    assert data["raw"] == '["user", "Hello"]' and data["reasons"][0]["code"] == "not_object"


@pytest.mark.parametrize(
    "content",
    [
        b"[" * 100_000,
        b'{"messages": NaN}',
        b"[1, 2,]",
        b"\xff\xfe{\x00}\x00",
        b'{"a": 1' + b"9" * 5000 + b"}",
        b"\r\n\r\n",
    ],
)
def test_nasty_inputs_do_not_raise(tmp_path: Path, content: bytes) -> None:
    """Deep nesting, NaN, trailing commas, UTF-16, huge numbers and blank CRLF lines give problems, not tracebacks."""
    for suffix in (".jsonl", ".json"):
        path = tmp_path / f"d{suffix}"
        path.write_bytes(content)
        result = load_files([path])
        assert result.problems
        assert len(result.examples) + len(result.rejected) == result.n_records
        assert not any(p.code == "internal_error" for p in result.problems)


PIECES = st.sampled_from(
    [
        b"\n",
        b"\r\n",
        b",",
        b"\t",
        b'"',
        b"\xef\xbb\xbf",
        b"\xff",
        b"[",
        b"]",
        b"{",
        b"}",
        b'{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}',
        b'{"prompt": "p", "completion": "c", "id": 1}',
        b'{"instruction": "i", "output": "o"}',
        b'{"conversations": [{"from": "human", "value": "v"}, {"from": "gpt", "value": "w"}]}',
        b"input,output\n",
        b"question\tanswer\n",
        b"q,a\n",
        b"null",
        b'"id"',
    ]
)
BYTES = st.one_of(
    st.binary(max_size=300), st.lists(st.one_of(PIECES, st.binary(max_size=8)), max_size=25).map(b"".join)
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=BYTES, suffix=st.sampled_from([".jsonl", ".json", ".csv", ".tsv"]))
def test_any_bytes_never_raise(tmp_path: Path, data: bytes, suffix: str) -> None:
    """Arbitrary bytes load without raising, and every record is either an example or rejected."""
    path = tmp_path / f"data{suffix}"
    path.write_bytes(data)
    result = load_files([path])
    assert len(result.examples) + len(result.rejected) == result.n_records
    assert not any(p.code == "internal_error" for p in result.problems)
    assert all(r.problems for r in result.rejected)
    for problem in result.problems:
        problem.format()
        json.dumps(problem.to_dict())
    for rejected in result.rejected:
        json.dumps(rejected.to_dict(), ensure_ascii=False).encode("utf-8")
    for example in result.examples:
        assert example.output_text.strip()
        json.dumps(example.to_record(), ensure_ascii=False).encode("utf-8")
