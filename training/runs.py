"""Run folders: their record, model card, listing, the active adapter, and merged exports."""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from curation.errors import DataError, TunewiseError, UsageError
from curation.files import write_text_atomic
from curation.safe_read import CONFIG_LIMIT, data_limit, read_bytes_limited, read_json_file
from training.schema import schema_problem

RUNS_DIR = "runs"
ACTIVE_FILE = "active.json"
RUN_FILE = "run.json"
SETTINGS_FILE = "settings.json"
METRICS_FILE = "metrics.jsonl"
ADAPTER_DIR = "adapter"
CHECKPOINTS_DIR = "checkpoints"
TENSORBOARD_DIR = "tensorboard"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")


def runs_root(project: str | Path) -> Path:
    """The folder holding a project's runs."""
    return Path(project) / RUNS_DIR


def validate_run_name(name: str) -> str:
    """Return the name if it is a safe folder name, else raise UsageError."""
    if not _NAME.match(name or ""):
        raise UsageError(f"Run name {name!r} is not allowed.", "Use letters, digits, '.', '_' and '-' (up to 80), starting with a letter or digit.")
    return name


def new_run_name() -> str:
    """A fresh run name from the current time, e.g. run-20250101-120000."""
    return datetime.now().strftime("run-%Y%m%d-%H%M%S")


def now_iso() -> str:
    """The current UTC time as an ISO string (seconds)."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (temp file in the same folder, then rename)."""
    write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def write_text(path: Path, text: str) -> None:
    """Write a text file atomically."""
    write_text_atomic(path, text)


_TEXT = {"type": "string"}
_OPTIONAL_TEXT = {"type": ["string", "null"]}
_COUNT = {"type": ["integer", "null"], "minimum": 0}
_NUMBER = {"type": ["number", "null"]}
#: run.json as finetune() writes it; every field that is read back is described (others may be added freely).
RUN_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "tunewise fine-tuning run record (run.json)",
    "type": "object",
    "properties": {
        "name": _TEXT, "created": _TEXT, "updated": _TEXT, "status": _TEXT, "model": _OPTIONAL_TEXT,
        "device": _TEXT, "precision": _TEXT,
        "data": {"type": "object", "properties": {
            "source": _TEXT, "fingerprint": _OPTIONAL_TEXT, "train_examples": _COUNT, "eval_examples": _COUNT,
            "skipped_too_long": _COUNT, "skipped_no_target": _COUNT, "tokens": _COUNT, "trained_tokens": _COUNT,
            "max_length": _COUNT}},
        "metrics": {"type": "object", "additionalProperties": {"type": ["number", "string", "null"]},
                    "properties": {"steps": _COUNT, "max_steps": _COUNT, "eval_loss": _NUMBER, "eval_loss_start": _NUMBER,
                                   "best_eval_loss": _NUMBER, "train_loss": _NUMBER}},
    },
}
#: active.json: which run's adapter is the project's active one.
ACTIVE_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["name"],
    "properties": {"name": {"type": "string", "pattern": _NAME.pattern}, "since": _TEXT},
}
#: Fields of a metrics.jsonl row that must be numbers when present (a row that breaks this is skipped).
_METRIC_NUMBERS = ("epoch", "train_loss", "eval_loss", "learning_rate", "grad_norm", "tokens_per_s", "train_runtime_s")


def _run_hint(run_dir: Path) -> str:
    return (f"Restore it from a backup, or delete the run folder {run_dir} to train that run again; "
            "`tunewise runs list` shows the other runs.")


def _read_checked(path: Path, what: str, schema: dict, hint: str) -> Any:
    """A JSON file tunewise wrote, parsed and checked against schema; DataError naming the file and the fix."""
    try:
        value = read_json_file(path, what, CONFIG_LIMIT, hint)
    except TunewiseError as exc:  # not JSON, not UTF-8, too large; a folder, a FIFO or a broken link in its place
        raise DataError(exc.message, hint) from None
    problem = schema_problem(schema, value, path.name)
    if problem:
        raise DataError(f"The {what} {path} is damaged ({problem}).", hint)
    return value


def read_run(run_dir: Path) -> dict[str, Any]:
    """The run record (run.json): {} when the run has none; DataError naming the file when it is damaged."""
    run_dir = Path(run_dir)
    path = run_dir / RUN_FILE
    if not os.path.lexists(path):
        return {}
    return _read_checked(path, "run record", RUN_SCHEMA, _run_hint(run_dir))


def read_settings(run_dir: Path) -> dict[str, Any]:
    """A run's settings.json, checked to be LoRA settings: {} when missing; DataError naming the file when damaged."""
    from training.lora_config import LoraSettings

    run_dir = Path(run_dir)
    path = run_dir / SETTINGS_FILE
    if not os.path.lexists(path):
        return {}
    hint = (f"Restore it from a backup, or start a new run with the settings you want (another --name); deleting "
            f"{run_dir} lets you train that run again from the start.")
    settings = _read_checked(path, "run settings", {"type": "object"}, hint)
    try:
        LoraSettings.from_dict(settings)
    except UsageError as exc:
        raise DataError(f"The run settings {path} are damaged: {exc.message}", hint) from None
    return settings


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    """Rows of metrics.jsonl; a line that is not a well-formed row (a torn last line from a killed run) is skipped.

    DataError when metrics.jsonl is not a regular file or is over the data-file size limit.
    """
    path = Path(run_dir) / METRICS_FILE
    if not os.path.lexists(path):
        return []
    try:
        data = read_bytes_limited(path, data_limit(), "metrics file")
    except TunewiseError as exc:
        raise DataError(exc.message, "Delete or replace it: the run's record and adapter do not depend on it.") from None
    rows = []
    for line in data.decode("utf-8", errors="replace").split("\n"):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if _metric_row_ok(row):
            rows.append(row)
    return rows


def _metric_row_ok(row: Any) -> bool:
    """Whether a parsed metrics.jsonl line is a row readers can use without checking types."""
    if not isinstance(row, dict):
        return False
    step = row.get("step", 0)
    if not isinstance(step, int) or isinstance(step, bool) or step < 0:
        return False
    if not isinstance(row.get("kind", ""), str):
        return False
    return all(row.get(k) is None or (isinstance(row[k], (int, float)) and not isinstance(row[k], bool))
               for k in _METRIC_NUMBERS)


@dataclass
class MeasuredSpeed:
    """Training speed measured by a past run on this machine."""

    tokens_per_s: float  # median of its train steps (the warm-up step left out when there are others)
    run: str  # the run that measured it
    step_seconds: float | None  # median seconds per optimizer step, from the steps' times (None: too few steps)


def measured_speed(project: str | Path) -> MeasuredSpeed | None:
    """The newest run's measured training speed (tokens/s and seconds per step), or None before any run logged a step."""
    import statistics

    for info in reversed(list_runs(project)):
        try:
            rows = [r for r in read_metrics(Path(info.path)) if r.get("kind") == "train"]
        except TunewiseError:
            continue
        speeds = [r["tokens_per_s"] for r in rows if isinstance(r.get("tokens_per_s"), (int, float)) and r["tokens_per_s"] > 0]
        if speeds:
            return MeasuredSpeed(float(statistics.median(speeds[1:] or speeds)), info.name, _step_seconds(rows))
    return None


def _step_seconds(rows: list[dict[str, Any]]) -> float | None:
    """Median seconds between consecutive train steps' log times (rows of one session; gaps over a resume dropped)."""
    import statistics

    gaps = []
    for a, b in zip(rows, rows[1:]):
        try:
            seconds = (datetime.fromisoformat(b["time"]) - datetime.fromisoformat(a["time"])).total_seconds()
        except (KeyError, TypeError, ValueError):
            continue
        if b.get("step") == a.get("step", -2) + 1 and seconds >= 0:
            gaps.append(seconds)
    return float(statistics.median(gaps)) if gaps else None


def measured_tokens_per_s(project: str | Path) -> float | None:
    """Training speed measured on this machine: the median tokens/s of the train steps of the newest run that logged
    any (the first step is left out when there are others: it pays for warm-up), or None before any run."""
    speed = measured_speed(project)
    return speed.tokens_per_s if speed else None


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The newest complete checkpoint (its trainer_state.json is written last), or None."""
    folder = Path(run_dir) / CHECKPOINTS_DIR
    if not folder.is_dir():
        return None
    done = [p for p in folder.glob("checkpoint-*") if p.name.split("-")[-1].isdigit() and (p / "trainer_state.json").exists()]
    for checkpoint in sorted(done, key=lambda p: int(p.name.split("-")[-1]), reverse=True):
        if _complete(checkpoint):
            return checkpoint
    return None


def _complete(checkpoint: Path) -> bool:
    """Whether a checkpoint's trainer_state.json (written last) is a readable record of its step."""
    try:
        state = read_json_file(checkpoint / "trainer_state.json", "trainer state", data_limit())
    except TunewiseError:
        return False
    if not isinstance(state, dict):
        return False
    step = state.get("global_step", 0)
    return isinstance(step, int) and not isinstance(step, bool) and step >= 0


@dataclass
class RunInfo:
    """One row of `tunewise runs list`; a run whose run.json is damaged has status "damaged" and a `problem`."""

    name: str
    path: str
    created: str
    status: str
    model: str
    data: str
    train_examples: int | None
    eval_loss: float | None
    active: bool
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class RunList(list):
    """The runs of a project (a list of RunInfo), with `problems`: one message per damaged file, each with its fix."""

    def __init__(self, runs=(), problems: list[str] | None = None) -> None:
        super().__init__(runs)
        self.problems = problems or []


def list_runs(project: str | Path) -> RunList:
    """Every run folder of a project, oldest first, marking the active one.

    Never fails on a damaged file: a run whose run.json is damaged is listed with status "damaged", a damaged
    active.json marks no run active, and `.problems` says what is wrong and how to fix it.
    """
    root = runs_root(project)
    problems: list[str] = []
    try:
        active = active_run(project)
    except TunewiseError as exc:
        active = None
        problems.append(f"{exc.message} {exc.hint or ''}".strip())
    runs = []
    try:
        folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")) if root.is_dir() else []
    except OSError as exc:
        raise UsageError(f"Cannot read the runs folder {root}: {exc.strerror or exc}.", "Check its permissions.") from None
    for folder in folders:
        try:
            record = read_run(folder)
        except TunewiseError as exc:
            problems.append(f"{exc.message} {exc.hint or ''}".strip())
            runs.append(RunInfo(name=folder.name, path=str(folder), created="", status="damaged", model="", data="",
                                train_examples=None, eval_loss=None, active=folder.name == active, problem=exc.message))
            continue
        if not record:
            continue
        metrics = record.get("metrics") or {}
        runs.append(RunInfo(
            name=folder.name, path=str(folder), created=record.get("created", ""), status=record.get("status", "unknown"),
            model=record.get("model") or "", data=(record.get("data") or {}).get("source", ""),
            train_examples=(record.get("data") or {}).get("train_examples"),
            eval_loss=metrics.get("eval_loss"), active=folder.name == active,
        ))
    return RunList(sorted(runs, key=lambda r: (r.created, r.name)), problems)


def find_run(project: str | Path, name: str) -> Path:
    """The folder of a named run (UsageError listing the runs there are)."""
    folder = runs_root(project) / validate_run_name(name)
    if not os.path.lexists(folder / RUN_FILE):
        names = [r.name for r in list_runs(project)]
        raise UsageError(
            f"No run named {name} in {runs_root(project)}.",
            f"Runs there: {', '.join(names)}." if names else "Train one first with `tunewise finetune`.",
        )
    return folder


def has_adapter(run_dir: Path) -> bool:
    """Whether the run saved a final adapter."""
    return (Path(run_dir) / ADAPTER_DIR / "adapter_config.json").exists()


def set_active(project: str | Path, name: str) -> Path:
    """Mark a finished run's adapter as the project's active one (also how to roll back to an earlier run)."""
    folder = find_run(project, name)
    record = read_run(folder)  # a damaged run is not made active: DataError naming its run.json
    if not has_adapter(folder):
        raise UsageError(f"Run {name} has no final adapter (status: {record.get('status', 'unknown')}).",
                         f"Finish it with `tunewise finetune ... --name {name} --resume`, or pick another run.")
    path = runs_root(project) / ACTIVE_FILE
    if path.is_dir() and not path.is_symlink():  # a folder in its place (rename cannot replace one)
        try:
            path.rmdir()
        except OSError:
            raise UsageError(f"{path} is a folder with files in it, where the active-run file belongs.",
                             f"Move or delete that folder, then run `tunewise runs use {name}` again.") from None
    write_json(path, {"name": name, "since": now_iso()})
    return folder


def active_run(project: str | Path) -> str | None:
    """Name of the active run, or None (no active.json, or the run it names is gone).

    DataError naming runs/active.json when it is damaged: falling back to the base model without a word would
    hide that the adapter the user chose is not used.
    """
    root = runs_root(project)
    path = root / ACTIVE_FILE
    if not os.path.lexists(path):
        return None
    try:
        names = sorted(p.name for p in root.iterdir() if (p / RUN_FILE).is_file())
    except OSError:
        names = []
    hint = ("Choose the active run again with `tunewise runs use NAME`"
            + (f" (runs: {', '.join(names[:10])}{', …' if len(names) > 10 else ''})" if names else "")
            + f", or delete {path} to use none.")
    name = _read_checked(path, "active-run file", ACTIVE_SCHEMA, hint)["name"]
    return name if (root / name / RUN_FILE).exists() else None


def merge_dtype(run_dir: str | Path) -> str:
    """The dtype the base is reloaded in for merging: a QLoRA run's base was trained 4-bit, and is reloaded unquantised
    in bf16 (a 4-bit base would merge rounded weights and save a model most servers cannot read); others in fp32."""
    return "bfloat16" if read_settings(Path(run_dir)).get("quantize", "none") != "none" else "float32"


def export_merged(run_dir: str | Path, out_dir: str | Path) -> Path:
    """Merge a run's adapter into its base model and save a plain transformers model folder (safetensors).

    The same export as `tunewise export RUN --format merged` (training.deploy_export): the base is reloaded
    unquantised on the CPU (merge_dtype), so a QLoRA run's merged model is de-quantised.
    """
    from training.deploy_export import export_deploy

    return Path(export_deploy(run_dir, out_dir, "merged").out)


def write_model_card(run_dir: Path) -> Path:
    """README.md of a run: data, settings, metrics and how to load the adapter."""
    run_dir = Path(run_dir)
    record = read_run(run_dir)
    settings = read_settings(run_dir)
    data, metrics = record.get("data") or {}, record.get("metrics") or {}
    model = record.get("model", "SmolLM2-135M-Instruct")
    lines = [
        f"# {run_dir.name}: LoRA adapter for {model}", "",
        f"Trained with tunewise on {record.get('created', '?')}; status **{record.get('status', '?')}**.", "",
        "## Data", "",
        f"- source: `{data.get('source', '?')}`",
        f"- train examples: {data.get('train_examples', '?')} (skipped: {data.get('skipped_too_long', 0)} over {settings.get('max_length', '?')} tokens, "
        f"{data.get('skipped_no_target', 0)} without an assistant turn)",
        f"- eval examples: {data.get('eval_examples', 0)}",
        f"- trained tokens (assistant replies + end-of-turn): {data.get('trained_tokens', '?')} of {data.get('tokens', '?')}",
        "- text built with the model's own chat template; loss on assistant turns only, end-of-turn token included", "",
        "## Settings", "", "| setting | value |", "| --- | --- |",
        *(f"| {k} | `{json.dumps(v)}` |" for k, v in settings.items()), "",
        "## Metrics", "", "| metric | value |", "| --- | --- |",
        *(f"| {k} | {_fmt(v)} |" for k, v in metrics.items()), "",
        "Every step is in `metrics.jsonl` (train loss, eval loss, tokens/s).", "",
        "## How to use it", "",
        "```sh", f"tunewise generate --run {run_dir.name} \"your prompt\"", f"tunewise runs use {run_dir.name}",
        f"tunewise export {run_dir.name} --merged merged-model/", "```", "",
        "With plain transformers and peft:", "",
        "```python", "from peft import PeftModel", "from transformers import AutoModelForCausalLM, AutoTokenizer", "",
        f"base = AutoModelForCausalLM.from_pretrained({_base_for_card(run_dir, model)!r})",
        f"model = PeftModel.from_pretrained(base, {str(run_dir / ADAPTER_DIR)!r})",
        f"tokenizer = AutoTokenizer.from_pretrained({str(run_dir / ADAPTER_DIR)!r})", "```", "",
    ]
    path = run_dir / "README.md"
    write_text(path, "\n".join(lines))
    return path


def _base_for_card(run_dir: Path, model: str) -> str:
    """The base model path/id a reader should load."""
    try:
        config = read_json_file(run_dir / ADAPTER_DIR / "adapter_config.json", "adapter config")
    except TunewiseError:
        return model
    base = config.get("base_model_name_or_path") if isinstance(config, dict) else None
    return base if isinstance(base, str) and base else model


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)
