"""What the evaluation screen shows, as plain data: the word diff of an output against its reference, the rows of the
summary and example tables, the progress label, and the bake-off settings read from the screen's fields.

Nothing here imports textual; the screen only renders what these functions return.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from difflib import SequenceMatcher
from typing import TYPE_CHECKING, Any, Literal

from curation.errors import UsageError

if TYPE_CHECKING:
    from training.evaluation.config import EvalConfig
    from training.evaluation.results import Bakeoff, CandidateResult

Tag = Literal["equal", "missing", "extra"]
Token = tuple[str, Tag]

_WORD = re.compile(r"\S+")
_PUNCT = str.maketrans("", "", string.punctuation + "“”‘’«»—–…")
STAGE_VERBS = {"load embedder": "Loading the embedding model", "embed": "Embedding examples", "cluster": "Picking few-shot examples", "search": "Retrieving passages",
               "score": "Scoring"}
# Share of the bar: preparing (prompt, retrieval) 0–10 %, generating 10–95 % split over candidates, scoring the rest.
PREPARE, GENERATE, SCORE = (0.0, 0.10), (0.10, 0.95), (0.95, 1.0)


def _key(word: str) -> str:
    """What a word is compared on: lower case without surrounding punctuation ("Bike," matches "bike")."""
    bare = word.lower().translate(_PUNCT)
    return bare or word.lower()


def word_diff(reference: str, output: str) -> tuple[list[Token], list[Token]]:
    """Align an output's words with its reference's (difflib on words, case and punctuation ignored).

    Returns:
        (reference words tagged "equal" or "missing" — not in the output —,
         output words tagged "equal" or "extra" — added or changed).
    """
    ref, out = _WORD.findall(reference), _WORD.findall(output)
    matcher = SequenceMatcher(None, [_key(w) for w in ref], [_key(w) for w in out], autojunk=False)
    ref_tokens: list[Token] = []
    out_tokens: list[Token] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        same = op == "equal"
        ref_tokens += [(w, "equal" if same else "missing") for w in ref[i1:i2]]
        out_tokens += [(w, "equal" if same else "extra") for w in out[j1:j2]]
    return ref_tokens, out_tokens


def coverage(ref_tokens: Sequence[Token]) -> tuple[int, int]:
    """How many reference words the output has (in order), of how many."""
    return sum(tag == "equal" for _, tag in ref_tokens), len(ref_tokens)


def split_bold(markdown: str) -> list[tuple[str, bool]]:
    """A line with Markdown **bold** as (text, bold) pieces, markers removed (for the verdict line)."""
    pieces = markdown.split("**")
    if len(pieces) % 2 == 0:  # an unmatched marker: show the text as it is
        return [(markdown, False)]
    return [(piece, n % 2 == 1) for n, piece in enumerate(pieces) if piece]


def generation_order(candidates: Sequence[str]) -> list[str]:
    """The order the harness generates in: base-model candidates first, then one adapter (lora…:RUN) at a time."""
    return sorted(candidates, key=lambda name: ":" in name)


def stage_label(stage: str, done: int, total: int) -> str:
    """A progress callback in words: "Generating few-shot 12/40"."""
    if stage.startswith("generate "):
        text = f"Generating {stage.removeprefix('generate ')}"
    elif stage.startswith("load model"):
        text = "Loading the model" + stage.removeprefix("load model").replace(" + ", " with adapter ")
    else:
        text = STAGE_VERBS.get(stage, stage.capitalize())
    return f"{text} {done}/{total}" if total > 1 else text


def overall_fraction(stage: str, done: int, total: int, candidates: Sequence[str]) -> float:
    """How far the whole bake-off is (0–1) after a progress callback, given the candidates it runs."""
    part = 1.0 if total <= 0 else min(max(done / total, 0.0), 1.0)
    if stage.startswith("load model + "):  # an adapter loads just before its first candidate generates
        run = stage.removeprefix("load model + ")
        first = next((c for c in generation_order(candidates) if c.endswith(f":{run}")), None)
        if first is not None:
            return overall_fraction(f"generate {first}", 0, 1, candidates)
    if stage == "score":
        start, end = SCORE
    elif stage.startswith("generate "):
        order = generation_order(candidates)
        name = stage.removeprefix("generate ")
        n = order.index(name) if name in order else 0
        width = (GENERATE[1] - GENERATE[0]) / max(len(order), 1)
        start = GENERATE[0] + n * width
        end = start + width
    else:
        start, end = PREPARE
    return start + (end - start) * part


def eval_config(candidates: Sequence[str], limit: str, max_new_tokens: str) -> EvalConfig:
    """The bake-off settings from the screen's fields; UsageError naming the field when one is not a whole number."""
    from training.evaluation.config import EvalConfig

    if not candidates:
        raise UsageError("No candidates selected.", "Tick at least one candidate (space toggles it).")
    values: dict[str, int | None] = {}
    for name, label, text, empty in (("limit", "examples (limit)", limit, None),
                                     ("max_new_tokens", "max new tokens", max_new_tokens, 64)):
        text = text.strip()
        try:
            values[name] = int(text) if text else empty
        except ValueError:
            raise UsageError(f"{label} must be a whole number, not {text!r}.",
                             "Leave examples empty to use the whole eval set." if name == "limit" else
                             "64 is usually enough to compare candidates.") from None
    return EvalConfig(candidates=list(candidates), limit=values["limit"], max_new_tokens=values["max_new_tokens"])


def outputs_cell(candidate: CandidateResult) -> str:
    """How a candidate's outputs were made: "3 new", "3 cached" or "1 new · 2 cached"."""
    parts = [f"{candidate.generated} new" if candidate.generated else "",
             f"{candidate.cached} cached" if candidate.cached else ""]
    return " · ".join(p for p in parts if p) or "none"


def metric_order(bakeoff: Bakeoff) -> list[str]:
    """The bake-off's metrics, the primary (the one that decides) first."""
    return [bakeoff.primary, *(m for m in bakeoff.metrics if m != bakeoff.primary)]


def summary_columns(bakeoff: Bakeoff) -> list[str]:
    """Header of the summary table: candidate, each metric (★ marks the primary), outputs."""
    return ["candidate", *(f"{m} ★" if m == bakeoff.primary else m for m in metric_order(bakeoff)), "outputs"]


def summary_rows(bakeoff: Bakeoff) -> list[list[str]]:
    """One row per candidate, best first: name, each metric as "mean [low–high]", new/cached outputs."""
    from training.evaluation.report import fmt_interval

    return [[c.name, *(fmt_interval(c.scores[m], m) if m in c.scores else "–" for m in metric_order(bakeoff)),
             outputs_cell(c)] for c in bakeoff.ranked()]


def example_rows(rows: Sequence[dict[str, Any]], candidates: Sequence[str], primary: str) -> list[list[str]]:
    """Per-example rows, where the candidates differ most first: id, spread, each candidate's primary score."""
    ordered = sorted(rows, key=lambda r: -float(r.get("spread", 0.0)))  # stable: ties keep the eval set's order
    out = []
    for row in ordered:
        scores = row.get("scores", {})
        cells = [f"{scores[c][primary]:.2f}" if primary in scores.get(c, {}) else "–" for c in candidates]
        out.append([str(row["id"]), f"{float(row.get('spread', 0.0)):.2f}", *cells])
    return out
