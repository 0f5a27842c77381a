"""What the run screens show, as plain functions: training pace and ETA, settings typed in a form, search hits,
index build summaries, saved prompt edits. Nothing here imports textual; the widgets only render these.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from curation.durations import format_duration
from curation.errors import UsageError
from training.lora_config import LoraSettings

# The LoRA settings the fine-tune form shows, with their labels (the rest keep LoraSettings' defaults).
FORM_FIELDS: dict[str, str] = {
    "rank": "Rank", "alpha": "Alpha", "learning_rate": "Learn. rate", "epochs": "Epochs", "max_steps": "Max steps",
    "batch_size": "Batch size", "eval_steps": "Eval every", "early_stopping_patience": "Patience",
}
PATH_TABS = {"prompt": "tab-prompt", "rag": "tab-rag", "fine-tune": "tab-finetune", "rag+fine-tune": "tab-rag"}
LOAD_EMBEDDER = "load embedder"  # curation.embed.LOAD_STAGE: the embedding model loads (no count) before embedding
# Stages of the RAG build and the prompt build: label, and the share of one bar each fills.
RAG_STAGES = {"read": ("Reading documents", 0.0, 0.1), LOAD_EMBEDDER: ("Loading the embedding model", 0.1, 0.1),
              "embed": ("Embedding chunks", 0.1, 0.9), "index": ("Indexing", 0.9, 1.0)}
PROMPT_STAGES = {LOAD_EMBEDDER: ("Loading the embedding model", 0.0, 0.0), "embed": ("Embedding inputs", 0.0, 0.8),
                 "cluster": ("Clustering", 0.8, 1.0), "generate": ("Generating", 0.0, 1.0), "search": ("Searching", 0.0, 0.1),
                 "load model": ("Loading the local model", 0.0, 0.0)}
# Stages of advisor.project.finetune.finetune_run: the base model's replies, training's own, the tuned model's replies.
TRAIN_STAGES = {"tokenize": "Tokenising", "train": "Training", "base": "Base model replies", "tuned": "Tuned model replies"}


def tab_for_path(path: str | None) -> str:
    """The run screen's tab for a recommended path (RAG first when both); the plan when unknown."""
    return PATH_TABS.get(path or "", "tab-plan")


# --- the fine-tune form -------------------------------------------------------------------------------


def form_values(settings: LoraSettings | None = None) -> dict[str, str]:
    """The form's fields as text, from settings (LoraSettings' defaults when None)."""
    settings = settings or LoraSettings()
    return {name: _number_text(getattr(settings, name)) for name in FORM_FIELDS}


def settings_from_form(values: dict[str, str], base: LoraSettings | None = None) -> LoraSettings:
    """LoraSettings from the form's text (other fields from `base`); UsageError names the field that is wrong."""
    base = base or LoraSettings()
    kinds = {f.name: type(f.default) for f in fields(LoraSettings)}
    parsed: dict[str, Any] = {}
    for name in FORM_FIELDS:
        text = str(values.get(name, "")).strip()
        kind = kinds[name]
        try:
            parsed[name] = kind(text) if kind is not int else int(text)
        except ValueError:
            expected = "a whole number" if kind is int else "a number"
            raise UsageError(f"LoRA setting {name}={text!r} is invalid: it must be {expected}.",
                             f"Type {expected} in the {FORM_FIELDS[name]} field, e.g. {_number_text(getattr(LoraSettings(), name))}.") from None
    return replace(base, **parsed)  # replace() runs __post_init__: a bad value raises the dataclass's UsageError


def _number_text(value: float | int) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


# --- training progress --------------------------------------------------------------------------------


def eta_seconds(first_step: int, first_time: float, step: int, total: int, now: float) -> float | None:
    """Seconds left at the pace of the steps done since (first_step, first_time); None before a step is done."""
    done = step - first_step
    if done <= 0 or total <= 0 or now <= first_time:
        return None
    return max(total - step, 0) * (now - first_time) / done


def format_loss(value: float | None) -> str:
    """A loss to 3 decimals, or an em dash."""
    return "—" if value is None else f"{value:.3f}"


@dataclass
class TrainingMonitor:
    """What a training run has reported so far: stage and step, losses, warnings, and its pace (for the ETA)."""

    stage: str = ""
    done: int = 0
    total: int = 0
    train_losses: list[tuple[int, float]] = field(default_factory=list)
    eval_losses: list[tuple[int, float]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    final_eval: float | None = None
    first: tuple[int, float] | None = None  # (step, time) the train stage was first seen at in this session
    last_time: float = 0.0

    @classmethod
    def from_metrics(cls, run_dir: str | Path) -> TrainingMonitor:
        """A monitor holding the losses a run recorded up to its latest checkpoint (what a resumed run keeps)."""
        from training.runs import latest_checkpoint, read_metrics

        checkpoint = latest_checkpoint(Path(run_dir))
        last = int(checkpoint.name.split("-")[-1]) if checkpoint is not None else 0
        monitor = cls()
        for row in read_metrics(Path(run_dir)):
            if row.get("step", 0) <= last and not row.get("final"):
                monitor.log(row)
        return monitor

    def progress(self, stage: str, done: int, total: int, now: float) -> None:
        """One progress(stage, done, total) call of the library, at monotonic time `now`."""
        self.stage, self.done, self.total, self.last_time = stage, done, total, now
        if stage == "train" and self.first is None:
            self.first = (done, now)

    def log(self, row: dict) -> None:
        """One on_log row of finetune(): a train loss, an eval loss or a warning (others are ignored)."""
        kind = row.get("kind")
        if kind == "train" and row.get("train_loss") is not None:
            self.train_losses.append((int(row.get("step", 0)), float(row["train_loss"])))
        elif kind == "eval" and row.get("eval_loss") is not None and row.get("final"):
            self.final_eval = float(row["eval_loss"])  # the end-of-run evaluation (of the best checkpoint when early stopping)
        elif kind == "eval" and row.get("eval_loss") is not None:
            self.eval_losses.append((int(row.get("step", 0)), float(row["eval_loss"])))
        elif kind == "warning":
            self.warnings.append(str(row.get("message", "")))

    @property
    def train_loss(self) -> float | None:
        """The latest train loss."""
        return self.train_losses[-1][1] if self.train_losses else None

    @property
    def eval_loss(self) -> float | None:
        """The final eval loss once there is one, else the latest."""
        if self.final_eval is not None:
            return self.final_eval
        return self.eval_losses[-1][1] if self.eval_losses else None

    def eta(self, now: float | None = None) -> float | None:
        """Seconds left in the train stage at the pace so far."""
        if self.stage != "train" or self.first is None:
            return None
        return eta_seconds(self.first[0], self.first[1], self.done, self.total, self.last_time if now is None else now)

    def status_line(self, now: float | None = None) -> str:
        """'Step 3/10 · loss 1.234 · eval 1.456 · ETA 0:42' (or the stage and count before training)."""
        if self.stage == "train":
            head = f"Step {self.done}/{self.total}"
        elif self.stage:
            head = f"{TRAIN_STAGES.get(self.stage, self.stage)} {self.done}/{self.total}"
        else:
            head = "Not started"
        return f"{head} · loss {format_loss(self.train_loss)} · eval {format_loss(self.eval_loss)} · ETA {format_duration(self.eta(now), clock=True)}"

    def eval_text(self) -> str:
        """Every eval loss so far, by step."""
        parts = [f"step {s} {format_loss(v)}" for s, v in self.eval_losses]
        if self.final_eval is not None:
            parts.append(f"final {format_loss(self.final_eval)}")
        return "Eval loss: " + (" · ".join(parts) if parts else "—")


def uncounted(done: int, total: int) -> bool:
    """Whether a progress report has no count to fill a bar with: no total, or a single step not done yet."""
    return total <= 0 or (total == 1 and done < 1)


def stage_position(stages: dict[str, tuple[str, float, float]], stage: str, done: int,
                   total: int) -> tuple[str, float | None]:
    """(label with counts, 0–1 share of the whole job) for one progress(stage, done, total) report.

    An unknown stage is shown by its name; the share is None (an indeterminate bar) when the report has no count.
    """
    label, start, end = stages.get(stage, (stage, 0.0, 1.0))
    counts = f" {done}/{total}" if total > 1 else ""
    if uncounted(done, total):
        return f"{label}{counts}", None
    fraction = min(max(done / total, 0.0), 1.0)
    return f"{label}{counts}", start + (end - start) * fraction


def run_row(run) -> tuple[str, str, str, str, str]:
    """A training.runs.RunInfo as a table row: active mark, name, status, eval loss, created."""
    return ("●" if run.active else "", run.name, run.status, format_loss(run.eval_loss), (run.created or "")[:19].replace("T", " "))


def resumable(record: dict) -> bool:
    """Whether a run record (run.json) is of a run that stopped before finishing."""
    return record.get("status") in ("interrupted", "running")


# --- RAG ------------------------------------------------------------------------------------------------


def shorten(text: str, width: int) -> str:
    """Text on one line, cut to width with an ellipsis."""
    line = " ".join(str(text).split())
    return line if len(line) <= width else line[: max(width - 1, 0)] + "…"


def hit_row(hit) -> tuple[str, str, str, str]:
    """A retrieval Hit as a table row: rank, score, source, heading."""
    score = f"{hit.score:.4f}" if hit.score < 1 else f"{hit.score:.2f}"
    return (str(hit.rank), score, hit.source, hit.heading or "—")


def build_summary(report: dict) -> str:
    """What an index build did (BuildReport.to_dict()), in a few lines."""
    lines = [f"Indexed {report['documents']} document(s) into {report['chunks']} chunk(s) ({report['index_type']}): "
             f"{report['embedded_chunks']} embedded, {report['reused_chunks']} reused."]
    changes = [f"{len(report[k])} {k}" for k in ("added", "changed", "removed") if report.get(k)]
    if changes:
        lines.append("Files: " + ", ".join(changes) + ".")
    if report.get("full_rebuild_reason"):
        lines.append(f"Rebuilt everything: {report['full_rebuild_reason']}")
    skipped = report.get("skipped") or []
    if skipped:
        lines.append(f"Skipped {len(skipped)} file(s):")
        lines += [f"  {s['path']}: {s['reason']}" for s in skipped]
    if "total" in (report.get("seconds") or {}):
        lines.append(f"Took {report['seconds']['total']:.1f} s.")
    return "\n".join(lines)


def manifest_summary(manifest: dict) -> str:
    """One line about an index already on disk (its manifest.json)."""
    documents = manifest.get("documents") or {}
    chunks = sum(int(d.get("chunks", 0)) for d in documents.values())
    kind = (manifest.get("index") or {}).get("type", "?")
    return f"Index ready: {len(documents)} document(s), {chunks} chunk(s) ({kind}). Build again to pick up changed files."


def answer_text(answer) -> str:
    """A RAG Answer with its citations listed under it."""
    lines = [answer.text or "(no answer)"]
    if answer.citations:
        lines.append("")
        for c in answer.citations:
            where = f"{c.source} › {c.heading}" if c.heading else c.source
            lines.append(f"[{c.number}] {where}" + (" (attributed)" if c.inferred else ""))
    if answer.invalid_citations:
        lines.append("Cited sources that do not exist: " + ", ".join(f"[{n}]" for n in answer.invalid_citations))
    return "\n".join(lines)


def parse_k(text: str) -> int:
    """The number of hits typed in the k field (UsageError when it is not a whole number ≥ 1)."""
    try:
        k = int(text.strip())
    except ValueError:
        k = 0
    if k < 1:
        raise UsageError(f"k={text.strip()!r} is invalid: it must be a whole number of hits, 1 or more.", "Type e.g. 5.")
    return k


# --- prompting ------------------------------------------------------------------------------------------


def prompt_example_row(example: dict, tokens: int | None) -> tuple[str, str, str, str, str]:
    """A chosen few-shot example (selection.json entry) as a table row: cluster, size, keywords, tokens, id."""
    return (str(example["cluster"]), str(example["cluster_size"]), ", ".join(example.get("keywords", [])[:4]),
            "—" if tokens is None else str(tokens), example["id"])


def prompt_summary(selection: dict) -> str:
    """One line about a built prompt (FewShotPrompt.to_dict() / selection.json)."""
    source = {"task": "the interview's task", "data": "the data's system prompt", "generic": "a generic instruction"}
    left = selection.get("left_out_clusters") or []
    note = f"; {len(left)} cluster(s) left out to fit" if left else ""
    return (f"{len(selection['examples'])} example(s) from {selection['clusters']} cluster(s) of "
            f"{selection.get('data_examples', 0)} examples; {selection['tokens']} of {selection['token_budget']} tokens; "
            f"system prompt from {source.get(selection.get('system_source'), selection.get('system_source'))}{note}.")
