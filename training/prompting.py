"""A few-shot prompt built from the data: a system prompt plus one typical example per cluster, within a token budget.

Examples are clustered on their input embeddings (curation's `cluster_embeddings`); clusters are visited from
the largest, and each contributes its medoid, or, when the medoid does not fit the remaining budget, the most
central of its next `candidates` members that does. Tokens are counted on the whole prompt rendered with the
generator's chat template, so the budget is what the model will actually read.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from curation.errors import CancelledError, DataError, TunewiseError, UsageError
from curation.example import Example
from curation.files import write_text_atomic
from curation.jsonl import read_examples
from curation.split_files import TRAIN

GENERIC_SYSTEM = (
    "You are a helpful assistant. Reply to each message in the same style, tone, format and length as the "
    "example replies."
)
TASK_KEYS = ("task_description", "task", "description", "goal", "use_case", "problem")
MESSAGES_FILE, TEXT_FILE, SELECTION_FILE = "messages.json", "prompt.txt", "selection.json"
Progress = Callable[[str, int, int], None]


@dataclass
class PromptConfig:
    """How the few-shot prompt is built."""

    examples: int | None = field(default=3, metadata={"help": "Clusters, hence examples (one each); None: chosen "
                                                               "by silhouette, as many as fit the budget."})
    token_budget: int = field(default=1024, metadata={"help": "Most tokens of the whole prompt (system + examples) "
                                                              "in the generator's chat template."})
    task: str | None = field(default=None, metadata={"help": "Task description for the system prompt (overrides answers)."})
    answers: str | None = field(default=None, metadata={"help": "answers.yaml from the interview; its task "
                                                                "description becomes the system prompt."})
    candidates: int = field(default=5, metadata={"help": "Most central members of a cluster tried when its medoid "
                                                         "does not fit the budget."})
    embedder: str | None = field(default=None, metadata={"help": "Sentence-transformers model for the input embeddings."})
    model: str | None = field(default=None, metadata={"help": "Generator whose tokenizer and chat template count tokens."})
    seed: int = field(default=0, metadata={"help": "k-means seed."})
    cache_dir: str | None = field(default=None, metadata={"help": "Embedding cache folder."})

    def __post_init__(self) -> None:
        if self.examples is not None and (not isinstance(self.examples, int) or self.examples < 1):
            raise UsageError(f"examples must be a positive integer or None, not {self.examples!r}.")
        if not isinstance(self.token_budget, int) or self.token_budget < 32:
            raise UsageError(f"token_budget must be an integer ≥ 32, not {self.token_budget!r}.")
        if not isinstance(self.candidates, int) or self.candidates < 1:
            raise UsageError(f"candidates must be a positive integer, not {self.candidates!r}.")
        if self.answers is not None and not Path(self.answers).is_file():
            raise UsageError(f"answers file {self.answers} does not exist.", "Pass the answers.yaml the interview wrote.")


@dataclass
class PromptExample:
    """One chosen example and why: its cluster, how typical it is (cosine to the centroid) and its tokens."""

    id: str
    cluster: int
    cluster_size: int
    keywords: list[str]
    similarity: float
    medoid: bool
    messages: list[dict[str, str]]


@dataclass
class FewShotPrompt:
    """A system prompt and few-shot examples, with the token count of the whole rendered prompt."""

    system: str
    system_source: str
    examples: list[PromptExample]
    tokens: int
    token_budget: int
    clusters: int
    left_out_clusters: list[int] = field(default_factory=list)
    data_examples: int = 0

    @property
    def messages(self) -> list[dict[str, str]]:
        """OpenAI-style messages: the system prompt, then each example's turns."""
        return prompt_messages(self.system, [e.messages for e in self.examples])

    @property
    def text(self) -> str:
        """The prompt as plain text (for models or tools without chat messages)."""
        parts = [self.system.strip()]
        for number, example in enumerate(self.examples, 1):
            turns = "\n".join(f"{m['role'].capitalize()}: {m['content'].strip()}" for m in example.messages)
            parts.append(f"Example {number}\n{turns}")
        return "\n\n".join(parts) + "\n"

    def to_dict(self) -> dict:
        """JSON-ready summary (selection.json and --json)."""
        return {**{k: v for k, v in asdict(self).items() if k != "examples"},
                "examples": [asdict(e) for e in self.examples]}


def prompt_messages(system: str, examples: Sequence[list[dict[str, str]]]) -> list[dict[str, str]]:
    """System message followed by every example's (non-system) turns."""
    messages = [{"role": "system", "content": system}]
    for turns in examples:
        messages.extend({"role": m["role"], "content": m["content"]} for m in turns if m["role"] != "system")
    return messages


def count_prompt_tokens(messages: list[dict[str, str]], tokenizer) -> int:
    """Tokens of messages rendered with the tokenizer's chat template."""
    rendered = tokenizer.apply_chat_template(messages, tokenize=False)
    return len(tokenizer(rendered, add_special_tokens=False)["input_ids"])


def task_from_answers(path: str | Path) -> str | None:
    """The task description in an interview answers.yaml (first of TASK_KEYS, at the top or under `task`)."""
    from curation.safe_read import read_yaml_file

    hint = "Pass the answers.yaml the interview wrote (`tunewise interview` writes it again)."
    try:
        data = read_yaml_file(path, "answers file", hint=hint)
    except DataError as exc:
        raise DataError(exc.message, hint) from None
    for node in (data, (data or {}).get("task") if isinstance(data, dict) else None):
        if isinstance(node, dict):
            for key in TASK_KEYS:
                value = node.get(key)
                if isinstance(value, str) and value.strip():
                    return value.strip()
    return None


def system_prompt(examples: Sequence[Example], task: str | None, keywords: Sequence[Sequence[str]]) -> tuple[str, str]:
    """(system prompt, where it came from): the task description, else the data's own shared system prompt,
    else a generic instruction naming the main topics."""
    if task:
        return f"{task.strip()}\n\nReply in the same style, tone, format and length as the example replies.", "task"
    systems = Counter(e.system_text.strip() for e in examples if e.system_text.strip())
    if systems:
        text, count = systems.most_common(1)[0]
        if count >= len(examples) / 2:
            return text, "data"
    topics = [words[0] for words in keywords if words][:8]
    suffix = f" The messages are mostly about: {', '.join(topics)}." if topics else ""
    return GENERIC_SYSTEM + suffix, "generic"


def select_examples(
    examples: Sequence[Example],
    vectors: np.ndarray,
    clustering,
    system: str,
    tokenizer,
    budget: int,
    candidates: int = 5,
) -> tuple[list[PromptExample], int, list[int]]:
    """One example per cluster, largest cluster first, greedily within budget: (chosen, tokens, clusters left out)."""
    chosen: list[PromptExample] = []
    tokens = count_prompt_tokens(prompt_messages(system, []), tokenizer)
    if tokens > budget:
        raise UsageError(f"The system prompt alone is {tokens} tokens, over the budget of {budget}.",
                         "Raise --budget or shorten the task description.")
    left_out: list[int] = []
    for cluster in clustering.clusters:
        members = np.array(cluster.members)
        similarity = vectors[members] @ clustering.centroids[cluster.id]
        order = members[np.argsort(-similarity, kind="stable")][:candidates]
        for rank, member in enumerate(order.tolist()):
            example = examples[member]
            turns = [m for m in example.messages if m["role"] != "system"]
            total = count_prompt_tokens(prompt_messages(system, [*(c.messages for c in chosen), turns]), tokenizer)
            if total <= budget:
                chosen.append(PromptExample(example.id, cluster.id, cluster.size, list(cluster.keywords),
                                            round(float(vectors[member] @ clustering.centroids[cluster.id]), 4),
                                            member == cluster.medoid and rank == 0, turns))
                tokens = total
                break
        else:
            left_out.append(cluster.id)
    return chosen, tokens, left_out


def build_prompt(
    examples: Sequence[Example],
    config: PromptConfig | None = None,
    embedder=None,
    tokenizer=None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> FewShotPrompt:
    """Cluster the examples' inputs and build the few-shot prompt (see the module docstring)."""
    from curation.cluster import cluster_embeddings
    from curation.embed import LOAD_STAGE, Embedder
    from curation.model_sources import load_tokenizer

    config = config or PromptConfig()
    if not examples:
        raise DataError("No examples to build a prompt from.", "Pass a data file with at least one example.")
    embedder = embedder or Embedder(config.embedder, cache_dir=config.cache_dir)
    tokenizer = tokenizer or load_tokenizer(config.model)
    if not getattr(tokenizer.tokenizer, "chat_template", None):
        raise UsageError(f"The tokenizer of {tokenizer.name} has no chat template.", "Use an instruction-tuned model.")
    inputs = [e.input_text for e in examples]
    vectors = embedder.encode_long(inputs, progress=(lambda d, t: progress("embed", d, t)) if progress else None, cancel=cancel,
                                   on_load=(lambda d, t: progress(LOAD_STAGE, d, t)) if progress else None)
    if cancel is not None and cancel.is_set():
        raise CancelledError("Prompt building cancelled.")
    if progress:
        progress("cluster", 0, 1)
    clustering = cluster_embeddings(vectors, k=min(config.examples, len(examples)) if config.examples else None,
                                    texts=inputs, seed=config.seed)
    if progress:
        progress("cluster", 1, 1)
    task = config.task or (task_from_answers(config.answers) if config.answers else None)
    system, source = system_prompt(examples, task, [c.keywords for c in clustering.clusters])
    chosen, tokens, left_out = select_examples(examples, vectors, clustering, system, tokenizer.tokenizer,
                                               config.token_budget, config.candidates)
    return FewShotPrompt(system, source, chosen, tokens, config.token_budget, clustering.k, left_out, len(examples))


def load_examples(paths: Sequence[str | Path], skip_invalid: bool = False) -> list[Example]:
    """Examples from data files, or from a curation output folder's train.jsonl (its eval split stays unseen)."""
    from curation.curate_files import InvalidData
    from curation.load import load_files

    if len(paths) == 1 and Path(paths[0]).is_dir() and (Path(paths[0]) / TRAIN).is_file():
        return read_examples(Path(paths[0]) / TRAIN)
    loaded = load_files(paths)
    if loaded.problems and not skip_invalid:
        raise InvalidData(loaded.problems, loaded.n_records)
    return loaded.examples


def save_prompt(prompt: FewShotPrompt, out_dir: str | Path, settings: PromptConfig | None = None) -> list[Path]:
    """Write messages.json (OpenAI-style), prompt.txt (plain text) and selection.json (choices, settings), atomically."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} is a file.", "Pass a folder for --out.")
    out.mkdir(parents=True, exist_ok=True)
    contents = {
        MESSAGES_FILE: json.dumps(prompt.messages, indent=2, ensure_ascii=False) + "\n",
        TEXT_FILE: prompt.text,
        SELECTION_FILE: json.dumps({**prompt.to_dict(), "settings": asdict(settings) if settings else None},
                                   indent=2, ensure_ascii=False) + "\n",
    }
    for name, text in contents.items():
        write_text_atomic(out / name, text)
    return [out / name for name in contents]


def check_messages(text: str, where: str = "The prompt", hint: str = "Build the prompt again.") -> list[dict[str, str]]:
    """Chat messages parsed from JSON text: a list of {role: system|user|assistant, content: str} (DataError if not)."""
    try:
        messages = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{where} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).", hint) from None
    except (ValueError, RecursionError) as exc:  # a number of thousands of digits, absurd nesting
        problem = "it nests too deeply" if isinstance(exc, RecursionError) else "a number has too many digits"
        raise DataError(f"{where} is not valid JSON: {problem}.", hint) from None
    if not isinstance(messages, list) or not all(
        isinstance(m, dict) and m.get("role") in ("system", "user", "assistant") and isinstance(m.get("content"), str)
        for m in messages
    ):
        raise DataError(f"{where} is not a list of chat messages ({{role, content}}).", hint)
    return messages


def prompt_text(messages: list[dict[str, str]]) -> str:
    """Chat messages as the plain text of prompt.txt (for models or tools without chat messages)."""
    return "\n\n".join(f"{m['role'].capitalize()}: {m['content'].strip()}" for m in messages) + "\n"


def load_prompt(path: str | Path) -> list[dict[str, str]]:
    """The messages of a saved prompt (a folder holding messages.json, or the file itself), checked."""
    from curation.safe_read import CONFIG_LIMIT, read_text_limited

    path = Path(path)
    file = path / MESSAGES_FILE if path.is_dir() else path
    hint = f"Build the prompt again: tunewise prompt build DATA --out {file.parent}"
    if not os.path.lexists(file):
        raise UsageError(f"No prompt at {path}.", "Build one first: tunewise prompt build DATA --out DIR.")
    try:
        text = read_text_limited(file, CONFIG_LIMIT, "prompt file")
    except TunewiseError as exc:  # a folder, a FIFO, a broken link, over the size limit, not UTF-8
        raise DataError(exc.message, hint) from None
    return check_messages(text, str(file), hint)


def run_prompt(
    messages: list[dict[str, str]],
    inputs: Sequence[str],
    generator,
    max_new_tokens: int = 256,
    temperature: float = 0.0,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> list[str]:
    """Answer each input with the prompt on the generator (Generator.chat): prompt messages + the input as user."""
    if not inputs:
        raise UsageError("No inputs to answer.", "Pass inputs as arguments or --inputs FILE (one per line).")
    conversations = [[*messages, {"role": "user", "content": text}] for text in inputs]
    return generator.chat(conversations, max_new_tokens=max_new_tokens, temperature=temperature,
                          progress=progress, cancel=cancel)
