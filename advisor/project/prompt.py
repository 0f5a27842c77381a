"""Operation: build, save, edit and load a project's few-shot prompt (prompt/messages.json, prompt.txt, selection.json)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor.project.folder import Project
from curation import split_files
from curation.errors import DataError, TunewiseError, UsageError
from curation.files import write_text_atomic

if TYPE_CHECKING:
    from training.prompting import FewShotPrompt, PromptConfig

Progress = Callable[[str, int, int], None]


@dataclass
class BuiltPrompt:
    """A prompt just built and saved: the prompt, the files written and each example's tokens."""

    prompt: FewShotPrompt
    files: list[Path]
    tokens: list[int] = field(default_factory=list)


@dataclass
class SavedPrompt:
    """A project's saved prompt: its messages and the selection that built them."""

    messages: list[dict[str, str]]
    selection: dict[str, Any]


def build_and_save(data: Sequence[str | Path], out_dir: str | Path, config: PromptConfig | None = None,
                   skip_invalid: bool = False, progress: Progress | None = None, cancel: threading.Event | None = None,
                   embedder=None, count_tokens: bool = False) -> BuiltPrompt:
    """Build a few-shot prompt from data files or a curated folder (its train split) and save it into out_dir."""
    from training.prompting import PromptConfig, build_prompt, count_prompt_tokens, load_examples, save_prompt

    config = config or PromptConfig()
    examples = load_examples(data, skip_invalid)
    prompt = build_prompt(examples, config, embedder=embedder, progress=progress, cancel=cancel)
    files = save_prompt(prompt, out_dir, config)
    tokens: list[int] = []
    if count_tokens:
        from curation.model_sources import load_tokenizer

        tokenizer = load_tokenizer(config.model).tokenizer
        tokens = [count_prompt_tokens(e.messages, tokenizer) for e in prompt.examples]
    return BuiltPrompt(prompt, files, tokens)


def build_project_prompt(project: Project, progress: Progress | None = None, cancel: threading.Event | None = None,
                         embedder=None) -> BuiltPrompt:
    """Build the project's prompt from its current split (the task from its answers) into prompt/, with token counts."""
    from training.prompting import PromptConfig

    folder = project.layout.current_split()
    if folder is None:
        raise UsageError("No curated data to build a prompt from.", "Curate the data on the data screen first.")
    answers = project.answers_path
    config = PromptConfig(answers=str(answers) if answers.is_file() else None)
    return build_and_save([folder], project.layout.prompt, config, progress=progress, cancel=cancel, embedder=embedder,
                          count_tokens=True)


def messages_text(messages: list[dict]) -> str:
    """Prompt messages as the JSON text save_prompt writes (and an editor shows)."""
    return json.dumps(messages, indent=2, ensure_ascii=False) + "\n"


def parse_messages(text: str) -> list[dict[str, str]]:
    """Edited prompt messages, checked by training.prompting's own rules (DataError when invalid)."""
    from training.prompting import check_messages

    messages = check_messages(text, "The edited prompt", "Fix the JSON: a list of {\"role\": system|user|assistant, "
                                                          "\"content\": text}; nothing was saved.")
    if not messages:
        raise DataError("The edited prompt holds no messages.", "Keep at least the system message; nothing was saved.")
    return messages


def save_messages(project: Project, text: str) -> list[dict[str, str]]:
    """Check edited messages and save them to prompt/messages.json and prompt.txt (unchanged when invalid)."""
    from training.prompting import prompt_text

    messages = parse_messages(text)
    write_text_atomic(project.layout.prompt_messages, messages_text(messages))
    write_text_atomic(project.layout.prompt_text, prompt_text(messages))  # keep prompt.txt in step with the edit
    return messages


def load_saved_prompt(project: Project) -> SavedPrompt | None:
    """The project's saved prompt (None when none was built); DataError when its files cannot be read."""
    from curation.safe_read import data_limit, read_json_file
    from training.prompting import load_prompt

    layout = project.layout
    if not layout.prompt_messages.is_file():
        return None
    hint = "Build the prompt again."
    try:
        messages = load_prompt(layout.prompt)
        selection = read_json_file(layout.prompt_selection, "prompt selection", data_limit(), hint)
    except OSError as exc:
        raise DataError(f"{layout.prompt}: {exc}", hint) from None
    if not isinstance(selection, dict) or not isinstance(selection.get("examples"), list):
        raise DataError(f"{layout.prompt_selection}: not a prompt selection (a JSON object with `examples`).", hint)
    return SavedPrompt(messages, selection)


def project_eval_examples(project: Project) -> list:
    """The eval examples of the project's current split, to try the prompt on ([] when none can be read)."""
    from training.prompting import load_examples

    folder = project.layout.current_split()
    if folder is None or not (folder / split_files.EVAL).is_file():
        return []
    try:
        return load_examples([folder / split_files.EVAL])
    except TunewiseError:
        return []


def try_prompt(messages: list[dict[str, str]], text: str, generator, max_new_tokens: int = 64,
               progress: Progress | None = None, cancel: threading.Event | None = None) -> str:
    """The generator's reply to one input under the prompt (the prompting path)."""
    from training.prompting import run_prompt

    return run_prompt(messages, [text], generator, max_new_tokens=max_new_tokens, cancel=cancel, progress=progress)[0]
