"""The plan for a recommended path on a project: what runs, step by step, and the exact `tunewise` commands."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from advisor.project.folder import Project, shown_path
from curation import split_files
from curation.errors import UsageError


@dataclass
class RunPlan:
    """What running the recommended path does, step by step, and the exact commands."""

    path: str
    steps: list[str]
    commands: list[str]
    notes: list[str] = field(default_factory=list)

    @property
    def script(self) -> str:
        """The commands, one per line, ready to paste into a shell."""
        return "\n".join(self.commands)


def curated_examples(project: Project) -> Path | None:
    """The folder of split examples a run should use (Layout.current_split: the one rule), else None."""
    return project.layout.current_split()


def run_plan(project: Project, path: str, cwd: Path | None = None) -> RunPlan:
    """The commands that carry out a recommended path (prompt, rag, fine-tune, rag+fine-tune) on this project."""
    import shlex

    def q(p: Path) -> str:
        return shlex.quote(shown_path(p, cwd))

    layout = project.layout
    root, index, prompt_dir, runs = project.root, layout.index, layout.prompt, layout.runs
    examples = curated_examples(project)
    notes = []
    if examples is None:
        notes.append("Curate the data first (data screen): runs use its train split and hold out its eval split.")
    elif examples != project.export_dir:
        notes.append("Export the data (ctrl+s on the data screen) so the runs use your keep/remove marks.")
    docs = q(project.docs_path) if project.docs_path else "DOCS"
    if "rag" in path and not project.docs_path:
        notes.append("Replace DOCS with the folder of your documents.")

    data = q(examples) if examples else " ".join(q(p) for p in project.data_paths) or "DATA"
    answers = f" --answers {q(project.answers_path)}" if project.answers_path.is_file() else ""
    run_inputs = f"--inputs {q(examples / split_files.EVAL)}" if examples else '"YOUR INPUT"'
    finetune = f"tunewise finetune {q(root)}" if examples in (None, project.curated_dir) else f"tunewise finetune {data} --project {q(root)}"
    rag_build = f"tunewise rag build {docs} --index {q(index)}"
    plans = {
        "prompt": (
            [f"Build a few-shot prompt from {data}: your task as instructions, one typical example per topic.",
             "Run it on the held-out examples with the local model and compare its replies with the expected ones."],
            [f"tunewise prompt build {data} --out {q(prompt_dir)}{answers}", f"tunewise prompt run {q(prompt_dir)} {run_inputs}"],
        ),
        "rag": (
            [f"Index the documents in {docs} into {q(index)} (chunks, embeddings, a FAISS index, BM25).",
             "Ask a question: retrieve the best passages and answer from them, citing the sources."],
            [rag_build, f'tunewise rag ask {q(index)} "YOUR QUESTION"'],
        ),
        "fine-tune": (
            [f"Train a LoRA adapter for the packaged SmolLM2-135M-Instruct on {data} (train split; eval split held out)"
             f" into {q(runs)}/.",
             "It evaluates and checkpoints as it goes; Ctrl-C saves a checkpoint, --resume continues."],
            [finetune],
        ),
        "rag+fine-tune": (
            [f"Index the documents in {docs} into {q(index)}.",
             f"Train a LoRA adapter on {data} into {q(runs)}/.",
             f'Then answer from retrieved passages with the adapter: tunewise rag ask {q(index)} "YOUR QUESTION" --adapter RUN/adapter.'],
            [rag_build, finetune],
        ),
    }
    if path not in plans:
        raise UsageError(f"Unknown path {path!r}.", "Use one of " + ", ".join(plans) + ".")
    steps, commands = plans[path]
    compared = ["zero-shot", "the few-shot prompt"] + ["RAG"] * ("rag" in path) + ["each fine-tuned adapter"] * ("fine-tune" in path)
    steps = [*steps, f"Measure it: the bake-off scores {', '.join(compared[:-1])} and {compared[-1]} on the held-out "
                     "examples; the recommendation then rests on the result."]
    return RunPlan(path, steps, [*commands, f"tunewise eval {q(root)}"], notes)


