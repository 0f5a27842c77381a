"""What to do next, in plain words, and the commands behind the steps (which the report keeps for its appendix)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from advisor import plain
from advisor.reasons import GOOD_EXAMPLES, GOOD_PROMPT_SCORE, plural

if TYPE_CHECKING:
    from advisor.evidence import Evidence
    from advisor.recommend import _Decision
    from training.evaluation.results import Bakeoff


def next_steps(v: dict[str, Any], ev: Evidence | None, d: _Decision,
               bakeoff: Bakeoff | None = None) -> tuple[list[str], list[str]]:
    """The next steps in order, and the tunewise commands that carry them out."""
    steps: list[str] = []
    commands: list[str] = []
    if d.overturned in ("fine-tune", "rag+fine-tune"):
        steps.append("Before trying fine-tuning again: train longer or on more consistent examples, then re-run the "
                     "bake-off; switch only when the fine-tuned model's lead is larger than the noise.")
        commands += ["tunewise finetune PROJECT", "tunewise eval PROJECT"]
    if v.get("eval_set") in (None, "none", "spot_checks"):
        held = f" (curation already held out {ev.eval} examples, in eval.jsonl)" if ev is not None and ev.eval else ""
        steps.append(f"Build an evaluation set first: 50-100 real inputs with the output you want and a way to score "
                     f"them{held}. Every other step is measured on it.")
    if v.get("prompting_tried") is not True or d.stage:
        demos = " The most typical example of each topic in your data makes a diverse set." if ev and ev.cluster_medoids else ""
        steps.append(f"Write a prompt with clear instructions and 3-5 demonstrations, and score it on the evaluation set."
                     f"{demos}")
        commands.append("tunewise prompt PROJECT")
    if d.stage:
        steps.append(f"If {d.stage_trigger}, fine-tune: the data and the task support it. Otherwise stay with the prompt.")
    if d.wants_ft and ev is not None and ev.conflict_examples:
        steps.append(f"Resolve the {plural(ev.conflict_groups, 'group')} of conflicting examples: decide the right answer, "
                     "fix or remove the wrong ones.")
    if d.wants_ft and ev is not None and ev.flagged_for_review:
        steps.append(f"Review the {plural(ev.flagged_for_review, 'flagged example')} (outliers, too long, other language) "
                     "and keep only those that show the behaviour you want.")
    if d.knowledge:
        steps.append("Index your documents and retrieve 3-5 passages per request; tell the model to answer only from them "
                     "and to say when they do not cover the question. Check retrieval on its own: does the right passage "
                     "come back?")
        commands.append("tunewise rag build PROJECT")
    if d.wants_ft and d.blocked and d.n_examples is not None and d.n_examples < GOOD_EXAMPLES:
        steps.append(f"Collect at least {GOOD_EXAMPLES - d.n_examples} more consistent examples: have your best people "
                     "write or correct real cases against written guidelines.")
    if d.path in ("fine-tune", "rag+fine-tune"):
        local = d.costs["training"].get("local", {})
        data = f"your {ev.train:,} training examples" if ev is not None else "your curated examples"
        steps.append(f"Fine-tune an open model with LoRA on {data}: {plain.duration(local.get('seconds'))} on "
                     f"{plain.model_name(local.get('model'))} here; serve it on your own GPU or CPU (hosted self-serve "
                     "fine-tuning is closing to new jobs).")
        commands.append("tunewise curate DATA --out PROJECT/curated" if ev is None else "tunewise finetune PROJECT")
        if d.path == "rag+fine-tune":
            steps.append("Train on examples whose facts match today's documents and put the retrieved passages in the "
                         "training prompts, so the model learns to use retrieved facts rather than memorise them.")
        if bakeoff is None or not any(c.kind in ("lora", "rag+lora") for c in bakeoff.candidates):
            steps.append("Compare the fine-tuned model with the prompt on the evaluation set before switching, and keep "
                         "the prompt as the fallback.")
            commands.append("tunewise eval PROJECT")
        else:
            steps.append("Keep the prompt as the fallback, and re-run the bake-off after every new training run.")
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
        steps.append(f"Re-run this advice when the prompt has been scored on more cases (the line is {GOOD_PROMPT_SCORE} "
                     "of 10), the data grows, or the requirements change.")
        commands.append("tunewise advise --answers answers.yaml --data PROJECT/curated")
    return steps, list(dict.fromkeys(commands))
