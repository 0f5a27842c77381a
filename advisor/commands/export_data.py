"""`tunewise export-data`: curated train/eval data in openai, alpaca or sharegpt format."""

from __future__ import annotations

import json
from pathlib import Path

import click

from advisor.cli_output import handle_errors
from advisor.project.layout import EXPORT


@click.command("export-data")
@click.argument("data", type=click.Path())
@click.option("--format", "fmt", required=True, type=click.Choice(["openai", "alpaca", "sharegpt"]),
              help="openai: chat JSONL ({\"messages\": [{\"role\", \"content\"}]}), what Together AI and Fireworks AI "
                   "fine-tuning accept; alpaca: instruction/input/output JSON; sharegpt: conversations JSONL for "
                   "local trainers.")
@click.option("--out", "out_dir", default=EXPORT, show_default=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the eval split when DATA is a single file.")
@click.option("--json", "as_json", is_flag=True, help="Print the written files as JSON on stdout.")
@handle_errors
def export_data(data, fmt, out_dir, seed, as_json) -> None:
    """Write PROJECT's curated train/eval sets (or a data file, split here) for hosted providers and other trainers."""
    from advisor.project.layout import Layout
    from training.export_data import export_data as write
    from training.finetune import load_training_data

    split = Layout(Path(data)).current_split() if Path(data).is_dir() else None  # a project: its current split
    loaded = load_training_data(split or data, seed=seed)
    written = write({"train": loaded.train, "eval": loaded.eval}, fmt, out_dir)
    counts = {"train": len(loaded.train), "eval": len(loaded.eval)}
    if as_json:
        click.echo(json.dumps({"format": fmt, "files": [str(p) for p in written], "examples": counts}, indent=2))
    else:
        click.echo(f"Wrote {counts['train']} train and {counts['eval']} eval examples as {fmt}: {', '.join(map(str, written))}")
