"""A real bake-off on a small slice of the sample project: every candidate, caching, cancel + resume, CLI, advice."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from curation.errors import CancelledError, UsageError
from curation.jsonl import dumps_lines, read_jsonl
from training.evaluation.config import EvalConfig
from training.evaluation.eval_set import BakeoffPaths
from training.evaluation.harness import run_bakeoff as run_with_paths
from training.evaluation.results import latest_bakeoff, load_bakeoff

pytestmark = pytest.mark.slow

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "support"
CANDIDATES = {"zero-shot", "few-shot", "rag", "lora:r1", "rag+lora:r1"}
# Short prompts keep CPU generation fast: one demonstration, two small passages.
SMALL = {"few_shot_examples": 1, "prompt_budget": 700, "rag_k": 2, "rag_context_tokens": 160}


def paths(root: Path, **changes) -> BakeoffPaths:
    """The folders of a test project, given explicitly (as advisor.project.bakeoff does from its layout)."""
    return BakeoffPaths(**{"split": root / "curated", "evals": root / "evals", "prompt": root / "prompt" / "messages.json",
                           "index": root / "index", "answers": None, **changes})


def run_bakeoff(root: Path, config: EvalConfig, **kwargs):
    """run_bakeoff with the project's explicit paths."""
    return run_with_paths(root, config, kwargs.pop("paths", None) or paths(root), **kwargs)


@pytest.fixture(scope="module")
def project(tmp_path_factory, embedder, tiny_run):
    """A project with a curated split (20 train, 3 eval sample conversations), a tiny RAG index and a 2-step LoRA run."""
    from tests.conftest import copy_run
    from training.rag.index import build_rag_index

    root = tmp_path_factory.mktemp("bakeoff-project")
    records = [r for r in read_jsonl(SAMPLE / "examples.jsonl") if len(r["messages"]) == 3][:23]
    (root / "curated").mkdir()
    (root / "curated" / "train.jsonl").write_text(dumps_lines(records[:20]))
    (root / "curated" / "eval.jsonl").write_text(dumps_lines(records[20:]))
    docs = root / "docs"
    docs.mkdir()
    for name in ("battery-care.md", "care-and-flex-plans.md"):
        shutil.copy(SAMPLE / "docs" / name, docs / name)
    build_rag_index([docs], root / "index", embedder=embedder)
    copy_run(tiny_run, root / "runs", "r1")  # any finished adapter: the bake-off scores it like the others
    return root


@pytest.fixture(scope="module")
def first(project, embedder):
    return run_bakeoff(project, EvalConfig(limit=3, max_new_tokens=6, **SMALL), embedder=embedder)


def test_bakeoff_scores_every_candidate_and_writes_its_folder(first, project):
    assert {c.name for c in first.candidates} == CANDIDATES
    assert all(c.generated == 3 and c.cached == 0 for c in first.candidates)
    assert first.examples == 3 and first.primary == "rouge_l"  # the sample's replies are free text
    folder = Path(first.folder)
    # other tests in this module may add newer bake-offs to the shared project (random order): the latest is never older
    assert folder.parent == project / "evals" and latest_bakeoff(project).name >= folder.name
    rows = read_jsonl(folder / "outputs.jsonl")
    assert len(rows) == 3 and all(set(r["outputs"]) == CANDIDATES for r in rows)
    assert all(0.0 <= r["scores"][c]["rouge_l"] <= 1.0 for r in rows for c in CANDIDATES)
    summary = (folder / "summary.md").read_text()
    for name in CANDIDATES:
        assert f"| {name} |" in summary
    assert "scores best on rouge_l" in summary
    again = load_bakeoff(folder)
    assert again.to_dict() == first.to_dict()
    pairs = {(c.a, c.b) for c in first.comparisons}
    assert len(pairs) == 10  # every pair of the 5 candidates, on the primary metric


def test_rag_candidate_answers_from_retrieved_passages_with_citations_stripped(first, project, embedder, tokenizer):
    import re

    from training.evaluation.candidates import last_user, rag_conversation
    from training.evaluation.eval_set import load_eval_data
    from training.rag.index import load_rag_index
    from training.rag.retrieve import RetrieveConfig, search

    example = load_eval_data(project / "curated").examples[0]
    hits = search(load_rag_index(project / "index"), [last_user(example)], RetrieveConfig(k=2), embedder)[0]
    messages = rag_conversation(example, hits, tokenizer.tokenizer, 160)
    assert messages[0]["content"].startswith(example.system_text.strip())  # the task's own instructions come first
    assert "Sources:" in messages[1]["content"] and hits[0].source in messages[1]["content"]
    assert last_user(example).strip() in messages[1]["content"]
    rows = read_jsonl(Path(first.folder) / "outputs.jsonl")
    assert not any(re.search(r"\[\d+\]", r["outputs"]["rag"]) for r in rows)  # citation marks never reach scoring
    rag = first.candidate("rag")
    assert rag.kind == "rag" and "retrieved" in rag.description
    assert first.settings["index"] and first.settings["prompt"].startswith("built from 20 train examples (1 shown)")


def test_second_run_generates_nothing_and_scores_the_same(first, project, embedder):
    second = run_bakeoff(project, EvalConfig(limit=3, max_new_tokens=6, **SMALL), embedder=embedder)
    assert all(c.generated == 0 and c.cached == 3 for c in second.candidates)
    assert {c.name: c.scores for c in second.candidates} == {c.name: c.scores for c in first.candidates}


def test_cancel_keeps_what_was_generated_and_a_rerun_resumes(project, embedder):
    cancel = threading.Event()

    def progress(stage, done, total):
        if stage == "generate few-shot":
            cancel.set()

    config = EvalConfig(limit=2, max_new_tokens=4, candidates=["zero-shot", "few-shot"], **SMALL)
    with pytest.raises(CancelledError, match="re-run continues"):
        run_bakeoff(project, config, progress=progress, cancel=cancel, embedder=embedder)
    resumed = run_bakeoff(project, config, embedder=embedder)
    by_name = {c.name: c for c in resumed.candidates}
    assert by_name["zero-shot"].generated == 0 and by_name["few-shot"].generated == 2


def test_candidates_that_cannot_run_are_usage_errors(project, tmp_path, embedder):
    with pytest.raises(UsageError, match="needs a RAG index"):
        run_bakeoff(project, EvalConfig(candidates=["rag"]), paths=paths(project, index=tmp_path / "none"),
                    embedder=embedder)
    with pytest.raises(UsageError, match="No run named"):
        run_bakeoff(project, EvalConfig(candidates=["lora:missing"]), embedder=embedder)
    with pytest.raises(UsageError, match="No evaluation set"):
        run_bakeoff(tmp_path, EvalConfig(candidates=["zero-shot"]))
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(UsageError, match="not a bake-off folder"):
        run_bakeoff(project, EvalConfig(candidates=["zero-shot"]), out_dir=tmp_path)
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_cli_eval_json_and_advise_cites_the_bakeoff(first, project):
    from advisor.cli import cli

    runner = CliRunner()
    result = runner.invoke(cli, ["eval", str(project), "--candidates", "zero-shot,lora:r1", "--limit", "3",
                                 "--max-new-tokens", "6", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert {c["name"] for c in summary["candidates"]} == {"zero-shot", "lora:r1"}
    assert all(c["generated"] == 0 for c in summary["candidates"])  # cached by the first bake-off
    bad = runner.invoke(cli, ["eval", str(project), "--candidates", "fine-tuned"])
    assert bad.exit_code == 2 and "Unknown candidate" in bad.output

    report = project / "report.md"
    advice = runner.invoke(cli, ["advise", "--eval", str(project), "--answers", str(SAMPLE / "answers.yaml"),
                                 "--no-ask", "--json", "--report", str(report)])
    assert advice.exit_code == 0, advice.output
    rec = json.loads(advice.stdout)["recommendation"]
    assert rec["bakeoff"] == summary["folder"]
    assert any(r["basis"].startswith("eval:") for r in rec["reasons"])
    markdown = report.read_text()  # the PM report carries the bake-off's own section: table, verdict, examples
    assert "## Bake-off: 3 held-out examples" in markdown and "| zero-shot |" in markdown and "bake-off: `rouge_l`" in markdown


def test_a_changed_eval_set_makes_the_bakeoff_stale(first, project):
    from training.evaluation.eval_set import eval_set_changed

    assert not eval_set_changed(first)
    eval_file = project / "curated" / "eval.jsonl"
    original = eval_file.read_text()
    try:
        rows = read_jsonl(eval_file)
        rows[0]["messages"][-1]["content"] += " (corrected)"
        eval_file.write_text(dumps_lines(rows))
        assert eval_set_changed(first)
    finally:
        eval_file.write_text(original)


def test_bakeoffs_of_the_same_second_get_their_own_folders_in_order(tmp_path):
    from datetime import datetime, timezone

    from training.evaluation.harness import new_bakeoff_folder

    now = datetime(2026, 12, 2, 3, 20, 1, tzinfo=timezone.utc)
    names = []
    for _ in range(3):
        folder = new_bakeoff_folder(tmp_path, now)
        folder.mkdir()
        names.append(folder.name)
    assert names == ["2026-12-02T03-20-01Z", "2026-12-02T03-20-01Z-02", "2026-12-02T03-20-01Z-03"]
    assert sorted(names) == names  # latest_bakeoff picks the newest by name
