"""The candidates of a bake-off and the exact conversation each one sends to the model for an example.

- zero-shot: the base model, given the example's own conversation (its system prompt too) up to the reply.
- few-shot: the base model with the project's few-shot prompt (prompt/messages.json, else built from train).
- rag: the base model answering from passages retrieved from the project's index (citations stripped to score).
- lora:NAME: the base model plus the adapter of runs/NAME, given the conversation it was trained on.
- rag+lora:NAME: the adapter answering from retrieved passages.
- prompt@NAME: an OpenAI-compatible endpoint's model given the project's saved few-shot prompt, else zero-shot.
- rag@NAME: the endpoint's model answering from the same retrieved passages the local rag candidate gets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from curation.errors import DataError, TunewiseError, UsageError
from curation.example import Example
from curation.files import sha256_file
from training.rag.manifest_schema import MANIFEST

if TYPE_CHECKING:
    from training.endpoints import Endpoint

KINDS = ("zero-shot", "few-shot", "rag", "lora", "rag+lora")
ENDPOINT_KINDS = ("prompt@", "rag@")  # written prompt@NAME / rag@NAME; NAME is one of the project's endpoints
_CITATION = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")


@dataclass(frozen=True)
class Candidate:
    """One way of answering: a kind, for lora kinds the run whose adapter is used, for endpoint kinds the endpoint.

    `few_shot` says whether a prompt@ candidate gets the project's few-shot prompt (else it is zero-shot).
    """

    name: str
    kind: str
    adapter: Path | None = None
    endpoint: Endpoint | None = None
    few_shot: bool = False

    @property
    def uses_rag(self) -> bool:
        return self.kind in ("rag", "rag+lora", "rag@")

    @property
    def uses_prompt(self) -> bool:
        return self.kind == "few-shot" or (self.kind == "prompt@" and self.few_shot)

    def describe(self) -> str:
        """The candidate in words, for tables."""
        if self.endpoint is not None:
            model = f"{self.endpoint.model} at endpoint {self.endpoint.name}"
            if self.kind == "rag@":
                return f"{model} answering from the same retrieved passages as rag"
            if self.few_shot:
                return f"{model} with the project's few-shot prompt"
            return f"{model}, zero-shot (the project has no saved few-shot prompt)"
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


def endpoint_candidates(endpoints: list[Endpoint], has_index: bool, has_prompt: bool) -> list[Candidate]:
    """prompt@NAME for every endpoint, and rag@NAME too when there is an index."""
    found = [Candidate(f"prompt@{e.name}", "prompt@", endpoint=e, few_shot=has_prompt) for e in endpoints]
    if has_index:
        found += [Candidate(f"rag@{e.name}", "rag@", endpoint=e) for e in endpoints]
    return found


def available(project: Path, index_dir: Path | None, endpoints: list[Endpoint] | None = None,
              has_prompt: bool = False) -> list[Candidate]:
    """Every candidate the project can run now: zero-shot, few-shot, rag if an index exists, each finished run,
    with an index the active (else newest) run answering from retrieved passages (rag+lora), and prompt@/rag@
    for each configured endpoint (`has_prompt`: the project has a saved few-shot prompt for prompt@)."""
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
    return found + endpoint_candidates(endpoints or [], has_index, has_prompt)


def _endpoint_candidate(name: str, endpoints: list[Endpoint], index_dir: Path | None, has_prompt: bool) -> Candidate:
    """prompt@NAME or rag@NAME, naming a configured endpoint (UsageError otherwise)."""
    kind, _, endpoint_name = name.partition("@")
    if kind not in ("prompt", "rag") or not endpoint_name:
        raise UsageError(f"Unknown candidate {name!r}.", "Endpoint candidates are prompt@NAME or rag@NAME.")
    known = {e.name: e for e in endpoints}
    if endpoint_name not in known:
        listed = ", ".join(known) if known else "none is configured"
        raise UsageError(f"No endpoint named {endpoint_name!r} for {name!r} (configured: {listed}).",
                         "Add it with `tunewise endpoints add`, or check the name with `tunewise endpoints list`.")
    if kind == "rag" and (index_dir is None or not (index_dir / MANIFEST).is_file()):
        raise UsageError(f"{name} needs a RAG index, and there is none at {index_dir}.",
                         f"Build one: tunewise rag build DOCS --index {index_dir}")
    return Candidate(name, f"{kind}@", endpoint=known[endpoint_name], few_shot=kind == "prompt" and has_prompt)


def parse_candidates(names: list[str], project: Path, index_dir: Path | None, endpoints: list[Endpoint] | None = None,
                     has_prompt: bool = False) -> list[Candidate]:
    """Candidates from names like zero-shot, few-shot, rag, lora:NAME, rag+lora:NAME, lora (every run),
    prompt@ENDPOINT, rag@ENDPOINT, all (every endpoint's too)."""
    from training.runs import find_run, has_adapter, runs_root

    endpoints = endpoints or []
    out: list[Candidate] = []
    for raw in names:
        name = raw.strip()
        if not name:
            continue
        if name == "all":
            out += available(project, index_dir, endpoints, has_prompt)
            continue
        if "@" in name:
            out.append(_endpoint_candidate(name, endpoints, index_dir, has_prompt))
            continue
        kind, _, run = name.partition(":")
        if kind not in KINDS:
            raise UsageError(f"Unknown candidate {name!r}.",
                             "Use zero-shot, few-shot, rag, lora, lora:RUN, rag+lora:RUN, prompt@ENDPOINT, "
                             "rag@ENDPOINT or all.")
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
