"""`tunewise export NAME --merged DIR`: a run's adapter merged into its base model, loadable by plain transformers."""

from __future__ import annotations

import json

import click

from advisor.cli_output import handle_errors, say


@click.command()
@click.argument("name")
@click.option("--merged", "merged_dir", required=True, type=click.Path(file_okay=False), help="New folder for the merged model (safetensors + tokenizer).")
@click.option("--project", default=".", show_default=True, type=click.Path(file_okay=False), help="Project folder holding runs/.")
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON on stdout.")
@handle_errors
def export(name, merged_dir, project, as_json) -> None:
    """Merge run NAME's LoRA adapter into its base model and save it to DIR."""
    from training.runs import export_merged, find_run

    say(f"Merging {name} into its base model...")
    out = export_merged(find_run(project, name), merged_dir)
    files = sorted(p.name for p in out.iterdir())
    if as_json:
        click.echo(json.dumps({"run": name, "merged_dir": str(out), "files": files}, indent=2))
    else:
        click.echo(f"Wrote {', '.join(files)} to {out}/ (load with AutoModelForCausalLM.from_pretrained({str(out)!r}))")
