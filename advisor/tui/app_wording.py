"""The library's hints speak the command line ("pass --skip-invalid", "tunewise rag build …"); the app says instead
which step, tab or key does the same thing. Nothing here imports textual."""

from __future__ import annotations

import re

# (pattern found in a library hint, what the app says instead); the first match wins.
HINTS: list[tuple[re.Pattern[str], str]] = [(re.compile(p), text) for p, text in (
    (r"--skip-invalid", "Fix the lines, or curate without them: ctrl+g, or the button in the Errors tab "
                        "(they are listed in the curation's rejected file)."),
    (r"--data EVAL|tunewise curate|Curate first", "Curate the data on the Data step (ctrl+r there)."),
    (r"tunewise prompt build", "Build it in the Prompt tab of the Run step (ctrl+r there)."),
    (r"tunewise rag build", "Build it in the RAG tab of the Run step (ctrl+r there)."),
    (r"--resume", "Resume it in the Fine-tune tab of the Run step (ctrl+t there)."),
    (r"tunewise finetune", "Train one in the Fine-tune tab of the Run step (ctrl+r there)."),
    (r"tunewise runs use", "Make a run active in the Fine-tune tab of the Run step (ctrl+o there)."),
    (r"tunewise eval", "Run the bake-off on the Evaluate step (ctrl+r there)."),
    (r"tunewise interview", "Answer the Interview step again."),
    (r"--candidates", "Tick at least one candidate (space ticks it)."),
    (r"tunewise app DIR", "Type a new folder on the Project step: it becomes a project."),
)]
# Command-line tails that are dropped from a hint that is otherwise right for the app too.
TAILS = re.compile(r",? or pass --(?:embedder|model) PATH")


def app_hint(hint: str | None) -> str | None:
    """A library hint in the app's words: which step, tab or key does what the command line hint says."""
    if not hint:
        return hint
    for pattern, text in HINTS:
        if pattern.search(hint):
            return text
    return TAILS.sub("", hint)
