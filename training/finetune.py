"""One LoRA fine-tune: curated chat data in, a run folder out (settings, metrics, checkpoints, adapter, model card).

The loop is transformers' Trainer; this module decides the data (template, labels, batching), the settings,
and what gets recorded: every step to metrics.jsonl, a checkpoint on cancel, resume from the latest checkpoint,
early stopping on eval loss.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curation.errors import CancelledError, DataError, ModelError, TunewiseError, UsageError
from curation.example import Example
from curation.files import staged_folder
from curation.jsonl import read_examples
from curation.split_files import EVAL, SETTINGS, TRAIN
from training import runs
from training.chat_data import ChatCollator, kept_logits_loss, tokenize_examples
from training.lora_config import LoraSettings, detect_target_modules, peft_targets
from training.model import quiet_deprecations

Progress = Callable[[str, int, int], None]
OnLog = Callable[[dict], None]


@dataclass
class TrainingData:
    """Train and eval examples and where they came from."""

    train: list[Example]
    eval: list[Example]
    source: str
    max_tokens: int | None = None  # the sequence length curation flagged against, when known

    def fingerprint(self) -> str:
        """A short hash of the train/eval ids, to check that a resumed run sees the same data."""
        ids = "\n".join(e.id for e in self.train) + "\n--\n" + "\n".join(e.id for e in self.eval)
        return hashlib.sha256(ids.encode()).hexdigest()[:16]


@dataclass
class FinetuneResult:
    """What a run produced."""

    run_dir: Path
    status: str  # completed | early_stopped | interrupted
    metrics: dict[str, Any]
    data: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run_dir.name, "run_dir": str(self.run_dir), "status": self.status, "metrics": self.metrics,
                "data": self.data, "warnings": self.warnings}


def load_training_data(path: str | Path, eval_fraction: float = 0.1, seed: int = 0) -> TrainingData:
    """A split folder (train.jsonl + eval.jsonl, as `tunewise curate` writes), or one data file split here."""
    path = Path(path)
    if path.is_dir():
        if not (path / TRAIN).exists():
            raise UsageError(f"No curated data in {path} (no {TRAIN}).",
                             "Curate first (`tunewise curate DATA --out DIR`; in a project, into its curated/ folder), or pass a data file.")
        hint = f"Re-run `tunewise curate DATA --out {path}` to rewrite it."
        train, evals = read_examples(path / TRAIN, hint=hint), read_examples(path / EVAL, hint=hint)
        return TrainingData(train, evals, str(path), _curated_max_tokens(path))
    if not path.exists():
        raise UsageError(f"{path} does not exist.", "Pass a project folder, a curated folder or a JSONL data file.")
    from curation.load import load_files
    from curation.split import group_split

    loaded = load_files([str(path)])
    if loaded.problems:
        raise DataError(f"{len(loaded.problems)} problem(s) in {path}, e.g. {loaded.problems[0].format()}",
                        f"Run `tunewise curate {path} --out curated` to see and fix them, then fine-tune on the curated folder.")
    is_eval = group_split([0] * len(loaded.examples), list(range(len(loaded.examples))), eval_fraction, seed)
    train = [e for e, ev in zip(loaded.examples, is_eval) if not ev]
    evals = [e for e, ev in zip(loaded.examples, is_eval) if ev]
    return TrainingData(train, evals, str(path))


def _curated_max_tokens(folder: Path) -> int | None:
    """The sequence length curation flagged against (its settings.json), if it recorded one."""
    from curation.safe_read import read_json_file

    path = folder / SETTINGS
    if not os.path.lexists(path):
        return None
    hint = f"Re-run `tunewise curate DATA --out {folder}` to rewrite it, or delete it."
    try:
        settings = read_json_file(path, "curation settings", hint=hint)
    except TunewiseError as exc:
        raise DataError(exc.message, hint) from None
    value = settings.get("max_tokens") if isinstance(settings, dict) else None
    if not isinstance(settings, dict) or (value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or not 8 <= value <= 2**31 - 1)):
        raise DataError(f"The curation settings {path} are damaged: max_tokens must be a whole number of tokens "
                        f"(8 or more) or null, and the file a JSON object.", hint)
    return value


@contextmanager
def cancel_on_sigint(cancel: threading.Event) -> Iterator[threading.Event]:
    """While active, the first Ctrl-C sets `cancel` (checkpoint and stop cleanly); a second one interrupts at once."""
    if threading.current_thread() is not threading.main_thread():
        yield cancel
        return

    first = [0.0]
    echo = 3.0 if world_size() > 1 else 0.0  # torchrun passes the terminal's Ctrl-C on to its workers a second time

    def handler(signum, frame):
        if cancel.is_set() and time.monotonic() - first[0] >= echo:
            raise KeyboardInterrupt
        if not cancel.is_set():
            first[0] = time.monotonic()
        cancel.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield cancel
    finally:
        signal.signal(signal.SIGINT, previous)


class TokenCounter:
    """Counts the real (non-pad) tokens the model is trained on, at forward time (data loaders prefetch batches)."""

    def __init__(self) -> None:
        self.tokens = 0

    def __call__(self, module, args, kwargs) -> None:
        if not module.training:
            return
        mask = kwargs.get("attention_mask")
        ids = kwargs.get("input_ids", args[0] if args else None)
        if mask is not None:
            self.tokens += int(mask.sum())
        elif ids is not None:
            self.tokens += ids.numel()  # packed rows hold no padding


def is_main_process() -> bool:
    """Whether this process writes the run's files: the only one, or rank 0 under `accelerate launch` / torchrun."""
    return int(os.environ.get("RANK", "0") or 0) == 0


def world_size() -> int:
    """How many processes train this run (WORLD_SIZE under `accelerate launch` / torchrun, else 1)."""
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


MULTI_PROCESS_TYPES = ("MULTI_CPU", "MULTI_GPU", "FSDP", "DEEPSPEED")  # accelerate distributed_type values a run can use


def check_accelerate_config(path: str | Path) -> dict[str, Any]:
    """An accelerate config file (YAML or JSON, as `accelerate config` writes) read safely and checked the way
    `accelerate launch` reads it; UsageError naming the file and what is wrong (FSDP needs an fsdp_config mapping)."""
    from curation.safe_read import read_json_file, read_yaml_file

    path = Path(path)
    hint = "Write it with `accelerate config --config_file FILE`, or fix it (see accelerate's FSDP guide for fsdp_config)."
    try:
        config = (read_json_file if path.suffix == ".json" else read_yaml_file)(path, "accelerate config", hint=hint)
    except TunewiseError as exc:
        raise UsageError(exc.message, exc.hint or hint) from None
    if not isinstance(config, dict):
        raise UsageError(f"The accelerate config {path} must be a mapping of setting: value.", hint)
    kind = str(config.get("distributed_type", ""))
    if kind not in MULTI_PROCESS_TYPES:
        raise UsageError(f"The accelerate config {path} has distributed_type {kind or '(none)'}; tunewise --processes "
                         f"needs one of {', '.join(MULTI_PROCESS_TYPES)}.", hint)
    if kind == "FSDP" and not isinstance(config.get("fsdp_config"), dict):
        raise UsageError(f"The accelerate config {path} asks for FSDP but has no fsdp_config mapping.", hint)
    from accelerate.commands.config.config_args import load_config_from_file

    try:
        load_config_from_file(str(path))  # accelerate's own reading: unknown keys and bad values
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise UsageError(f"accelerate cannot use the config {path}: {exc}", hint) from None
    return config


def any_process(flag: bool) -> bool:
    """Whether `flag` is set in any of the run's processes (itself when there is one): every process must stop,
    checkpoint and save at the same step, or the others wait for it forever."""
    import torch
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return flag
    device = f"cuda:{torch.cuda.current_device()}" if dist.get_backend() == "nccl" else "cpu"
    value = torch.tensor([1 if flag else 0], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def _callbacks(metrics_path: Path, counter: TokenCounter, progress: Progress | None, on_log: OnLog | None,
               cancel: threading.Event | None):
    """The TrainerCallback that writes metrics.jsonl, reports progress and turns `cancel` into checkpoint + stop."""
    from transformers import TrainerCallback

    class RunCallback(TrainerCallback):
        def __init__(self) -> None:
            self.interrupted = False
            self.mark = time.perf_counter()
            self.tokens = counter.tokens
            self.train_time = 0.0
            self.train_tokens = 0
            self.step_speed: float | None = None
            self.cpu_start = self.train_cpu = 0.0
            self.training = False
            self.tag: dict[str, Any] = {}  # extra fields for eval rows (the final evaluation is marked)

        def on_train_begin(self, args, state, control, optimizer=None, lr_scheduler=None, **kwargs):
            lr_scheduler = getattr(lr_scheduler, "scheduler", lr_scheduler)  # accelerate may wrap it
            if state.global_step and optimizer is not None and hasattr(lr_scheduler, "lr_lambdas"):
                # resumed: the optimizer holds the learning rate the old schedule ended on (0 at the end of a run
                # that reached its max steps); the next step takes the rate this run's schedule gives it
                for group, base, rate in zip(optimizer.param_groups, lr_scheduler.base_lrs, lr_scheduler.lr_lambdas):
                    group["lr"] = base * rate(state.global_step)
            self.mark, self.tokens = time.perf_counter(), counter.tokens
            self.cpu_start = time.process_time()
            self.training = True
            if progress:
                progress("train", state.global_step, state.max_steps)

        def on_step_end(self, args, state, control, **kwargs):
            now = time.perf_counter()
            tokens = counter.tokens - self.tokens
            self.train_time += now - self.mark
            self.train_tokens += tokens
            self.step_speed = tokens / max(now - self.mark, 1e-9)
            self.mark, self.tokens = now, counter.tokens
            if progress:
                progress("train", state.global_step, state.max_steps)
            self.check_cancel(control)

        def check_cancel(self, control) -> None:
            if self.training and not self.interrupted and any_process(cancel is not None and cancel.is_set()):
                self.interrupted = True
                control.should_save = True  # Trainer saves a checkpoint of this step, then stops
                control.should_training_stop = True

        def on_train_end(self, args, state, control, **kwargs):
            self.train_cpu = time.process_time() - self.cpu_start  # CPU seconds of all threads, evals included
            self.training = False

        def on_evaluate(self, args, state, control, **kwargs):
            self.mark, self.tokens = time.perf_counter(), counter.tokens  # eval time is not training time

        def on_save(self, args, state, control, **kwargs):
            self.mark, self.tokens = time.perf_counter(), counter.tokens

        def on_log(self, args, state, control, logs=None, **kwargs):
            logs = logs or {}
            row: dict[str, Any] = {"step": state.global_step, "epoch": round(state.epoch or 0.0, 4), "time": runs.now_iso()}
            if "loss" in logs:
                row |= {"kind": "train", "train_loss": logs["loss"], "learning_rate": logs.get("learning_rate"),
                        "grad_norm": logs.get("grad_norm"), "tokens_per_s": round(self.step_speed or 0.0, 1)}
            elif "eval_loss" in logs:
                row |= {"kind": "eval", "eval_loss": logs["eval_loss"], **self.tag}
            elif "train_runtime" in logs:
                row |= {"kind": "summary", "train_loss": logs.get("train_loss"), "train_runtime_s": logs["train_runtime"]}
            else:
                return
            if state.is_world_process_zero:  # every process logs; one writes
                with metrics_path.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(row) + "\n")
                if on_log:
                    on_log(row)
            self.check_cancel(control)  # in every process: the same logs, so the same collective calls

    return RunCallback()


def _trim_metrics(run_dir: Path, step: int) -> None:
    """Drop metric rows after `step` (written by a run that died after its last checkpoint) and any torn line."""
    rows = [r for r in runs.read_metrics(run_dir) if r.get("step", 0) <= step]
    runs.write_text(run_dir / runs.METRICS_FILE, "".join(json.dumps(r) + "\n" for r in rows))


def _training_args(settings: LoraSettings, run_dir: Path, has_eval: bool, device: str):
    """TrainingArguments for Trainer from our settings."""
    from transformers import TrainingArguments

    from training.model import resolve_precision

    precision = resolve_precision(settings.precision, device)
    early = has_eval and settings.early_stopping_patience > 0
    report = resolve_report_to(settings.report_to)
    save_steps = settings.eval_steps if has_eval else (settings.save_steps or settings.eval_steps)
    return TrainingArguments(
        output_dir=str(run_dir / runs.CHECKPOINTS_DIR),
        per_device_train_batch_size=settings.batch_size, per_device_eval_batch_size=settings.batch_size,
        gradient_accumulation_steps=settings.grad_accum, learning_rate=settings.learning_rate,
        num_train_epochs=settings.epochs, max_steps=settings.max_steps or -1, warmup_steps=settings.warmup_ratio,
        weight_decay=settings.weight_decay, lr_scheduler_type="linear",
        logging_steps=1, eval_strategy="steps" if has_eval else "no", eval_steps=settings.eval_steps if has_eval else None,
        save_strategy="steps", save_steps=save_steps, save_total_limit=settings.save_total_limit,
        load_best_model_at_end=early, metric_for_best_model="eval_loss" if early else None, greater_is_better=False if early else None,
        train_sampling_strategy="random" if settings.packing else "group_by_length",
        seed=settings.seed, data_seed=settings.seed, report_to=[r for r in report if r != "tensorboard"] or "none",
        disable_tqdm=True, ddp_find_unused_parameters=False,
        activation_checkpointing=settings.gradient_checkpointing,
        activation_checkpointing_kwargs={"use_reentrant": False} if settings.gradient_checkpointing else None,
        remove_unused_columns=False, prediction_loss_only=True, dataloader_num_workers=0,
        use_cpu=device == "cpu", bf16=precision == "bf16", fp16=precision == "fp16",
    )


def resolve_report_to(report_to: str) -> list[str]:
    """The trackers a run reports to (auto = tensorboard when installed); UsageError naming the package when one is missing."""
    import importlib.util

    packages = {"tensorboard": "tensorboard", "wandb": "wandb", "mlflow": "mlflow"}
    if report_to == "auto":
        return ["tensorboard"] if importlib.util.find_spec("tensorboard") else []
    if report_to == "none":
        return []
    if importlib.util.find_spec(packages[report_to]) is None:
        raise UsageError(f"--report-to {report_to} needs the {packages[report_to]} package, which is not installed.",
                         f"pip install {packages[report_to]}, or pass --report-to none.")
    return [report_to]


def finetune(
    data: TrainingData,
    settings: LoraSettings,
    run_dir: str | Path,
    resume: bool = False,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    on_log: OnLog | None = None,
    loaded=None,
) -> FinetuneResult:
    """Train a LoRA adapter on data.train (early stopping on data.eval) into run_dir; resume from its latest checkpoint.

    `loaded` is an optional already-loaded training.model.LoadedModel (copied, not changed), for callers that
    train several times on one model. `on_log` receives every metrics row and warnings as they happen.
    """
    from transformers import set_seed

    from training.model import (
        check_assistant_masking,
        hub_id,
        limit_heap_growth,
        load_model,
        model_label,
        resolve_precision,
    )

    run_dir = Path(run_dir)
    runs.validate_run_name(run_dir.name)
    main = is_main_process()
    resolve_report_to(settings.report_to)  # a missing tracker package is said before any model loads
    # the main process checks the folder; the others only find the checkpoint (the main one may have written run.json already)
    checkpoint = _check_run_folder(run_dir, data, resume, settings) if main else runs.latest_checkpoint(run_dir) if resume else None
    if not data.train:
        raise DataError("The training set is empty.", "Curate more examples, or pass a data file with at least a few conversations.")
    notes: list[str] = []
    progress = progress if main else None
    on_log = on_log if main else None

    def warn(message: str) -> None:
        notes.append(message)
        if on_log:
            on_log({"kind": "warning", "message": message})

    # 1. model and data
    set_seed(settings.seed)
    limit_heap_growth()
    shared = loaded is not None
    if shared and settings.quantize != "none":
        raise UsageError("A quantised run loads its own base model (it cannot copy one already loaded).",
                         "Call finetune() without `loaded` when settings.quantize is set.")
    loaded = loaded or load_model(settings.model, quantize=settings.quantize)
    precision = resolve_precision(settings.precision, loaded.device)  # fp16 on a CPU is refused before any step
    if loaded.name != model_label(settings.model):
        raise UsageError(f"The loaded model is {loaded.name} but the settings name {model_label(settings.model)}.")
    check_assistant_masking(loaded.tokenizer, loaded.name)
    train_set, eval_set, max_length = _tokenize(data, settings, loaded, warn, progress, cancel)
    model, targets = _with_lora(loaded.model, settings, copy_first=shared)
    estimate = _check_memory(model, settings, train_set, loaded.device, max_length)

    # 2. the run folder (main process only): settings, record, metrics (trimmed to the checkpoint when resuming)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json = runs.write_json if main else (lambda path, value: None)
    write_json(run_dir / runs.SETTINGS_FILE, settings.to_dict() | {"target_modules": targets})
    data_info = {"source": data.source, "fingerprint": data.fingerprint(), "train_examples": len(train_set.items),
                 "eval_examples": len(eval_set.items), "skipped_too_long": len(train_set.too_long) + len(eval_set.too_long),
                 "skipped_no_target": len(train_set.no_target) + len(eval_set.no_target),
                 "tokens": train_set.summary()["tokens"], "trained_tokens": train_set.summary()["trained_tokens"],
                 "max_length": max_length}
    record = runs.read_run(run_dir) if resume else {}
    record |= {"name": run_dir.name, "created": record.get("created") or runs.now_iso(), "status": "running",
               "model": model_label(settings.model), "device": loaded.device,
               "precision": precision, "quantize": settings.quantize, "data": data_info,
               "processes": world_size(), "memory_estimate_gb": estimate.to_dict()}
    write_json(run_dir / runs.RUN_FILE, record)
    if main and checkpoint is not None:
        _trim_metrics(run_dir, int(checkpoint.name.split("-")[-1]))
    elif main:
        runs.write_text(run_dir / runs.METRICS_FILE, "")

    # 3. train with transformers' Trainer: eval before, every eval_steps and after (the best checkpoint when early stopping)
    collator = ChatCollator(loaded.tokenizer.pad_token_id, packing=settings.packing)
    counter = TokenCounter()
    model.register_forward_pre_hook(counter, with_kwargs=True)
    callback = _callbacks(run_dir / runs.METRICS_FILE, counter, progress, on_log, cancel)
    has_eval = bool(eval_set.items)
    try:
        with quiet_deprecations():
            trainer = _trainer(model, settings, run_dir, loaded.device, train_set, eval_set, collator, callback)
            start_eval = trainer.evaluate()["eval_loss"] if has_eval and checkpoint is None else None
            if cancel is not None and cancel.is_set():
                raise CancelledError("Cancelled before the first training step; there is nothing to checkpoint yet.")
            output = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
            callback.tag = {"final": True}
            final_eval = trainer.evaluate()["eval_loss"] if has_eval and not callback.interrupted else None
    except CancelledError:
        write_json(run_dir / runs.RUN_FILE, record | {"status": "interrupted", "updated": runs.now_iso()})
        raise
    except Exception as exc:
        if _is_oom(exc):
            raise ModelError(f"Out of memory at batch size {settings.batch_size} (max length {max_length}).",
                             f"Try --batch-size {max(1, settings.batch_size // 2)} --grad-accum {settings.grad_accum * 2} "
                             "(same effective batch), or a smaller --max-length.") from exc
        raise

    # 4. the outcome: adapter (unless interrupted), record, model card
    state = trainer.state
    status = "interrupted" if callback.interrupted else "early_stopped" if state.global_step < state.max_steps else "completed"
    metrics = {
        "steps": state.global_step, "max_steps": state.max_steps, "epochs": round(state.epoch or 0.0, 3),
        "train_loss": _last(state.log_history, "loss"), "train_loss_mean": round(output.training_loss, 4),
        "eval_loss_start": start_eval if start_eval is not None else record.get("metrics", {}).get("eval_loss_start"),
        "eval_loss": final_eval, "best_eval_loss": state.best_metric,
        "tokens_per_s": round(callback.train_tokens / callback.train_time, 1) if callback.train_time else None,
        "train_tokens_seen": counter.tokens,
        "padding_waste": round(1 - collator.real_tokens / collator.padded_tokens, 4) if collator.padded_tokens else 0.0,
        "train_runtime_s": round(output.metrics.get("train_runtime", 0.0), 1), "train_cpu_s": round(callback.train_cpu, 1),
        "peak_memory_gb": peak_memory_gb(loaded.device), "memory_estimate_gb": estimate.to_dict()["total"],
    }
    if not main:
        return FinetuneResult(run_dir, status, metrics, data_info, notes)
    if status != "interrupted":
        _save_adapter(trainer.model, loaded.tokenizer, run_dir / runs.ADAPTER_DIR, settings.model, hub_id(settings.model))
    record |= {"status": status, "updated": runs.now_iso(), "metrics": metrics}
    runs.write_json(run_dir / runs.RUN_FILE, record)
    runs.write_model_card(run_dir)
    return FinetuneResult(run_dir, status, metrics, data_info, notes)


def _tokenize(data: TrainingData, settings: LoraSettings, loaded, warn: Callable[[str], None],
              progress: Progress | None, cancel: threading.Event | None):
    """Tokenised train and eval sets and the max length used (the settings', capped at the model's context)."""
    context = int(getattr(loaded.model.config, "max_position_embeddings", 0) or settings.max_length)
    max_length = min(settings.max_length, context)
    total = len(data.train) + len(data.eval)

    def report(offset: int) -> Progress | None:  # one "tokenize" stage over train then eval
        return (lambda stage, done, _: progress(stage, offset + done, total)) if progress else None

    train_set = tokenize_examples(data.train, loaded.tokenizer, max_length, report(0), cancel)
    eval_set = tokenize_examples(data.eval, loaded.tokenizer, max_length, report(len(data.train)), cancel)
    if not train_set.items:
        raise DataError(f"None of the {len(data.train)} training examples fits in {max_length} tokens with an assistant reply.",
                        "Raise --max-length, or shorten the examples (curation flags them as too_long).")
    if train_set.too_long:
        warn(f"Skipped {len(train_set.too_long)} training example(s) longer than {max_length} tokens (e.g. {train_set.too_long[0]}).")
    if not eval_set.items:
        warn("No eval set: training without validation loss or early stopping.")
    return train_set, eval_set, max_length


def _check_memory(model, settings: LoraSettings, train_set, device: str, max_length: int):
    """The run's peak memory estimate (weights + LoRA + activations of its largest batch); ModelError if it cannot fit."""
    from training.chat_data import IGNORE_INDEX
    from training.memory_estimate import available_memory, check_fits, estimate_memory

    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    frozen = [p for p in model.parameters() if not p.requires_grad]
    weight_bytes = sum(p.numel() * p.element_size() for p in frozen)  # as stored: 4-bit weights are packed two a byte
    trained = [sum(1 for x in item["labels"] if x != IGNORE_INDEX) for item in train_set.items]
    estimate = estimate_memory(model.config, sum(p.numel() for p in frozen), trainable, train_set.lengths, trained,
                               settings.batch_size, settings.packing, settings.gradient_checkpointing, device=device,
                               weight_bytes=weight_bytes, processes=world_size())
    check_fits(estimate, available_memory(device), settings.batch_size, settings.grad_accum, max_length,
               settings.gradient_checkpointing)
    return estimate


def peak_memory_gb(device: str) -> float:
    """This process's peak memory so far in GiB: GPU memory allocated on CUDA, else resident memory."""
    if device == "cuda":
        import torch

        return round(torch.cuda.max_memory_allocated() / 1024**3, 3)
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return round(peak / (1024**3 if sys.platform == "darwin" else 1024**2), 3)


def _with_lora(model, settings: LoraSettings, copy_first: bool):
    """The model wrapped with fresh LoRA layers (on a copy when the caller keeps using the base), and their targets."""
    import copy

    from peft import LoraConfig, get_peft_model

    model = copy.deepcopy(model) if copy_first else model
    if settings.quantize != "none":  # QLoRA: norms in fp32, inputs that take gradients, checkpointing as set
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=settings.gradient_checkpointing,
                                                gradient_checkpointing_kwargs={"use_reentrant": False})
    targets = settings.target_modules or detect_target_modules(model)
    lora = LoraConfig(r=settings.rank, lora_alpha=settings.alpha, lora_dropout=settings.dropout, target_modules=peft_targets(targets),
                      task_type="CAUSAL_LM", bias="none")
    try:
        with quiet_deprecations():
            return get_peft_model(model, lora), targets
    except ValueError as exc:
        raise UsageError(f"LoRA could not target {targets}: {exc}", "Pass --target-modules with module names of this model.") from exc


def _trainer(model, settings: LoraSettings, run_dir: Path, device: str, train_set, eval_set, collator, callback):
    """transformers' Trainer with our collator, loss on kept logits, metrics callback and early stopping."""
    from transformers import EarlyStoppingCallback, PrinterCallback, Trainer

    has_eval = bool(eval_set.items)
    callbacks = [callback]
    if "tensorboard" in resolve_report_to(settings.report_to) and is_main_process():  # logs in the run folder: tensorboard --logdir RUN/tensorboard
        from torch.utils.tensorboard import SummaryWriter
        from transformers.integrations import TensorBoardCallback

        callbacks.append(TensorBoardCallback(SummaryWriter(log_dir=str(run_dir / runs.TENSORBOARD_DIR))))
    if has_eval and settings.early_stopping_patience > 0:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=settings.early_stopping_patience))
    trainer = Trainer(
        model=model, args=_training_args(settings, run_dir, has_eval, device),
        train_dataset=train_set.items, eval_dataset=[i | {"_eval": True} for i in eval_set.items] if has_eval else None,
        data_collator=collator, compute_loss_func=kept_logits_loss, callbacks=callbacks,
    )
    trainer.remove_callback(PrinterCallback)  # stdout stays clean: rows go to metrics.jsonl and on_log
    return trainer


def _save_adapter(model, tokenizer, adapter: Path, model_name: str | None, base_id: str) -> None:
    """Save the final adapter with the tokenizer (built beside, then swapped into place)."""
    from training.generate import ADAPTER_META

    model.peft_config["default"].base_model_name_or_path = base_id  # so plain peft users know the base model
    with staged_folder(adapter) as tmp:
        with warnings.catch_warnings(), quiet_deprecations():
            warnings.filterwarnings("ignore", message="Could not find a config file")  # offline: the hub id is not reachable
            model.save_pretrained(str(tmp), safe_serialization=True)
        tokenizer.save_pretrained(str(tmp))
        (tmp / ADAPTER_META).write_text(json.dumps({"base_model": model_name, "run": adapter.parent.name}))


def _check_run_folder(run_dir: Path, data: TrainingData, resume: bool, settings: LoraSettings | None = None) -> Path | None:
    """The checkpoint to resume from (None = fresh start); refuses to overwrite a run or resume on other data.

    A run that completed at its max_steps resumes when `settings` ask for more steps (it continues from its last
    checkpoint); one that finished otherwise is refused.
    """
    record = runs.read_run(run_dir)
    if not resume:
        if record or (run_dir / runs.CHECKPOINTS_DIR).exists():
            raise UsageError(f"Run {run_dir.name} already exists in {run_dir.parent}.",
                             "Pass --resume to continue it, or choose another --name (see `tunewise runs list`).")
        return None
    if not record:
        raise UsageError(f"There is no run {run_dir.name} to resume in {run_dir.parent}.", "Start it without --resume.")
    if record.get("data", {}).get("fingerprint") not in (None, data.fingerprint()):
        raise UsageError(f"Run {run_dir.name} was trained on other data ({record['data'].get('source')}).",
                         "Resume with the same data, or start a new run with another --name.")
    done = (record.get("metrics") or {}).get("steps") or 0
    extends = settings is not None and record.get("status") == "completed" and settings.max_steps > done
    if record.get("status") in ("completed", "early_stopped") and not extends:
        hint = (f"Pass --max-steps above {done} to train it further, or start a new run with another --name."
                if record.get("status") == "completed" else "Start a new run with another --name.")
        raise UsageError(f"Run {run_dir.name} already finished ({record['status']}).", hint)
    return runs.latest_checkpoint(run_dir)


def _last(history: list[dict], key: str) -> float | None:
    """The last logged value of a key in Trainer's log history."""
    return next((row[key] for row in reversed(history) if key in row), None)


def _is_oom(exc: BaseException) -> bool:
    """Whether an exception is the accelerator or the host running out of memory."""
    import torch

    text = str(exc).lower()
    return isinstance(exc, (torch.OutOfMemoryError, MemoryError)) or "out of memory" in text or "can't allocate memory" in text
