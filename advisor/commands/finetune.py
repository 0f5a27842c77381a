"""`tunewise finetune`: train a LoRA adapter on curated data into PROJECT/runs/NAME/."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from advisor.cli_output import handle_errors, plain_warning, say


def project_for(data: str, project: str | None) -> Path:
    """Where runs go: --project, else the project folder given as DATA, else the current folder."""
    if project:
        return Path(project)
    return Path(data) if Path(data).is_dir() else Path(".")


@click.command()
@click.argument("data", type=click.Path())
@click.option("--model", help="Base model folder or hub id (default: packaged SmolLM2-135M-Instruct; never remote code).")
@click.option("--name", help="Run name (default: run-DATE-TIME); the run goes to PROJECT/runs/NAME/.")
@click.option("--project", type=click.Path(file_okay=False), help="Project folder for runs/ (default: DATA if it is a folder, else the current folder).")
@click.option("--resume", is_flag=True, help="Continue the run (--name, or the latest unfinished one) from its latest checkpoint.")
@click.option("--epochs", type=float, default=3.0, show_default=True, help="Passes over the training set.")
@click.option("--max-steps", type=int, default=0, show_default=True, help="Stop after N optimizer steps (0 = all epochs).")
@click.option("--rank", type=int, default=8, show_default=True, help="LoRA rank.")
@click.option("--alpha", type=int, default=16, show_default=True, help="LoRA alpha (scale = alpha / rank).")
@click.option("--dropout", type=float, default=0.05, show_default=True, help="LoRA dropout.")
@click.option("--target-modules", help="Comma-separated module names to adapt, or all-linear (default: the architecture's attention projections).")
@click.option("--lr", "learning_rate", type=float, default=2e-4, show_default=True, help="Peak learning rate.")
@click.option("--batch-size", type=int, default=8, show_default=True, help="Examples per forward pass.")
@click.option("--grad-accum", type=int, default=1, show_default=True, help="Forward passes per optimizer step.")
@click.option("--eval-steps", type=int, default=20, show_default=True, help="Evaluate and checkpoint every N steps.")
@click.option("--patience", type=int, default=3, show_default=True, help="Early stopping: evaluations without improvement (0 = off).")
@click.option("--max-length", type=int, help="Longest sequence in tokens; longer examples are skipped (default: curation's max_tokens, else 2048).")
@click.option("--packing", is_flag=True, help="One padding-free row per batch instead of padded, length-grouped batches (for very uneven lengths).")
@click.option("--precision", type=click.Choice(["auto", "bf16", "fp16", "fp32"]), default="auto", show_default=True,
              help="auto: on a GPU bf16 where supported, else fp16; on a CPU bf16 where native, else fp32. fp16: GPU only.")
@click.option("--quantize", type=click.Choice(["none", "4bit"]), default="none", show_default=True,
              help="4bit: QLoRA, the base loaded in 4-bit NF4 (CUDA GPU and pip install 'tunewise[gpu]').")
@click.option("--gradient-checkpointing/--no-gradient-checkpointing", default=True, show_default=True,
              help="Recompute activations in backward instead of keeping them: a few times less memory, about a third more compute.")
@click.option("--report-to", type=click.Choice(["auto", "tensorboard", "wandb", "mlflow", "none"]), default="auto", show_default=True,
              help="Tracking: TensorBoard logs in RUN/tensorboard (auto: when tensorboard is installed), wandb, mlflow or none.")
@click.option("--processes", type=click.IntRange(min=1), default=1, show_default=True,
              help="Train with N processes (data parallel) through `accelerate launch`; on CPU they share the cores.")
@click.option("--accelerate-config", type=click.Path(dir_okay=False), help="With --processes: an accelerate config file "
              "(e.g. FSDP, from `accelerate config`) passed to accelerate launch.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for LoRA init, data order and the eval split of a data file.")
@click.option("--eval-fraction", type=float, default=0.1, show_default=True, help="Share held out for eval when DATA is a single file.")
@click.option("--json", "as_json", is_flag=True, help="Print the final metrics as JSON on stdout (progress stays on stderr).")
@click.pass_context
@handle_errors
def finetune(ctx, data, model, name, project, resume, epochs, max_steps, rank, alpha, dropout, target_modules, learning_rate,
             batch_size, grad_accum, eval_steps, patience, max_length, packing, precision, quantize, gradient_checkpointing,
             report_to, processes, accelerate_config, seed, eval_fraction, as_json) -> None:
    """Fine-tune a LoRA adapter on PROJECT (its current split: export/ when newer than curated/), a curated folder or a data file.

    Ctrl-C saves a checkpoint and exits (code 130); run again with --resume to continue.
    Exit codes: 0 done (or early-stopped), 1 data/model error, 2 usage, 130 interrupted.
    """
    import threading

    from advisor.project.finetune import finetune_run, resume_target, runs_folder
    from advisor.project.layout import Layout
    from curation.errors import UsageError
    from training.finetune import (
        cancel_on_sigint,
        check_accelerate_config,
        is_main_process,
        load_training_data,
    )
    from training.lora_config import LoraSettings

    folder = project_for(data, project)
    root = runs_folder(folder)
    name = resume_target(folder, name, resume)
    if accelerate_config and processes < 2:
        raise UsageError("--accelerate-config is for multi-process runs.", "Add --processes N (2 or more), one per GPU.")
    if processes > 1:  # every process runs this command again under accelerate launch, with the run name fixed here
        if accelerate_config:
            check_accelerate_config(accelerate_config)
        sys.exit(_launch(ctx, processes, name))
    split = Layout(Path(data)).current_split() if Path(data).is_dir() else None  # a project: its current split
    training_data = load_training_data(split or data, eval_fraction=eval_fraction, seed=seed)
    # --resume keeps the run's saved settings except --epochs/--max-steps given here (advisor.project.finetune's rule)
    given = {p for p in ("epochs", "max_steps") if ctx.get_parameter_source(p) == click.core.ParameterSource.COMMANDLINE}
    given |= {"max_length"} if max_length else set()
    settings = LoraSettings(
        model=model, rank=rank, alpha=alpha, dropout=dropout,
        target_modules=[m.strip() for m in target_modules.split(",") if m.strip()] if target_modules else None,
        learning_rate=learning_rate, epochs=epochs, max_steps=max_steps, batch_size=batch_size, grad_accum=grad_accum,
        eval_steps=eval_steps, early_stopping_patience=patience,
        max_length=max_length or LoraSettings.max_length, packing=packing, precision=precision, quantize=quantize, seed=seed,
        gradient_checkpointing=gradient_checkpointing, report_to=report_to,
    )
    if not is_main_process():  # under accelerate launch: the main process reports, the others only train
        stop = threading.Event()  # Ctrl-C reaches every process: all checkpoint the same step (training.finetune.any_process)
        with cancel_on_sigint(stop):
            finetune_run(training_data, root / name, settings, resume, given, cancel=stop)
        return  # exit 0 whatever the outcome: the launcher would otherwise stop the main process while it saves
    say(f"Fine-tuning on {training_data.source}: {len(training_data.train)} train, {len(training_data.eval)} eval "
        f"-> {root / name}")
    from advisor.progress import progress_bars

    bar = progress_bars(label_width=12, info=True)
    tasks: dict[str, int] = {}
    losses = {"loss": "-", "eval": "-"}

    def progress(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task({"train": "Training", "tokenize": "Tokenising"}.get(stage, stage), total=max(total, 1), info="")
        bar.update(tasks[stage], completed=done, total=max(total, 1))

    def on_log(row: dict) -> None:
        if row.get("kind") == "warning":
            bar.console.print(plain_warning(row["message"]))
            return
        if row.get("kind") == "train":
            losses["loss"] = f"{row['train_loss']:.3f}"
        elif row.get("kind") == "eval":
            losses["eval"] = f"{row['eval_loss']:.3f}"
        if "train" in tasks:
            bar.update(tasks["train"], info=f"loss {losses['loss']}  eval {losses['eval']}")

    cancel = threading.Event()
    with cancel_on_sigint(cancel), bar:
        result = finetune_run(training_data, root / name, settings, resume, given, progress=progress, cancel=cancel,
                              on_log=on_log).result
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        _print_summary(result)
    if result.status == "interrupted":
        say(f"Interrupted at step {result.metrics['steps']}; checkpoint saved. Continue with:")
        say(f"  tunewise finetune {data} --name {name} --resume")
        sys.exit(130)


def launch_command(ctx: click.Context, processes: int, name: str) -> list[str]:
    """`accelerate launch` of this command with the options given (--processes left out, --name fixed)."""
    args = [ctx.params["data"]]
    for param in ctx.command.params:
        if not isinstance(param, click.Option) or param.name in ("processes", "name", "accelerate_config"):
            continue
        if ctx.get_parameter_source(param.name) != click.core.ParameterSource.COMMANDLINE:
            continue
        value = ctx.params[param.name]
        if param.is_flag and param.secondary_opts:
            args.append(param.opts[0] if value else param.secondary_opts[0])
        elif param.is_flag:
            args += [param.opts[0]] if value else []
        else:
            args += [param.opts[0], str(value)]
    launcher = [sys.executable, "-m", "accelerate.commands.launch"]
    config = ctx.params.get("accelerate_config")
    if config:  # the file decides the strategy (FSDP, DeepSpeed, DDP) and precision; the process count is ours
        launcher += ["--config_file", str(config), "--num_processes", str(processes)]
    else:  # --multi_gpu starts torchrun's processes; on a CPU-only machine they train with gloo (accelerate's MULTI_CPU)
        launcher += ["--multi_gpu", "--num_processes", str(processes), "--num_machines", "1", "--mixed_precision", "no",
                     "--dynamo_backend", "no"]
    return [*launcher, "-m", "advisor.commands.finetune", *args, "--name", name]


def _launch(ctx: click.Context, processes: int, name: str) -> int:
    """Run this command in `processes` processes through accelerate launch; their exit code."""
    import subprocess

    from curation.errors import UsageError

    if os_environ_rank() is not None:
        raise UsageError("--processes cannot be used inside accelerate launch or torchrun.",
                         "Leave --processes out: the launcher already starts the processes.")
    say(f"Starting {processes} processes with accelerate launch (run {name}).")
    return subprocess.call(launch_command(ctx, processes, name))


def os_environ_rank() -> str | None:
    """The process rank a launcher set (None when not launched by one)."""
    import os

    return os.environ.get("RANK")


def _print_summary(result) -> None:
    """A short human summary on stdout."""
    m = result.metrics
    lines = [f"Run {result.run_dir.name}: {result.status} after {m['steps']} steps ({m['epochs']} epochs)"]
    if m.get("train_loss") is not None:
        lines.append(f"  train loss      {m['train_loss']:.4f}")
    if m.get("eval_loss") is not None:
        start = f" (before: {m['eval_loss_start']:.4f})" if m.get("eval_loss_start") is not None else ""
        lines.append(f"  eval loss       {m['eval_loss']:.4f}{start}")
    if m.get("tokens_per_s"):
        lines.append(f"  tokens/s        {m['tokens_per_s']}")
    if result.status != "interrupted":
        lines.append(f"  adapter         {result.run_dir / 'adapter'}")
        lines.append(f"  model card      {result.run_dir / 'README.md'}")
    click.echo("\n".join(lines))


if __name__ == "__main__":  # what `accelerate launch -m advisor.commands.finetune` runs in each process
    finetune(prog_name="tunewise finetune")
