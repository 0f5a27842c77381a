"""The full bake-off (see bench/README.md), as `tunewise finetune` + `tunewise eval` run it for a user.

--task e2e (default): the E2E restaurant task: train an adapter, then score zero-shot, the few-shot prompt and the
    adapter on 100 held-out attribute sets.
--task squad: SQuAD v1.1 dev as a knowledge task: the paragraphs become the project's documents (a RAG index),
    questions from other paragraphs the train split; zero-shot, few-shot and RAG on 100 held-out questions.

--endpoint NAME=URL,MODEL[,PRICE_IN,PRICE_OUT] (repeatable) or --endpoints FILE (a project's endpoints.yaml): each
    OpenAI-compatible endpoint also answers, as prompt@NAME (the few-shot prompt the local few-shot candidate uses,
    saved in the project first) and, with --task squad, rag@NAME (the same retrieved passages as rag). Prices are
    USD per 1M input/output tokens. Prints cost per 1,000 requests and latency p50/p95 per candidate, and the
    endpoint's overhead against the same model in-process when it serves the packaged one.

Run:  .venv/bin/python bench/bakeoff.py [--task e2e|squad] [--train 300] [--steps 40] [--heldout 100] [--work DIR]
Smoke: .venv/bin/python bench/bakeoff.py --train 16 --steps 2 --heldout 4 --max-new-tokens 8
Served: transformers serve --port 8011 PACKAGED_MODEL_DIR &   (then)
       .venv/bin/python bench/bakeoff.py --limit 20 --endpoint served=http://127.0.0.1:8011/v1,PACKAGED_MODEL_DIR
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from lora import SYSTEM, conversation, split_e2e  # noqa: E402  (same split and chat as bench/lora.py)

RUN = "e2e"


def write_project(root: Path, n_train: int, n_heldout: int) -> None:
    """A tunewise project with curated/train.jsonl and eval.jsonl (every reference of each held-out set: the harness
    groups them and scores each output against its best match, as bench/lora.py does)."""
    from curation.files import write_jsonl_atomic
    from curation.split_files import EVAL, TRAIN

    train, heldout = split_e2e(n_train, n_heldout)
    curated = root / "curated"
    curated.mkdir(parents=True)
    write_jsonl_atomic(curated / TRAIN, (
        {"id": f"train-{i}", "messages": conversation(a, t)} for i, (a, t) in enumerate(train)))
    write_jsonl_atomic(curated / EVAL, (
        {"id": f"eval-{i}-{j}", "messages": conversation(a, ref)}
        for i, (a, refs) in enumerate(sorted(heldout.items())) for j, ref in enumerate(refs)))


def train_adapter(root: Path, steps: int) -> dict:
    """A LoRA run with bench/lora.py's settings, as `tunewise finetune` runs it."""
    from advisor.project.layout import Layout
    from training.finetune import finetune, load_training_data
    from training.lora_config import LoraSettings

    data = load_training_data(Layout(root).current_split())
    settings = LoraSettings(rank=8, alpha=16, dropout=0.05, learning_rate=1e-3, max_steps=steps, batch_size=8,
                            warmup_ratio=0.05, max_length=256, seed=0)
    return finetune(data, settings, root / "runs" / RUN).metrics


def write_squad_project(root: Path, n_train: int, n_heldout: int, distractors: int = 200) -> None:
    """Documents = the paragraphs of the held-out and train questions plus distractors; one question per paragraph.

    Eval lines carry every distinct annotator answer (the harness scores against the best match).
    """
    import random

    import _data

    from curation.files import write_jsonl_atomic
    from curation.split_files import EVAL, TRAIN

    paragraphs = [p for p in _data._squad_paragraphs() if p["qas"]]
    random.Random(0).shuffle(paragraphs)
    held, train, extra = (paragraphs[:n_heldout], paragraphs[n_heldout:n_heldout + n_train],
                          paragraphs[n_heldout + n_train:n_heldout + n_train + distractors])
    docs = root / "docs"
    docs.mkdir(parents=True)
    for n, p in enumerate(held + train + extra):
        (docs / f"p{n:04d}.txt").write_text(p["context"] + "\n")

    def chat(question: str, answer: str) -> list[dict]:
        return [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]

    curated = root / "curated"
    curated.mkdir()
    write_jsonl_atomic(curated / TRAIN, (
        {"id": f"train-{n}", "messages": chat(p["qas"][0]["question"], p["qas"][0]["answers"][0]["text"])}
        for n, p in enumerate(train)))
    write_jsonl_atomic(curated / EVAL, (
        {"id": f"eval-{n}-{j}", "messages": chat(p["qas"][0]["question"], answer)}
        for n, p in enumerate(held) for j, answer in enumerate(dict.fromkeys(a["text"] for a in p["qas"][0]["answers"]))))


def build_index(root: Path) -> float:
    """The project's RAG index over its docs/ (default settings); returns seconds."""
    from training.rag.index import build_rag_index

    t0 = time.perf_counter()
    build_rag_index([root / "docs"], root / "index")
    return time.perf_counter() - t0


def parse_endpoint(text: str, timeout_s: float = 600.0):
    """An Endpoint from NAME=URL,MODEL[,PRICE_IN,PRICE_OUT] (prices in USD per 1M tokens, dated today); a long
    timeout and no retries, so a slow CPU server is measured rather than retried."""
    from datetime import date

    from training.endpoints import Endpoint

    name, _, rest = text.partition("=")
    parts = rest.split(",")
    if not name or len(parts) not in (2, 4):
        raise SystemExit(f"--endpoint {text!r}: expected NAME=URL,MODEL[,PRICE_IN,PRICE_OUT]")
    prices = {}
    if len(parts) == 4:
        prices = {"price_in_per_mtok": float(parts[2]), "price_out_per_mtok": float(parts[3]),
                  "price_date": date.today().isoformat(), "price_source": "given on the bench command line"}
    return Endpoint(name=name, base_url=parts[0], model=parts[1], timeout_s=timeout_s, max_retries=0, **prices)


def save_few_shot_prompt(root: Path, examples: int = 3, budget: int = 1024) -> None:
    """Build the few-shot prompt from the train split and save it in the project, as `tunewise prompt build` does,
    so the local few-shot candidate and every prompt@ endpoint get the same one."""
    from advisor.project.layout import Layout
    from training.finetune import load_training_data
    from training.prompting import PromptConfig, build_prompt, save_prompt

    config = PromptConfig(examples=examples, token_budget=budget)
    save_prompt(build_prompt(load_training_data(Layout(root).current_split()).train, config), root / "prompt", config)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", choices=["e2e", "squad"], default="e2e")
    parser.add_argument("--train", type=int, default=300)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--heldout", type=int, default=100)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--work", type=Path, help="Project folder (default: a temporary one, removed after)")
    parser.add_argument("--limit", type=int, help="Evaluate only the first N held-out inputs")
    parser.add_argument("--endpoint", action="append", default=[], metavar="NAME=URL,MODEL[,PRICE_IN,PRICE_OUT]",
                        help="An OpenAI-compatible endpoint to compare (repeatable)")
    parser.add_argument("--endpoints", type=Path, help="A project's endpoints.yaml to compare against")
    parser.add_argument("--endpoint-timeout", type=float, default=600.0, help="Seconds per request for --endpoint")
    args = parser.parse_args()

    from advisor.project.bakeoff import run_project_bakeoff
    from training.endpoints import load_endpoints, save_endpoints
    from training.evaluation.config import EvalConfig
    from training.evaluation.report import cost_line, measure_cells, verdict_line

    endpoints = [parse_endpoint(e, args.endpoint_timeout) for e in args.endpoint] + (load_endpoints(args.endpoints) if args.endpoints else [])

    work = args.work or Path(tempfile.mkdtemp(prefix="tunewise-bakeoff-"))
    if args.work and work.exists():
        shutil.rmtree(work)
    started = time.perf_counter()
    t0 = time.perf_counter()
    if args.task == "e2e":
        write_project(work, args.train, args.heldout)
        metrics = train_adapter(work, args.steps)
        candidates = ["zero-shot", "few-shot", f"lora:{RUN}"]
        what = (f"E2E: {args.train} train examples, {args.steps} steps x batch 8 (adapter: train loss "
                f"{metrics['train_loss']:.3f}); held-out attribute sets; system line: {SYSTEM!r}")
    else:
        write_squad_project(work, args.train, args.heldout)
        build_index(work)
        candidates = ["zero-shot", "few-shot", "rag"]
        what = (f"SQuAD v1.1 dev: {args.heldout} held-out questions, {args.train} train questions from other paragraphs, "
                f"index over {len(list((work / 'docs').iterdir()))} paragraphs (the held-out ones among them)")
    if endpoints:
        save_endpoints(work / "endpoints.yaml", endpoints)
        save_few_shot_prompt(work)
        candidates += [f"prompt@{e.name}" for e in endpoints]
        candidates += [f"rag@{e.name}" for e in endpoints] if args.task == "squad" else []
    train_s = time.perf_counter() - t0
    stage_times: dict[str, float] = {}
    marks: dict[str, float] = {}

    def progress(stage: str, done: int, total: int) -> None:
        marks.setdefault(stage, time.perf_counter())
        if done >= total:
            stage_times[stage] = time.perf_counter() - marks[stage]

    config = EvalConfig(candidates=candidates, max_new_tokens=args.max_new_tokens, batch_size=16, limit=args.limit)
    t0 = time.perf_counter()
    bakeoff = run_project_bakeoff(work, config, progress=progress)
    eval_s = time.perf_counter() - t0
    total_s = time.perf_counter() - started
    t0 = time.perf_counter()
    again = run_project_bakeoff(work, config)
    rerun_s = time.perf_counter() - t0

    print(what + "\n")
    print(Path(bakeoff.folder, "summary.md").read_text().split("### Where")[0])
    print("\nwall time on this machine:")
    print(f"  {'train the adapter' if args.task == 'e2e' else 'build the RAG index':<24} {train_s:6.1f} s")
    for stage, seconds in stage_times.items():
        print(f"  {stage:<24} {seconds:6.1f} s")
    print(f"  bake-off total           {eval_s:6.1f} s")
    print(f"  whole run                {total_s:6.1f} s")
    print(f"  re-run (all cached)      {rerun_s:6.1f} s  (generated: {sum(c.generated for c in again.candidates)})")
    print("\n" + verdict_line(bakeoff).replace("**", ""))
    print(cost_line(bakeoff).replace("**", ""))
    print(f"\n{'candidate':<22} {bakeoff.primary:>22}  {'tokens in/out':>14}  {'$ / 1k req':>10}  {'latency p50/p95':>16}  failures")
    for c in bakeoff.ranked():
        tokens, cost, latency, failures = measure_cells(c)
        score = c.scores[bakeoff.primary]
        print(f"{c.name:<22} {score.mean:>8.3f} [{score.low:.3f}–{score.high:.3f}]  {tokens:>14}  {cost:>10}  "
              f"{latency:>16}  {failures}")
    overhead = endpoint_overhead(bakeoff, stage_times)
    for line in overhead:
        print(line)
    print(json.dumps({"folder": bakeoff.folder, "train_s": round(train_s, 1), "eval_s": round(eval_s, 1),
                      "total_s": round(total_s, 1), "rerun_s": round(rerun_s, 1),
                      "scores": {c.name: c.scores[bakeoff.primary].to_dict() for c in bakeoff.candidates},
                      "measures": {c.name: c.measures.to_dict() if c.measures else None for c in bakeoff.candidates},
                      "stage_s": {k: round(v, 1) for k, v in stage_times.items()}}))
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


def endpoint_overhead(bakeoff, stage_times: dict[str, float]) -> list[str]:
    """Per endpoint candidate: whether it answered exactly as its in-process twin (prompt@ ~ few-shot, rag@ ~ rag),
    and its generation wall time against the twin's (the overhead of serving it, at the endpoint's concurrency)."""
    from training.evaluation.harness import load_rows

    rows = load_rows(bakeoff.folder)
    lines = []
    for c in bakeoff.candidates:
        if c.endpoint is None:
            continue
        twin = "rag" if c.kind == "rag@" else ("few-shot" if "few-shot prompt" in c.description else "zero-shot")
        if twin not in {x.name for x in bakeoff.candidates}:
            continue
        same = sum(r["outputs"][c.name] == r["outputs"][twin] for r in rows)
        served, local = stage_times.get(f"generate {c.name}"), stage_times.get(f"generate {twin}")
        timing = ""
        if served and local:
            timing = (f"; generation {served:.1f} s served vs {local:.1f} s in-process "
                      f"(overhead {100 * (served - local) / local:+.0f}%)")
        lines.append(f"{c.name} vs {twin} in-process: {same} of {len(rows)} outputs identical{timing}")
    return lines


if __name__ == "__main__":
    main()
