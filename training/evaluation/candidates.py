"""The candidates of a bake-off and the exact conversation each one sends to the model for an example.

- zero-shot: the base model, given the example's own conversation (its system prompt too) up to the reply.
- few-shot: the base model with the project's few-shot prompt (prompt/messages.json, else built from train).
- rag: the base model answering from passages retrieved from the project's index (citations stripped to score).
- lora:NAME: the base model plus the adapter of runs/NAME, given the conversation it was trained on.
- rag+lora:NAME: the adapter answering from retrieved passages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from curation.errors import DataError, TunewiseError, UsageError
from curation.example import Example
from curation.files import sha256_file
from training.rag.manifest_schema import MANIFEST

KINDS = ("zero-shot", "few-shot", "rag", "lora", "rag+lora")
_CITATION = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")


@dataclass(frozen=True)
class Candidate:
    """One way of answering: a kind, and for lora kinds the run whose adapter is used."""

    name: str
    kind: str
    adapter: Path | None = None

    @property
    def uses_rag(self) -> bool:
        return self.kind in ("rag", "rag+lora")

    @property
    def uses_prompt(self) -> bool:
        return self.kind == "few-shot"

    def describe(self) -> str:
        """The candidate in words, for tables."""
        return {
            "zero-shot": "base model, the example's own instructions",
            "few-shot": "base model with the few-shot prompt",
            "rag": "base model answering from retrieved passages",
            "lora": f"base model + LoRA adapter {self.name.split(':', 1)[-1]}",
            "rag+lora": f"LoRA adapter {self.name.split(':', 1)[-1]} answering from retrieved passages",
        }[self.kind]


def adapter_runs(project: Path) -> list[str]:
    """Names of the project's runs that hold a finished adapter, oldest first."""
    from training.runs import has_adapter, list_runs, runs_root

    return [r.name for r in list_runs(project) if r.status != "damaged" and has_adapter(runs_root(project) / r.name)]


def available(project: Path, index_dir: Path | None) -> list[Candidate]:
    """Every candidate the project can run now: zero-shot, few-shot, rag if an index exists, each finished run,
    and with an index, the active (else newest) run answering from retrieved passages (rag+lora)."""
    from training.runs import active_run, runs_root

    found = [Candidate("zero-shot", "zero-shot"), Candidate("few-shot", "few-shot")]
    has_index = index_dir is not None and (index_dir / MANIFEST).is_file()
    if has_index:
        found.append(Candidate("rag", "rag"))
    names = adapter_runs(project)
    found += [Candidate(f"lora:{name}", "lora", runs_root(project) / name) for name in names]
    if has_index and names:
        try:
            active = active_run(project)
        except TunewiseError:  # a damaged active.json: `tunewise runs list` says so; the newest run stands in
            active = None
        chosen = active if active in names else names[-1]
        found.append(Candidate(f"rag+lora:{chosen}", "rag+lora", runs_root(project) / chosen))
    return found


def parse_candidates(names: list[str], project: Path, index_dir: Path | None) -> list[Candidate]:
    """Candidates from names like zero-shot, few-shot, rag, lora:NAME, rag+lora:NAME, lora (every run), all."""
    from training.runs import find_run, has_adapter, runs_root

    out: list[Candidate] = []
    for raw in names:
        name = raw.strip()
        if not name:
            continue
        if name == "all":
            out += available(project, index_dir)
            continue
        kind, _, run = name.partition(":")
        if kind not in KINDS:
            raise UsageError(f"Unknown candidate {name!r}.",
                             "Use zero-shot, few-shot, rag, lora, lora:RUN, rag+lora:RUN or all.")
        if kind in ("lora", "rag+lora") and not run:
            runs = adapter_runs(project)
            if not runs:
                raise UsageError(f"No finished fine-tune runs in {runs_root(project)} for {name!r}.",
                                 f"Train one first: tunewise finetune {project} --max-steps 50")
            out += [Candidate(f"{kind}:{r}", kind, runs_root(project) / r) for r in runs]
            continue
        if kind in ("lora", "rag+lora"):
            run_dir = find_run(project, run)
            if not has_adapter(run_dir):
                raise UsageError(f"Run {run} has no adapter yet (unfinished or interrupted).",
                                 f"Resume it: tunewise finetune {project} --name {run} --resume")
            out.append(Candidate(name, kind, run_dir))
        elif run:
            raise UsageError(f"{kind} takes no run name ({name!r}).", f"Write just {kind}.")
        else:
            out.append(Candidate(name, kind))
        if kind in ("rag", "rag+lora") and (index_dir is None or not (index_dir / MANIFEST).is_file()):
            raise UsageError(f"{name} needs a RAG index, and there is none at {index_dir}.",
                             f"Build one: tunewise rag build DOCS --index {index_dir}")
    unique = list({c.name: c for c in out}.values())
    if not unique:
        raise UsageError("No candidates to evaluate.", "Pass --candidates zero-shot,few-shot,… or all.")
    return unique


def reply_context(example: Example) -> list[dict[str, str]]:
    """The example's conversation up to (not including) its last assistant reply."""
    last = max(i for i, m in enumerate(example.messages) if m["role"] == "assistant")
    return [dict(m) for m in example.messages[:last]]


def last_user(example: Example) -> str:
    """The question a retrieval candidate answers: the last user turn before the reply."""
    users = [m["content"] for m in reply_context(example) if m["role"] == "user"]
    return users[-1] if users else example.input_text


def few_shot_conversation(prompt: list[dict[str, str]], example: Example) -> list[dict[str, str]]:
    """The prompt's messages followed by the example's turns (its own system prompt replaced by the prompt's)."""
    return [*prompt, *(m for m in reply_context(example) if m["role"] != "system")]


def rag_conversation(example: Example, hits, tokenizer, context_tokens: int = 1024) -> list[dict[str, str]]:
    """Numbered retrieved passages and the question; the example's system prompt (if any) precedes the RAG rules."""
    from training.rag.answer import SYSTEM_PROMPT, build_messages, fit_sources

    system = example.system_text.strip()
    rules = f"{system}\n\n{SYSTEM_PROMPT}" if system else SYSTEM_PROMPT
    return build_messages(last_user(example), fit_sources(hits, tokenizer, context_tokens), rules)


def strip_citations(text: str) -> str:
    """The answer without [n] citation marks (references never carry them)."""
    return _CITATION.sub("", text).strip()


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes (adapters are a few MB), for cache keys."""
    from curation.safe_read import check_regular_file

    try:
        check_regular_file(path, "adapter file")  # a FIFO named *.safetensors would block the read forever
    except UsageError as exc:
        raise DataError(exc.message, "Train the run again, or pass another candidate.") from None
    return sha256_file(path)[:16]


def adapter_fingerprint(run_dir: Path) -> str:
    """A key that changes when the adapter's weights change."""
    from training.generate import adapter_dir

    folder = adapter_dir(run_dir)
    weights = sorted(folder.glob("*.safetensors"))
    return ",".join(file_digest(w) for w in weights) or file_digest(folder / "adapter_config.json")
