"""`tunewise advise`: prompting, RAG or fine-tuning? An explained verdict from the interview answers and the data."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import click

from advisor.cli_output import handle_errors, print_markdown, say
from advisor.project.layout import ANSWERS
from curation import split_files

DEFAULT_ANSWERS = ANSWERS


def ask_questions(answers, only_missing: bool = True) -> int:
    """Ask the questions that apply and are unanswered on the command line (prompts on stderr); return how many were answered."""
    from curation.errors import UsageError

    asked = 0
    for question in answers.questions:
        if not question.applies(answers) or (only_missing and answers.answered(question.id)):
            continue
        say("")
        say((question.text, "bold"))
        say((f"Why we ask: {question.help}", "dim"))
        for n, option in enumerate(question.options, 1):
            say(f"  {n}. {option.label} ", (f"({option.value})", "dim"))
        kind = {"yesno": " [yes/no]", "number": " (a number)"}.get(question.kind, "")
        while True:
            raw = click.prompt(f"Answer{kind}, or Enter to skip", default="", show_default=False, err=True)
            try:
                answers.set(question.id, raw)
            except UsageError as exc:
                say((exc.message, "red"), f" {exc.hint or ''}")
                continue
            asked += answers.answered(question.id)
            break
    return asked


def _evidence(data: str, curated_out: str | None, skip_invalid: bool):
    """Evidence from a curation output folder, or from curating a data file (into curated_out or a temporary folder)."""
    from advisor.evidence import evidence_from_curation_dir
    from advisor.progress import cli_progress
    from curation.curate_files import run_curation
    from curation.errors import UsageError

    path = Path(data)
    if not path.exists():
        raise UsageError(f"--data {data}: no such file or folder.", "Give a data file (.jsonl, .json, .csv) or a `tunewise curate` output folder.")
    if path.is_dir():
        if not (path / split_files.REPORT_JSON).is_file():
            raise UsageError(f"--data {data} is a folder without report.json.",
                             "Give a data file, or a folder written by `tunewise curate`.")
        return evidence_from_curation_dir(path)
    with tempfile.TemporaryDirectory(prefix="tunewise-advise-") as tmp:
        out = Path(curated_out) if curated_out else Path(tmp)
        with cli_progress() as progress:
            run_curation([str(path)], out, skip_invalid=skip_invalid, progress=progress)
        evidence = evidence_from_curation_dir(out)
    evidence.source = str(out) if curated_out else str(path)
    return evidence


def _project_root(eval_path: str | None, data: str | None) -> Path | None:
    """The project folder --data (or --eval) belongs to, whose endpoints and runs price the verdict; None if none."""
    from advisor.project.folder import is_project

    for given in (data, eval_path):
        if given and Path(given).is_dir():
            for folder in (Path(given), *Path(given).parents[:2]):  # a project, its curated/, or evals/<date>/
                if is_project(folder):
                    return folder
    return None


def _bakeoff(eval_path: str | None, data: str | None):
    """The bake-off named by --eval (a bake-off or project folder), else the latest one of --data's project."""
    from advisor.project.bakeoff import bakeoff_at, latest_bakeoff

    if eval_path:
        return bakeoff_at(eval_path)
    if data and Path(data).is_dir():
        for project in (Path(data), Path(data).parent):  # a project folder, or its curated/ folder
            found = latest_bakeoff(project)
            if found is not None:
                return found
    return None


@click.command()
@click.option("--answers", "answers_path", type=click.Path(dir_okay=False), help="Interview answers (YAML). Default: ./answers.yaml if present.")
@click.option("--data", type=click.Path(), help="A data file to curate and measure, or a `tunewise curate` output folder to read.")
@click.option("--curated-out", type=click.Path(file_okay=False), help="Keep the curation of a --data file in this folder (default: a temporary one).")
@click.option("--skip-invalid", is_flag=True, help="Curate --data without its invalid records instead of stopping.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False), help="Also write the Markdown report to this file (atomically).")
@click.option("--ask/--no-ask", default=None, help="Ask unanswered questions here (default: only when stdin is a terminal).")
@click.option("--save-answers", type=click.Path(dir_okay=False), help="Save the answers, including any just given, to this YAML file.")
@click.option("--eval", "eval_path", type=click.Path(exists=True, file_okay=False), help="A bake-off folder (evals/<date>/) or a project folder (its latest bake-off) for the verdict to rest on. Default: the latest bake-off of the project --data belongs to.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout (prompts and progress stay on stderr).")
@handle_errors
def advise(answers_path, data, curated_out, skip_invalid, report_path, ask, save_answers, eval_path, as_json) -> None:
    """Recommend prompting, RAG, fine-tuning or a combination, with reasons, warnings, costs and next steps.

    Without a terminal (CI, pipes) it never waits for input: unanswered questions lower the confidence and are listed.
    Exit codes: 0 ok, 1 data errors, 2 usage.
    """
    from advisor.interview import Answers, load_answers
    from advisor.interview import save_answers as write_answers
    from advisor.project.advice import advise_on, project_prices
    from advisor.report import render_markdown, report_json
    from curation.errors import UsageError
    from curation.files import write_text_atomic

    if answers_path is None and Path(DEFAULT_ANSWERS).is_file():
        answers_path = DEFAULT_ANSWERS
    # --save-answers may name the answers file itself (that is how an interview is resumed); nothing else overwrites an input.
    protected = {"--report": (answers_path, data), "--save-answers": (data,)}
    for option, target in (("--report", report_path), ("--save-answers", save_answers)):
        if target and any(p and Path(p).resolve() == Path(target).resolve() for p in protected[option]):
            raise UsageError(f"{option} {target} would overwrite an input.", f"Choose another file for {option}.")
    answers = load_answers(answers_path) if answers_path else Answers({})
    if ask is None:
        ask = sys.stdin.isatty()
    asked = 0
    if ask and answers.missing():
        say((f"{len(answers.missing())} question(s) to answer", "bold"), " (Enter skips one).")
        asked = ask_questions(answers)
    if asked and not save_answers:
        say(("These answers are not saved: add --save-answers answers.yaml to keep them.", "dim"))
    if save_answers:
        write_answers(answers, save_answers)
        say(f"Saved answers to {save_answers}")
    evidence = _evidence(data, curated_out, skip_invalid) if data else None
    bakeoff = _bakeoff(eval_path, data)
    root = _project_root(eval_path, data)
    rec = advise_on(answers, evidence, bakeoff, project_prices(root) if root else None).recommendation
    if rec.contradictions:
        say((f"{len(rec.contradictions)} pair(s) of answers contradict each other", "yellow"),
            " (see \"Answers to check\" in the report): correct the one that is wrong.")
    if rec.ignored:
        say((f"{len(rec.ignored)} answer(s) set aside", "dim"), (": their question does not apply given another answer.",
                                                               "dim"))
    if rec.missing:
        say((f"{len(rec.missing)} key question(s) unanswered", "yellow"), f" ({', '.join(rec.missing)}): the confidence is "
            f"lowered. Answer them in {answers_path or DEFAULT_ANSWERS}, or run on a terminal to be asked.")
    markdown = render_markdown(rec, answers, evidence)
    if report_path:
        write_text_atomic(report_path, markdown)
        say(f"Wrote {report_path}")
    if as_json:
        click.echo(json.dumps(report_json(rec, answers, evidence), indent=2, ensure_ascii=False))
        return
    print_markdown(markdown)
