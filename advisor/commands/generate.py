"""`tunewise generate`: answer a prompt or a JSONL file with the base model or a tuned adapter."""

from __future__ import annotations

import json
from pathlib import Path

import click

from advisor.cli_output import handle_errors, say


def _conversations(path: Path) -> tuple[list[dict], list[list[dict]], list[str | None]]:
    """Records of an input JSONL file, the conversation to answer for each, and the reference reply if it has one."""
    from curation.errors import DataError

    records, conversations, references = [], [], []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            messages = [{"role": m["role"], "content": m["content"]} for m in record["messages"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise DataError(f"{path}:{n} is not a chat record ({exc}).", 'Each line needs {"messages": [{"role", "content"}, ...]}.') from exc
        reference = None
        if messages and messages[-1]["role"] == "assistant":  # an eval record: answer the turns before its reply
            reference = messages.pop()["content"]
        if not messages:
            raise DataError(f"{path}:{n} has nothing to answer.", "Give at least one user message.")
        records.append(record)
        conversations.append(messages)
        references.append(reference)
    return records, conversations, references


@click.command()
@click.argument("prompt", required=False)
@click.option("--run", help="Use this run's adapter (default: the project's active run, if any).")
@click.option("--base", is_flag=True, help="Use the base model even when the project has an active run.")
@click.option("--project", default=".", show_default=True, type=click.Path(file_okay=False), help="Project folder holding runs/.")
@click.option("--model", help="Base model folder or hub id (default: the run's base model, else packaged SmolLM2-135M-Instruct).")
@click.option("--system", help="System message to put before PROMPT.")
@click.option("--input", "input_path", type=click.Path(dir_okay=False), help="JSONL of chat records to answer (an eval.jsonl: the last reply is the reference).")
@click.option("--output", "output_path", type=click.Path(dir_okay=False), help="Where --input's answers go (JSONL).")
@click.option("--max-new-tokens", type=int, default=128, show_default=True, help="Longest reply in tokens.")
@click.option("--temperature", type=float, default=0.0, show_default=True, help="0 = greedy.")
@click.option("--json", "as_json", is_flag=True, help="Print {model, reply} as JSON on stdout.")
@handle_errors
def generate(prompt, run, base, project, model, system, input_path, output_path, max_new_tokens, temperature, as_json) -> None:
    """Generate with the base model or a fine-tuned adapter: one PROMPT, or --input FILE --output FILE."""
    from curation.errors import UsageError
    from training.generate import load_generator
    from training.runs import active_run, find_run, write_text

    if bool(prompt) == bool(input_path):
        raise UsageError("Give either a PROMPT or --input FILE.", 'e.g. tunewise generate "Where is my order?"')
    if input_path and not output_path:
        raise UsageError("--input needs --output.", "Pass --output answers.jsonl.")
    if max_new_tokens < 1:
        raise UsageError(f"--max-new-tokens must be at least 1, got {max_new_tokens}.")
    if run and base:
        raise UsageError("--run and --base exclude each other.")
    name = None if base else (run or active_run(project))
    adapter = find_run(project, name) if name else None
    say(f"Loading {'run ' + name if name else 'the base model'}...")
    generator = load_generator(model, adapter)
    if prompt:
        conversation = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
        reply = generator.chat([conversation], max_new_tokens=max_new_tokens, temperature=temperature)[0]
        click.echo(json.dumps({"model": generator.name, "reply": reply}, ensure_ascii=False) if as_json else reply)
        return
    from advisor.progress import cli_progress

    records, conversations, references = _conversations(Path(input_path))
    with cli_progress() as progress:
        replies = generator.chat(conversations, max_new_tokens=max_new_tokens, temperature=temperature, progress=progress)
    rows = [{"id": r.get("id", str(i)), "messages": c, "output": reply, **({"reference": ref} if ref is not None else {}),
             "model": generator.name}
            for i, (r, c, reply, ref) in enumerate(zip(records, conversations, replies, references))]
    write_text(Path(output_path), "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
    if as_json:
        click.echo(json.dumps({"model": generator.name, "output": output_path, "answered": len(rows)}))
    else:
        click.echo(f"Wrote {len(rows)} answers from {generator.name} to {output_path}")
