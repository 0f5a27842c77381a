"""`tunewise eval`: the bake-off — every candidate on the same held-out examples, scored with intervals."""

from __future__ import annotations

import json

import click

from advisor.cli_output import handle_errors, plain, print_renderable, say


def _names(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


@click.command("eval")
@click.argument("project", type=click.Path(exists=True, file_okay=False))
@click.option("--data", type=click.Path(exists=True, dir_okay=False), help="Evaluation file (any format curate reads) instead of the project's curated eval.jsonl.")
@click.option("--candidates", help="Comma-separated: zero-shot, few-shot, rag, lora:RUN, rag+lora:RUN, lora (every run), prompt@ENDPOINT, rag@ENDPOINT, all (every configured endpoint too). Default: all available.")
@click.option("--metrics", help="Comma-separated metrics (exact_match, contains, token_f1, rouge_l, embedding, json_valid, json_equal, length_ratio, format_regex, format_schema). Default: chosen from the references.")
@click.option("--primary", help="The metric that picks the winner (default: chosen from the references).")
@click.option("--regex", help="Outputs must match this regular expression (adds the format_regex metric).")
@click.option("--schema", type=click.Path(exists=True, dir_okay=False), help="JSON schema outputs must validate against (adds format_schema).")
@click.option("--limit", type=int, help="Evaluate only the first N examples.")
@click.option("--max-new-tokens", type=int, default=128, show_default=True, help="Most tokens generated per output, the same for every candidate.")
@click.option("--batch-size", type=int, default=8, show_default=True, help="Conversations generated together.")
@click.option("--model", help="Base model folder or hub id (default: packaged SmolLM2-135M-Instruct).")
@click.option("--index", "index_dir", type=click.Path(file_okay=False), help="RAG index folder (default: PROJECT/index).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Output folder (default: PROJECT/evals/<date>/).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout (progress stays on stderr).")
@handle_errors
def evaluate(project, data, candidates, metrics, primary, regex, schema, limit, max_new_tokens, batch_size, model,
             index_dir, out_dir, as_json) -> None:
    """Compare zero-shot, the few-shot prompt, RAG, each LoRA run and the project's endpoints on PROJECT's held-out examples.

    Endpoints (`tunewise endpoints add`) take part as prompt@NAME (the saved few-shot prompt, else zero-shot) and
    rag@NAME (the same retrieved passages as rag), with the same greedy decoding. Quality with intervals is shown
    next to tokens, cost per 1,000 requests and latency; the verdict names the cheapest candidate that is not
    clearly worse than the best. Outputs are cached per (candidate, example), endpoint replies too: a re-run, or a
    run after Ctrl-C, generates (and sends) only what is new.
    Writes PROJECT/evals/<date>/ (outputs.jsonl, summary.json, summary.md); `tunewise advise` then cites it.
    Exit codes: 0 ok, 1 data/model error, 2 usage, 130 interrupted.
    """
    import threading

    from advisor.progress import cli_progress
    from advisor.project.bakeoff import run_project_bakeoff
    from training.evaluation.config import EvalConfig
    from training.finetune import cancel_on_sigint

    config = EvalConfig(candidates=_names(candidates), metrics=_names(metrics), primary=primary, regex=regex,
                        schema=schema, limit=limit, max_new_tokens=max_new_tokens, batch_size=batch_size, model=model)
    with cancel_on_sigint(threading.Event()) as cancel, cli_progress() as progress:
        bakeoff = run_project_bakeoff(project, config, data=data, out_dir=out_dir, index_dir=index_dir,
                                      progress=progress, cancel=cancel)
    if as_json:
        click.echo(json.dumps(bakeoff.to_dict(), indent=2, ensure_ascii=False))
        return
    _print_table(bakeoff)


def _print_table(bakeoff) -> None:
    from rich.table import Table

    from training.evaluation.report import (
        MEASURE_COLUMNS,
        cost_line,
        fmt_interval,
        measure_cells,
        measures_notes,
        verdict_line,
    )
    from training.evaluation.results import MARKDOWN_FILE, OUTPUTS_FILE, SUMMARY_FILE

    table = Table(title=plain(f"{bakeoff.examples} held-out examples — {bakeoff.primary} decides"), title_justify="left")
    table.add_column("candidate")
    for metric in bakeoff.metrics:
        table.add_column(plain(metric + (" ★" if metric == bakeoff.primary else "")), justify="right")
    for column in MEASURE_COLUMNS:
        table.add_column(plain(column), justify="right")
    table.add_column("new / cached", justify="right")
    for c in bakeoff.ranked():
        table.add_row(plain(c.name), *(plain(fmt_interval(c.scores[m], m)) for m in bakeoff.metrics),
                      *(plain(cell) for cell in measure_cells(c)), f"{c.generated} / {c.cached}")
    print_renderable(table)
    say(verdict_line(bakeoff).replace("**", ""), err=False)
    say(cost_line(bakeoff).replace("**", ""), err=False)
    for c in bakeoff.ranked():
        if c.endpoint is not None:
            say((f"• {c.name}: {c.description}.", "dim"), err=False)
    for note in measures_notes(bakeoff):
        say((f"• {note}", "dim"), err=False)
    for reason in bakeoff.metric_reasons:
        say((f"• {reason[0].upper()}{reason[1:]}.", "dim"), err=False)
    say(f"Wrote {bakeoff.folder}/ ({OUTPUTS_FILE}, {SUMMARY_FILE}, {MARKDOWN_FILE}) in {bakeoff.seconds:.0f} s.", err=False)
