"""The vocabulary of a verdict: the paths, the thresholds the rules use, and one statement with its basis."""

from __future__ import annotations

from dataclasses import dataclass

PATHS = ("prompt", "rag", "fine-tune", "rag+fine-tune")
PATH_LABELS = {
    "prompt": "prompting",
    "rag": "prompting with RAG",
    "fine-tune": "fine-tuning",
    "rag+fine-tune": "RAG + fine-tuning",
}
MIN_EXAMPLES = 50  # below this, fine-tuning is not an option
GOOD_EXAMPLES = 100  # the low end of the recommended 100-1,000+
LARGE_CORPUS = 1000  # consistent examples: far more than a prompt can carry as demonstrations
BLOCKING_CONFLICT_RATE = 0.10  # at or above: resolve conflicts before fine-tuning
WARN_CONFLICT_RATE = 0.03
WARN_DUPLICATE_RATE = 0.10
GOOD_PROMPT_SCORE = 8  # of 10 real cases

#: What a reason is about; the scenario suite compares the first reason's topic with the published case's.
TOPICS = {
    "facts": "private or changing facts the model lacks",
    "behaviour": "a style, format or labelling the output must hold",
    "jargon": "domain jargon, a niche language or a DSL",
    "cost": "cost or latency at volume",
    "prompt_works": "a prompt already does the task",
    "prompt_first": "nothing yet shows a prompt falls short",
    "data_size": "too few examples",
    "data_consistency": "examples that disagree",
    "capability": "a task the model cannot do",
    "one_off": "a one-off job",
    "measured": "the bake-off",
    "other": "other",
}


@dataclass
class Reason:
    """One statement behind the verdict and what it rests on: "answer:<question id>", "data:<report field>" or
    "eval:<metric>"; `topic` (one of TOPICS) says what kind of reason it is."""

    text: str
    basis: str
    topic: str = "other"


def plural(n: int | float, word: str, many: str | None = None) -> str:
    """'1 example', '1,200 examples'."""
    n_text = f"{n:,}" if isinstance(n, int) else f"{n:,.0f}"
    return f"{n_text} {word if n == 1 else (many or word + 's')}"


def pct(x: float) -> str:
    """0.123 -> '12%'; 0.012 -> '1.2%'."""
    return f"{100 * x:.0f}%" if x >= 0.1 or x == 0 else f"{100 * x:.1f}%"
