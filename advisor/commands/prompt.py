"""`tunewise prompt`: build a few-shot prompt that covers the data, and answer inputs with it."""

from __future__ import annotations

import json
from pathlib import Path

import click

from advisor.cli_output import handle_errors
from advisor.project.layout import PROMPT


def _examples_option(value: str) -> int | None:
    from curation.errors import UsageError

    if value == "auto":
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise UsageError(f"--examples must be a number or 'auto', not {value!r}.") from exc


@click.group()
def prompt() -> None:
    """Prompting: a system prompt plus a few well-chosen examples, run on the local model."""


@prompt.command()
@click.argument("data", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--out", "out_dir", default=PROMPT, show_default=True, type=click.Path(file_okay=False), help="Folder for messages.json, prompt.txt and selection.json.")
@click.option("--examples", default="3", show_default=True, help="Few-shot examples, one per cluster of inputs; 'auto' picks the clusters by silhouette and fills the budget.")
@click.option("--budget", "token_budget", default=1024, show_default=True, type=int, help="Most tokens of the whole prompt in the model's chat template.")
@click.option("--task", help="Task description for the system prompt.")
@click.option("--answers", type=click.Path(exists=True, dir_okay=False), help="Interview answers.yaml; its task description becomes the system prompt.")
@click.option("--model", help="Model whose tokenizer and chat template count tokens (default: packaged SmolLM2-135M-Instruct).")
@click.option("--embedder", help="Sentence-transformers model for clustering (default: packaged all-MiniLM-L6-v2).")
@click.option("--seed", default=0, show_default=True, type=int, help="k-means seed.")
@click.option("--skip-invalid", is_flag=True, help="Leave out invalid records instead of stopping.")
@click.option("--json", "as_json", is_flag=True, help="Print the selection (examples, clusters, tokens) as JSON.")
@handle_errors
def build(data, out_dir, examples, token_budget, task, answers, model, embedder, seed, skip_invalid, as_json) -> None:
    """Write a few-shot prompt for DATA (data files, or a `tunewise curate` output folder: its train split).

    Exit codes: 0 ok, 1 data errors, 2 usage.
    """
    from advisor.progress import cli_progress
    from advisor.project.prompt import build_and_save
    from training.prompting import PromptConfig

    config = PromptConfig(examples=_examples_option(examples), token_budget=token_budget, task=task, answers=answers,
                          model=model, embedder=embedder, seed=seed)
    with cli_progress() as progress:
        built = build_and_save(data, out_dir, config, skip_invalid, progress=progress)
    result, written = built.prompt, built.files
    if as_json:
        click.echo(json.dumps({**result.to_dict(), "files": [str(p) for p in written]}, indent=2, ensure_ascii=False))
        return
    click.echo(f"System prompt from the {_SOURCES[result.system_source]}; {len(result.examples)} example(s) from "
               f"{result.clusters} cluster(s) of {result.data_examples} inputs; {result.tokens}/{result.token_budget} tokens.")
    for example in result.examples:
        click.echo(f"  cluster {example.cluster} ({example.cluster_size} inputs; {', '.join(example.keywords[:4])}): "
                   f"{example.id}{'' if example.medoid else ' (medoid too long; next most typical)'}")
    if result.left_out_clusters:
        click.echo(f"  left out (over budget): cluster(s) {', '.join(map(str, result.left_out_clusters))}")
    click.echo(f"Wrote {', '.join(p.name for p in written)} to {Path(out_dir)}/")


_SOURCES = {"task": "task description", "data": "data's own system prompt", "generic": "generic template"}


def _read_inputs(inputs: tuple[str, ...], inputs_file: str | None) -> tuple[list[str], list[str | None]]:
    """Inputs from arguments, a text file (one a line) or a data file (its inputs, with expected outputs)."""
    from training.prompting import load_examples

    if not inputs_file:
        return list(inputs), [None] * len(inputs)
    path = Path(inputs_file)
    if path.suffix.lower() in (".jsonl", ".json", ".csv", ".tsv"):
        examples = load_examples([path])
        return [*inputs, *(e.input_text for e in examples)], [None] * len(inputs) + [e.output_text for e in examples]
    lines = [line.strip() for line in path.read_text(encoding="utf-8-sig").splitlines() if line.strip()]
    return [*inputs, *lines], [None] * (len(inputs) + len(lines))


@prompt.command()
@click.argument("prompt_path", metavar="PROMPT", type=click.Path(exists=True))
@click.argument("inputs", nargs=-1)
@click.option("--inputs", "inputs_file", type=click.Path(exists=True, dir_okay=False), help="Inputs, one a line, or a data file (chat/CSV…: its inputs, with the expected outputs).")
@click.option("--model", help="Generative model folder (default: packaged SmolLM2-135M-Instruct).")
@click.option("--adapter", type=click.Path(exists=True, file_okay=False), help="A LoRA adapter folder trained by tunewise.")
@click.option("--max-new-tokens", default=256, show_default=True, type=int, help="Most tokens generated per input.")
@click.option("--temperature", default=0.0, show_default=True, type=float, help="Sampling temperature (0: greedy).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per input: input, output (and expected).")
@handle_errors
def run(prompt_path, inputs, inputs_file, model, adapter, max_new_tokens, temperature, as_json) -> None:
    """Answer INPUTS with the prompt in PROMPT (a `prompt build` folder or its messages.json) on the local model."""
    from advisor.progress import cli_progress
    from training.generate import load_generator
    from training.prompting import load_prompt, run_prompt

    messages = load_prompt(prompt_path)
    texts, expected = _read_inputs(inputs, inputs_file)
    with cli_progress() as progress:
        generator = load_generator(model, adapter)
        outputs = run_prompt(messages, texts, generator, max_new_tokens, temperature, progress=progress)
    for text, output, want in zip(texts, outputs, expected):
        if as_json:
            record = {"input": text, "output": output, **({"expected": want} if want is not None else {})}
            click.echo(json.dumps(record, ensure_ascii=False))
        else:
            click.echo(f"> {text}\n{output.strip()}\n")
