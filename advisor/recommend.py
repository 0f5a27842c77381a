"""The recommendation: a pure function of the interview answers and the measured facts of a curated dataset.

Paths (PATHS): every path starts from a good prompt; the others add to it.
- "prompt": prompting only (instructions plus a few demonstrations).
- "rag": prompting plus retrieval of your documents at request time.
- "fine-tune": a fine-tuned model, prompted with short instructions.
- "rag+fine-tune": retrieval for the facts, a fine-tuned model for the behaviour.

The rules follow the published guidance: prompt first; RAG when the model lacks knowledge (private or changing
facts); fine-tune when it must behave differently and consistently, and only with enough consistent examples
(50 at the very least, 100-1,000+ recommended) and an evaluation set. Every reason and warning names its basis:
"answer:<question id>", "data:<report.json field>" or, when a bake-off was run (`tunewise eval`), "eval:<metric>":
the measurement confirms or overturns the rules' path (advisor/bakeoff_verdict.py). `would_change` is computed, not
written: each candidate change of the inputs is run through the same rules and listed only if it changes the path.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from advisor.costs import (
    ASSUMED_EXAMPLE_TOKENS,
    ASSUMED_OUTPUT_TOKENS,
    ASSUMED_SYSTEM_TOKENS,
    ASSUMED_USER_TOKENS,
    DEFAULT_RAG_TOKENS,
    RequestShape,
    cost_summary,
    load_inference_pricing,
)
from advisor.evidence import Evidence
from advisor.interview import Answers
from curation.report import format_duration

if TYPE_CHECKING:
    from training.evaluation.results import Bakeoff

PATHS = ("prompt", "rag", "fine-tune", "rag+fine-tune")
PATH_LABELS = {
    "prompt": "prompting",
    "rag": "prompting with RAG",
    "fine-tune": "fine-tuning",
    "rag+fine-tune": "RAG + fine-tuning",
}
MIN_EXAMPLES = 50  # below this, fine-tuning is not an option
GOOD_EXAMPLES = 100  # the low end of the recommended 100-1,000+
BLOCKING_CONFLICT_RATE = 0.10  # at or above: resolve conflicts before fine-tuning
WARN_CONFLICT_RATE = 0.03
WARN_DUPLICATE_RATE = 0.10
GOOD_PROMPT_SCORE = 8  # of 10 real cases
COST_PAYBACK_DAYS = 90  # a fine-tune bought for unit cost should pay back within a quarter
# Answers that move the verdict; unanswered ones lower the confidence (stay_general is optional).
KEY_QUESTIONS = ("output_kind", "output_strictness", "private_facts", "jargon", "examples", "eval_set",
                 "prompting_tried", "prompt_score", "prompt_failures", "requests_per_day", "recurrence")


@dataclass
class Reason:
    """One statement behind the verdict and what it rests on: "answer:<question id>" or "data:<report field>"."""

    text: str
    basis: str


@dataclass
class Recommendation:
    """The verdict, why, what to watch, what would change it, what to do next, and what it costs."""

    path: str  # one of PATHS
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

    @property
    def label(self) -> str:
        """The path in words."""
        return PATH_LABELS[self.path]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data."""
        return {**asdict(self), "label": self.label}


@dataclass(frozen=True)
class Prices:
    """The price tables a recommendation uses: training (curation/data/pricing.json) and inference."""

    training: dict[str, Any]
    inference: dict[str, Any]


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


def _plural(n: int | float, word: str, plural: str | None = None) -> str:
    n_text = f"{n:,}" if isinstance(n, int) else f"{n:,.0f}"
    return f"{n_text} {word if n == 1 else (plural or word + 's')}"


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%" if x >= 0.1 or x == 0 else f"{100 * x:.1f}%"


def _usable_examples(v: dict[str, Any], ev: Evidence | None) -> tuple[int | None, Reason | None]:
    """How many consistent examples there are (measured if a dataset is given), and the statement behind it.

    The statement reads as "<n> consistent examples (<how they were counted>)".
    """
    if ev is not None:
        parts = []
        if ev.removed:
            parts.append(f"{_plural(ev.removed, 'duplicate')} removed ({ev.exact_duplicates} exact, {ev.near_duplicates} near)")
        if ev.conflict_examples:
            parts.append(f"{ev.conflict_examples} that conflict set aside")
        how = f", {' and '.join(parts)}" if parts else ""
        text = f"{_plural(ev.consistent, 'consistent example')} ({ev.valid:,} valid{how})"
        return ev.consistent, Reason(text, "data:counts.kept")
    n = v.get("examples")
    if n is None:
        return None, None
    return int(n), Reason(f"{_plural(int(n), 'labelled example')} (your estimate; no dataset was measured)", "answer:examples")


def _behaviour(v: dict[str, Any]) -> tuple[float, list[Reason]]:
    """How strongly the task needs different, consistent behaviour: a score and the answers behind it."""
    score, why = 0.0, []
    strict, kind = v.get("output_strictness"), v.get("output_kind")
    kind_words = {"style": "a house style or voice", "structured": "a strict structure", "labels": "consistent labels",
                  "free_text": "free text"}
    if strict == "strict":
        score += 2
        why.append(Reason(f"The output must be strict and consistent ({kind_words.get(kind, 'format or style')}): "
                          "prompting gets close, fine-tuning makes a model hold it every time", "answer:output_strictness"))
    elif strict == "moderate" and kind in ("style", "structured", "labels"):
        score += 1
        why.append(Reason(f"The output follows {kind_words[kind]} with firm rules", "answer:output_strictness"))
    jargon = v.get("jargon")
    if jargon == "heavy":
        score += 2
        why.append(Reason("The task uses heavy jargon, a niche language or a DSL: behaviour a model learns from "
                          "examples better than from instructions", "answer:jargon"))
    elif jargon == "some":
        score += 0.5
    failures, prompt_score = v.get("prompt_failures"), v.get("prompt_score")
    if failures in ("style", "both") and (prompt_score is None or prompt_score < GOOD_PROMPT_SCORE):
        score += 2
        got = f" (it got {prompt_score} of 10 right)" if prompt_score is not None else ""
        why.append(Reason(f"Your best prompt gets the behaviour wrong: tone, format, length or labels{got}",
                          "answer:prompt_failures"))
    return score, why


def _shape(ev: Evidence | None, rag: bool) -> RequestShape:
    """The token shape of one request: measured from the dataset when there is one, else assumed."""
    rag_tokens = DEFAULT_RAG_TOKENS if rag else 0
    if ev is None or not ev.tokens_median:
        return RequestShape(ASSUMED_SYSTEM_TOKENS, ASSUMED_USER_TOKENS, ASSUMED_OUTPUT_TOKENS, rag_tokens=rag_tokens)
    prompt = max(ev.tokens_median - ev.assistant_median, 0.0)
    fraction = ev.system_fraction if ev.system_fraction is not None else 0.0  # unknown: count it all as user text
    return RequestShape(round(prompt * fraction, 1), round(prompt * (1 - fraction), 1), ev.assistant_median,
                        rag_tokens=rag_tokens, measured=True)


def _costs(v: dict[str, Any], ev: Evidence | None, rag: bool, prices: Prices) -> dict[str, Any]:
    from curation.tokens import estimate_cost

    hosted_allowed = v.get("data_location") != "local"
    if ev is not None and ev.cost:
        training, basis = ev.cost, "measured"
    else:
        n = int(v.get("examples") or 0)
        train_tokens = round(n * 0.9 * ASSUMED_EXAMPLE_TOKENS)  # 90% train split, assumed example size
        training, basis = estimate_cost(train_tokens, 3, prices.training), "assumed"
    summary = cost_summary(_shape(ev, rag), training, prices.inference, v.get("requests_per_day"), hosted_allowed, basis)
    # Whether the system prompt's share of each example was measured; if not, demonstrations are an upper bound.
    summary["request"]["system_split_measured"] = ev is not None and ev.system_fraction is not None
    return summary


def _decide(v: dict[str, Any], ev: Evidence | None, prices: Prices) -> _Decision:
    reasons: list[Reason] = []
    warnings: list[Reason] = []
    blocked: list[Reason] = []
    notes: list[str] = []
    score = 0.85

    # Knowledge: facts the model lacks belong in retrieval.
    private, change, failures = v.get("private_facts"), v.get("facts_change"), v.get("prompt_failures")
    knowledge = private in ("some", "most") or failures in ("facts", "both")
    if private in ("some", "most"):
        text = (f"{'Most' if private == 'most' else 'Some'} answers depend on your own facts, which the model does not "
                "know and fine-tuning does not reliably teach: retrieve them at request time (RAG)")
        if change in ("monthly", "weekly"):
            text += f"; they change {'monthly' if change == 'monthly' else 'weekly or faster'}, and a document index is " \
                    "updated in minutes while a fine-tune needs retraining"
        reasons.append(Reason(text, "answer:private_facts"))
    if failures in ("facts", "both"):
        reasons.append(Reason("Your prompt's failures include wrong or missing facts: more instructions will not fix "
                              "that, retrieval will", "answer:prompt_failures"))

    # Behaviour: what fine-tuning is for.
    b_score, b_why = _behaviour(v)
    tried, prompt_score = v.get("prompting_tried"), v.get("prompt_score")
    prompt_good = tried is True and prompt_score is not None and prompt_score >= GOOD_PROMPT_SCORE
    wants_ft = b_score >= 2 and not prompt_good
    costs = _costs(v, ev, knowledge, prices)
    if wants_ft:
        reasons.extend(b_why)

    # Unit cost can justify a fine-tune on its own: a repeatable, high-volume, cost-sensitive task.
    ref = costs["reference"]
    cost_motive = (not wants_ft and v.get("recurrence") == "repeatable" and v.get("latency_cost") == "high"
                   and costs["hosted_allowed"] and ref["break_even_days"] is not None
                   and ref["break_even_days"] <= COST_PAYBACK_DAYS)
    if cost_motive:
        wants_ft = True
        if prompt_good:
            reasons.append(Reason(f"Your best prompt already gets {prompt_score} of 10 real cases right: quality is not "
                                  "the problem, the cost of sending its demonstrations with every request is",
                                  "answer:prompt_score"))
        reasons.append(Reason(f"At {v['requests_per_day']:,} requests a day, a fine-tuned {ref['model']} without few-shot "
                              f"demonstrations pays back its ${ref['training_cost']:.2f} training in about "
                              f"{ref['break_even_days']:g} days ({ref['break_even_requests']:,} requests)",
                              "answer:requests_per_day"))
    elif prompt_good:
        reasons.append(Reason(f"Your best prompt already gets {prompt_score} of 10 real cases right: polish it and "
                              "measure on more cases before paying for anything heavier", "answer:prompt_score"))

    # Is fine-tuning advisable now?
    n, n_reason = _usable_examples(v, ev)
    if wants_ft:
        if tried is False:
            blocked.append(Reason("You have not tried prompting yet: every guide starts there, and it tells you which "
                                  "failures are left for fine-tuning to fix", "answer:prompting_tried"))
        if failures == "capability":
            blocked.append(Reason("The model could not do the task at all: fine-tuning changes how a model answers, it "
                                  "will not make it able to do what it cannot", "answer:prompt_failures"))
        if v.get("recurrence") == "one_off":
            blocked.append(Reason("It is a one-off job: a fine-tune costs more up front and pays back only over many "
                                  "repeated requests", "answer:recurrence"))
        if v.get("examples_consistent") == "no":
            blocked.append(Reason("Your experts would write different outputs for the same input: a model learns that "
                                  "disagreement; agree on the answers first", "answer:examples_consistent"))
        if n is not None and n < MIN_EXAMPLES:
            blocked.append(Reason(f"Only {n_reason.text}: fine-tuning needs {MIN_EXAMPLES} at the very least, "
                                  f"{GOOD_EXAMPLES}-1,000+ recommended", n_reason.basis))
        if ev is not None and ev.conflict_rate >= BLOCKING_CONFLICT_RATE:
            blocked.append(Reason(f"{_pct(ev.conflict_rate)} of examples conflict ({ev.conflict_examples} examples in "
                                  f"{_plural(ev.conflict_groups, 'group')} answer the same question differently): "
                                  "resolve them first, or the model learns both answers", "data:counts.flagged_conflict"))
    fine_tune = wants_ft and not blocked
    path = {(False, False): "prompt", (True, False): "rag", (False, True): "fine-tune", (True, True): "rag+fine-tune"}[
        (knowledge, fine_tune)]
    if not knowledge and not wants_ft and not prompt_good:
        if tried is False:
            reasons.append(Reason("You have not tried prompting yet: it is the fastest, cheapest test of the task",
                                  "answer:prompting_tried"))
        if b_score < 2:
            reasons.append(Reason("Nothing in your answers calls for different behaviour than a good prompt can ask for "
                                  "(the format is not strict, no niche language, no behaviour failures)",
                                  "answer:output_strictness"))
    if private == "none" and not knowledge:
        reasons.append(Reason("General knowledge is enough for the answers: no retrieval needed", "answer:private_facts"))

    # Data facts behind a fine-tune.
    if fine_tune and n_reason is not None:
        reasons.append(Reason(f"Enough data to learn from: {n_reason.text}", n_reason.basis))
        if not cost_motive:
            reasons.append(_cost_reason(v, costs))
        if n < GOOD_EXAMPLES:
            warnings.append(Reason(f"{_plural(n, 'consistent example')} is enough to try, thin to rely on: "
                                   f"{GOOD_EXAMPLES}-1,000+ recommended", n_reason.basis))
            score -= 0.1
            notes.append(f"fewer than {GOOD_EXAMPLES} consistent examples")
    if fine_tune and n is None:
        warnings.append(Reason("We do not know how many examples you have: fine-tuning needs at least 50 consistent "
                               "ones, 100-1,000+ recommended", "answer:examples"))
        score -= 0.15
        notes.append("number of examples unknown")
    if ev is not None:
        if ev.conflict_rate < BLOCKING_CONFLICT_RATE and (ev.conflict_rate >= WARN_CONFLICT_RATE or (wants_ft and ev.conflict_examples)):
            warnings.append(Reason(f"{_pct(ev.conflict_rate)} of examples conflict ({ev.conflict_examples} examples in "
                                   f"{_plural(ev.conflict_groups, 'group')} answer the same question differently): resolve "
                                   "them before training", "data:counts.flagged_conflict"))
            if wants_ft and ev.conflict_rate >= WARN_CONFLICT_RATE:
                score -= 0.05
                notes.append("some conflicting examples")
        if ev.duplicate_rate >= WARN_DUPLICATE_RATE:
            warnings.append(Reason(f"{_pct(ev.duplicate_rate)} of the examples were duplicates ({ev.exact_duplicates} exact, "
                                   f"{ev.near_duplicates} near): the dataset is smaller than it looks",
                                   "data:counts.removed"))
        answered = v.get("examples")
        if answered and abs(answered - ev.consistent) > 0.25 * max(answered, 1):
            warnings.append(Reason(f"You estimated {int(answered):,} examples; the data holds {ev.consistent:,} consistent "
                                   "ones. The verdict uses the measured figure", "data:counts.kept"))
        if wants_ft and ev.flagged_for_review:
            warnings.append(Reason(f"{_plural(ev.flagged_for_review, 'example')} flagged for review (outliers, too long or "
                                   "short, another language, log-like text): check flags.jsonl before training",
                                   "data:counts.flagged_outlier"))
        if wants_ft and ev.too_long:
            warnings.append(Reason(f"{_plural(ev.too_long, 'example')} longer than the {ev.max_tokens:,}-token training "
                                   "length would be cut off", "data:counts.flagged_too_long"))
    elif wants_ft:
        score -= 0.1
        notes.append("no dataset measured (give --data)")

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

    # Risks of the chosen path.
    if fine_tune:
        if change in ("monthly", "weekly", "quarterly"):
            warnings.append(Reason("The facts in your examples change: a fine-tune memorises today's values. Keep "
                                   "retrieval the source of facts and re-check training examples when the documents change",
                                   "answer:facts_change"))
        if v.get("stay_general") is True:
            warnings.append(Reason("The model must stay good at other tasks: fine-tuning can make it forget them "
                                   "(catastrophic forgetting). Keep the tune in a switchable LoRA adapter and test the "
                                   "other tasks too", "answer:stay_general"))
        if v.get("budget") == "minimal":
            warnings.append(Reason("The budget is minimal: a fine-tune adds data work, training runs, evaluation and a "
                                   "model to maintain", "answer:budget"))
            score -= 0.1
            notes.append("minimal budget for a fine-tune")
        if v.get("examples_consistent") == "mostly":
            warnings.append(Reason("Some cases are judgement calls: write the rule down and make the examples follow "
                                   "it, or the model will guess", "answer:examples_consistent"))
        if v.get("data_location") == "local":
            local = costs["training"].get("local", {})
            reasons.append(Reason(f"Data must stay in-house: fine-tune locally with LoRA (about "
                                  f"{format_duration(local.get('seconds', 0))} on {local.get('model', 'a small model')}) and "
                                  "serve the model yourself", "answer:data_location"))
    if failures == "capability":
        warnings.append(Reason("The model could not do the task: try a stronger model or split the task into steps; "
                               "fine-tuning will not make a model able to do what it cannot", "answer:prompt_failures"))
    if knowledge and v.get("data_location") == "local":
        warnings.append(Reason("Data must stay in-house: the index and the model answering from it must run on your "
                               "machines too", "answer:data_location"))
    if blocked:
        score -= 0.1
        notes.append("fine-tuning is wanted but not advisable yet")
    if tried is False or tried is None:
        score -= 0.1
        notes.append("prompting not tried yet: the verdict rests on expectations, not a measurement")
    elif prompt_score is not None and abs(prompt_score - GOOD_PROMPT_SCORE) <= 1 and b_score >= 2:
        score -= 0.1
        notes.append(f"a prompt score of {prompt_score}/10 is close to the {GOOD_PROMPT_SCORE}/10 line")
    # Fine-tuning without an evaluation set is a bet nobody can check: medium confidence at best.
    cap = 0.65 if fine_tune and eval_set in ("none", None) else 0.95
    return _Decision(path, score, reasons, warnings, blocked, notes, wants_ft, knowledge, cost_motive, costs, n, cap)


def _decide_measured(v: dict[str, Any], ev: Evidence | None, prices: Prices, bakeoff: Bakeoff | None) -> _Decision:
    """The rules, then the bake-off (when there is one) confirming or overturning their path."""
    d = _decide(v, ev, prices)
    if bakeoff is None:
        return d
    from advisor.bakeoff_verdict import apply_bakeoff

    m = apply_bakeoff(d.path, bakeoff, d.knowledge, d.blocked[0].text if d.blocked else None)
    notes = d.notes + m.notes
    if m.overturned:
        notes.append(f"the bake-off overturned the interview's verdict ({PATH_LABELS[d.path]})")
    return replace(d, path=m.path, score=d.score + m.score_delta, notes=notes,
                   reasons=[Reason(t, b) for t, b in m.reasons] + d.reasons,
                   warnings=d.warnings + [Reason(t, b) for t, b in m.warnings], overturned=d.path if m.overturned else None)


def _cost_reason(v: dict[str, Any], costs: dict[str, Any]) -> Reason:
    """What the per-request arithmetic says about a fine-tune: it pays back (when), or it is bought for quality."""
    request, ref = costs["request"], costs["reference"]
    basis = "data:tokens.per_example" if request["measured"] else "answer:requests_per_day"
    if not costs["hosted_allowed"]:
        return Reason("Hosted prices do not apply (data must stay in-house): the cost is your own hardware and time", basis)
    if ref["break_even_requests"] is None:
        context = f" (with {request['rag_tokens']:,.0f} tokens of retrieved context)" if request["rag_tokens"] else ""
        short = ""
        if ref["break_even_requests_short_prompt"] is not None:
            days = ref["break_even_days_short_prompt"]
            short = (f"; only if it also drops its {request['system_tokens']:,.0f}-token instructions does it pay back, "
                     f"after {ref['break_even_requests_short_prompt']:,} requests"
                     + (f" (about {days:g} days)" if days is not None else ""))
        return Reason(f"On price alone a hosted fine-tune of {ref['model']} does not pay off: it costs about twice as much "
                      f"per token, and dropping {request['shots']} few-shot demonstrations "
                      f"({request['shots'] * request['shot_tokens']:,.0f} tokens) does not outweigh that on a "
                      f"{request['fine_tuned_input_tokens']:,}-token prompt{context}{short}. The case for it is consistency, "
                      "not cost", basis)
    when = f", about {ref['break_even_days']:g} days at your volume" if ref["break_even_days"] is not None else ""
    return Reason(f"A fine-tuned {ref['model']} without few-shot demonstrations pays back its ${ref['training_cost']:.2f} "
                  f"training after about {ref['break_even_requests']:,} requests{when}", basis)



# ------------------------------------------------------------------------------------- counterfactuals and steps


def _would_change(v: dict[str, Any], ev: Evidence | None, prices: Prices, d: _Decision,
                  bakeoff: Bakeoff | None = None) -> list[str]:
    """Each candidate change of the inputs that changes the path, in words."""
    candidates: list[tuple[str, dict[str, Any], Evidence | None]] = []
    if d.n_examples is not None and d.n_examples < GOOD_EXAMPLES:
        more = GOOD_EXAMPLES + (ev.conflict_examples if ev else 0)
        ev2 = replace(ev, kept=more, valid=max(ev.valid, more)) if ev else None
        candidates.append((f"With {GOOD_EXAMPLES}+ consistent examples (you have {d.n_examples:,})",
                           {**v, "examples": GOOD_EXAMPLES}, ev2))
    if ev is not None and ev.conflict_rate >= WARN_CONFLICT_RATE or v.get("examples_consistent") == "no":
        ev2 = replace(ev, conflict_examples=0, conflict_groups=0) if ev else None
        candidates.append(("If the conflicting answers were resolved", {**v, "examples_consistent": "yes"}, ev2))
    if v.get("prompting_tried") is not True or (v.get("prompt_score") or 0) < GOOD_PROMPT_SCORE:
        candidates.append((f"If your best prompt got {GOOD_PROMPT_SCORE} or more of 10 real cases right",
                           {**v, "prompting_tried": True, "prompt_score": 9, "prompt_failures": "none"}, ev))
    if v.get("prompting_tried") is not True or (v.get("prompt_score") or 0) >= GOOD_PROMPT_SCORE:
        failures = "both" if d.knowledge else "style"
        candidates.append(("If a well-written prompt still got the tone or format wrong in 4 of 10 cases",
                           {**v, "prompting_tried": True, "prompt_score": 6, "prompt_failures": failures}, ev))
    if d.knowledge:
        failures = {"facts": "none", "both": "style"}.get(v.get("prompt_failures"), v.get("prompt_failures"))
        candidates.append(("If answers did not depend on your own facts", {**v, "private_facts": "none",
                                                                          "prompt_failures": failures}, ev))
    else:
        candidates.append(("If answers came to depend on your own, changing facts",
                           {**v, "private_facts": "most", "facts_change": "monthly"}, ev))
    if v.get("output_strictness") != "strict":
        kind = v.get("output_kind") if v.get("output_kind") not in (None, "free_text") else "style"
        candidates.append(("If every output had to match a strict format or voice",
                           {**v, "output_strictness": "strict", "output_kind": kind}, ev))
    if v.get("recurrence") == "one_off":
        candidates.append(("If this became a repeatable, ongoing task", {**v, "recurrence": "repeatable"}, ev))
    elif d.wants_ft:
        candidates.append(("If this were a one-off job", {**v, "recurrence": "one_off"}, ev))
    ref = d.costs["reference"]
    if not d.wants_ft and ref["break_even_requests"] and d.costs["hosted_allowed"]:
        per_day = math.ceil(ref["break_even_requests"] / COST_PAYBACK_DAYS)
        candidates.append((f"At {per_day:,}+ requests a day on a repeatable, cost-sensitive task",
                           {**v, "requests_per_day": per_day, "latency_cost": "high", "recurrence": "repeatable"}, ev))
    out = []
    for text, v2, ev2 in candidates:
        new = _decide_measured(v2, ev2, prices, bakeoff).path
        if new != d.path:
            out.append(f"{text}, this becomes {PATH_LABELS[new]}.")
    return out


def _next_steps(v: dict[str, Any], ev: Evidence | None, d: _Decision, bakeoff: Bakeoff | None = None) -> list[str]:
    steps = []
    if d.overturned in ("fine-tune", "rag+fine-tune"):
        steps.append("Before trying fine-tuning again: train longer or on more consistent examples (`tunewise finetune`), "
                     "then re-run the bake-off (`tunewise eval`); switch only when the adapter's lead is outside the noise.")
    if v.get("eval_set") in (None, "none", "spot_checks"):
        held = f" (curation already held out {ev.eval} examples in eval.jsonl)" if ev is not None and ev.eval else ""
        steps.append(f"Build an evaluation set first: 50-100 real inputs with the output you want and a way to score "
                     f"them{held}. Every other step is measured on it.")
    if v.get("prompting_tried") is not True:
        demos = f" The cluster medoids ({', '.join(ev.cluster_medoids[:5])}) make a diverse set." if ev and ev.cluster_medoids else ""
        steps.append(f"Write a prompt with clear instructions and 3-5 demonstrations, and score it on the evaluation set."
                     f"{demos}")
    if d.wants_ft and ev is not None and ev.conflict_examples:
        steps.append(f"Resolve the {_plural(ev.conflict_groups, 'conflict group')} (flags.jsonl, kind \"conflict\"): decide "
                     "the right answer, fix or remove the wrong ones.")
    if d.wants_ft and ev is not None and ev.flagged_for_review:
        steps.append(f"Review the {_plural(ev.flagged_for_review, 'flagged example')} (outliers, too long, other language) "
                     "and keep only those that show the behaviour you want.")
    if d.knowledge:
        steps.append("Index your documents and retrieve 3-5 passages per request; tell the model to answer only from them "
                     "and to say when they do not cover the question. Check retrieval on its own: does the right passage "
                     "come back?")
    if d.wants_ft and d.blocked and d.n_examples is not None and d.n_examples < GOOD_EXAMPLES:
        steps.append(f"Collect at least {GOOD_EXAMPLES - d.n_examples} more consistent examples: have your best people "
                     "write or correct real cases against written guidelines.")
    if d.path in ("fine-tune", "rag+fine-tune"):
        training = d.costs["training"]
        local = training.get("local", {})
        ref = d.costs["reference"]
        hosted = next((h for h in training.get("hosted", []) if h["model"] == ref["model"]), None)
        where = f"a local LoRA on {local.get('model', 'a small model')} takes about {format_duration(local.get('seconds', 0))}"
        if hosted and d.costs["hosted_allowed"]:
            where += f"; hosted, {hosted['model']} costs about ${hosted['cost']:.2f}"
        data = f"train.jsonl ({ev.train:,} examples)" if ev is not None else "your curated examples (run `tunewise curate`)"
        steps.append(f"Fine-tune on {data}: {where}.")
        if d.path == "rag+fine-tune":
            steps.append("Train on examples whose facts match today's documents and put the retrieved passages in the "
                         "training prompts, so the model learns to use retrieved facts rather than memorise them.")
        if bakeoff is None or not any(c.kind in ("lora", "rag+lora") for c in bakeoff.candidates):
            steps.append("Compare the fine-tuned model with the prompt baseline on the evaluation set before switching "
                         "(`tunewise eval PROJECT` runs the bake-off), and keep the prompt as the fallback.")
        else:
            steps.append("Keep the prompt as the fallback, and re-run `tunewise eval` after every new training run.")
    if d.path in ("prompt", "rag"):
        blockers = {r.basis for r in d.blocked}
        if "answer:prompt_failures" in blockers:
            steps.append("Try a stronger model, or split the task into steps the model can do and check each step.")
        if "answer:examples_consistent" in blockers:
            steps.append("Write guidelines for the cases your experts disagree on, and correct the examples to follow them.")
        if "answer:recurrence" in blockers:
            steps.append("Run the job with your best prompt and review a random sample of the outputs before using them.")
        if v.get("prompting_tried") is True and (v.get("prompt_score") or 0) < 10:
            steps.append("Improve the prompt where it fails: state the rule each failing case breaks, and add corrected "
                         "failing cases as demonstrations.")
        steps.append("Re-run this advice when the prompt has been scored on more cases, the data grows, or the "
                     "requirements change.")
    return steps


def _headline(v: dict[str, Any], d: _Decision) -> str:
    task = v.get("task")
    for_task = f" for \"{task.rstrip('.')}\"" if task else ""
    if d.overturned:
        measured = {"prompt": "Stay with prompting", "rag": "Use prompting with retrieval (RAG)",
                    "fine-tune": "Fine-tune", "rag+fine-tune": "Combine RAG and fine-tuning"}[d.path]
        why = d.reasons[1].text if len(d.reasons) > 1 else d.reasons[0].text
        return f"{measured}{for_task}: the bake-off on your held-out examples says so. {why}."
    if d.path == "rag+fine-tune":
        return (f"Combine RAG and fine-tuning{for_task}: retrieve your facts at request time, and fine-tune for the "
                "consistent behaviour a prompt does not deliver.")
    if d.path == "fine-tune" and d.cost_motive:
        return (f"Fine-tune{for_task} to cut the cost per request: at your volume a fine-tuned model without few-shot "
                "demonstrations pays back its training quickly.")
    if d.path == "fine-tune":
        return f"Fine-tune{for_task}: the task needs consistent behaviour a prompt does not deliver, and the data supports it."
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
    prices = prices or default_prices()
    v = dict(answers.values)
    d = _decide_measured(v, evidence, prices, bakeoff)
    missing = [q for q in KEY_QUESTIONS if q in answers.missing()]
    score = d.score - min(0.05 * len(missing), 0.3)
    notes = list(d.notes)
    if missing:
        notes.append(f"{_plural(len(missing), 'key question')} unanswered: {', '.join(missing)}")
    if evidence is not None:
        score += 0.05
    score = round(min(max(score, 0.05), d.cap), 2)
    confidence = "high" if score >= 0.7 else "medium" if score >= 0.45 else "low"
    return Recommendation(
        path=d.path, confidence=confidence, headline=_headline(v, d), reasons=d.reasons + d.blocked, warnings=d.warnings,
        would_change=_would_change(v, evidence, prices, d, bakeoff), next_steps=_next_steps(v, evidence, d, bakeoff),
        costs=d.costs, score=score, confidence_notes=notes, missing=missing, blocked=d.blocked,
        bakeoff=bakeoff.folder if bakeoff else None, overturned=d.overturned,
    )
