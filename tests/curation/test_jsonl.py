"""JSON Lines: records split at \\n only, the curated-example reader, the JSON type names in messages."""

from __future__ import annotations

import json

import pytest

from curation.errors import DataError
from curation.jsonl import json_type, read_examples, read_jsonl

CHAT = {"id": "a", "messages": [{"role": "user", "content": "Hi\u2028there\x85"}, {"role": "assistant", "content": "Hello\u2029"}]}


def test_a_raw_line_separator_inside_a_string_stays_in_its_record(tmp_path):
    path = tmp_path / "train.jsonl"
    # written raw (as other tools do), not escaped as tunewise writes it
    path.write_text(json.dumps(CHAT, ensure_ascii=False) + "\n" + json.dumps(CHAT | {"id": "b"}, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    assert "\u2028" in path.read_text(encoding="utf-8")
    assert [r["id"] for r in read_jsonl(path)] == ["a", "b"]
    examples = read_examples(path)
    assert [e.id for e in examples] == ["a", "b"] and examples[0].messages[0]["content"] == "Hi\u2028there\x85"


def test_read_examples_names_the_record_that_is_no_conversation(tmp_path):
    path = tmp_path / "eval.jsonl"
    path.write_text(json.dumps(CHAT) + "\n" + json.dumps({"id": "x", "messages": [{"role": "user", "content": "q"}]}) + "\n")
    with pytest.raises(DataError, match=r"eval.jsonl: record 2 is not a curated example: it has no assistant reply"):
        read_examples(path)
    assert read_examples(tmp_path / "absent.jsonl") == []


@pytest.mark.parametrize(("value", "plain", "article"), [
    ({}, "JSON object", "an object"), ([], "JSON array", "an array"), ("s", "string", "a string"),
    (True, "true/false", "a boolean"), (3, "number", "a number"), (2.5, "number", "a number"), (None, "null", "null"),
])
def test_json_type_names(value, plain, article):
    assert json_type(value) == plain and json_type(value, article=True) == article
