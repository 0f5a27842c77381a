"""The settings of a bake-off, and which metrics fit the references (chosen from the data, overridable)."""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from curation.errors import TunewiseError, UsageError
from training.evaluation.metrics import METRICS, Metric, is_json, regex_metric, schema_metric

SHORT_REFERENCE_WORDS = 3  # references this short (median) are labels or short answers: exact match decides
JSON_SHARE = 0.9  # this share of references parsing as JSON makes the output structured


@dataclass
class EvalConfig:
    """How a bake-off is run; saved in summary.json so it can be reproduced."""

    candidates: list[str] | None = field(default=None, metadata={"help": "zero-shot, few-shot, rag, lora:RUN, "
                                                                         "rag+lora:RUN, lora (every run); None = all available"})
    metrics: list[str] | None = field(default=None, metadata={"help": "metrics to report; None = chosen from the references"})
    primary: str | None = field(default=None, metadata={"help": "the metric that picks the winner; None = chosen"})
    regex: str | None = field(default=None, metadata={"help": "outputs must match this regular expression (adds format_regex)"})
    schema: str | None = field(default=None, metadata={"help": "JSON schema file outputs must validate against (adds format_schema)"})
    limit: int | None = field(default=None, metadata={"help": "evaluate only the first N eval examples"})
    max_new_tokens: int = field(default=128, metadata={"help": "most tokens generated per output (same for every candidate)"})
    batch_size: int = field(default=8, metadata={"help": "conversations generated together"})
    model: str | None = field(default=None, metadata={"help": "base model folder or hub id; None = packaged SmolLM2-135M-Instruct"})
    rag_k: int = field(default=4, metadata={"help": "passages retrieved per question for rag candidates"})
    rag_mode: str = field(default="hybrid", metadata={"help": "retrieval mode: dense, bm25 or hybrid"})
    rag_context_tokens: int = field(default=1024, metadata={"help": "most generator tokens of retrieved passages"})
    few_shot_examples: int = field(default=3, metadata={"help": "examples in a few-shot prompt built here (when the project has none)"})
    prompt_budget: int = field(default=1024, metadata={"help": "token budget of a few-shot prompt built here"})
    resamples: int = field(default=1000, metadata={"help": "bootstrap resamples for the intervals"})
    seed: int = field(default=0, metadata={"help": "bootstrap seed"})

    def __post_init__(self) -> None:
        checks = [
            ("limit", self.limit is None or self.limit >= 1, "1 or more (or unset)"),
            ("max_new_tokens", self.max_new_tokens >= 1, "at least 1"),
            ("batch_size", self.batch_size >= 1, "at least 1"),
            ("rag_k", self.rag_k >= 1, "at least 1"),
            ("rag_mode", self.rag_mode in ("dense", "bm25", "hybrid"), "dense, bm25 or hybrid"),
            ("rag_context_tokens", self.rag_context_tokens >= 32, "at least 32"),
            ("few_shot_examples", self.few_shot_examples >= 1, "at least 1"),
            ("prompt_budget", self.prompt_budget >= 32, "at least 32"),
            ("resamples", self.resamples >= 100, "at least 100"),
        ]
        for name, ok, expected in checks:
            if not ok:
                raise UsageError(f"Evaluation setting {name}={getattr(self, name)!r} is invalid: it must be {expected}.")
        unknown = [m for m in self.metrics or [] if m not in METRICS and m not in ("format_regex", "format_schema")]
        if unknown:
            raise UsageError(f"Unknown metric(s): {', '.join(unknown)}.", "Known: " + ", ".join(METRICS) + ".")
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as exc:
                raise UsageError(f"--regex {self.regex!r} is not a valid regular expression: {exc}.") from exc
        if self.schema is not None and not Path(self.schema).is_file():
            raise UsageError(f"Schema file {self.schema} does not exist.", "Pass a JSON schema file.")


@dataclass
class MetricPlan:
    """The metrics to compute, the one that decides, and why they were chosen."""

    metrics: dict[str, Metric]
    primary: str
    reasons: list[str]


#: Values every usable schema can be applied to without an error (a $ref to nowhere, a loop of $refs fail here).
_TRIAL_VALUES = (None, True, 0, 1.5, "", "text", [], [1, "a"], {}, {"a": 1, "b": [None]})


def load_schema(path: str) -> dict:
    """A JSON schema from a file (UsageError if it is not JSON, not a valid schema, or cannot be applied).

    The file is read with the config-size limit and refused unless it is a regular file; a schema whose $ref
    points nowhere, at the network, or at itself in a loop is refused here rather than failing mid-evaluation.
    """
    import jsonschema

    from curation.safe_read import CONFIG_LIMIT, read_json_file

    hint = "Pass a JSON schema file (draft 2020-12), e.g. {\"type\": \"object\", \"required\": [\"answer\"]}."
    try:
        schema = read_json_file(path, "JSON schema file", CONFIG_LIMIT, hint)
    except TunewiseError as exc:
        raise UsageError(exc.message, hint) from None
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise UsageError(f"{path} is not a valid JSON schema: {str(exc).splitlines()[0][:200]}.", hint) from None
    except RecursionError:
        raise UsageError(f"{path} is not a usable JSON schema: it nests too deeply.", hint) from None
    validator = jsonschema.Draft202012Validator(schema)
    for value in _TRIAL_VALUES:
        try:
            validator.is_valid(value)
        except RecursionError:
            raise UsageError(f"{path} is not a usable JSON schema: its $refs loop forever.", hint) from None
        except Exception as exc:  # noqa: BLE001 - referencing errors, a bad regex: anything means unusable
            detail = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
            raise UsageError(f"{path} is not a usable JSON schema: {detail}.", hint) from None
    return schema


def _labels(references: Sequence[str]) -> bool:
    """Whether short references are a small set of labels (classes) rather than answers that differ per input."""
    distinct = len({r.strip().lower() for r in references})
    return distinct <= 20 and distinct * 3 <= len(references)


def _reference_share(metric: Metric, references: Sequence[str]) -> str:
    """A warning when the references themselves fail a format check (the pattern or schema is likely wrong)."""
    passed = sum(metric.score(r, r) for r in references)
    if not references or passed == len(references):
        return ""
    return f"; only {passed:.0f} of {len(references)} references pass it themselves: check the pattern"


def choose_metrics(references: Sequence[str], config: EvalConfig) -> MetricPlan:
    """Metrics for these references: exact match for short answers, JSON checks for JSON, ROUGE-L for free text."""
    reasons: list[str] = []
    words = statistics.median(len(r.split()) for r in references) if references else 0
    json_share = sum(is_json(r) for r in references) / len(references) if references else 0.0
    if json_share >= JSON_SHARE:
        names, primary = ["json_valid", "json_equal", "token_f1", "embedding", "length_ratio"], "json_equal"
        reasons.append(f"{json_share:.0%} of the references are JSON: outputs are checked for valid JSON and the same "
                       "content (json_equal decides)")
    elif words <= SHORT_REFERENCE_WORDS and _labels(references):
        names, primary = ["exact_match", "contains", "token_f1", "embedding", "length_ratio"], "exact_match"
        reasons.append(f"references are labels ({len(set(references))} distinct values): exact match after "
                       "normalising decides")
    elif words <= SHORT_REFERENCE_WORDS:
        # Chat models answer in sentences: on SQuAD every candidate scored 0.000 exact match, a tie by construction.
        names, primary = ["contains", "exact_match", "token_f1", "embedding", "length_ratio"], "contains"
        reasons.append(f"references are short answers (median {words:g} words): whether the output contains the "
                       "answer decides (exact match is reported too; watch the length ratio for padded answers)")
    else:
        # No exact match here: on free text it is 0 for every candidate (E2E bake-off: 0.000 for all three).
        names, primary = ["rouge_l", "token_f1", "embedding", "length_ratio"], "rouge_l"
        reasons.append(f"references are free text (median {words:g} words): ROUGE-L decides, embedding similarity "
                       "checks meaning")
    if config.metrics:
        names = list(dict.fromkeys(config.metrics))
        reasons.append("metrics as given: " + ", ".join(names))
    metrics = {n: METRICS[n] for n in names if n in METRICS}
    if config.regex is not None or "format_regex" in names:
        if config.regex is None:
            raise UsageError("format_regex needs --regex PATTERN.")
        metrics["format_regex"] = Metric("format_regex", f"output matches /{config.regex}/", regex_metric(config.regex))
        reasons.append(f"outputs must match /{config.regex}/ (format_regex)" + _reference_share(metrics["format_regex"], references))
    if config.schema is not None or "format_schema" in names:
        if config.schema is None:
            raise UsageError("format_schema needs --schema FILE.")
        metrics["format_schema"] = Metric("format_schema", f"output validates against {Path(config.schema).name}",
                                          schema_metric(load_schema(config.schema)))
        reasons.append(f"outputs must validate against {config.schema} (format_schema)"
                       + _reference_share(metrics["format_schema"], references))
    if config.primary is not None:
        if config.primary not in metrics:
            raise UsageError(f"Primary metric {config.primary!r} is not among the metrics computed ({', '.join(metrics)}).",
                             "Add it with --metrics, or pick one of those.")
        primary = config.primary
        reasons.append(f"{primary} decides (as given)")
    elif primary not in metrics:
        primary = next(n for n in metrics if metrics[n].higher_is_better) if any(
            m.higher_is_better for m in metrics.values()) else next(iter(metrics))
    if not metrics[primary].higher_is_better:
        raise UsageError(f"{primary} cannot pick a winner (higher is not better).", "Choose another --primary metric.")
    return MetricPlan(metrics, primary, reasons)
