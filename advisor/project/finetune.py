"""Operation: fine-tune a LoRA adapter on a project's split, new or resumed, with before/after replies.

One set of rules for the CLI (`tunewise finetune`) and the app's Fine-tune panel:

- **Which run** (`resume_target`): the named run, or when resuming without a name the latest unfinished one.
- **Which settings** (`resolve_settings`): a new run trains with the settings given, its max_length taken from
  the curation (the length it flagged against) unless max_length was given. A resumed run trains with the
  settings saved in its folder, except the RESUME_OVERRIDES (epochs, max_steps) that were given: those extend or
  shorten the run. A resume of a run that saved no settings trains with the settings given, like a new run.
- **What runs** (`finetune_run`): the base model's replies to a few eval examples (when asked), training, then
  the tuned model's replies to the same examples (skipped when training was interrupted).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor.project.folder import Project, project_root, shown_path
from curation.errors import CancelledError, UsageError

if TYPE_CHECKING:
    from training.finetune import FinetuneResult, TrainingData
    from training.lora_config import LoraSettings

Progress = Callable[[str, int, int], None]
RESUME_OVERRIDES = ("epochs", "max_steps")  # settings that, given explicitly, override a resumed run's saved ones


@dataclass
class FinetuneOutcome:
    """What a fine-tune produced: the training result, the settings it ran with, the before/after replies."""

    result: FinetuneResult
    settings: LoraSettings
    comparison: list[dict[str, Any]] = field(default_factory=list)  # {id, input, expected, base, tuned}


def runs_folder(project: Project | str | Path) -> Path:
    """The folder holding a project's runs (runs/)."""
    from training.runs import runs_root

    return runs_root(project_root(project))


def project_training_data(project: Project | str | Path) -> TrainingData:
    """The train and eval examples of the project's current split (Layout.current_split)."""
    from advisor.project.layout import Layout
    from training.finetune import load_training_data

    folder = Layout(project_root(project)).current_split()
    if folder is None:
        raise UsageError("No curated data to train on.", "Curate the data on the data screen first (and export it to apply your marks).")
    return load_training_data(folder)


def resume_target(project: Project | str | Path, name: str | None, resume: bool) -> str:
    """The run to train: `name` (checked), a new run name, or when resuming without a name the latest unfinished run."""
    from training import runs

    if resume and not name:
        unfinished = [r for r in runs.list_runs(project_root(project)) if r.status in ("running", "interrupted")]
        if not unfinished:
            raise UsageError(f"No unfinished run to resume in {runs_folder(project)}.", "Pass --name, or start a new run without --resume.")
        name = unfinished[-1].name
    return runs.validate_run_name(name or runs.new_run_name())


def check_new_run(project: Project | str | Path, name: str) -> None:
    """Refuse a new run whose folder exists already (before any model is loaded for it)."""
    folder = runs_folder(project)
    if (folder / name).exists():
        raise UsageError(f"Run {name} already exists in {shown_path(folder)}.", "Type another run name, or Resume it if it was interrupted.")


def saved_settings(run_dir: Path) -> LoraSettings | None:
    """The settings a run saved when it started (None when it saved none)."""
    from training import runs
    from training.lora_config import LoraSettings

    if not (run_dir / runs.SETTINGS_FILE).exists():
        return None
    return LoraSettings.from_dict(runs.read_settings(run_dir))


def resolve_settings(run_dir: Path, data: TrainingData, settings: LoraSettings, resume: bool = False,
                     given: Collection[str] = ()) -> LoraSettings:
    """The settings a run trains with (the module's rule); `given` names the settings the user set explicitly."""
    from training.lora_config import LoraSettings

    saved = saved_settings(run_dir) if resume else None
    if saved is not None:
        overrides = {k: getattr(settings, k) for k in RESUME_OVERRIDES if k in given}
        return LoraSettings.from_dict(saved.to_dict() | overrides) if overrides else saved
    if "max_length" in given:
        return settings
    return replace(settings, max_length=data.max_tokens or settings.max_length)


def _replies(model: str | None, adapter: Path | None, conversations: list[list[dict]], stage: str, max_new_tokens: int,
             progress: Progress | None, cancel: threading.Event | None) -> list[str]:
    from training.generate import load_generator

    if progress is not None:
        progress(stage, 0, len(conversations))
    generator = load_generator(model, adapter=adapter) if adapter is not None else load_generator(model)
    step = (lambda _stage, done, total: progress(stage, done, total)) if progress is not None else None
    return generator.chat(conversations, max_new_tokens=max_new_tokens, progress=step, cancel=cancel)


def finetune_run(data: TrainingData, run_dir: Path, settings: LoraSettings, resume: bool = False,
                 given: Collection[str] = (), compare: int = 0, max_new_tokens: int = 64,
                 known: list[dict[str, Any]] | None = None, progress: Progress | None = None,
                 cancel: threading.Event | None = None, on_log: Callable[[dict], None] | None = None,
                 on_compare: Callable[[list[dict[str, Any]]], None] | None = None) -> FinetuneOutcome:
    """Train (or resume) the run in run_dir, with the base and tuned replies to `compare` eval examples around it.

    Progress stages, in order: "base" (base replies done of those compared), training's own ("tokenize", "train"),
    then "tuned" (tuned replies done). `known` are comparison rows from before: when they are of the same examples the base
    model is not asked again. `on_compare` gets the rows once the base replies are in. Cancelling while the tuned
    model answers keeps the finished run and leaves the tuned replies out.
    """
    from training.finetune import finetune

    settings = resolve_settings(run_dir, data, settings, resume, given)
    picks = (data.eval or data.train)[:compare]
    conversations = [reply_turns(e.messages) for e in picks]
    rows = list(known or [])
    if picks and [row["id"] for row in rows] != [e.id for e in picks]:
        base = _replies(settings.model, None, conversations, "base", max_new_tokens, progress, cancel)
        rows = [{"id": e.id, "input": e.input_text, "expected": e.output_text, "base": b, "tuned": None}
                for e, b in zip(picks, base)]
        if on_compare is not None:
            on_compare(rows)
    result = finetune(data, settings, run_dir, resume=resume, progress=progress, cancel=cancel, on_log=on_log)
    if result.status != "interrupted" and picks:
        try:
            tuned = _replies(settings.model, run_dir, conversations, "tuned", max_new_tokens, progress, cancel)
        except CancelledError:  # stopped while comparing: the run itself is complete
            tuned = None
        if tuned is not None:
            rows = [row | {"tuned": reply} for row, reply in zip(rows, tuned)]
    return FinetuneOutcome(result, settings, rows if picks else [])


def reply_turns(messages: list[dict]) -> list[dict]:
    """The conversation a model must answer: every turn before the last assistant turn."""
    last = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=len(messages))
    return [dict(m) for m in messages[:last]]


@dataclass
class FinetunePace:
    """Where a fine-tune job is (its stage and count) and the seconds left in that stage, from measured times.

    Each stage's pace is measured from its own reports (replies done, steps done since the stage began here);
    before the first training step it comes from `step_seconds`, the step time a past run measured on this machine
    (training.runs.measured_speed). Unknown (None) rather than 0 while nothing has been measured.
    """

    step_seconds: float | None = None
    stage: str = ""
    done: int = 0
    total: int = 0
    started: tuple[int, float] | None = None  # (count, time) when this stage was first reported
    now: float = 0.0

    @classmethod
    def for_project(cls, project: Project | str | Path) -> FinetunePace:
        """A pace whose first training steps are timed by the project's newest measured run."""
        from curation.errors import TunewiseError
        from training.runs import measured_speed

        try:
            speed = measured_speed(project_root(project))
        except TunewiseError:  # an unreadable runs folder: no prior, the pace is measured as the job goes
            speed = None
        return cls(step_seconds=speed.step_seconds if speed else None)

    def update(self, stage: str, done: int, total: int, now: float) -> None:
        """One progress(stage, done, total) report at monotonic time `now`."""
        if stage != self.stage:
            self.started = (done, now)
        self.stage, self.done, self.total, self.now = stage, done, total, now

    def seconds_left(self, now: float | None = None) -> float | None:
        """Seconds left in the current stage; None when it cannot be told yet (or the stage has no count)."""
        if self.started is None or self.total <= 0:
            return None
        now = self.now if now is None else now
        first, since = self.started
        remaining = max(self.total - self.done, 0)
        if self.done > first and self.now > since:  # measured in this stage: the pace of its items so far
            return max(remaining * (self.now - since) / (self.done - first) - (now - self.now), 0.0)
        if self.stage == "train" and self.step_seconds:  # no step yet: a past run's step time on this machine
            return max(remaining * self.step_seconds - (now - since), 0.0)
        return None

    @property
    def wrapping_up(self) -> bool:
        """Training has done its last step and evaluates / saves the adapter."""
        return self.stage == "train" and self.total > 0 and self.done >= self.total


def training_time_estimate(project: Project | str | Path, epochs: float) -> dict[str, Any] | None:
    """Local LoRA time for the curated train split over `epochs`, at the speed the project's last run measured here
    (else the pricing table's, said to be assumed): curation.tokens.estimate_cost's `local` block; None before curation."""
    from advisor.project.layout import Layout
    from curation.errors import TunewiseError
    from curation.safe_read import read_json_file
    from curation.tokens import estimate_cost, load_pricing
    from training.runs import measured_speed

    report = Layout(project_root(project)).curation_report
    try:
        cost = read_json_file(report, "curation report").get("cost") or {}
        tokens = cost.get("train_tokens")
        if not isinstance(tokens, int) or isinstance(tokens, bool) or tokens < 0:
            return None
        speed = measured_speed(project_root(project))
        pricing = load_pricing()
    except (TunewiseError, OSError, AttributeError):  # no curation yet, or a damaged file the data screen reports
        return None
    local = estimate_cost(tokens, 1, pricing, speed.tokens_per_s if speed else None, speed.run if speed else None)["local"]
    return local | {"seconds": round(local["seconds"] * epochs, 1), "epochs": epochs, "train_tokens": tokens}
