"""Reads training data files, detects their format and turns each record into an ``Example``.

Data problems are never raised: every one becomes a ``Problem`` in the ``LoadResult``. Only calling
mistakes (a path that does not exist, a FIFO or device, an unknown format name) raise ``UsageError``, and a
file over the size limit (TUNEWISE_MAX_FILE_BYTES, default 4 GB) raises ``DataError``.
"""

from __future__ import annotations

import csv
import json
import os
import re
import stat
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from itertools import accumulate
from pathlib import Path
from typing import Any

from curation.errors import UsageError
from curation.example import Example
from curation.safe_read import data_limit, not_a_file, read_bytes_limited, stat_path, too_large
from curation.validate import (
    SHAREGPT_ROLES,
    Problem,
    check_csv_row,
    check_record,
    explicit_id,
)

FORMATS = ("chat", "completion", "alpaca", "sharegpt", "csv")
UNKNOWN = "unknown"
DATA_SUFFIXES = (".jsonl", ".json", ".csv", ".tsv")
INPUT_COLUMNS = ("input", "prompt", "question", "instruction")
OUTPUT_COLUMNS = ("output", "completion", "answer", "response")
SYSTEM_COLUMNS = ("system",)
FORMAT_KEYS = (
    ("chat", ("messages",)),
    ("sharegpt", ("conversations",)),
    ("alpaca", ("instruction", "output")),
    ("completion", ("prompt", "completion")),
)
UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_WS = re.compile(r"[ \t\n\r]*")


@dataclass
class Rejected:
    """A record that had at least one problem, kept verbatim for the rejects report."""

    file: str
    line: int
    raw: str
    problems: list[Problem]

    def to_dict(self) -> dict[str, Any]:
        """``{"file", "line", "raw", "reasons": [problem dicts]}``."""
        return {
            "file": self.file,
            "line": self.line,
            "raw": self.raw,
            "reasons": [p.to_dict() for p in self.problems],
        }


@dataclass
class LoadResult:
    """Everything read from the input files: good examples, every problem, and the rejected records."""

    examples: list[Example] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    formats: dict[str, str] = field(default_factory=dict)
    n_records: int = 0


@dataclass
class _Text:
    """A file decoded line by line; invalid UTF-8 is replaced (for parsing) and remembered."""

    lines: list[str]
    shown: list[str]
    bad: dict[int, int]
    bom: bool


@dataclass
class _Raw:
    """One record as read from a file, before validation."""

    line: int
    raw: str
    value: Any = None
    end_line: int = 0
    parsed: bool = True
    problems: list[Problem] = field(default_factory=list)


@dataclass
class _Columns:
    """The CSV columns holding prompt, answer, and optionally system message, id and Alpaca-style context."""

    input: str
    output: str
    system: str | None
    id: str | None
    context: str | None = None


def load_files(
    paths: Iterable[str | Path] | str | Path,
    fmt: str | None = None,
    input_column: str | None = None,
    output_column: str | None = None,
    system_column: str | None = None,
) -> LoadResult:
    """Load every file (or every data file in each directory) into examples plus problems."""
    if fmt is not None and fmt not in FORMATS:
        raise UsageError(f"unknown format '{fmt}'", f"use one of {', '.join(FORMATS)}, or leave --format out")
    files = expand_paths(paths)
    result = LoadResult()
    seen_ids: dict[str, tuple[str, int]] = {}
    auto_ids: list[Example] = []
    for file in files:
        problems, rejected = _load_one(
            file, fmt, (input_column, output_column, system_column), result, seen_ids, auto_ids
        )
        result.problems += sorted(problems, key=lambda p: p.line)
        result.rejected += sorted(rejected, key=lambda r: r.line)
    _make_auto_ids_unique(result.examples, auto_ids)
    return result


def expand_paths(paths: Iterable[str | Path] | str | Path) -> list[str]:
    """The files to read: files as given, directories expanded to their data files (sorted, non-recursive).

    Nothing is read here, but everything that can be told from the file system is checked up front, so a bad
    input fails before any work: a missing path, a broken link or a link loop, a FIFO, a device or a socket
    (given, or found in a folder under a data-file name), and a file over the size limit are ``UsageError`` /
    ``DataError`` naming the path. Sub-folders of a folder are not read; the same file given twice is read once.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    limit = data_limit()
    files: list[str] = []
    seen: set[tuple[int, int]] = set()
    for given in paths:
        info = stat_path(given, "input")
        if stat.S_ISDIR(info.st_mode):
            found = _data_files_in(Path(given))
            if not found:
                raise UsageError(
                    f"no data files in directory {given}",
                    f"put files ending in {', '.join(DATA_SUFFIXES)} there, or pass files directly",
                )
        elif stat.S_ISREG(info.st_mode):
            found = [(str(given), info)]
        else:
            raise not_a_file(given, "input", info.st_mode)
        for candidate, meta in found:
            if meta.st_size > limit:
                raise too_large(candidate, limit, "data file")
            key = (meta.st_dev, meta.st_ino)
            if key not in seen:
                seen.add(key)
                files.append(candidate)
    if not files:
        raise UsageError("no input files given", "pass at least one data file or directory")
    return files


def _data_files_in(folder: Path) -> list[tuple[str, os.stat_result]]:
    """The regular files named like data files in a folder, sorted by name, with their stat.

    Sub-folders are skipped (the walk is not recursive, so a link loop cannot trap it); a FIFO, device, socket,
    broken link or link loop named like a data file is a UsageError naming it, never silently left out.
    """
    try:
        with os.scandir(folder) as entries:
            names = sorted(e.name for e in entries if Path(e.name).suffix.lower() in DATA_SUFFIXES)
    except OSError as exc:
        raise UsageError(f"Cannot list the folder {folder}: {exc.strerror or exc}.", "Check its permissions.") from None
    found = []
    for name in names:
        path = folder / name
        try:
            info = stat_path(path, "data file")
        except UsageError as exc:  # a broken link or a link loop among the data files
            exc.hint = f"{(exc.hint or '').rstrip('.')}, or remove it from {folder}."
            raise
        if stat.S_ISDIR(info.st_mode):
            continue  # non-recursive: a sub-folder is not read, whatever its name
        if not stat.S_ISREG(info.st_mode):
            raise not_a_file(path, "data file", info.st_mode,
                             f"Remove it from {folder} (or rename it), or pass the data files by name.")
        found.append((str(path), info))
    return found


def detect_format(path: str | Path, first_record: dict[str, Any] | None) -> str:
    """The format of a file: by extension for CSV/TSV, else by the keys of its first object ("unknown" if none match)."""
    if Path(path).suffix.lower() in (".csv", ".tsv"):
        return "csv"
    if not isinstance(first_record, dict):
        return UNKNOWN
    for name, keys in FORMAT_KEYS:
        if any(key in first_record for key in keys):
            return name
    return UNKNOWN


def _load_one(
    file: str,
    fmt: str | None,
    columns: tuple[str | None, str | None, str | None],
    result: LoadResult,
    seen_ids: dict[str, tuple[str, int]],
    auto_ids: list[Example],
) -> tuple[list[Problem], list[Rejected]]:
    """Read one file into ``result``; return its problems and rejected records (unsorted)."""
    data = read_bytes_limited(file, data_limit(), "data file")
    if data.startswith(UTF16_BOMS):
        result.formats[file] = fmt or UNKNOWN
        return [
            Problem(
                file,
                0,
                "invalid_utf8",
                "the file is UTF-16 encoded, not UTF-8",
                "save the file as UTF-8 (without BOM)",
            )
        ], []
    text = decode_lines(data)
    problems: list[Problem] = []
    if text.bom:
        problems.append(
            Problem(
                file,
                1,
                "bom",
                "the file starts with a UTF-8 byte-order mark (BOM)",
                "save the file as UTF-8 without BOM",
            )
        )
    suffix = Path(file).suffix.lower()
    if fmt == "csv" or (fmt is None and suffix in (".csv", ".tsv")):
        result.formats[file] = "csv"
        records, csv_columns, file_problems = _read_csv(
            file, text, "\t" if suffix == ".tsv" else ",", columns
        )
        problems += file_problems
        if csv_columns is None:
            return problems + _unclaimed_utf8(file, text, []), []
    else:
        records = _read_json(file, text, suffix)
        csv_columns = None
    if not records:
        result.formats[file] = result.formats.get(file) or fmt or UNKNOWN
        return problems + _unclaimed_utf8(file, text, []) + [_empty_file(file)], []
    if csv_columns is None:
        first = next((r.value for r in records if isinstance(r.value, dict)), None)
        found = fmt or detect_format(file, first)
        result.formats[file] = found
        if found == UNKNOWN and first is not None:
            return problems + _unclaimed_utf8(file, text, []) + [_unknown_format(file, records, first)], []
    problems += _unclaimed_utf8(file, text, records)
    rejected: list[Rejected] = []
    for record in records:
        result.n_records += 1
        example, auto_id = _take_record(file, result.formats[file], record, csv_columns, seen_ids)
        if example is None:
            problems += record.problems
            rejected.append(Rejected(file, record.line, record.raw, record.problems))
        else:
            result.examples.append(example)
            if auto_id:
                auto_ids.append(example)
    return problems, rejected


def _take_record(
    file: str, fmt: str, record: _Raw, columns: _Columns | None, seen_ids: dict[str, tuple[str, int]]
) -> tuple[Example | None, bool]:
    """Validate one record (adding to its problems); its Example if it has none, and whether the id is made up."""
    if not record.parsed:
        return None, False
    try:
        value = record.value
        if columns is not None:
            record.problems += check_csv_row(value, columns.input, columns.output, file, record.line)
            own_id = ((value.get(columns.id) or "").strip() or None) if columns.id else None
        else:
            record.problems += check_record(value, fmt, file, record.line)
            own_id = explicit_id(value) if isinstance(value, dict) else None
        if own_id is not None:
            if own_id in seen_ids:
                first_file, first_line = seen_ids[own_id]
                record.problems.append(
                    Problem(
                        file,
                        record.line,
                        "duplicate_id",
                        f"id '{own_id}' was already used at {first_file}:{first_line}",
                        "make ids unique or drop the id field",
                        columns.id if columns else "id",
                    )
                )
            else:
                seen_ids[own_id] = (file, record.line)
        if record.problems:
            return None, False
        messages, metadata = _convert(value, fmt, columns)
        example_id = own_id if own_id is not None else f"L{record.line}"
        return Example(example_id, messages, source=file, line=record.line, metadata=metadata), own_id is None
    except Exception as exc:  # a safety net: no input may crash the loader
        record.problems.append(
            Problem(
                file,
                record.line,
                "internal_error",
                f"tunewise failed on this record: {type(exc).__name__}: {exc}",
                "please report this as a bug, with the record",
            )
        )
        return None, False


def _convert(
    value: dict[str, Any], fmt: str, columns: _Columns | None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Messages and metadata of a record that passed validation."""
    if columns is not None:
        return _convert_csv(value, columns)
    metadata = dict(value.get("metadata") or {})
    if fmt == "chat":
        messages = [_chat_message(m) for m in value["messages"]]
    elif fmt == "completion":
        messages = [
            {"role": "user", "content": value["prompt"]},
            {"role": "assistant", "content": value["completion"]},
        ]
    elif fmt == "alpaca":
        prompt = value["instruction"]
        if (value.get("input") or "").strip():
            prompt = f"{prompt}\n\n{value['input']}"
        messages = _with_system(value.get("system"), prompt, value["output"])
    else:
        messages = (
            [{"role": "system", "content": value["system"]}] if (value.get("system") or "").strip() else []
        )
        messages += [
            {"role": SHAREGPT_ROLES[t["from"]], "content": t["value"]} for t in value["conversations"]
        ]
    return messages, metadata


def _chat_message(message: dict[str, Any]) -> dict[str, Any]:
    """A chat message with role and content, keeping optional name and weight."""
    out = {"role": message["role"], "content": message["content"]}
    for key in ("name", "weight"):
        if message.get(key) is not None:
            out[key] = message[key]
    return out


def _with_system(system: str | None, prompt: str, answer: str) -> list[dict[str, Any]]:
    """[system?, user, assistant]."""
    messages = [{"role": "system", "content": system}] if (system or "").strip() else []
    return messages + [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]


def _convert_csv(row: dict[str, str], columns: _Columns) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Messages from the chosen columns; every other column goes into metadata."""
    used = {columns.input, columns.output, columns.system, columns.id, columns.context}
    prompt = row[columns.input]
    if columns.context and (row.get(columns.context) or "").strip():
        prompt = f"{prompt}\n\n{row[columns.context]}"
    messages = _with_system(row.get(columns.system) if columns.system else None, prompt, row[columns.output])
    return messages, {k: v for k, v in row.items() if k not in used}


def _empty_file(file: str) -> Problem:
    """The problem for a file without records."""
    return Problem(file, 0, "empty_file", "the file holds no records", "check that this is the right file")


def _unknown_format(file: str, records: list[_Raw], first: dict[str, Any]) -> Problem:
    """The problem for a file whose first object matches no known format."""
    line = next(r.line for r in records if r.value is first)
    keys = ", ".join(str(k) for k in list(first)[:8]) or "none"
    return Problem(
        file,
        line,
        "unknown_format",
        f"cannot tell the format from the keys of the first record ({keys})",
        "use one of chat (messages), completion (prompt/completion), alpaca (instruction/input/output), "
        "sharegpt (conversations), csv — or pass --format",
    )


def _make_auto_ids_unique(examples: list[Example], auto: list[Example]) -> None:
    """Prefix line-number ids that collide with another id by the file stem (then by the whole path)."""
    for prefix in (lambda e: Path(e.source).stem, lambda e: e.source):
        counts = Counter(e.id for e in examples)
        for example in auto:
            if counts[example.id] > 1:
                example.id = f"{prefix(example)}:L{example.line}"


def decode_lines(data: bytes) -> _Text:
    """Split bytes into lines and decode each on its own, so one bad line spoils nothing else."""
    bom = data.startswith(UTF8_BOM)
    if bom:
        data = data[len(UTF8_BOM) :]
    lines: list[str] = []
    shown: list[str] = []
    bad: dict[int, int] = {}
    for number, chunk in enumerate(data.split(b"\n"), start=1):
        chunk = chunk.removesuffix(b"\r")
        try:
            lines.append(chunk.decode("utf-8"))
            shown.append(lines[-1])
        except UnicodeDecodeError as exc:
            bad[number] = exc.start + 1
            lines.append(chunk.decode("utf-8", "replace"))
            shown.append(chunk.decode("utf-8", "backslashreplace"))
    if lines and lines[-1] == "":
        lines.pop()
        shown.pop()
    return _Text(lines, shown, bad, bom)


def _utf8_problem(file: str, line: int, column: int) -> Problem:
    """The problem for a line that is not valid UTF-8."""
    return Problem(
        file,
        line,
        "invalid_utf8",
        f"the line is not valid UTF-8 (first bad byte at byte {column})",
        "save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8), or fix the bytes on this line",
        None,
        column,
    )


def _unclaimed_utf8(file: str, text: _Text, records: list[_Raw]) -> list[Problem]:
    """Attach invalid-UTF-8 problems to the records spanning bad lines; return those no record spans."""
    left = dict(text.bad)
    for record in records:
        for line in range(record.line, max(record.end_line, record.line) + 1):
            if line in left:
                record.problems.insert(0, _utf8_problem(file, line, left.pop(line)))
    return [_utf8_problem(file, line, column) for line, column in sorted(left.items())]


def _read_json(file: str, text: _Text, suffix: str) -> list[_Raw]:
    """Records of a JSON file: a whole array or single object if it parses as one, else one per line."""
    joined = "\n".join(text.lines)
    start = _WS.match(joined).end()
    if joined[start : start + 1] == "[":
        records, complete = _read_array(file, joined, text)
        if complete or suffix == ".json":
            return records
    elif joined[start : start + 1] == "{" and "\n" in joined[start:].rstrip():
        try:
            value, end = _decoder().raw_decode(joined, start)
        except (ValueError, RecursionError):
            value, end = None, -1
        if end != -1 and _WS.match(joined, end).end() == len(joined):
            line = _line_of(joined, start)
            end_line = _line_of(joined, end - 1)
            return [_Raw(line, "\n".join(text.shown[line - 1 : end_line]), value, end_line)]
    return _read_jsonl(file, text)


def _read_jsonl(file: str, text: _Text) -> list[_Raw]:
    """One record per non-blank line."""
    records: list[_Raw] = []
    decoder = _decoder()
    for number, line in enumerate(text.lines, start=1):
        if not line.strip():
            continue
        record = _Raw(number, text.shown[number - 1], end_line=number)
        try:
            record.value = decoder.decode(line)
        except json.JSONDecodeError as exc:
            record.parsed = False
            record.problems.append(_json_problem(file, number, exc.msg, exc.colno))
        except (ValueError, RecursionError) as exc:
            record.parsed = False
            record.problems.append(_json_problem(file, number, _value_error_text(exc), None))
        records.append(record)
    return records


def _read_array(file: str, joined: str, text: _Text) -> tuple[list[_Raw], bool]:
    """Elements of a top-level JSON array, each at the line it starts on; False if the array is broken.

    Elements before a syntax error are kept; the error itself becomes one rejected record.
    """
    decoder = _decoder()
    starts = list(accumulate((len(line) + 1 for line in text.lines[:-1]), initial=0))
    records: list[_Raw] = []
    pos = _WS.match(joined).end() + 1
    pos = _WS.match(joined, pos).end()
    if joined[pos : pos + 1] == "]":
        pos = _WS.match(joined, pos + 1).end()
        return records, pos == len(joined) or _broken_array(
            file, joined, pos, text, records, "extra data after the array"
        )
    while True:
        try:
            value, end = decoder.raw_decode(joined, pos)
        except json.JSONDecodeError as exc:
            return records, _broken_array(file, joined, exc.pos, text, records, exc.msg)
        except (ValueError, RecursionError) as exc:
            return records, _broken_array(file, joined, pos, text, records, _value_error_text(exc))
        line, end_line = bisect_right(starts, pos), bisect_right(starts, end - 1)
        records.append(_Raw(line, "\n".join(text.shown[line - 1 : end_line]), value, end_line))
        pos = _WS.match(joined, end).end()
        token = joined[pos : pos + 1]
        if token == ",":
            pos = _WS.match(joined, pos + 1).end()
            if joined[pos : pos + 1] == "]":
                return records, _broken_array(file, joined, pos, text, records, "trailing comma before ']'")
        elif token == "]":
            pos = _WS.match(joined, pos + 1).end()
            if pos == len(joined):
                return records, True
            return records, _broken_array(file, joined, pos, text, records, "extra data after the array")
        else:
            return records, _broken_array(
                file, joined, pos, text, records, "expected ',' or ']' after an element"
            )


def _broken_array(file: str, joined: str, pos: int, text: _Text, records: list[_Raw], message: str) -> bool:
    """Add the syntax error at ``pos`` as a rejected record; always False (the array is not complete)."""
    line = _line_of(joined, pos)
    column = pos - (joined.rfind("\n", 0, pos) + 1) + 1
    problem = _json_problem(file, line, message, column, "the file is one JSON array")
    problem = replace(problem, hint=problem.hint + "; nothing after this point was read")
    shown = text.shown[line - 1] if 0 < line <= len(text.shown) else ""
    records.append(_Raw(line, shown, None, line, False, [problem]))
    return False


def _json_problem(
    file: str,
    line: int,
    message: str,
    column: int | None,
    layout: str = "each line must be one complete JSON object",
) -> Problem:
    """The problem for a syntax error."""
    near = f" near column {column}" if column else ""
    return Problem(
        file,
        line,
        "invalid_json",
        f"invalid JSON: {message}",
        f"{layout}; check quotes, commas and brackets{near}",
        None,
        column,
    )


def _value_error_text(exc: BaseException) -> str:
    """A short reason for a non-syntax JSON failure (NaN, huge numbers, deep nesting)."""
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc).split("\n")[0] or type(exc).__name__


def _reject_constant(name: str) -> Any:
    """Refuse NaN and Infinity, which are not JSON."""
    raise ValueError(f"{name} is not allowed in JSON")


def _decoder() -> json.JSONDecoder:
    """A strict JSON decoder (no NaN/Infinity)."""
    return json.JSONDecoder(parse_constant=_reject_constant)


def _line_of(text: str, pos: int) -> int:
    """1-based line of a character offset."""
    return text.count("\n", 0, pos) + 1


def _read_csv(
    file: str, text: _Text, delimiter: str, wanted: tuple[str | None, str | None, str | None]
) -> tuple[list[_Raw], _Columns | None, list[Problem]]:
    """Rows of a CSV/TSV file keyed by header, the chosen columns (None if unusable) and file-level problems."""
    reader = csv.reader([line + "\n" for line in text.lines], delimiter=delimiter)
    header: list[str] | None = None
    header_line = 0
    records: list[_Raw] = []
    problems: list[Problem] = []
    last = 0
    while True:
        try:
            row = next(reader)
            error = None
        except StopIteration:
            break
        except csv.Error as exc:
            row, error = None, str(exc)
        start, last = last + 1, reader.line_num
        if row is not None and not any(cell.strip() for cell in row):
            continue
        raw = "\n".join(text.shown[start - 1 : last])
        if header is None:
            if error is not None:
                problems.append(_row_problem(file, start, f"cannot read the header row: {error}"))
                return [], None, problems
            header, header_line = _header(row), start
            continue
        record = _Raw(start, raw, None, last)
        if row is None:
            record.parsed = False
            record.problems.append(_row_problem(file, start, f"cannot read the row: {error}"))
        else:
            if len(row) != len(header):
                record.problems.append(
                    _row_problem(
                        file, start, f"the row has {len(row)} fields but the header has {len(header)}"
                    )
                )
            record.value = dict(zip(header, row))
        records.append(record)
    if header is None:
        return [], None, problems + [_empty_file(file)]
    columns, column_problems = _choose_columns(file, header_line, header, wanted, delimiter)
    if columns is None:
        return [], None, problems + column_problems
    return records, columns, problems + column_problems


def _header(row: list[str]) -> list[str]:
    """Header names, stripped; blank names become column1, column2, ..."""
    return [cell.strip() or f"column{i}" for i, cell in enumerate(row, start=1)]


def _row_problem(file: str, line: int, message: str) -> Problem:
    """The problem for an unreadable CSV row."""
    return Problem(
        file, line, "bad_row", message, "quote fields that contain the separator, quotes or line breaks"
    )


def _choose_columns(
    file: str, line: int, header: list[str], wanted: tuple[str | None, str | None, str | None], delimiter: str
) -> tuple[_Columns | None, list[Problem]]:
    """Pick the input/output/system/id columns, or explain why they cannot be found."""
    problems: list[Problem] = []
    for name, count in Counter(header).items():
        if count > 1:
            problems.append(
                Problem(
                    file,
                    line,
                    "bad_column",
                    f"column '{name}' appears {count} times in the header",
                    "rename the columns so each name is unique",
                    name,
                )
            )
    picks: list[str | None] = []
    for role, given, defaults, option in (
        ("input", wanted[0], INPUT_COLUMNS, "--input-column"),
        ("output", wanted[1], OUTPUT_COLUMNS, "--output-column"),
        ("system", wanted[2], SYSTEM_COLUMNS, "--system-column"),
    ):
        pick = _find_column(header, (given,) if given else defaults)
        picks.append(pick)
        if pick is None and (role != "system" or given):
            expected = f"'{given}'" if given else "one of " + ", ".join(defaults)
            problems.append(
                Problem(
                    file,
                    line,
                    "bad_column",
                    f"no {role} column: expected {expected}; the header has {', '.join(header)}",
                    _column_hint(header, option, delimiter),
                )
            )
    source, target, system = picks
    if source is not None and source == target:
        problems.append(
            Problem(
                file,
                line,
                "bad_column",
                f"the input and output column are both '{source}'",
                "choose two different columns",
            )
        )
    if source is None or target is None or source == target or (wanted[2] and system is None):
        return None, problems
    columns = _Columns(source, target, system, _find_column(header, ("id",)))
    instruction = _find_column(header, ("instruction",))
    if wanted[0] is None and source.lower() == "input" and instruction not in (None, target):
        # an Alpaca export (instruction, input, output): the instruction leads, input is its context
        columns.input, columns.context = instruction, source
    return columns, problems


def _find_column(header: list[str], names: tuple[str, ...]) -> str | None:
    """The first header name matching one of names (exactly, else ignoring case)."""
    for name in names:
        if name in header:
            return name
    lowered = {h.lower(): h for h in reversed(header)}
    for name in names:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return None


def _column_hint(header: list[str], option: str, delimiter: str) -> str:
    """What to do when a column is missing (noticing a file saved with another separator)."""
    if len(header) == 1:
        for other, label in ((";", "semicolons"), ("\t", "tabs"), (",", "commas")):
            if other != delimiter and other in header[0]:
                return f"the file seems to be separated by {label}; save it comma-separated as .csv or tab-separated as .tsv"
    return f"rename a column or pass {option} NAME"
