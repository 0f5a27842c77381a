"""`tunewise advise`: answers + a real curation → verdict, report file, JSON, prompting, and clean failures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from advisor.commands.advise import advise
from advisor.interview import Answers, load_answers, save_answers

ROOT = Path(__file__).parents[2]
SMALL = ROOT / "tests" / "fixtures" / "small_chat.jsonl"
SAMPLE = ROOT / "samples" / "support"

VOICE = {
    "task": "Answer Northwind support chats", "output_kind": "style", "output_strictness": "strict",
    "private_facts": "none", "jargon": "none", "examples": 12, "examples_consistent": "yes", "eval_set": "held_out",
    "prompting_tried": True, "prompt_score": 4, "prompt_failures": "style", "requests_per_day": 300,
    "latency_cost": "medium", "data_location": "hosted", "recurrence": "repeatable", "stay_general": False,
    "budget": "moderate",
}


def _write_answers(path: Path, values: dict) -> Path:
    save_answers(Answers.from_dict(values), path)
    return path


@pytest.fixture(scope="module")
def curated_small(tmp_path_factory, embedder):
    """tests/fixtures/small_chat.jsonl curated once (real embedder and tokenizer)."""
    from curation.curate_files import run_curation

    job = run_curation([str(SMALL)], tmp_path_factory.mktemp("curated-small"), embedder=embedder)
    return job.out_dir


@pytest.fixture(scope="module")
def curated_sample(tmp_path_factory, embedder):
    """The first 80 Northwind conversations curated once (the whole demo set takes too long to embed in a unit test)."""
    from curation.curate_files import run_curation

    folder = tmp_path_factory.mktemp("curated-sample")
    head = folder / "head.jsonl"
    head.write_text("".join((SAMPLE / "examples.jsonl").read_text().splitlines(keepends=True)[:80]))
    return run_curation([str(head)], folder / "out", embedder=embedder).out_dir


def _run(args: list[str], **kwargs):
    return CliRunner().invoke(advise, args, catch_exceptions=False, **kwargs)


def test_json_verdict_rests_on_the_measured_report(tmp_path, curated_small):
    answers = _write_answers(tmp_path / "answers.yaml", VOICE)
    result = _run(["--answers", str(answers), "--data", str(curated_small), "--json"])
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)  # stdout is JSON only
    report = json.loads((curated_small / "report.json").read_text())
    evidence, rec = out["evidence"], out["recommendation"]
    assert evidence["kept"] == report["counts"]["kept"] and evidence["valid"] == report["counts"]["valid"]
    assert evidence["system_fraction"] is not None  # measured from clean.jsonl
    # 12 examples cannot support a fine-tune: the verdict says so, citing the measured count
    assert rec["path"] == "prompt"
    consistent = report["counts"]["kept"] - report["counts"].get("flagged_conflict", 0)
    assert any(f"Only {consistent} consistent example" in r["text"] and r["basis"] == "data:counts.kept" for r in rec["reasons"])
    assert any("this becomes fine-tuning" in w for w in rec["would_change"])
    for r in rec["reasons"] + rec["warnings"]:  # every measured basis names a real field of report.json
        kind, _, where = r["basis"].partition(":")
        if kind == "data":
            section, _, key = where.partition(".")
            assert key in report[section], r["basis"]
    assert rec["costs"]["training"]["train_tokens"] == report["cost"]["train_tokens"]
    assert out["answers"] == load_answers(answers).ordered()


def test_report_file_puts_the_verdict_first(tmp_path, curated_small):
    answers = _write_answers(tmp_path / "answers.yaml", VOICE)
    target = tmp_path / "out" / "report.md"
    result = _run(["--answers", str(answers), "--data", str(curated_small), "--report", str(target)])
    assert result.exit_code == 0, result.stderr
    text = target.read_text()
    assert text.startswith("# Should we fine-tune?")
    order = [text.index(h) for h in ("**Verdict: prompting**", "## Why", "## Money and time", "## Next steps",
                                     "## Appendix: technical detail", "### Data health", "### Costs")]
    assert order == sorted(order)
    assert [p.name for p in target.parent.iterdir()] == ["report.md"]  # written atomically, no temp file left
    assert "Verdict" in result.stdout  # and rendered on the terminal


def test_data_file_is_curated_first(tmp_path):
    answers = _write_answers(tmp_path / "answers.yaml", VOICE)
    keep = tmp_path / "curated"
    before = SMALL.read_bytes()
    result = _run(["--answers", str(answers), "--data", str(SMALL), "--curated-out", str(keep), "--json"])
    assert result.exit_code == 0, result.stderr
    assert SMALL.read_bytes() == before
    report = json.loads((keep / "report.json").read_text())
    out = json.loads(result.stdout)
    assert out["evidence"]["kept"] == report["counts"]["kept"] and out["evidence"]["source"] == str(keep)


def test_without_answers_or_terminal_it_does_not_wait(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = _run(["--json"])  # CliRunner's stdin is not a terminal and has no input
    assert result.exit_code == 0, result.stderr
    rec = json.loads(result.stdout)["recommendation"]
    assert rec["path"] == "prompt" and rec["confidence"] == "low"
    assert "key question(s) unanswered" in result.stderr and "prompting_tried" in result.stderr


def test_answers_yaml_in_the_working_folder_is_used(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write_answers(tmp_path / "answers.yaml", {**VOICE, "examples": 400})
    rec = json.loads(_run(["--json"]).stdout)["recommendation"]
    assert rec["path"] == "fine-tune" and not rec["missing"]


def test_ask_prompts_for_missing_answers_and_saves_them(tmp_path):
    partial = {k: v for k, v in VOICE.items() if k not in ("prompt_score", "budget")}
    answers = _write_answers(tmp_path / "answers.yaml", partial)
    saved = tmp_path / "resumed.yaml"
    # an invalid score is asked again; then the budget
    result = _run(["--answers", str(answers), "--ask", "--save-answers", str(saved), "--json"], input="eleven\n7\nample\n")
    assert result.exit_code == 0, result.stderr
    assert "Of 10 real cases" in result.stderr and "expected a number" in result.stderr
    resumed = load_answers(saved)
    assert resumed.get("prompt_score") == 7 and resumed.get("budget") == "ample"
    assert load_answers(answers).values == Answers.from_dict(partial).values  # the input file is untouched
    json.loads(result.stdout)  # prompts went to stderr, stdout is still JSON


def test_bad_answers_file_exits_1_naming_the_key(tmp_path):
    bad = tmp_path / "answers.yaml"
    bad.write_text("examples: lots\n")
    result = CliRunner().invoke(advise, ["--answers", str(bad)])
    assert result.exit_code == 1
    assert "'examples'" in result.stderr and "Traceback" not in result.output
    assert f"{bad}:1:" in result.stderr  # the file and the line of the bad answer


@pytest.mark.parametrize(("content", "fragment"), [
    ("examples: " + "9" * 5000 + "\n", ":1: the answers file cannot be read: a number has too many digits"),
    ("requests_per_day: " + "9" * 30 + "\n", "'requests_per_day': requests_per_day: " + "9" * 30 + " is too large"),
    ("examples: " + "[" * 10_000 + "\n", ":1: the answers file nests deeper than 64 levels"),
])
def test_absurd_answers_exit_1_without_a_traceback(tmp_path, content, fragment):
    bad = tmp_path / "answers.yaml"
    bad.write_text(content)
    result = CliRunner().invoke(advise, ["--answers", str(bad), "--no-ask"])
    assert result.exit_code == 1, result.output
    assert str(bad) in result.stderr and fragment in result.stderr and "Traceback" not in result.output
    assert bad.read_text() == content


@pytest.mark.parametrize("case", ["missing-data", "folder-without-report", "report-over-answers"])
def test_usage_errors_exit_2(tmp_path, case):
    answers = _write_answers(tmp_path / "answers.yaml", VOICE)
    (tmp_path / "empty").mkdir()
    args = {
        "missing-data": ["--data", str(tmp_path / "nope.jsonl")],
        "folder-without-report": ["--data", str(tmp_path / "empty")],
        "report-over-answers": ["--report", str(answers)],
    }[case]
    result = CliRunner().invoke(advise, ["--answers", str(answers), *args])
    assert result.exit_code == 2, result.output
    assert "Hint:" in result.stderr
    assert answers.read_text().startswith("# tunewise interview answers")  # never overwritten


def test_help():
    result = CliRunner().invoke(advise, ["--help"])
    assert result.exit_code == 0 and "--answers" in result.output and "--data" in result.output


def test_northwind_demo_gets_a_staged_rag_and_fine_tune_plan(curated_sample):
    result = _run(["--answers", str(SAMPLE / "answers.yaml"), "--data", str(curated_sample), "--json"])
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    rec, report = out["recommendation"], json.loads((curated_sample / "report.json").read_text())
    assert rec["path"] == "rag+fine-tune"
    counts = report["counts"]
    measured = f"{counts['kept'] - counts['flagged_conflict']} consistent examples ({counts['valid']} valid"
    assert any(measured in r["text"] for r in rec["reasons"])
    assert any("conflict" in w["text"] for w in rec["warnings"])  # the planted conflicts are surfaced
    assert any("eval.jsonl" in s for s in rec["next_steps"])
