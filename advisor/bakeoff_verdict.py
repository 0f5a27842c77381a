"""What a bake-off says about the verdict: confirm it, or overturn it when the measurement disagrees.

A lead counts only when the paired 95% interval of the difference on the primary metric excludes 0; a
difference whose interval includes 0 is a tie, and a tie goes to the simpler path (prompt < rag < fine-tune).
Evidence weighs by its size: below SMALL_EVAL held-out examples, an interval is never taken narrower than a score
in [0, 1] allows with that many examples (1.96 × 0.5 / √n: ±0.57 at n = 3), a tie is inconclusive rather than a
reason to overturn, and the bake-off never raises the confidence (an overturn on it lowers it).
Pure: takes the verdict's facts and a `Bakeoff`, returns the changes; recommend() applies them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from training.evaluation.metrics import Interval
from training.evaluation.results import Bakeoff, CandidateResult

SMALL_EVAL = 30  # fewer held-out examples than this: intervals are wide, say so


@dataclass
class MeasuredVerdict:
    """The path after the bake-off, and the reasons/warnings/notes it adds ("eval:<metric>" basis)."""

    path: str
    reasons: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    score_delta: float = 0.0
    overturned: bool = False
    settles_stage: bool = False  # a fine-tuned candidate was measured: a staged verdict is decided by the bake-off


def honest(d: Interval, n: int) -> Interval:
    """The difference interval, widened for a small evaluation set to the least a score in [0, 1] allows with n
    examples (half-width 1.96 × 0.5 / √n); unchanged from SMALL_EVAL examples on."""
    if n >= SMALL_EVAL or n <= 0:
        return d
    half = 1.96 * 0.5 / math.sqrt(n)
    return replace(d, low=min(d.low, d.mean - half), high=max(d.high, d.mean + half))


def _best(bakeoff: Bakeoff, kinds: tuple[str, ...]) -> CandidateResult | None:
    found = [c for c in bakeoff.ranked() if c.kind in kinds]
    return found[0] if found else None


def _score(bakeoff: Bakeoff, c: CandidateResult) -> str:
    s = c.scores[bakeoff.primary]
    if 0 < bakeoff.examples < SMALL_EVAL:  # widened for n, within the [0, 1] a score lives in
        w = honest(s, bakeoff.examples)
        s = replace(w, low=max(w.low, min(s.low, 0.0)), high=min(w.high, max(s.high, 1.0)))
    return f"{c.name} {s.mean:.3f} [{s.low:.3f}–{s.high:.3f}]"


def _diff(d: Interval) -> str:
    return f"{d.mean:+.3f}, 95% interval [{d.low:+.3f}, {d.high:+.3f}]"


def apply_bakeoff(path: str, bakeoff: Bakeoff, knowledge: bool, fine_tune_blocked: str | None) -> MeasuredVerdict:
    """The verdict given the measured bake-off (`fine_tune_blocked`: why fine-tuning is not advisable, if it is not)."""
    out = MeasuredVerdict(path)
    basis = f"eval:{bakeoff.primary}"
    n = bakeoff.examples
    winner = bakeoff.winner
    out.reasons.append((f"Measured on {n} held-out examples ({bakeoff.primary}, 95% intervals): {winner.name} scored best "
                        f"(" + "; ".join(_score(bakeoff, c) for c in bakeoff.ranked()) + ")", basis))
    if bakeoff.stale:
        out.warnings.append(("The bake-off scored an evaluation set that has changed since (re-curated or edited): "
                             "re-run `tunewise eval` before relying on it", basis))
        out.notes.append("the bake-off is out of date")
        out.score_delta -= 0.1
    if n < SMALL_EVAL:
        out.warnings.append((f"The bake-off used only {n} examples: its intervals are wide. Evaluate on 50-100 to "
                             "separate close candidates", basis))
        out.notes.append(f"bake-off on only {n} examples")

    prompt = _best(bakeoff, ("zero-shot", "few-shot"))
    rag = _best(bakeoff, ("rag",))
    tuned = _best(bakeoff, ("lora", "rag+lora"))
    simple = _best(bakeoff, ("zero-shot", "few-shot", "rag"))  # the best candidate without fine-tuning

    small = 0 < n < SMALL_EVAL
    out.settles_stage = tuned is not None

    def diff(a: CandidateResult, b: CandidateResult) -> Interval:
        return honest(bakeoff.difference(a.name, b.name), n)

    out = _decide(out, path, bakeoff, knowledge, fine_tune_blocked, prompt, rag, tuned, simple, diff, small)
    if small:
        out.score_delta = min(out.score_delta, 0.0) - (0.1 if out.overturned else 0.0)
        out.notes.append(f"the bake-off's {n} examples are too few to raise confidence")
    return out


def _decide(out: MeasuredVerdict, path: str, bakeoff: Bakeoff, knowledge: bool, fine_tune_blocked: str | None,
            prompt: CandidateResult | None, rag: CandidateResult | None, tuned: CandidateResult | None,
            simple: CandidateResult | None, diff, small: bool) -> MeasuredVerdict:
    """The path after the measurement (the rules' `path` unless a measured lead or, on enough examples, a tie moves it)."""
    basis = f"eval:{bakeoff.primary}"
    winner = bakeoff.winner

    if path in ("fine-tune", "rag+fine-tune"):
        if tuned is None:
            out.notes.append("no fine-tuned adapter in the bake-off yet")
            out.warnings.append(("The bake-off has no fine-tuned candidate yet: train an adapter and run `tunewise eval` "
                                 "again before committing to fine-tuning", basis))
            return out
        if simple is None:
            return out
        d = diff(tuned, simple)
        if d.low > 0:
            out.reasons.append((f"Fine-tuning pays off: {tuned.name} beats {simple.name} ({_diff(d)})", basis))
            out.score_delta += 0.1
        elif small and d.high >= 0:
            out.warnings.append((f"Too few examples to tell {tuned.name} from {simple.name} ({_diff(d)}, widened for "
                                 f"{bakeoff.examples} examples): the interview's verdict stands until a larger bake-off "
                                 "decides", basis))
        else:
            fallback = "rag" if path == "rag+fine-tune" or simple.kind == "rag" else "prompt"
            worse = "scores below" if d.high < 0 else "is within the noise of"
            out.path, out.overturned = fallback, True
            out.reasons.append((f"Fine-tuning is not paying off yet: {tuned.name} {worse} {simple.name} ({_diff(d)}). "
                                f"Keep {'retrieval and ' if fallback == 'rag' else ''}the prompt; train longer or on more "
                                "examples, and re-run the bake-off", basis))
            out.score_delta += 0.05
        return out

    # prompt or rag: can a measured lead move the verdict up?
    if tuned is not None and simple is not None:
        d = diff(tuned, simple)
        if d.low > 0 and fine_tune_blocked is None:
            out.path, out.overturned = ("rag+fine-tune" if knowledge else "fine-tune"), True
            out.reasons.append((f"The measurement says fine-tune: {tuned.name} beats {simple.name} ({_diff(d)})", basis))
            out.score_delta += 0.05
            return out
        if d.low > 0:
            out.warnings.append((f"{tuned.name} beats {simple.name} ({_diff(d)}), but fine-tuning is not advisable yet: "
                                 f"{fine_tune_blocked[0].lower()}{fine_tune_blocked[1:]}", basis))
    if path == "prompt" and rag is not None and prompt is not None:
        d = diff(rag, prompt)
        if d.low > 0:
            out.path, out.overturned = "rag", True
            out.reasons.append((f"Retrieval helps: {rag.name} beats {prompt.name} ({_diff(d)})", basis))
            return out
    if path == "rag" and rag is not None and prompt is not None:
        d = diff(rag, prompt)
        if d.high < 0:
            out.path, out.overturned = "prompt", True
            out.reasons.append((f"Retrieval is not helping on these examples: {rag.name} scores below {prompt.name} "
                                f"({_diff(d)}). Check that the documents cover the questions", basis))
            return out
    if not out.overturned and winner.kind in {"prompt": ("zero-shot", "few-shot"), "rag": ("rag",)}.get(path, ()):
        out.score_delta += 0.1
    return out
