"""The recommendation: a pure function of the interview answers and the measured facts of a curated dataset.

Paths (PATHS): every path starts from a good prompt; the others add to it.
- "prompt": prompting only (instructions plus a few demonstrations).
- "rag": prompting plus retrieval of your documents at request time.
- "fine-tune": a fine-tuned open model (LoRA), prompted with short instructions.
- "rag+fine-tune": retrieval for the facts, a fine-tuned model for the behaviour.

The rules follow published practice: prompt first; RAG when the model lacks knowledge (private or changing facts);
fine-tune for consistent behaviour, style, format, jargon, or cost at volume, once prompting has been measured and
with enough consistent examples (50 at the very least, 100-1,000+ recommended). Where the answers point to
fine-tuning but no prompt has been scored, the verdict is staged: prompt now, fine-tune when the prompt scores below
the line on the evaluation set (`stage`). Only answers to questions that apply are read (advisor/applicability.py);
contradicting answers become warnings (advisor/sense.py). Every reason names its basis: "answer:<question id>",
"data:<report.json field>" or, with a bake-off (`tunewise eval`), "eval:<metric>": the measurement outranks the
rules (advisor/bakeoff_verdict.py). `would_change` is computed (advisor/counterfactuals.py), not written.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from advisor import plain
from advisor.applicability import applicable
from advisor.cost_reasons import cost_reason, costs_block, gpu_reason, prompt_reason, with_measurements
from advisor.costs import load_inference_pricing
from advisor.evidence import Evidence
from advisor.interview import Answers
from advisor.reasons import (
    BLOCKING_CONFLICT_RATE,
    GOOD_EXAMPLES,
    GOOD_PROMPT_SCORE,
    LARGE_CORPUS,
    MIN_EXAMPLES,
    PATH_LABELS,
    PATHS,
    WARN_CONFLICT_RATE,
    WARN_DUPLICATE_RATE,
    Reason,
    pct,
    plural,
)
from advisor.sense import contradictions, describe

if TYPE_CHECKING:
    from training.evaluation.results import Bakeoff

__all__ = ["PATHS", "PATH_LABELS", "MIN_EXAMPLES", "GOOD_EXAMPLES", "GOOD_PROMPT_SCORE", "Reason", "Recommendation",
           "Prices", "default_prices", "recommend"]

# Answers that move the verdict; unanswered ones lower the confidence (stay_general is optional).
KEY_QUESTIONS = ("output_kind", "output_strictness", "private_facts", "jargon", "examples", "eval_set",
                 "prompting_tried", "prompt_score", "prompt_failures", "requests_per_day", "recurrence")


@dataclass
class Recommendation:
    """The verdict, why, what to watch, what would change it, what to do next, and what it costs."""

    path: str  # one of PATHS: what to do now
    confidence: str  # "low" | "medium" | "high"
    headline: str
    reasons: list[Reason] = field(default_factory=list)
    warnings: list[Reason] = field(default_factory=list)
    would_change: list[str] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)
    costs: dict[str, Any] = field(default_factory=dict)
    score: float = 0.0  # the confidence as a number in [0, 1]
    confidence_notes: list[str] = field(default_factory=list)  # what lowered the confidence
    missing: list[str] = field(default_factory=list)  # ids of key questions left unanswered
    blocked: list[Reason] = field(default_factory=list)  # why fine-tuning is wanted but not (yet) advised
    bakeoff: str | None = None  # the bake-off folder the verdict used, if any
    overturned: str | None = None  # the interview's path, when the bake-off overturned it
    stage: str | None = None  # a staged verdict: the path to move to once the prompt is measured and falls short
    stage_trigger: str | None = None  # when to move to `stage`, in words
    contradictions: list[Reason] = field(default_factory=list)  # answers that contradict each other
    ignored: list[str] = field(default_factory=list)  # answers set aside: their question does not apply
    commands: list[str] = field(default_factory=list)  # the commands behind the next steps (for the appendix)

    @property
    def label(self) -> str:
        """The path in words."""
        return PATH_LABELS[self.path]

    @property
    def verdict(self) -> str:
        """The path, or "now→later" for a staged verdict (e.g. "prompt→fine-tune")."""
        return f"{self.path}→{self.stage}" if self.stage else self.path

    @property
    def verdict_label(self) -> str:
        """The verdict in words: "prompting now, fine-tuning when the prompt falls short" for a staged one."""
        if not self.stage:
            return self.label
        return f"{self.label} now, {PATH_LABELS[self.stage]} when the prompt falls short"

    @property
    def top_topic(self) -> str:
        """What the first reason is about (see advisor.reasons.TOPICS)."""
        return self.reasons[0].topic if self.reasons else "other"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data."""
        return {**asdict(self), "label": self.label, "verdict": self.verdict, "verdict_label": self.verdict_label}


@dataclass(frozen=True)
class Prices:
    """The price tables a recommendation uses: training (curation/data/pricing.json) and inference."""

    training: dict[str, Any]
    inference: dict[str, Any]
    speed: Any = None  # training.runs.MeasuredSpeed of a past run on this machine; None: the table's reference speed


@lru_cache(maxsize=1)
def default_prices() -> Prices:
    """The packaged price tables, read once."""
    from curation.tokens import load_pricing

    return Prices(load_pricing(), load_inference_pricing())


# ---------------------------------------------------------------------------------------------------- the rules


@dataclass
class _Decision:
    path: str
    score: float
    reasons: list[Reason]
    warnings: list[Reason]
    blocked: list[Reason]
    notes: list[str]
    wants_ft: bool
    knowledge: bool
    cost_motive: bool
    costs: dict[str, Any]
    n_examples: int | None
    cap: float = 0.95  # the highest score the verdict may reach (e.g. no evaluation set for a fine-tune: medium at best)
    overturned: str | None = None  # the rules' path when a bake-off overturned it
    stage: str | None = None
    stage_trigger: str | None = None
    measured: bool = False  # whether a prompt has been scored


def _usable_examples(v: dict[str, Any], ev: Evidence | None) -> tuple[int | None, Reason | None]:
    """How many consistent examples there are (measured if a dataset is given), and the statement behind it."""
    if ev is not None:
        parts = []
        if ev.removed:
            parts.append(f"{plural(ev.removed, 'duplicate')} removed ({ev.exact_duplicates} exact, {ev.near_duplicates} near)")
        if ev.conflict_examples:
            parts.append(f"{ev.conflict_examples} that conflict set aside")
        how = f", {' and '.join(parts)}" if parts else ""
        text = f"{plural(ev.consistent, 'consistent example')} ({ev.valid:,} valid{how})"
        return ev.consistent, Reason(text, "data:counts.kept", "data_size")
    n = v.get("examples")
    if n is None:
        return None, None
    return int(n), Reason(f"{plural(int(n), 'labelled example')} (your estimate; no dataset was measured)",
                          "answer:examples", "data_size")


_KIND_WORDS = {"style": "a house style or voice", "structured": "a strict structure", "labels": "consistent labels",
               "free_text": "free text"}


def _behaviour(v: dict[str, Any], ev: Evidence | None, n: int | None) -> tuple[float, list[Reason]]:
    """How strongly the task needs different, consistent behaviour: a score and the answers behind it."""
    score, why = 0.0, []
    strict, kind = v.get("output_strictness"), v.get("output_kind")
    shaped = kind in ("style", "structured", "labels")
    if strict == "strict" and kind != "free_text":
        score += 2
        why.append(Reason(f"The output must be strict and consistent ({_KIND_WORDS.get(kind, 'format or style')}): "
                          "prompting gets close, fine-tuning makes a model hold it every time", "answer:output_strictness",
                          "behaviour"))
    elif strict == "strict":  # free text marked strict: a contradiction (advisor/sense.py); half the weight
        score += 1
    elif strict == "moderate" and shaped:
        score += 1
        why.append(Reason(f"The output follows {_KIND_WORDS[kind]} with firm rules", "answer:output_strictness",
                          "behaviour"))
    agreed = v.get("examples_consistent") == "yes" or (
        ev is not None and v.get("examples_consistent") != "no" and ev.conflict_rate < WARN_CONFLICT_RATE)
    if shaped and strict in ("moderate", "strict") and n is not None and n >= LARGE_CORPUS and agreed:
        score += 1
        noun = {"style": "style", "structured": "format", "labels": "labelling"}[kind]
        why.append(Reason(f"You have {plain.count(n)} consistent examples of this {noun}: "
                          "far more than a prompt can carry as demonstrations, and a fine-tune learns from all of them",
                          "data:counts.kept" if ev is not None else "answer:examples", "behaviour"))
    jargon = v.get("jargon")
    if jargon == "heavy":  # the most specific reason a model needs examples rather than instructions: first
        score += 2
        why.insert(0, Reason("The task uses heavy jargon, a niche language or a DSL: behaviour a model learns from "
                          "examples better than from instructions", "answer:jargon", "jargon"))
    elif jargon == "some":
        score += 0.5
    failures, prompt_score = v.get("prompt_failures"), v.get("prompt_score")
    if failures in ("style", "both") and (prompt_score is None or prompt_score < GOOD_PROMPT_SCORE):
        score += 2
        got = f" (it got {prompt_score} of 10 right)" if prompt_score is not None else ""
        why.insert(1 if jargon == "heavy" else 0,
                   Reason(f"Your best prompt gets the behaviour wrong: tone, format, length or labels{got}",
                          "answer:prompt_failures", "behaviour"))
    return score, why


def _knowledge(v: dict[str, Any]) -> tuple[bool, list[Reason]]:
    """Whether the answers depend on facts the model lacks, and why."""
    private, change, failures = v.get("private_facts"), v.get("facts_change"), v.get("prompt_failures")
    reasons = []
    if private in ("some", "most"):
        text = (f"{'Most' if private == 'most' else 'Some'} answers depend on your own facts, which the model does not "
                "know and fine-tuning does not reliably teach: retrieve them at request time (RAG)")
        if change in ("monthly", "weekly"):
            text += (f"; they change {'monthly' if change == 'monthly' else 'weekly or faster'}, and a document index is "
                     "updated in minutes while a fine-tune needs retraining")
        reasons.append(Reason(text, "answer:private_facts", "facts"))
    # Wrong facts in the prompt's answers point to retrieval, unless the user said general knowledge is enough
    # (that pair is a contradiction, advisor/sense.py, and the explicit answer stands until it is corrected).
    if failures in ("facts", "both") and private != "none":
        reasons.append(Reason("Your prompt's failures include wrong or missing facts: more instructions will not fix "
                              "that, retrieval will", "answer:prompt_failures", "facts"))
    return bool(reasons), reasons


def _blockers(v: dict[str, Any], ev: Evidence | None, n: int | None, n_reason: Reason | None) -> list[Reason]:
    """Why fine-tuning, though wanted, is not advisable (yet)."""
    blocked = []
    if v.get("prompt_failures") == "capability":
        blocked.append(Reason("The model could not do the task at all: fine-tuning changes how a model answers, it "
                              "will not make it able to do what it cannot", "answer:prompt_failures", "capability"))
    if v.get("recurrence") == "one_off":
        blocked.append(Reason("It is a one-off job: a fine-tune costs more up front and pays back only over many "
                              "repeated requests", "answer:recurrence", "one_off"))
    if v.get("examples_consistent") == "no":
        blocked.append(Reason("Your experts would write different outputs for the same input: a model learns that "
                              "disagreement; agree on the answers first", "answer:examples_consistent", "data_consistency"))
    if n is not None and n < MIN_EXAMPLES and n_reason is not None:
        blocked.append(Reason(f"Only {n_reason.text}: fine-tuning needs {MIN_EXAMPLES} at the very least, "
                              f"{GOOD_EXAMPLES}-1,000+ recommended", n_reason.basis, "data_size"))
    if ev is not None and ev.conflict_rate >= BLOCKING_CONFLICT_RATE:
        blocked.append(Reason(f"{pct(ev.conflict_rate)} of examples conflict ({ev.conflict_examples} examples in "
                              f"{plural(ev.conflict_groups, 'group')} answer the same question differently): "
                              "resolve them first, or the model learns both answers", "data:counts.flagged_conflict",
                              "data_consistency"))
    return blocked


def _decide(v: dict[str, Any], ev: Evidence | None, prices: Prices) -> _Decision:
    """The rules on the applicable answers `v` and the measured evidence."""
    warnings: list[Reason] = []
    notes: list[str] = []
    score = 0.85

    knowledge, fact_reasons = _knowledge(v)
    n, n_reason = _usable_examples(v, ev)
    b_score, b_why = _behaviour(v, ev, n)
    tried, prompt_score, failures = v.get("prompting_tried"), v.get("prompt_score"), v.get("prompt_failures")
    measured = tried is True and (prompt_score is not None or failures is not None)
    prompt_good = tried is True and prompt_score is not None and prompt_score >= GOOD_PROMPT_SCORE
    wants_ft = b_score >= 2 and not prompt_good
    costs = costs_block(v, ev, knowledge, prices)

    # Unit cost can justify a fine-tune on its own: a repeatable, high-volume, cost-sensitive task whose volume makes
    # one rented GPU serving the fine-tune cheaper than sending the hosted model the few-shot prompt every time.
    ref = costs["reference"]
    break_even = ref["break_even_requests_per_day"]
    gpu_cheaper = costs["hosted_allowed"] and costs["fine_tuning_pays_off"]
    cost_sensitive = not wants_ft and v.get("recurrence") == "repeatable" and v.get("latency_cost") == "high"
    # Serving your own fine-tuned model needs GPU operations a minimal budget does not cover.
    cost_motive = cost_sensitive and gpu_cheaper and v.get("budget") != "minimal"
    cost_reasons: list[Reason] = []
    if cost_sensitive and not cost_motive and v.get("requests_per_day") and costs["hosted_allowed"]:
        why = ("but running your own fine-tuned model needs GPU operations a minimal budget does not cover" if gpu_cheaper
               else f"cheaper only from about {plain.count(break_even)} requests a day" if break_even is not None
               else "and no GPU price is on file to compare with")
        cost_reasons.append(Reason(f"At {plain.count(v['requests_per_day'])} requests a day, {prompt_reason(costs)}, while "
                                   f"{gpu_reason(costs)}, {why}", "answer:requests_per_day", "cost"))
    if cost_motive:
        wants_ft = True
        cost_reasons.append(Reason(
            f"At {plain.count(v['requests_per_day'])} requests a day, {prompt_reason(costs)}, while {gpu_reason(costs)} "
            f"(cheaper from about {plain.count(break_even)} requests a day)", "answer:requests_per_day", "cost"))
        if prompt_good:
            cost_reasons.append(Reason(f"Your best prompt already gets {prompt_score} of 10 real cases right: quality is "
                                       "not the problem, the cost of sending its demonstrations with every request is",
                                       "answer:prompt_score", "cost"))

    blocked = _blockers(v, ev, n, n_reason) if wants_ft else []
    staged = wants_ft and not measured and not blocked
    fine_tune = wants_ft and measured and not blocked
    path = {(False, False): "prompt", (True, False): "rag", (False, True): "fine-tune", (True, True): "rag+fine-tune"}[
        (knowledge, fine_tune)]
    stage = stage_trigger = None
    # The first reason is the one for the heaviest part of the path: the fine-tune's, then the retrieval's.
    reasons: list[Reason] = [] if fine_tune else list(fact_reasons)
    if staged:
        stage = "rag+fine-tune" if knowledge else "fine-tune"
        cause = (b_why or cost_reasons)[0]
        on = "your evaluation set" if v.get("eval_set") in ("held_out", "metric") else "an evaluation set (build one first)"
        stage_trigger = f"the prompt scores below {GOOD_PROMPT_SCORE} of 10 on {on}"
        not_tried = "you have not tried prompting yet" if tried is False else "no prompt has been scored yet"
        reasons.append(Reason(f"Prompt now, and fine-tune when {stage_trigger}: {not_tried}, and a fine-tune is expected "
                              f"here because {cause.text[0].lower()}{cause.text[1:]}", cause.basis, cause.topic))
        reasons.extend(b_why[1:] if b_why else cost_reasons[1:])
    elif fine_tune:
        reasons.extend((cost_reasons or b_why) + fact_reasons)
    elif blocked:
        reasons.extend(blocked + b_why)
    elif cost_reasons:  # cost-sensitive, but a fine-tune does not pay (or cannot be run): say so first
        reasons.extend(cost_reasons)
    if prompt_good and not cost_motive:
        reasons.append(Reason(f"Your best prompt already gets {prompt_score} of 10 real cases right: polish it and "
                              "measure on more cases before paying for anything heavier", "answer:prompt_score",
                              "prompt_works"))
    if not knowledge and not wants_ft and not prompt_good:
        if tried is False:
            reasons.append(Reason("You have not tried prompting yet: it is the fastest, cheapest test of the task",
                                  "answer:prompting_tried", "prompt_first"))
        if b_score < 2:
            reasons.append(Reason("Nothing in your answers calls for different behaviour than a good prompt can ask for "
                                  "(the format is not strict, no niche language, no behaviour failures)",
                                  "answer:output_strictness", "prompt_first"))
    if v.get("private_facts") == "none" and not knowledge:
        reasons.append(Reason("General knowledge is enough for the answers: no retrieval needed", "answer:private_facts",
                              "prompt_first"))

    # Data facts behind a fine-tune (or the staged one).
    if (fine_tune or staged) and n_reason is not None:
        reasons.append(Reason(f"Enough data to learn from: {n_reason.text}", n_reason.basis, "data_size"))
        if not cost_motive:
            reasons.append(cost_reason(costs))
        if n < GOOD_EXAMPLES:
            warnings.append(Reason(f"{plural(n, 'consistent example')} is enough to try, thin to rely on: "
                                   f"{GOOD_EXAMPLES}-1,000+ recommended", n_reason.basis, "data_size"))
            score -= 0.1
            notes.append(f"fewer than {GOOD_EXAMPLES} consistent examples")
    if fine_tune and n is None:
        warnings.append(Reason("We do not know how many examples you have: fine-tuning needs at least 50 consistent "
                               "ones, 100-1,000+ recommended", "answer:examples", "data_size"))
        score -= 0.15
        notes.append("number of examples unknown")
    score += _evidence_warnings(v, ev, wants_ft, warnings, notes)

    # What every path needs: an evaluation set.
    eval_set = v.get("eval_set")
    if eval_set in ("none", None):
        held = f" Curation held out {ev.eval} examples (eval.jsonl): start from those." if ev is not None and ev.eval else ""
        warnings.append(Reason("No evaluation set: without one you cannot tell whether a path beats the alternative or "
                               f"whether a change broke something.{held}", "answer:eval_set"))
        score -= 0.15 if eval_set == "none" else 0.05
        notes.append("no evaluation set")
    elif eval_set == "spot_checks":
        warnings.append(Reason("Spot checks are not an evaluation set: keep a fixed, held-out set and score every "
                               "version on it", "answer:eval_set"))
        score -= 0.05
    score += _path_risks(v, costs, fine_tune, knowledge, warnings, reasons, notes)
    if blocked:
        score -= 0.1
        notes.append("fine-tuning is wanted but not advisable yet")
    if not measured:
        score -= 0.1
        notes.append("no prompt has been scored yet: the verdict rests on expectations, not a measurement")
    elif prompt_score is not None and abs(prompt_score - GOOD_PROMPT_SCORE) <= 1 and b_score >= 2:
        score -= 0.1
        notes.append(f"a prompt score of {prompt_score}/10 is close to the {GOOD_PROMPT_SCORE}/10 line")
    # Fine-tuning without an evaluation set is a bet nobody can check: medium confidence at best.
    cap = 0.65 if fine_tune and eval_set in ("none", None) else 0.95
    return _Decision(path, score, reasons, warnings, blocked, notes, wants_ft, knowledge, cost_motive, costs, n, cap,
                     stage=stage, stage_trigger=stage_trigger, measured=measured)


def _evidence_warnings(v: dict[str, Any], ev: Evidence | None, wants_ft: bool, warnings: list[Reason],
                       notes: list[str]) -> float:
    """Warnings from the measured data (appended); returns the change to the score."""
    delta = 0.0
    if ev is None:
        if wants_ft:
            notes.append("no dataset measured")
            return -0.1
        return 0.0
    if ev.conflict_rate < BLOCKING_CONFLICT_RATE and (ev.conflict_rate >= WARN_CONFLICT_RATE or (wants_ft and ev.conflict_examples)):
        warnings.append(Reason(f"{pct(ev.conflict_rate)} of examples conflict ({ev.conflict_examples} examples in "
                               f"{plural(ev.conflict_groups, 'group')} answer the same question differently): resolve "
                               "them before training", "data:counts.flagged_conflict", "data_consistency"))
        if wants_ft and ev.conflict_rate >= WARN_CONFLICT_RATE:
            delta -= 0.05
            notes.append("some conflicting examples")
    if ev.duplicate_rate >= WARN_DUPLICATE_RATE:
        warnings.append(Reason(f"{pct(ev.duplicate_rate)} of the examples were duplicates ({ev.exact_duplicates} exact, "
                               f"{ev.near_duplicates} near): the dataset is smaller than it looks", "data:counts.removed",
                               "data_size"))
    answered = v.get("examples")
    if answered and abs(answered - ev.consistent) > 0.25 * max(answered, 1):
        warnings.append(Reason(f"You estimated {int(answered):,} examples; the data holds {ev.consistent:,} consistent "
                               "ones. The verdict uses the measured figure", "data:counts.kept", "data_size"))
    if wants_ft and ev.flagged_for_review:
        warnings.append(Reason(f"{plural(ev.flagged_for_review, 'example')} flagged for review (outliers, too long or "
                               "short, another language, log-like text): check flags.jsonl before training",
                               "data:counts.flagged_outlier"))
    if wants_ft and ev.too_long:
        warnings.append(Reason(f"{plural(ev.too_long, 'example')} longer than the {ev.max_tokens:,}-token training "
                               "length would be cut off", "data:counts.flagged_too_long"))
    return delta


def _path_risks(v: dict[str, Any], costs: dict[str, Any], fine_tune: bool, knowledge: bool, warnings: list[Reason],
                reasons: list[Reason], notes: list[str]) -> float:
    """Risks of the chosen path (warnings appended; the in-house reason appended); returns the change to the score."""
    delta = 0.0
    if fine_tune:
        if v.get("facts_change") in ("monthly", "weekly", "quarterly"):
            warnings.append(Reason("The facts in your examples change: a fine-tune memorises today's values. Keep "
                                   "retrieval the source of facts and re-check training examples when the documents change",
                                   "answer:facts_change", "facts"))
        if v.get("stay_general") is True:
            warnings.append(Reason("The model must stay good at other tasks: fine-tuning can make it forget them "
                                   "(catastrophic forgetting). Keep the tune in a switchable LoRA adapter and test the "
                                   "other tasks too", "answer:stay_general"))
        if v.get("budget") == "minimal":
            warnings.append(Reason("The budget is minimal: a fine-tune adds data work, training runs, evaluation and a "
                                   "model to maintain", "answer:budget"))
            delta -= 0.1
            notes.append("minimal budget for a fine-tune")
        if v.get("examples_consistent") == "mostly":
            warnings.append(Reason("Some cases are judgement calls: write the rule down and make the examples follow "
                                   "it, or the model will guess", "answer:examples_consistent", "data_consistency"))
        if v.get("data_location") == "local":
            local = costs["training"].get("local", {})
            reasons.append(Reason(f"Data must stay in-house: fine-tune locally with LoRA ({plain.duration(local.get('seconds'))} "
                                  f"on {plain.model_name(local.get('model'))}) and serve the model yourself",
                                  "answer:data_location"))
    if v.get("prompt_failures") == "capability":
        warnings.append(Reason("The model could not do the task: try a stronger model or split the task into steps; "
                               "fine-tuning will not make a model able to do what it cannot", "answer:prompt_failures",
                               "capability"))
    if knowledge and v.get("data_location") == "local":
        warnings.append(Reason("Data must stay in-house: the index and the model answering from it must run on your "
                               "machines too", "answer:data_location"))
    return delta


def decide_measured(v: dict[str, Any], ev: Evidence | None, prices: Prices, bakeoff: Bakeoff | None) -> _Decision:
    """The rules, then the bake-off (when there is one) confirming or overturning their path."""
    d = _decide(v, ev, prices)
    if bakeoff is None:
        return d
    from advisor.bakeoff_verdict import apply_bakeoff

    m = apply_bakeoff(d.path, bakeoff, d.knowledge, d.blocked[0].text if d.blocked else None)
    notes = d.notes + m.notes
    if m.overturned:
        notes.append(f"the bake-off overturned the interview's verdict ({PATH_LABELS[d.path]})")
    stage = None if m.overturned or m.settles_stage else d.stage
    costs = with_measurements(d.costs, bakeoff, prices, v.get("requests_per_day"))
    return replace(d, path=m.path, costs=costs, score=d.score + m.score_delta, notes=notes,
                   reasons=[Reason(t, b, "measured") for t, b in m.reasons] + d.reasons,
                   warnings=d.warnings + [Reason(t, b, "measured") for t, b in m.warnings],
                   overturned=d.path if m.overturned else None, stage=stage,
                   stage_trigger=d.stage_trigger if stage else None)


def _headline(v: dict[str, Any], d: _Decision) -> str:
    task = v.get("task")
    for_task = f" for \"{task.rstrip('.')}\"" if task else ""
    if d.overturned:
        measured = {"prompt": "Stay with prompting", "rag": "Use prompting with retrieval (RAG)",
                    "fine-tune": "Fine-tune", "rag+fine-tune": "Combine RAG and fine-tuning"}[d.path]
        why = d.reasons[1].text if len(d.reasons) > 1 else d.reasons[0].text
        return f"{measured}{for_task}: the bake-off on your held-out examples says so. {why}."
    if d.stage:
        now = "Prompt now" if d.path == "prompt" else "Use prompting with retrieval (RAG) now"
        return (f"{now}{for_task}; fine-tune when {d.stage_trigger}. The task points to fine-tuning, but no prompt has "
                "been measured yet, and a measured prompt is what a fine-tune must beat.")
    if d.path == "rag+fine-tune":
        return (f"Combine RAG and fine-tuning{for_task}: retrieve your facts at request time, and fine-tune for the "
                "consistent behaviour your measured prompt does not deliver.")
    if d.path == "fine-tune" and d.cost_motive:
        return (f"Fine-tune{for_task} to cut the cost per request: at your volume a fine-tuned model without few-shot "
                "demonstrations pays back its training quickly.")
    if d.path == "fine-tune":
        return (f"Fine-tune{for_task}: your measured prompt falls short on the consistent behaviour the task needs, and "
                "the data supports it.")
    not_yet = ""
    if d.blocked:
        first = d.blocked[0].text
        not_yet = f" Fine-tuning is what the task calls for, but not yet: {first[0].lower()}{first[1:]}."
    if d.path == "rag":
        return f"Use prompting with retrieval (RAG){for_task}: the answers depend on facts the model does not have.{not_yet}"
    if d.blocked:
        return f"Keep prompting{for_task} for now.{not_yet}"
    if v.get("prompting_tried") is True and (v.get("prompt_score") or 0) >= GOOD_PROMPT_SCORE:
        return f"Stay with prompting{for_task}: your prompt already gets {v['prompt_score']} of 10 real cases right."
    return f"Start with prompting{for_task}: it is the cheapest test of the task, and nothing yet shows it falls short."


def recommend(answers: Answers, evidence: Evidence | None = None, prices: Prices | None = None,
              bakeoff: Bakeoff | None = None) -> Recommendation:
    """The explained verdict for these answers, the measured facts of the dataset and a bake-off, when given.

    Pure: no I/O beyond reading the packaged price tables once (pass `prices` to avoid even that).
    """
    from advisor.counterfactuals import would_change
    from advisor.next_steps import next_steps

    prices = prices or default_prices()
    given = dict(answers.values)
    v, ignored = applicable(given, answers.questions)
    d = decide_measured(v, evidence, prices, bakeoff)
    missing = [q for q in KEY_QUESTIONS if q in answers.missing()]
    score = d.score - min(0.05 * len(missing), 0.3)
    notes = list(d.notes)
    if missing:
        notes.append(f"{plural(len(missing), 'key question')} unanswered: {', '.join(missing)}")
    clashes = [Reason(describe(c, given, answers.questions), f"answer:{c.first}", "other")
               for c in contradictions(given, answers.questions)]
    if clashes:
        score -= min(0.05 * len(clashes), 0.2)
        notes.append(f"{plural(len(clashes), 'pair')} of answers contradict each other")
    if evidence is not None:
        score += 0.05
    score = round(min(max(score, 0.05), d.cap), 2)
    confidence = "high" if score >= 0.7 else "medium" if score >= 0.45 else "low"
    steps, commands = next_steps(v, evidence, d, bakeoff)
    labels = {q.id: q for q in answers.questions}
    return Recommendation(
        path=d.path, confidence=confidence, headline=_headline(v, d), reasons=d.reasons + [
            b for b in d.blocked if b not in d.reasons], warnings=clashes + d.warnings,
        would_change=would_change(v, evidence, prices, d, bakeoff, answers.questions), next_steps=steps,
        costs=d.costs, score=score, confidence_notes=notes, missing=missing, blocked=d.blocked,
        bakeoff=bakeoff.folder if bakeoff else None, overturned=d.overturned, stage=d.stage,
        stage_trigger=d.stage_trigger, contradictions=clashes,
        ignored=[f"“{i.question}” (“{labels[i.qid].label_of(i.value)}”): set aside because {i.because}"
                 for i in ignored], commands=commands,
    )
