"""`tunewise export RUN --format merged|gguf|ollama [--out DIR]`: a run's adapter merged into its base model, as
safetensors, a GGUF file for llama.cpp, or an Ollama Modelfile folder; each with a model card."""

from __future__ import annotations

import json
import threading

import click

from advisor.cli_output import handle_errors, plain_warning, print_renderable, say
from curation.errors import TunewiseError, UsageError

FORMATS = ("merged", "gguf", "ollama")  # training.deploy_export.FORMATS, spelt here so --help imports no torch


@click.command()
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="merged", show_default=True,
              help="merged: a transformers folder (safetensors); gguf: one GGUF file for llama.cpp (llama-family models); "
                   "ollama: a Modelfile with the chat template and stop tokens, FROM the GGUF file where one can be written.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="New folder for the export [default: NAME-FORMAT].")
@click.option("--merged", "merged_dir", type=click.Path(file_okay=False), help="Same as --format merged --out DIR.")
@click.option("--gguf-type", type=click.Choice(("f16", "f32", "q8_0")), default="f16", show_default=True,
              help="How the GGUF file stores weight matrices (norms stay f32).")
@click.option("--system", default=None, help="SYSTEM prompt of the Ollama Modelfile [default: the project's saved prompt's "
                                              "system message, if any; '' for none].")
@click.option("--project", default=".", show_default=True, type=click.Path(file_okay=False), help="Project folder holding runs/.")
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON on stdout.")
@handle_errors
def export(name, fmt, out_dir, merged_dir, gguf_type, system, project, as_json) -> None:
    """Export run NAME's LoRA adapter merged into its base model, ready to deploy, with a model card (README.md)."""
    from advisor.progress import cli_progress
    from training.deploy_export import export_deploy
    from training.finetune import cancel_on_sigint
    from training.runs import find_run

    if merged_dir:
        if out_dir or fmt != "merged":
            raise UsageError("--merged DIR is short for --format merged --out DIR.", "Use --format and --out instead.")
        out_dir = merged_dir
    run_dir = find_run(project, name)
    if fmt == "ollama" and system is None:
        system = _project_system_prompt(project)
    say(f"Exporting {name} as {fmt}...")
    cancel = threading.Event()
    with cancel_on_sigint(cancel), cli_progress() as progress:
        result = export_deploy(run_dir, out_dir or f"{name}-{fmt}", fmt, gguf_type=gguf_type, system=system or None,
                               progress=progress, cancel=cancel)
    for note in result.notes:
        print_renderable(plain_warning(note), err=True)
    if as_json:
        payload = result.to_dict()
        payload["merged_dir"] = result.out if fmt == "merged" else None  # the key `--merged --json` always printed
        click.echo(json.dumps(payload, indent=2))
        return
    click.echo(f"Wrote {', '.join(result.files)} to {result.out}/")
    if result.commands:
        click.echo("Next:")
        for command in result.commands:
            click.echo(f"  {command}")


def _project_system_prompt(project: str) -> str | None:
    """The system message of the project's saved few-shot prompt (prompt/messages.json), if there is one."""
    from pathlib import Path

    from advisor.project.layout import Layout
    from training.prompting import load_prompt

    layout = Layout(Path(project))
    if not layout.prompt_messages.is_file():
        return None
    try:
        messages = load_prompt(layout.prompt)
    except TunewiseError as exc:
        print_renderable(plain_warning(f"No SYSTEM in the Modelfile: {exc.message}"), err=True)
        return None
    return messages[0]["content"] if messages and messages[0].get("role") == "system" else None
