"""`tunewise review`: ranked groups of possible duplicates, accept/reject per group or in bulk, undo, export."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from advisor.cli import cli
from advisor.project import create_project, open_project

QUESTIONS = {"q1": "How long does shipping to Germany take?", "q2": "How long is shipping to Germany?",
             "q3": "How long does delivery to Germany take?", "q4": "Can I cancel Ride+?", "q5": "Can I cancel my Ride+ plan?",
             "q6": "Which bikes cost more than 2000?", "q7": "Which bikes cost less than 2000?", "q8": "Do you ship to Canada?"}
FLAGS = [("q2", "q1", 0.86), ("q3", "q2", 0.82), ("q5", "q4", 0.88), ("q7", "q6", 0.95)]


def _record(i: str) -> dict:
    return {"id": i, "messages": [{"role": "user", "content": QUESTIONS[i]}, {"role": "assistant", "content": f"[b]answer[/b] {i}"}]}


@pytest.fixture
def project(tmp_path):
    """A project with curation outputs as `tunewise curate` writes them: 8 kept examples, 4 possible-duplicate pairs."""
    project = create_project(tmp_path / "p")
    curated = project.curated_dir
    curated.mkdir()
    rows = [_record(i) for i in QUESTIONS]

    def jsonl(name, records):
        (curated / name).write_text("".join(json.dumps(r) + "\n" for r in records))

    jsonl("clean.jsonl", rows)
    jsonl("train.jsonl", rows[:6])
    jsonl("eval.jsonl", rows[6:])
    jsonl("removed.jsonl", [])
    jsonl("per_example.jsonl", [{"id": r["id"]} for r in rows])
    jsonl("flags.jsonl", [{"id": a, "kind": "possible_duplicate", "with": [b], "similarity": s,
                           "rule": "input and output 0.80+ similar; below the threshold 0.90"} for a, b, s in FLAGS])
    (curated / "report.json").write_text(json.dumps({"counts": {"valid": 8, "kept": 8, "removed": 0}}))
    return project


def _run(project, *args):
    return CliRunner().invoke(cli, ["review", str(project.root), *args])


def _json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_list_ranks_groups_and_accept_reject_undo_round_trip(project):
    groups = _json(_run(project, "list", "--json"))
    assert [(g["id"], g["members"], g["keeper"], g["status"]) for g in groups] == [
        (1, ["q4", "q5"], "q4", "open"), (2, ["q1", "q2", "q3"], "q2", "open"), (3, ["q6", "q7"], "q6", "open")]
    assert groups[1]["score"] == 0.82 and groups[2]["caution"]  # more vs less: last, whatever its similarity

    done = _json(_run(project, "accept", "2", "--json"))
    assert done == {"decision": "accept", "groups": [2], "removed": ["q1", "q3"], "marks": 3}
    assert _json(_run(project, "reject", "1", "--json"))["removed"] == []
    statuses = [g["status"] for g in _json(_run(project, "list", "--json"))]
    assert statuses == ["rejected", "accepted", "open"]
    assert json.loads((project.decisions_path).read_text()) == {
        "q1": "remove", "q2": "keep", "q3": "remove", "q4": "keep", "q5": "keep"}

    export = open_project(project.root).export()[0]
    removed = {r["id"]: r for r in map(json.loads, (export.out_dir / "removed.jsonl").read_text().splitlines())}
    assert removed["q1"]["duplicate_of"] == "q2" and removed["q3"]["similarity"] == 0.82 and "group 2" in removed["q3"]["note"]
    assert export.kept == 6

    assert "Undone: reject group 1" in _run(project, "undo").stderr
    assert [g["status"] for g in _json(_run(project, "list", "--json"))] == ["open", "accepted", "open"]
    assert _json(_run(project, "undo", "--json"))["undone"] == "accept group 2"
    assert json.loads(project.decisions_path.read_text()) == {}
    result = _run(project, "undo")
    assert result.exit_code == 2 and "Nothing to undo" in result.stderr


def test_bulk_accept_takes_open_groups_above_the_score_without_cautions(project):
    done = _json(_run(project, "accept", "--all-above", "0.85", "--json"))
    assert done["groups"] == [1] and done["removed"] == ["q5"]
    done = _json(_run(project, "accept", "--all-above", "0.80", "--json"))
    assert done["groups"] == [2]  # group 1 is decided already, group 3 has a caution
    assert "nothing changed" in _run(project, "accept", "--all-above", "0.5").stderr
    _run(project, "undo")
    assert [g["status"] for g in _json(_run(project, "list", "--json"))] == ["accepted", "open", "open"]


def test_show_and_another_keeper(project):
    result = _run(project, "show", "2")
    assert result.exit_code == 0, result.output
    assert "q2 ~ q1: 0.860" in result.stderr and "[b]answer[/b] q3" in result.stderr  # user text shown verbatim
    assert _json(_run(project, "accept", "2", "--keep", "q3", "--json"))["removed"] == ["q1", "q2"]


@pytest.mark.parametrize("args, message", [
    (("accept", "9"), "No review group '9': groups are numbered 1 to 3"),
    (("reject", "two"), "No review group 'two'"),
    (("accept", "2", "--keep", "q8"), "'q8' is not in review group 2"),
    (("accept",), "Name one GROUP, or give --all-above"),
    (("accept", "--all-above", "3"), "is not a similarity"),
])
def test_bad_requests_are_usage_errors(project, args, message):
    result = _run(project, *args)
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.output
    assert not project.decisions_path.exists()


def test_a_project_never_curated_says_so(tmp_path):
    project = create_project(tmp_path / "new")
    result = _run(project, "list")
    assert result.exit_code == 1 and "no curation outputs to review" in result.stderr
