"""advisor.project.layout: the one rule for which split is current, and paths spelled in one place."""

from __future__ import annotations

import os
from pathlib import Path

from advisor.project import Layout, create_project, curated_examples, run_plan
from curation import split_files


def _split(folder: Path, mtime: int | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in (split_files.TRAIN, split_files.EVAL, split_files.REPORT_JSON):
        (folder / name).write_text("{}\n" if name.endswith(".json") else "")
        if mtime is not None:
            os.utime(folder / name, ns=(mtime, mtime))
    return folder


def test_paths_come_from_the_layout(tmp_path):
    layout = Layout(tmp_path)
    assert layout.curated == tmp_path / "curated" and layout.export == tmp_path / "export"
    assert layout.index == tmp_path / "index" and layout.runs == tmp_path / "runs" and layout.evals == tmp_path / "evals"
    assert layout.prompt_messages.parent == layout.prompt and layout.state_files[0] == tmp_path / "tunewise.yaml"


def test_no_split_before_curation(tmp_path):
    assert Layout(tmp_path).current_split() is None


def test_curated_split_then_a_newer_export(tmp_path):
    layout = Layout(tmp_path)
    _split(layout.curated, mtime=1_000_000_000_000_000_000)
    assert layout.current_split() == layout.curated
    _split(layout.export, mtime=1_000_000_001_000_000_000)
    assert layout.current_split() == layout.export


def test_an_export_older_than_the_curation_is_stale(tmp_path):
    layout = Layout(tmp_path)
    _split(layout.export, mtime=1_000_000_000_000_000_000)
    _split(layout.curated, mtime=1_000_000_001_000_000_000)  # curated again after the export
    assert not layout.export_is_current()
    assert layout.current_split() == layout.curated


def test_a_plain_curation_folder_is_its_own_split(tmp_path):
    _split(tmp_path)
    assert Layout(tmp_path).current_split() == tmp_path


def test_runs_and_the_plan_follow_the_same_rule(tmp_path):
    project = create_project(tmp_path / "p")
    _split(project.layout.export, mtime=1_000_000_000_000_000_000)
    _split(project.layout.curated, mtime=1_000_000_001_000_000_000)
    assert curated_examples(project) == project.layout.curated
    plan = run_plan(project, "fine-tune", cwd=tmp_path)
    assert any("Export the data" in note for note in plan.notes)  # the stale export is not used, and it says so
