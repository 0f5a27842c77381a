"""The bake-off: every candidate answers the same held-out examples with the same decoding, and is scored.

Steps: read the eval set → pick candidates and metrics → build each candidate's conversations (few-shot prompt,
retrieved passages) → generate what the cache lacks (endpoints through their API, local models batched, one model
load per adapter) → measure tokens, cost and latency → score → bootstrap intervals and paired comparisons → write
<evals>/<stamp>/ (outputs.jsonl, summary.json, summary.md) atomically. Where things are comes in as BakeoffPaths.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from curation.errors import CancelledError, UsageError
from curation.example import Example
from curation.files import staged_folder, write_jsonl_atomic, write_text_atomic
from curation.jsonl import read_jsonl
from training.evaluation.cache import GenerationCache, endpoint_model_id, generation_key
from training.evaluation.candidates import (
    Candidate,
    adapter_fingerprint,
    few_shot_conversation,
    last_user,
    parse_candidates,
    rag_conversation,
    reply_context,
    strip_citations,
)
from training.evaluation.config import EvalConfig, MetricPlan, choose_metrics
from training.evaluation.endpoint_outputs import generate_endpoint
from training.evaluation.eval_set import (
    BakeoffPaths,
    EvalData,
    fingerprint,
    group_references,
    load_eval_data,
)
from training.evaluation.measures import count_tokens, endpoint_measures, local_measures
from training.evaluation.metrics import bootstrap_ci, paired_difference
from training.evaluation.results import (
    MARKDOWN_FILE,
    OUTPUTS_FILE,
    SUMMARY_FILE,
    Bakeoff,
    CandidateResult,
    Comparison,
)

Progress = Callable[[str, int, int], None]
CACHE_FILE = "generations.jsonl"
CHUNK = 16  # conversations generated between cache writes (what an interruption can lose at most)


# --- the run ----------------------------------------------------------------------------------------


class _Models:
    """Loads the base model once, and the base model plus an adapter per run, one at a time."""

    def __init__(self, model: str | None, batch_size: int, progress: Progress | None = None) -> None:
        self.model, self.batch_size, self.progress = model, batch_size, progress
        self.current: tuple[str | None, object] | None = None

    def generator(self, adapter: Path | None):
        from training.generate import load_generator

        key = str(adapter) if adapter else None
        if self.current is None or self.current[0] != key:
            self.current = None  # free the previous model first
            stage = "load model" + (f" + {Path(adapter).name}" if adapter else "")
            if self.progress:
                self.progress(stage, 0, 1)
            generator = load_generator(self.model, adapter=adapter)
            if self.progress:
                self.progress(stage, 1, 1)
            generator.batch_size = self.batch_size
            self.current = (key, generator)
        return self.current[1]

    def tokenizer(self):
        if self.current is not None:
            return self.current[1].tokenizer
        from training.model import load_model_tokenizer

        return load_model_tokenizer(self.model)[0]


def _few_shot_prompt(paths: BakeoffPaths, data: EvalData, config: EvalConfig, embedder, progress,
                     cancel) -> tuple[list[dict], str]:
    """The project's saved prompt (paths.prompt), else one built now from the train split."""
    from training.prompting import PromptConfig, build_prompt, load_prompt

    if paths.prompt is not None and paths.prompt.is_file():
        return load_prompt(paths.prompt), str(paths.prompt)
    if not data.train:
        raise UsageError("The few-shot candidate needs a prompt, and there is neither a saved prompt nor a train split.",
                         "Build one with `tunewise prompt build`, or curate data with a train split.")
    answers = paths.answers if paths.answers is not None and paths.answers.is_file() else None
    prompt_config = PromptConfig(examples=config.few_shot_examples, token_budget=config.prompt_budget,
                                 answers=str(answers) if answers else None, model=config.model)
    prompt = build_prompt(data.train, prompt_config, embedder=embedder, progress=progress, cancel=cancel)
    return prompt.messages, f"built from {len(data.train)} train examples ({len(prompt.examples)} shown)"


def _conversations(cand: Candidate, examples: list[Example], prompt: list[dict] | None, hits, tokenizer,
                   config: EvalConfig) -> list[list[dict]]:
    if cand.uses_rag:
        return [rag_conversation(e, h, tokenizer, config.rag_context_tokens) for e, h in zip(examples, hits)]
    if cand.uses_prompt:
        return [few_shot_conversation(prompt, e) for e in examples]
    return [reply_context(e) for e in examples]  # zero-shot, lora, prompt@ without a saved prompt


def _generate_local(cand: Candidate, conversations: list[list[dict]], keys: list[str], cache: GenerationCache,
                    models: _Models, config: EvalConfig, progress: Progress | None,
                    cancel: threading.Event | None) -> int:
    """Generate what the cache lacks in chunks, caching each chunk with its per-request latency; how many."""
    missing = [i for i, k in enumerate(keys) if cache.get(k) is None]
    stage = f"generate {cand.name}"
    if progress:
        progress(stage, len(keys) - len(missing), len(keys))
    for start in range(0, len(missing), CHUNK):
        batch = missing[start:start + CHUNK]
        done = len(keys) - len(missing) + start
        try:
            _check_cancel(cancel)
            generator = models.generator(cand.adapter)
            t0 = time.perf_counter()
            replies = generator.chat([conversations[i] for i in batch], max_new_tokens=config.max_new_tokens,
                                     cancel=cancel, progress=_offset(progress, stage, done, len(keys)))
            each = (time.perf_counter() - t0) / len(batch)
        except CancelledError:  # between chunks or within a reply: what is cached stays
            raise CancelledError(f"Evaluation cancelled; {len(cache.outputs)} outputs are cached and a re-run "
                                 "continues from them.") from None
        cache.put({keys[i]: reply for i, reply in zip(batch, replies)},
                  {keys[i]: {"latency_s": round(each, 6)} for i in batch})
        if progress:
            progress(stage, done + len(batch), len(keys))
    return len(missing)


def new_bakeoff_folder(evals: Path, now: datetime | None = None) -> Path:
    """evals/<UTC stamp>/, with -02, -03... when a bake-off of the same second exists (names sort oldest first)."""
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H-%M-%SZ")
    target, n = evals / stamp, 1
    while target.exists():
        n += 1
        target = evals / f"{stamp}-{n:02d}"
    return target


def run_bakeoff(
    project: str | Path,
    config: EvalConfig | None,
    paths: BakeoffPaths,
    data: str | Path | None = None,
    out_dir: str | Path | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    embedder=None,
) -> Bakeoff:
    """Run every candidate on the eval set, score them and write a bake-off folder under paths.evals; the summary.

    `paths` says where the split, the saved prompt, the index, the evals folder are and which endpoints exist (the
    project layer passes them from its layout); `project` is the folder whose runs/ hold the LoRA adapters.
    """
    from training.model import model_source

    config = config or EvalConfig()
    project = Path(project)
    if out_dir is not None and Path(out_dir).exists() and any(Path(out_dir).iterdir()) \
            and not (Path(out_dir) / SUMMARY_FILE).is_file():
        raise UsageError(f"{out_dir} exists and is not a bake-off folder.", "Pass a new or empty folder for --out.")
    started = time.perf_counter()
    eval_data = load_eval_data(paths.split, data)
    examples, references = group_references(eval_data.examples)
    if config.limit:
        examples, references = examples[: config.limit], references[: config.limit]
    has_prompt = paths.prompt is not None and paths.prompt.is_file()
    candidates = parse_candidates(config.candidates or ["all"], project, paths.index, list(paths.endpoints), has_prompt)
    plan = choose_metrics([r for refs in references for r in refs], config)
    several = sum(len(refs) > 1 for refs in references)
    if several:
        plan.reasons.append(f"{several} of {len(examples)} inputs have several references "
                            f"({sum(map(len, references))} in all): each output is scored against the one it matches best")
    leaked = EvalData(examples, eval_data.train, "").leaks()
    if leaked:
        plan.reasons.append(f"{len(leaked)} of {len(examples)} eval examples have the same input as a train example "
                            f"(e.g. {leaked[0]}): fine-tuned scores on them are inflated")

    if embedder is None and (any(c.uses_rag or c.uses_prompt for c in candidates) or "embedding" in plan.metrics):
        from curation.embed import Embedder

        embedder = Embedder()
    models = _Models(config.model, config.batch_size, progress)
    prompt, prompt_source = (None, None)
    if any(c.uses_prompt for c in candidates):
        prompt, prompt_source = _few_shot_prompt(paths, eval_data, config, embedder, progress, cancel)
    hits = None
    if any(c.uses_rag for c in candidates):
        from training.rag.index import load_rag_index
        from training.rag.retrieve import RetrieveConfig, search

        index = load_rag_index(paths.index, embedder.name)
        hits = search(index, [last_user(e) for e in examples], RetrieveConfig(k=config.rag_k, mode=config.rag_mode),
                      embedder, progress=(lambda d, t: progress("search", d, t)) if progress else None, cancel=cancel)

    cache = GenerationCache(paths.evals / "cache" / CACHE_FILE)
    model_fp = _model_fingerprint(model_source(config.model))
    decoding = {"max_new_tokens": config.max_new_tokens, "temperature": 0.0, "greedy": True}
    tokenizer = models.tokenizer()  # counts local tokens, fits retrieved passages (the same ones for rag@)
    outputs: dict[str, list[str]] = {}
    results: list[CandidateResult] = []
    # Endpoints first (a refused key or a wrong URL shows at once), then the base model's candidates, then one
    # adapter at a time: each model is loaded once.
    for cand in sorted(candidates, key=lambda c: (c.endpoint is None, c.adapter is not None)):
        t0 = time.perf_counter()
        conversations = _conversations(cand, examples, prompt, hits, tokenizer, config)
        if cand.endpoint is not None:
            endpoint = cand.endpoint
            keys = [generation_key(endpoint_model_id(endpoint.base_url, endpoint.model), None, decoding, c)
                    for c in conversations]
            outcome = generate_endpoint(cand.name, endpoint, conversations, keys, cache, config.max_new_tokens,
                                        progress, cancel)
            texts = [cache.get(k) or "" for k in keys]
            measures = endpoint_measures([cache.meta.get(k) for k in keys], outcome.failures, endpoint)
            generated, cached = outcome.generated, outcome.cached
            where = {"name": endpoint.name, "base_url": endpoint.base_url, "model": endpoint.model}
        else:
            adapter_fp = adapter_fingerprint(cand.adapter) if cand.adapter else None
            keys = [generation_key(model_fp, adapter_fp, decoding, c) for c in conversations]
            generated = _generate_local(cand, conversations, keys, cache, models, config, progress, cancel)
            cached = len(keys) - generated
            texts = [cache.get(k) or "" for k in keys]
            tokens_in, tokens_out = count_tokens(tokenizer, conversations, texts)
            measures = local_measures(tokens_in, tokens_out, [(cache.meta.get(k) or {}).get("latency_s") for k in keys])
            where = None
        outputs[cand.name] = [strip_citations(t) for t in texts] if cand.uses_rag else texts
        results.append(CandidateResult(cand.name, cand.kind, cand.describe(), {}, generated, cached,
                                       time.perf_counter() - t0, measures, where))
    models.current = None

    scores = score_outputs(outputs, references, plan, embedder, progress)
    for result in results:
        result.scores = {m: bootstrap_ci(scores[result.name][m], config.resamples, seed=config.seed) for m in plan.metrics}
    order = {c.name: n for n, c in enumerate(candidates)}
    results.sort(key=lambda r: order[r.name])
    comparisons = [
        Comparison(a.name, b.name, paired_difference(scores[a.name][plan.primary], scores[b.name][plan.primary],
                                                     config.resamples, seed=config.seed))
        for n, a in enumerate(results) for b in results[n + 1:]
    ]
    target = Path(out_dir) if out_dir else new_bakeoff_folder(paths.evals)
    settings = asdict(config) | {"prompt": prompt_source, "index": str(paths.index) if hits is not None else None,
                                 "model_source": model_source(config.model)}
    bakeoff = Bakeoff(
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"), folder=str(target),
        eval_source=eval_data.source, eval_fingerprint=fingerprint(examples, references), examples=len(examples),
        primary=plan.primary, metrics=list(plan.metrics), metric_reasons=plan.reasons, candidates=results,
        comparisons=comparisons, settings=settings, seconds=time.perf_counter() - started,
    )
    rows = per_example_rows(examples, references, outputs, scores, plan)
    write_bakeoff(bakeoff, rows, target)
    return bakeoff


def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise CancelledError("Evaluation cancelled.")


def _offset(progress: Progress | None, stage: str, done: int, total: int) -> Progress | None:
    """A generator's per-reply progress over one chunk, as progress over the candidate's whole stage."""
    return (lambda _stage, finished, _total: progress(stage, done + finished, total)) if progress else None


def _model_fingerprint(source: str) -> str:
    from curation.model_sources import model_fingerprint

    return model_fingerprint(source)


def _against(metric, output: str, refs: list[str]) -> float:
    """A metric against several references: the best match (for length ratio, the median reference's length)."""
    if not metric.higher_is_better:
        return metric.score(output, sorted(refs, key=lambda r: len(r.split()))[len(refs) // 2])
    return max(metric.score(output, r) for r in refs)


def score_outputs(outputs: dict[str, list[str]], references: list[list[str]], plan: MetricPlan, embedder=None,
                  progress: Progress | None = None) -> dict[str, dict[str, list[float]]]:
    """Per candidate, per metric, the score of each example against its best reference (embeddings in one batch)."""
    scores: dict[str, dict[str, list[float]]] = {}
    ref_vectors = None
    if "embedding" in plan.metrics:
        if embedder is None:
            raise UsageError("The embedding metric needs an embedder.")
        ref_vectors = embedder.encode([r for refs in references for r in refs])
        owner = np.repeat(np.arange(len(references)), [len(refs) for refs in references])
    for n, (name, texts) in enumerate(outputs.items()):
        per = {m: [_against(metric, t, refs) for t, refs in zip(texts, references)]
               for m, metric in plan.metrics.items() if metric.score is not None}
        if ref_vectors is not None:
            vectors = embedder.encode([t if t.strip() else " " for t in texts])
            similarity = np.sum(vectors[owner] * ref_vectors, axis=1)
            best = np.full(len(references), -1.0)
            np.maximum.at(best, owner, similarity)
            per["embedding"] = [max(0.0, float(x)) for x in best]
        scores[name] = {m: per[m] for m in plan.metrics}
        if progress:
            progress("score", n + 1, len(outputs))
    return scores


def per_example_rows(examples: list[Example], references: list[list[str]], outputs: dict[str, list[str]],
                     scores: dict[str, dict[str, list[float]]], plan: MetricPlan) -> list[dict]:
    """One record per example: input, reference(s), each candidate's output and scores, the spread on the primary."""
    rows = []
    for i, example in enumerate(examples):
        primary = [scores[c][plan.primary][i] for c in outputs]
        rows.append({
            "id": example.id, "input": example.input_text, "reference": references[i][0],
            **({"references": references[i]} if len(references[i]) > 1 else {}),
            "outputs": {c: outputs[c][i] for c in outputs},
            "scores": {c: {m: round(scores[c][m][i], 4) for m in plan.metrics} for c in outputs},
            "spread": round(max(primary) - min(primary), 4),
        })
    return rows


def write_bakeoff(bakeoff: Bakeoff, rows: list[dict], target: Path) -> None:
    """Write outputs.jsonl, summary.json and summary.md into target, all or nothing (a staging folder renamed)."""
    import json

    from training.evaluation.report import bakeoff_markdown

    with staged_folder(target) as staging:
        write_jsonl_atomic(staging / OUTPUTS_FILE, rows)
        write_text_atomic(staging / SUMMARY_FILE, json.dumps(bakeoff.to_dict(), indent=2, ensure_ascii=False) + "\n")
        write_text_atomic(staging / MARKDOWN_FILE, bakeoff_markdown(bakeoff, rows))


def load_rows(folder: str | Path) -> list[dict]:
    """The per-example records of a bake-off folder (outputs.jsonl)."""
    return read_jsonl(Path(folder) / OUTPUTS_FILE)
