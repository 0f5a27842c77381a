"""Curator decisions: saved, validated, applied on export without touching the curation outputs."""

import json

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
    summary = export_with_decisions(curated, {"d": "keep", "a": "remove"})
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
        export_with_decisions(curated, {"zzz": "keep"})


def test_jsonl_never_splits_a_record_on_unicode_line_breaks():
    from curation.jsonl import dumps_line

    line = dumps_line({"text": "a\x85b\u2028c\u2029d é"})
    assert len(line.splitlines()) == 1 and json.loads(line)["text"] == "a\x85b\u2028c\u2029d é"
