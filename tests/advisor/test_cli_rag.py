"""`tunewise rag` and `tunewise prompt`: build, query (--json, --questions), ask and run with the real model, errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from advisor.commands.prompt import prompt
from advisor.commands.rag import rag

FIXTURES = Path(__file__).parent.parent / "fixtures"
DOCS = FIXTURES / "docs"
SMALL = FIXTURES / "small_chat.jsonl"


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    docs = tmp_path_factory.mktemp("docs")
    shutil.copytree(DOCS, docs, dirs_exist_ok=True)
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 nothing here")
    before = {p: p.read_bytes() for p in docs.rglob("*") if p.is_file()}
    out = tmp_path_factory.mktemp("rag") / "idx"
    result = CliRunner().invoke(rag, ["build", str(docs), "--index", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert {p: p.read_bytes() for p in docs.rglob("*") if p.is_file()} == before  # inputs never modified
    assert "Skipped broken.pdf" in result.stderr
    return out, json.loads(result.stdout), docs


@pytest.fixture(scope="module")
def generator():
    """The packaged SmolLM2 generator, loaded once for this module (slow: ~10 s, more on a cold cache)."""
    from training.generate import load_generator

    return load_generator()


def test_build_reports_json_and_skipped_files(index):
    out, report, _ = index
    assert report["documents"] == 5 and report["chunks"] > 5 and report["index_type"] == "flat"
    assert report["skipped"] == [{"path": "broken.pdf", "reason": report["skipped"][0]["reason"]}]
    assert (out / "manifest.json").exists()


def test_rebuild_without_changes_embeds_nothing(index):
    out, _, docs = index
    result = CliRunner().invoke(rag, ["build", str(docs), "--index", str(out)])
    assert result.exit_code == 0, result.output
    assert "Embedded 0 new chunk(s)" in result.stdout


def test_query_json_hits(index):
    out, _, _ = index
    result = CliRunner().invoke(rag, ["query", str(out), "What is the recall hotline number?", "-k", "2", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["mode"] == "hybrid" and len(payload["hits"]) == 2
    top = payload["hits"][0]
    assert top["source"] == "recall.pdf" and "0800 4477" in top["text"]
    assert {"source", "heading", "score", "text", "span"} <= set(top)


def test_query_plain_text_and_bm25_mode(index):
    out, _, _ = index
    result = CliRunner().invoke(rag, ["query", str(out), "descale vinegar", "--mode", "bm25", "-k", "1"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("1. [") and "kettle.html › Aurora kettle care > Descaling" in result.stdout


def test_questions_file_gives_one_json_line_each(index, tmp_path):
    out, _, _ = index
    questions = tmp_path / "q.txt"
    questions.write_text("How long does delivery to Norway take?\n\nWhat is the office cat called?\n")
    result = CliRunner().invoke(rag, ["query", str(out), "--questions", str(questions), "-k", "3", "--mode", "dense"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["question"] for line in lines] == ["How long does delivery to Norway take?", "What is the office cat called?"]
    assert lines[0]["hits"][0]["source"] == "shipping.txt" and lines[1]["hits"][0]["source"] == "guides/notes.jsonl:1"


def test_errors_are_messages_with_exit_codes(index, tmp_path):
    out, _, _ = index
    runner = CliRunner()
    result = runner.invoke(rag, ["query", str(tmp_path), "anything"])
    assert result.exit_code == 2 and "not a tunewise RAG index" in result.stderr and "Traceback" not in result.output
    broken = tmp_path / "broken"
    shutil.copytree(out, broken)
    (broken / "index.faiss").write_bytes(b"junk")
    result = runner.invoke(rag, ["query", str(broken), "anything"])
    assert result.exit_code == 1 and "corrupt" in result.stderr and "Hint:" in result.stderr
    result = runner.invoke(rag, ["query", str(out)])
    assert result.exit_code == 2 and "either a QUESTION" in result.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "x.docx").write_bytes(b"PK")
    result = runner.invoke(rag, ["build", str(empty), "--index", str(tmp_path / "i2")])
    assert result.exit_code == 1 and "No text to index" in result.stderr


@pytest.mark.slow
def test_ask_answers_with_the_real_model_and_cites_retrieved_chunks(index, generator, monkeypatch):
    import training.generate

    monkeypatch.setattr(training.generate, "load_generator", lambda model=None, adapter=None: generator)
    out, _, _ = index
    result = CliRunner().invoke(rag, ["ask", str(out), "What number do I call about the recall?", "-k", "2",
                                      "--max-new-tokens", "24", "--json"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["answer"] and answer["sources"][0]["source"] == "recall.pdf" and len(answer["sources"]) == 2
    for citation in answer["citations"]:  # every citation names a retrieved chunk
        source = answer["sources"][citation["number"] - 1]
        assert (citation["source"], citation["span"]) == (source["source"], source["span"])
    assert set(answer["invalid_citations"]).isdisjoint({1, 2})


@pytest.mark.slow
def test_prompt_build_then_run_on_the_real_model(tmp_path, generator, monkeypatch):
    import training.generate

    monkeypatch.setattr(training.generate, "load_generator", lambda model=None, adapter=None: generator)
    out = tmp_path / "prompt"
    result = CliRunner().invoke(prompt, ["build", str(SMALL), "--out", str(out), "--examples", "2", "--budget", "600", "--json"])
    assert result.exit_code == 0, result.output
    selection = json.loads(result.stdout)
    assert len(selection["examples"]) == 2 and selection["tokens"] <= 600
    assert len({e["cluster"] for e in selection["examples"]}) == 2
    messages = json.loads((out / "messages.json").read_text())
    assert messages[0]["role"] == "system" and len(messages) == 5
    assert (out / "prompt.txt").read_text().count("Example ") == 2
    result = CliRunner().invoke(prompt, ["run", str(out), "How long does shipping take?", "Can I return an item?",
                                         "--max-new-tokens", "8", "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["input"] for r in rows] == ["How long does shipping take?", "Can I return an item?"]
    assert all(isinstance(r["output"], str) and r["output"] for r in rows)


def test_prompt_errors(tmp_path):
    result = CliRunner().invoke(prompt, ["run", str(tmp_path), "hi"])
    assert result.exit_code == 2 and "No prompt" in result.stderr
    result = CliRunner().invoke(prompt, ["build", str(SMALL), "--examples", "lots"])
    assert result.exit_code == 2 and "--examples" in result.stderr


def test_every_command_has_help():
    runner = CliRunner()
    for group in (rag, prompt):
        assert group.help
        for name, command in group.commands.items():
            assert command.help, f"{group.name} {name} has no help text"
            assert runner.invoke(group, [name, "--help"]).exit_code == 0
