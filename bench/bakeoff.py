"""The full bake-off (see bench/README.md), as `tunewise finetune` + `tunewise eval` run it for a user.

--task e2e (default): the E2E restaurant task: train an adapter, then score zero-shot, the few-shot prompt and the
    adapter on 100 held-out attribute sets.
--task squad: SQuAD v1.1 dev as a knowledge task: the paragraphs become the project's documents (a RAG index),
    questions from other paragraphs the train split; zero-shot, few-shot and RAG on 100 held-out questions.

Run:  .venv/bin/python bench/bakeoff.py [--task e2e|squad] [--train 300] [--steps 40] [--heldout 100] [--work DIR]
Smoke: .venv/bin/python bench/bakeoff.py --train 16 --steps 2 --heldout 4 --max-new-tokens 8
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
    from training.finetune import finetune, load_training_data
    from training.lora_config import LoraSettings

    data = load_training_data(root)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", choices=["e2e", "squad"], default="e2e")
    parser.add_argument("--train", type=int, default=300)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--heldout", type=int, default=100)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--work", type=Path, help="Project folder (default: a temporary one, removed after)")
    args = parser.parse_args()

    from training.evaluation.config import EvalConfig
    from training.evaluation.harness import run_bakeoff
    from training.evaluation.report import verdict_line

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
    train_s = time.perf_counter() - t0
    stage_times: dict[str, float] = {}
    marks: dict[str, float] = {}

    def progress(stage: str, done: int, total: int) -> None:
        marks.setdefault(stage, time.perf_counter())
        if done >= total:
            stage_times[stage] = time.perf_counter() - marks[stage]

    config = EvalConfig(candidates=candidates, max_new_tokens=args.max_new_tokens, batch_size=16)
    t0 = time.perf_counter()
    bakeoff = run_bakeoff(work, config, progress=progress)
    eval_s = time.perf_counter() - t0
    total_s = time.perf_counter() - started
    t0 = time.perf_counter()
    again = run_bakeoff(work, config)
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
    print(json.dumps({"folder": bakeoff.folder, "train_s": round(train_s, 1), "eval_s": round(eval_s, 1),
                      "total_s": round(total_s, 1), "rerun_s": round(rerun_s, 1),
                      "scores": {c.name: c.scores[bakeoff.primary].to_dict() for c in bakeoff.candidates}}))
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
