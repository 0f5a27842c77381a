"""Run folders: their record, model card, listing, the active adapter, and merged exports."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from curation.errors import ModelError, UsageError
from curation.files import write_text_atomic

RUNS_DIR = "runs"
ACTIVE_FILE = "active.json"
RUN_FILE = "run.json"
SETTINGS_FILE = "settings.json"
METRICS_FILE = "metrics.jsonl"
ADAPTER_DIR = "adapter"
CHECKPOINTS_DIR = "checkpoints"
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


def read_run(run_dir: Path) -> dict[str, Any]:
    """The run record (run.json); {} when missing or unreadable."""
    try:
        return json.loads((Path(run_dir) / RUN_FILE).read_text())
    except (OSError, ValueError):
        return {}


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    """Rows of metrics.jsonl (a torn last line from a killed run is skipped)."""
    rows = []
    path = Path(run_dir) / METRICS_FILE
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except ValueError:
                continue
    return rows


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The newest complete checkpoint (its trainer_state.json is written last), or None."""
    folder = Path(run_dir) / CHECKPOINTS_DIR
    if not folder.is_dir():
        return None
    done = [p for p in folder.glob("checkpoint-*") if p.name.split("-")[-1].isdigit() and (p / "trainer_state.json").exists()]
    return max(done, key=lambda p: int(p.name.split("-")[-1]), default=None)


@dataclass
class RunInfo:
    """One row of `tunewise runs list`."""

    name: str
    path: str
    created: str
    status: str
    model: str
    data: str
    train_examples: int | None
    eval_loss: float | None
    active: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def list_runs(project: str | Path) -> list[RunInfo]:
    """Every run folder of a project, oldest first, marking the active one."""
    root = runs_root(project)
    active = active_run(project)
    runs = []
    for folder in sorted(p for p in root.glob("*") if p.is_dir()) if root.is_dir() else []:
        record = read_run(folder)
        if not record:
            continue
        metrics = record.get("metrics") or {}
        runs.append(RunInfo(
            name=folder.name, path=str(folder), created=record.get("created", ""), status=record.get("status", "unknown"),
            model=record.get("model", ""), data=(record.get("data") or {}).get("source", ""),
            train_examples=(record.get("data") or {}).get("train_examples"),
            eval_loss=metrics.get("eval_loss"), active=folder.name == active,
        ))
    return sorted(runs, key=lambda r: (r.created, r.name))


def find_run(project: str | Path, name: str) -> Path:
    """The folder of a named run (UsageError listing the runs there are)."""
    folder = runs_root(project) / validate_run_name(name)
    if not (folder / RUN_FILE).exists():
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
    if not has_adapter(folder):
        raise UsageError(f"Run {name} has no final adapter (status: {read_run(folder).get('status', 'unknown')}).",
                         f"Finish it with `tunewise finetune ... --name {name} --resume`, or pick another run.")
    write_json(runs_root(project) / ACTIVE_FILE, {"name": name, "since": now_iso()})
    return folder


def active_run(project: str | Path) -> str | None:
    """Name of the active run, or None."""
    try:
        name = json.loads((runs_root(project) / ACTIVE_FILE).read_text())["name"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return name if (runs_root(project) / name / RUN_FILE).exists() else None


def export_merged(run_dir: str | Path, out_dir: str | Path) -> Path:
    """Merge a run's adapter into its base model and save a plain transformers model folder (safetensors)."""
    from peft import PeftModel

    from training.generate import adapter_base_model
    from training.model import load_model, quiet_deprecations

    run_dir, out = Path(run_dir), Path(out_dir)
    if not has_adapter(run_dir):
        raise UsageError(f"Run {run_dir.name} has no final adapter to export.", "Finish the run first (--resume).")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{out} already exists and is not empty.", "Choose a new folder for --merged.")
    base_name = adapter_base_model(run_dir / ADAPTER_DIR)
    loaded = load_model(base_name, device="cpu")
    try:
        with quiet_deprecations():
            merged = PeftModel.from_pretrained(loaded.model, str(run_dir / ADAPTER_DIR)).merge_and_unload()
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ModelError(f"Could not merge the adapter of {run_dir.name}: {exc}", "Check that the run folder is complete.") from exc
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        merged.save_pretrained(tmp, safe_serialization=True)
        loaded.tokenizer.save_pretrained(tmp)
        (tmp / "tunewise.json").write_text(json.dumps({"run": run_dir.name, "base_model": base_name, "merged": True}))
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def write_model_card(run_dir: Path) -> Path:
    """README.md of a run: data, settings, metrics and how to load the adapter."""
    run_dir = Path(run_dir)
    record = read_run(run_dir)
    settings = json.loads((run_dir / SETTINGS_FILE).read_text()) if (run_dir / SETTINGS_FILE).exists() else {}
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
        return json.loads((run_dir / ADAPTER_DIR / "adapter_config.json").read_text())["base_model_name_or_path"]
    except (OSError, ValueError, KeyError):
        return model


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)
