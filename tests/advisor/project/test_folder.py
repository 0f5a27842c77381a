"""The project folder model: state and resume, data paths, the sample project, marks, export and the run plan."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from advisor.project import (
    SAMPLE_DIR,
    ProjectState,
    create_project,
    create_sample_project,
    is_project,
    open_or_create,
    open_project,
    run_plan,
    shown_path,
)
from curation.errors import DataError, UsageError

SMALL = Path(__file__).parents[2] / "fixtures" / "small_chat.jsonl"


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _tree_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def curated(tmp_path_factory, embedder):
    """A project on small_chat.jsonl, curated for real (a4 exact and a5 near duplicates of a1; a6/a7 conflict)."""
    project = create_project(tmp_path_factory.mktemp("curated") / "proj", [SMALL])
    project.curate(embedder=embedder)
    return project


def test_create_then_open_round_trips_state(tmp_path):
    project = create_project(tmp_path / "p", [SMALL])
    assert is_project(project.root) and (project.root / "tunewise.yaml").is_file()
    project.reach("data")
    project.reach("interview", question=4)
    again = open_project(project.root)
    assert again.state.screen == "interview" and again.state.question == 4
    assert again.data_paths[0].resolve() == SMALL.resolve()
    assert again.state.created == project.state.created != ""


def test_state_json_file_is_read_and_written_as_json(tmp_path):
    (tmp_path / "tunewise.json").write_text(json.dumps({"screen": "data", "question": 2}))
    project = open_project(tmp_path)
    assert project.state.screen == "data"
    project.reach("recommendation")
    assert json.loads((tmp_path / "tunewise.json").read_text())["screen"] == "recommendation"
    assert not (tmp_path / "tunewise.yaml").exists()


def test_open_a_folder_that_is_not_a_project_says_how_to_create_one(tmp_path):
    with pytest.raises(UsageError, match="not a tunewise project") as info:
        open_project(tmp_path)
    assert "tunewise app" in info.value.hint


def test_create_refuses_an_existing_project_and_a_file(tmp_path):
    create_project(tmp_path / "p")
    with pytest.raises(UsageError, match="already a tunewise project"):
        create_project(tmp_path / "p")
    (tmp_path / "f").write_text("x")
    with pytest.raises(UsageError, match="is a file"):
        create_project(tmp_path / "f")
    assert open_or_create(tmp_path / "p").root == tmp_path / "p"
    assert is_project(open_or_create(tmp_path / "new").root)


@pytest.mark.parametrize(
    ("text", "error", "match"),
    [
        ("screen: [unclosed\n", DataError, "cannot be read"),
        ("- a list\n", DataError, "mapping"),
        ("screen: data\ncolour: red\n", DataError, "unknown key.*colour"),
        ("screen: somewhere\n", UsageError, "Invalid screen: 'somewhere'"),
        ("question: -1\n", UsageError, "Invalid question"),
        ("data: notalist\n", UsageError, "Invalid data"),
    ],
)
def test_a_broken_state_file_names_the_problem(tmp_path, text, error, match):
    (tmp_path / "tunewise.yaml").write_text(text)
    with pytest.raises(error, match=match):
        open_project(tmp_path)


def test_reach_rejects_an_unknown_step(tmp_path):
    project = create_project(tmp_path / "p")
    with pytest.raises(UsageError, match="Unknown step"):
        project.reach("training")
    assert open_project(tmp_path / "p").state.screen == "interview"


def test_data_paths_inside_the_project_are_stored_relative_and_outside_absolute(tmp_path, monkeypatch):
    project = create_project(tmp_path / "p")
    inside = project.root / "data" / "x.jsonl"
    inside.parent.mkdir()
    inside.write_text(SMALL.read_text())
    monkeypatch.chdir(tmp_path)
    project.set_data(["p/data/x.jsonl", SMALL])  # as typed, relative to the working folder
    stored = yaml.safe_load((project.root / "tunewise.yaml").read_text())["data"]
    assert stored == ["data/x.jsonl", str(SMALL.resolve())]
    assert [p.resolve() for p in open_project(project.root).data_paths] == [inside.resolve(), SMALL.resolve()]
    assert shown_path(inside) == "p/data/x.jsonl"
    assert shown_path(SMALL) == str(SMALL.resolve())


def test_set_data_refuses_a_missing_file_and_keeps_the_old_one(tmp_path):
    project = create_project(tmp_path / "p", [SMALL])
    with pytest.raises(UsageError, match="No such file: .*nope.jsonl"):
        project.set_data([tmp_path / "nope.jsonl"])
    with pytest.raises(UsageError, match="No data file"):
        project.set_data([])
    assert open_project(project.root).data_paths[0].resolve() == SMALL.resolve()


def test_sample_project_points_at_the_sample_and_never_writes_into_it(tmp_path):
    before = _tree_digest(SAMPLE_DIR)
    project = create_sample_project(tmp_path / "demo")
    assert project.data_paths[0].resolve() == (SAMPLE_DIR / "examples.jsonl").resolve()
    assert project.docs_path.resolve() == (SAMPLE_DIR / "docs").resolve()
    answers = project.load_answers()
    assert answers.get("output_kind") == "style" and answers.missing() == []
    answers.set("budget", "ample")
    project.save_answers(answers)
    assert project.load_answers().get("budget") == "ample"
    assert _tree_digest(SAMPLE_DIR) == before


def test_sample_project_without_a_sample_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="bundled sample"):
        create_sample_project(tmp_path / "demo", sample=tmp_path / "missing")
    assert not is_project(tmp_path / "demo")


def test_project_state_validates_on_construction():
    with pytest.raises(UsageError, match="screen"):
        ProjectState(screen="nowhere")


def test_curation_view_reads_duplicates_conflicts_and_clusters_back(curated):
    view = curated.load_curation()
    pairs = {(p.subject, p.twin, p.reason, p.default) for p in view.duplicates()}
    assert ("a4", "a1", "exact_duplicate", "remove") in pairs
    assert ("a5", "a1", "near_duplicate", "remove") in pairs
    assert view.conflict_groups() == [["a6", "a7"]]
    assert list(view.records)[:3] == ["a1", "a2", "a3"]  # input order, removed ones included
    assert set(view.records) == {f"a{i}" for i in range(1, 13)}
    assert sum(c["size"] for c in view.clusters) == view.report["counts"]["kept"]
    assert view.default("a4") == "remove" and view.default("a1") == "keep"


def test_marks_are_saved_undone_and_applied_only_on_export(curated):
    clean_before = (curated.curated_dir / "clean.jsonl").read_bytes()
    assert curated.set_decision("a4", "keep") == {"a4": "keep"}
    assert curated.set_decision("a6", "remove") == {"a4": "keep", "a6": "remove"}
    assert json.loads(curated.decisions_path.read_text()) == {"a4": "keep", "a6": "remove"}
    summary, stale = curated.export()
    exported = {r["id"] for r in _jsonl(curated.export_dir / "clean.jsonl")}
    assert "a4" in exported and "a6" not in exported and stale == []
    assert summary.restored == ["a4"] and summary.dropped == ["a6"]
    assert curated.load_curation().mark_counts({**curated.decisions(), "a1": "keep", "old-1": "remove"}) == (1, 1)
    assert (curated.curated_dir / "clean.jsonl").read_bytes() == clean_before  # curation outputs untouched
    curated.set_decision("a6", None)  # undo
    assert curated.decisions() == {"a4": "keep"}
    curated.export()
    assert "a6" in {r["id"] for r in _jsonl(curated.export_dir / "clean.jsonl")}
    with pytest.raises(UsageError, match="Unknown decision"):
        curated.set_decision("a1", "delete")


def test_export_leaves_out_marks_of_examples_not_in_this_run(curated):
    curated.set_decision("zz-99", "keep")
    try:
        _, stale = curated.export()
        assert stale == ["zz-99"]
        assert curated.decisions()["zz-99"] == "keep"  # kept in decisions.json, only not applied
    finally:
        curated.set_decision("zz-99", None)


def test_export_before_curation_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="Nothing to export"):
        create_project(tmp_path / "p", [SMALL]).export()


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("prompt", ["tunewise prompt build {data} --out proj/prompt", "tunewise prompt run proj/prompt --inputs {data}/eval.jsonl"]),
        ("rag", ["tunewise rag build {docs} --index proj/index", 'tunewise rag ask proj/index "YOUR QUESTION"']),
        ("fine-tune", ["{finetune}"]),
        ("rag+fine-tune", ["tunewise rag build {docs} --index proj/index", "{finetune}"]),
    ],
)
def test_run_plan_gives_the_exact_commands_with_the_projects_paths(curated, tmp_path, path, expected):
    curated.set_docs(tmp_path)
    try:
        plan = run_plan(curated, path, cwd=curated.root.parent)
    finally:
        curated.set_docs(None)
    exported = (curated.export_dir / "train.jsonl").is_file()
    names = {"data": "proj/export" if exported else "proj/curated", "docs": str(tmp_path.resolve()),
             "finetune": "tunewise finetune proj/export --project proj" if exported else "tunewise finetune proj"}
    assert plan.commands == [c.format(**names) for c in expected] + ["tunewise eval proj"]
    assert plan.script == "\n".join(plan.commands) and plan.steps


def test_run_plan_uses_the_answers_and_says_what_is_missing(curated, tmp_path):
    plan = run_plan(curated, "rag", cwd=curated.root.parent)
    assert plan.commands[0].startswith("tunewise rag build DOCS ")
    assert any("DOCS" in note for note in plan.notes)
    curated.save_answers(curated.load_answers())
    try:
        assert run_plan(curated, "prompt", cwd=curated.root.parent).commands[0].endswith(" --answers proj/answers.yaml")
    finally:
        curated.answers_path.unlink()
    fresh = create_project(tmp_path / "fresh", [SMALL])
    plan = run_plan(fresh, "prompt", cwd=tmp_path)
    assert plan.commands[0] == f"tunewise prompt build {SMALL.resolve()} --out fresh/prompt"
    assert any("Curate the data first" in note for note in plan.notes)
    with pytest.raises(UsageError, match="Unknown path"):
        run_plan(curated, "distill")
    with pytest.raises(UsageError, match="No such folder"):
        curated.set_docs(curated.root / "nowhere")
