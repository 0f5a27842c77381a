"""Curator decisions: saved, validated, applied on export without touching the curation outputs."""

import json
import os
import stat

import pytest

from curation.decisions import export_with_decisions, load_decisions, save_decisions
from curation.errors import DataError


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def _msgs(text):
    return [{"role": "user", "content": text}, {"role": "assistant", "content": "ok " + text}]


@pytest.fixture
def curated(tmp_path):
    _write(tmp_path / "clean.jsonl", [{"id": i, "messages": _msgs(i)} for i in ("a", "b", "c")])
    _write(tmp_path / "train.jsonl", [{"id": i, "messages": _msgs(i)} for i in ("a", "b")])
    _write(tmp_path / "eval.jsonl", [{"id": "c", "messages": _msgs("c")}])
    _write(tmp_path / "removed.jsonl", [{"id": "d", "reason": "near_duplicate", "duplicate_of": "c", "similarity": 0.93, "messages": _msgs("d")}])
    return tmp_path


def _ids(path):
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


def test_restore_and_remove(curated):
    before = (curated / "clean.jsonl").read_text()
    summary = export_with_decisions(curated, {"d": "keep", "a": "remove"}, curated / "export")
    out = curated / "export"
    assert _ids(out / "clean.jsonl") == ["b", "c", "d"]
    assert _ids(out / "eval.jsonl") == ["c", "d"]  # restored twin follows its kept twin into eval
    removed = [json.loads(line) for line in (out / "removed.jsonl").read_text().splitlines()]
    assert [(r["id"], r["reason"]) for r in removed] == [("a", "curator")]
    assert summary.restored == ["d"] and summary.dropped == ["a"]
    assert (curated / "clean.jsonl").read_text() == before  # marks, not deletions


def test_save_load_roundtrip_and_validation(tmp_path):
    path = tmp_path / "decisions.json"
    save_decisions(path, {"x": "keep"})
    assert load_decisions(path) == {"x": "keep"}
    path.write_text('{"x": "maybe"}')
    with pytest.raises(DataError):
        load_decisions(path)
    assert load_decisions(tmp_path / "absent.json") == {}


def test_unknown_ids_rejected(curated):
    with pytest.raises(DataError, match="zzz"):
        export_with_decisions(curated, {"zzz": "keep"}, curated / "export")


def test_jsonl_never_splits_a_record_on_unicode_line_breaks():
    from curation.jsonl import dumps_line

    line = dumps_line({"text": "a\x85b\u2028c\u2029d é"})
    assert len(line.splitlines()) == 1 and json.loads(line)["text"] == "a\x85b\u2028c\u2029d é"


# --- corrupt or hostile decisions.json and curation outputs: a clean error naming the file, the file untouched ---

DECISION_CASES = {
    "not-json": (b'{"x": "keep"', DataError, ":1:"),
    "empty-file": (b"", DataError, "not valid JSON"),
    "a-list": (b'["x", "keep"]', DataError, "JSON array"),
    "a-string": (b'"keep"', DataError, "string"),
    "nested-value": (b'{"x": ["keep"]}', DataError, "unknown decision"),
    "null-value": (b'{"x": null}', DataError, "unknown decision"),
    "5000-digit-value": (b'{"x": ' + b"9" * 5000 + b"}", DataError, "too many digits"),
    "deep": (b'{"x": ' + b"[" * 100_000 + b"}", DataError, "cannot be read"),
    "not-utf8": (b'{"caf\xe9": "keep"}', DataError, "UTF-8"),
    "many-bad": (json.dumps({f"id{i}": "maybe" for i in range(1000)}).encode(), DataError, "997 more"),
}


@pytest.mark.parametrize("case", list(DECISION_CASES))
def test_corrupt_decisions_file_is_a_clean_error(tmp_path, case):
    content, error, fragment = DECISION_CASES[case]
    path = tmp_path / "decisions.json"
    path.write_bytes(content)
    with pytest.raises(error) as err:
        load_decisions(path)
    assert str(path) in err.value.message and fragment in str(err.value) and err.value.hint
    assert len(err.value.message) < 1000  # a summary, not the file
    assert path.read_bytes() == content


def test_empty_object_is_no_marks(tmp_path):
    path = tmp_path / "decisions.json"
    path.write_text("{}")
    assert load_decisions(path) == {}


def test_marking_never_overwrites_a_corrupt_decisions_file(tmp_path):
    from advisor.project import create_project

    project = create_project(tmp_path / "p")
    project.decisions_path.write_text('["not", "marks"]')
    with pytest.raises(DataError, match="decisions.json"):
        project.set_decision("a", "keep")
    assert project.decisions_path.read_text() == '["not", "marks"]'


def test_oversized_decisions_file_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("TUNEWISE_MAX_FILE_BYTES", "100")
    path = tmp_path / "decisions.json"
    path.write_text(json.dumps({f"id{i}": "keep" for i in range(100)}))
    with pytest.raises(DataError, match="larger than the limit"):
        load_decisions(path)


@pytest.mark.parametrize("kind", ["fifo", "loop", "broken"])
def test_decisions_that_are_not_a_file_are_refused_by_type(tmp_path, kind):
    from curation.errors import UsageError

    path = tmp_path / "decisions.json"
    if kind == "fifo":
        os.mkfifo(path)  # opening it to read would block forever: it must be refused before that
    elif kind == "loop":
        os.symlink(tmp_path / "b.json", path)
        os.symlink(path, tmp_path / "b.json")
    else:
        os.symlink(tmp_path / "nowhere.json", path)
    with pytest.raises(UsageError) as err:
        load_decisions(path)
    assert str(path) in err.value.message and {"fifo": "named pipe", "loop": "loop", "broken": "broken"}[kind] in err.value.message


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("clean.jsonl", '{"id": "a", "messages": []}\n{"id": "b", \n', "clean.jsonl:2:"),
        ("clean.jsonl", '{"id": "a", "messages": []}\n[1, 2]\n', "clean.jsonl:2: the curation output holds a JSON array"),
        ("removed.jsonl", '{"reason": "near_duplicate"}\n', "removed.jsonl: record 1 has no string `id`"),
        ("eval.jsonl", "[" * 100_000 + "\n", "eval.jsonl:1: the curation output cannot be read"),
    ],
)
def test_corrupt_curation_outputs_name_file_and_line_on_export(curated, name, content, fragment):
    (curated / name).write_text(content)
    with pytest.raises(DataError) as err:
        export_with_decisions(curated, {}, curated / "export")
    assert fragment in err.value.message
    assert (curated / name).read_text() == content and not (curated / "export").exists()


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("report.json", "{", "report.json:1:2: the curation report is not valid JSON"),
        ("report.json", "[]", "not a curation report"),
        ("removed.jsonl", '{"id": "d", "messages": []}\n', "removed.jsonl: record 1 lacks"),
        ("flags.jsonl", '{"id": "a", "kind": "conflict"}\n', "flags.jsonl: record 1 is a conflict without"),
        ("clusters.json", '{"clusters": 3}', "clusters.json: expected a JSON object"),
        ("clusters.json", "1" * 5000, "clusters.json: the clusters file cannot be read: a number has too many digits"),
    ],
)
def test_corrupt_curation_outputs_name_the_file_on_review(curated, name, content, fragment):
    from advisor.project import load_curation

    (curated / "report.json").write_text(json.dumps({"counts": {"valid": 4, "kept": 3}}))
    load_curation(curated)  # sound outputs load
    (curated / name).write_text(content)
    with pytest.raises(DataError) as err:
        load_curation(curated)
    assert fragment in err.value.message


def test_project_state_file_that_is_a_fifo_is_refused_not_replaced(tmp_path):
    from advisor.project import is_project, open_or_create
    from curation.errors import UsageError

    os.mkfifo(tmp_path / "tunewise.yaml")
    assert is_project(tmp_path)
    with pytest.raises(UsageError, match="named pipe"):
        open_or_create(tmp_path)
    assert stat.S_ISFIFO((tmp_path / "tunewise.yaml").lstat().st_mode)  # still the user's FIFO, not overwritten
