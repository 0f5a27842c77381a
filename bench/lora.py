"""LoRA fine-tuning benchmark on the E2E restaurant task (see bench/README.md).

Sections:
  1. throughput: useful (non-pad) tokens/s and peak memory of tunewise's fine-tune path vs a plain
     peft + Trainer baseline (default padding collator, loss on the whole sequence) — same model, data,
     LoRA settings and steps; each run in its own subprocess so its peak RSS can be read
  2. quality: ROUGE-L on held-out attribute sets (never seen in training, all their references), base
     model zero-shot vs the adapter tunewise trained in section 1

  3. --processes 1 2: the CLI (`tunewise finetune --processes N`, accelerate launch, gloo on a CPU) on the same
     work (same steps and global batch: batch/N per process): useful tokens/s, peak memory per process, and the
     memory estimate finetune() made against the peak it measured
  4. --device cuda: on a GPU, LoRA vs QLoRA (--quantize 4bit) of the packaged model: tokens/s and peak GPU memory
     (torch.cuda.max_memory_allocated); refuses clearly without CUDA (and names the extra without bitsandbytes)

Run:  .venv/bin/python bench/lora.py [--train 256] [--steps 32] [--heldout 100] [--out results.json]
      nice -n 10 .venv/bin/python bench/lora.py --processes 1 2 --train 64 --steps 8
      .venv/bin/python bench/lora.py --device cuda --steps 32
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import _data  # noqa: E402

SYSTEM = "Write a one-sentence description of the restaurant from its attributes."
LORA = {"rank": 8, "alpha": 16, "dropout": 0.05, "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"]}
SEED = 0


# --- data ----------------------------------------------------------------------------------------


def split_e2e(n_train: int, n_heldout: int, seed: int = SEED) -> tuple[list[tuple[str, str]], dict[str, list[str]]]:
    """Train pairs and held-out attribute sets (with all their references); no attribute set is on both sides."""
    by_input: dict[str, list[str]] = {}
    for attributes, text in _data.e2e_examples():
        by_input.setdefault(attributes, []).append(text)
    inputs = sorted(by_input)
    random.Random(seed).shuffle(inputs)
    heldout = {a: by_input[a] for a in inputs[:n_heldout]}
    pool = [(a, t) for a in inputs[n_heldout:] for t in by_input[a]]
    random.Random(seed).shuffle(pool)
    return pool[:n_train], heldout


def conversation(attributes: str, text: str | None = None) -> list[dict]:
    """The chat both the training and the evaluation use."""
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": attributes}]
    return messages + ([{"role": "assistant", "content": text}] if text is not None else [])


# --- measurements (each runs in a subprocess) ----------------------------------------------------


def _peak_accelerator_mb() -> float | None:
    import torch

    return torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None


def measure_tunewise(args: argparse.Namespace, work: Path, precision: str = "auto") -> dict:
    """tunewise's path as the CLI runs it: training.finetune.finetune (template, reply-only loss, grouped batches)."""
    from curation.example import Example
    from training.finetune import TrainingData, finetune
    from training.lora_config import LoraSettings

    train, _ = split_e2e(args.train, args.heldout)
    examples = [Example(f"e2e-{i}", conversation(a, t)) for i, (a, t) in enumerate(train)]
    settings = LoraSettings(**LORA, learning_rate=args.lr, max_steps=args.steps, batch_size=args.batch_size,
                            warmup_ratio=0.05, max_length=256, seed=SEED, precision=precision)
    run_dir = work / "runs" / ("tunewise" if precision == "auto" else f"tunewise-{precision}")
    result = finetune(TrainingData(examples, [], "e2e"), settings, run_dir)
    m = result.metrics
    from training.runs import read_metrics

    steps = [r["tokens_per_s"] for r in read_metrics(run_dir) if r.get("kind") == "train"]
    return {"useful_tokens": m["train_tokens_seen"], "train_seconds": m["train_runtime_s"],
            "step_tokens_per_s": steps, "train_cpu_seconds": m["train_cpu_s"],
            "useful_tokens_per_s": m["train_tokens_seen"] / m["train_runtime_s"], "padding_waste": m["padding_waste"],
            "loss_tokens": result.data["trained_tokens"], "all_tokens": result.data["tokens"], "steps": m["steps"],
            "final_train_loss": m["train_loss"], "run_dir": str(run_dir), "peak_accelerator_mb": _peak_accelerator_mb(),
            "precision": runs_precision(run_dir),
            # the estimate finetune() checked before training, against the peak it measured (target: within 20%)
            "memory_estimate_gb": m.get("memory_estimate_gb"), "peak_memory_gb": m.get("peak_memory_gb")}


def runs_precision(run_dir: Path) -> str:
    """The precision a tunewise run resolved to (bf16 / fp32)."""
    from training.runs import read_run

    return read_run(run_dir).get("precision", "?")


def step_clock(counter):
    """A callback timing each optimizer step like tunewise's run callback: useful tokens / seconds, plus train CPU time."""
    from transformers import TrainerCallback

    class StepClock(TrainerCallback):
        def __init__(self) -> None:
            self.speeds: list[float] = []
            self.cpu = 0.0

        def on_train_begin(self, args, state, control, **kwargs):
            self.mark, self.tokens, self.cpu_start = time.perf_counter(), counter.tokens, time.process_time()

        def on_step_end(self, args, state, control, **kwargs):
            now = time.perf_counter()
            self.speeds.append(round((counter.tokens - self.tokens) / max(now - self.mark, 1e-9), 1))
            self.mark, self.tokens = now, counter.tokens

        def on_train_end(self, args, state, control, **kwargs):
            self.cpu = time.process_time() - self.cpu_start

    return StepClock()


def measure_baseline(args: argparse.Namespace, work: Path) -> dict:
    """Plain peft + Trainer: templated text, DataCollatorForLanguageModeling (pads, labels = input_ids)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import (
        DataCollatorForLanguageModeling,
        PrinterCallback,
        Trainer,
        TrainingArguments,
        set_seed,
    )

    from training.finetune import TokenCounter
    from training.model import load_model

    set_seed(SEED)
    loaded = load_model()
    tokenizer = loaded.tokenizer
    train, _ = split_e2e(args.train, args.heldout)
    texts = [tokenizer.apply_chat_template(conversation(a, t), tokenize=False) for a, t in train]
    dataset = [dict(tokenizer(text, add_special_tokens=False)) for text in texts]
    model = get_peft_model(loaded.model, LoraConfig(r=LORA["rank"], lora_alpha=LORA["alpha"], lora_dropout=LORA["dropout"],
                                                    target_modules=LORA["target_modules"], task_type="CAUSAL_LM"))
    counter, padded = TokenCounter(), [0]
    model.register_forward_pre_hook(counter, with_kwargs=True)
    model.register_forward_pre_hook(lambda m, a, kw: padded.__setitem__(0, padded[0] + kw["input_ids"].numel()), with_kwargs=True)
    training_args = TrainingArguments(
        output_dir=str(work / "baseline"), per_device_train_batch_size=args.batch_size, learning_rate=args.lr,
        max_steps=args.steps, warmup_steps=0.05, lr_scheduler_type="linear", logging_steps=1, save_strategy="no",
        report_to="none", disable_tqdm=True, seed=SEED, data_seed=SEED, use_cpu=loaded.device == "cpu",
        bf16=loaded.device == "cuda" and torch.cuda.is_bf16_supported(),
    )
    clock = step_clock(counter)
    trainer = Trainer(model=model, args=training_args, train_dataset=dataset, callbacks=[clock],
                      data_collator=DataCollatorForLanguageModeling(tokenizer, mlm=False))
    trainer.remove_callback(PrinterCallback)
    output = trainer.train()
    seconds = output.metrics["train_runtime"]
    collated = DataCollatorForLanguageModeling(tokenizer, mlm=False)(dataset[: args.batch_size])
    eos_in_labels = int((collated["labels"] == tokenizer.eos_token_id).sum())
    return {"useful_tokens": counter.tokens, "train_seconds": seconds, "useful_tokens_per_s": counter.tokens / seconds,
            "step_tokens_per_s": clock.speeds, "train_cpu_seconds": clock.cpu,
            "padding_waste": 1 - counter.tokens / padded[0], "steps": trainer.state.global_step,
            "final_train_loss": next(r["loss"] for r in reversed(trainer.state.log_history) if "loss" in r),
            "eos_labels_in_first_batch": eos_in_labels, "examples_in_first_batch": min(args.batch_size, len(dataset)),
            "peak_accelerator_mb": _peak_accelerator_mb()}


def rouge_l(candidate: str, references: list[str]) -> float:
    """ROUGE-L F1 (LCS over lower-cased word tokens, punctuation left out), best over the references."""
    import re

    from training.evaluation.metrics import lcs_length

    def tokens(text: str) -> list[str]:
        return re.findall(r"\w+", text.lower())

    def f1(a: list[str], b: list[str]) -> float:
        lcs = lcs_length(a, b) if a and b else 0
        return 0.0 if lcs == 0 else 2 * lcs / (len(a) + len(b))

    cand = tokens(candidate)
    return max(f1(cand, tokens(ref)) for ref in references)


def measure_quality(args: argparse.Namespace, work: Path) -> dict:
    """Generate for each held-out attribute set with the base model and with the tuned adapter; score ROUGE-L."""
    from training.generate import load_generator

    _, heldout = split_e2e(args.train, args.heldout)
    inputs = sorted(heldout)
    prompts = [conversation(a) for a in inputs]
    out: dict = {"heldout": len(inputs), "references_per_input": round(sum(len(v) for v in heldout.values()) / len(inputs), 2)}
    for label, adapter in (("base zero-shot", None), ("tunewise adapter", work / "runs" / "tunewise")):
        generator = load_generator(adapter=adapter)
        generator.batch_size = 16
        start = time.perf_counter()
        replies = generator.chat(prompts, max_new_tokens=args.max_new_tokens)
        seconds = time.perf_counter() - start
        scores = [rouge_l(r, heldout[a]) for r, a in zip(replies, inputs)]
        lengths = [len(generator.tokenizer(r, add_special_tokens=False)["input_ids"]) for r in replies]
        out[label] = {"rouge_l": sum(scores) / len(scores), "mean_reply_tokens": sum(lengths) / len(lengths),
                      "hit_max_new_tokens": sum(n >= args.max_new_tokens - 1 for n in lengths), "seconds": seconds,
                      "examples": [{"input": a, "output": r, "reference": heldout[a][0]} for a, r in list(zip(inputs, replies))[:3]]}
    return out


def measure_gpu(args: argparse.Namespace, work: Path, quantize: str) -> dict:
    """One tunewise run on the GPU (LoRA or QLoRA): useful tokens/s, peak GPU memory, the estimate it made."""
    import torch

    from curation.example import Example
    from training.finetune import TrainingData, finetune
    from training.lora_config import LoraSettings

    train, _ = split_e2e(args.train, args.heldout)
    examples = [Example(f"e2e-{i}", conversation(a, t)) for i, (a, t) in enumerate(train)]
    settings = LoraSettings(**LORA, learning_rate=args.lr, max_steps=args.steps, batch_size=args.batch_size,
                            warmup_ratio=0.05, max_length=256, seed=SEED, quantize=quantize, report_to="none",
                            model=args.model)
    torch.cuda.reset_peak_memory_stats()
    result = finetune(TrainingData(examples, [], "e2e"), settings, work / "runs" / f"gpu-{quantize}")
    m = result.metrics
    return {"quantize": quantize, "useful_tokens_per_s": m["train_tokens_seen"] / m["train_runtime_s"],
            "median_step_tokens_per_s": m["tokens_per_s"], "train_seconds": m["train_runtime_s"], "steps": m["steps"],
            "peak_gpu_mb": torch.cuda.max_memory_allocated() / 2**20, "memory_estimate_gb": m["memory_estimate_gb"],
            "final_train_loss": m["train_loss"], "gpu": torch.cuda.get_device_name()}


def measure_processes(args: argparse.Namespace, work: Path, processes: int) -> dict:
    """`tunewise finetune --processes N` as a user runs it, on the same global batch (batch/N per process)."""
    from training.runs import read_metrics, read_run

    data = work / "e2e.jsonl"
    if not data.exists():
        train, _ = split_e2e(args.train, args.heldout)
        data.write_text("".join(json.dumps({"id": f"e2e-{i}", "messages": conversation(a, t)}) + "\n"
                                for i, (a, t) in enumerate(train)))
    name = f"p{processes}"
    cmd = [sys.executable, "-m", "advisor.cli", "finetune", str(data), "--project", str(work), "--name", name,
           "--processes", str(processes), "--max-steps", str(args.steps), "--batch-size", str(args.batch_size // processes),
           "--lr", str(args.lr), "--max-length", "256", "--eval-fraction", "0.05", "--patience", "0",
           "--eval-steps", str(args.steps), "--report-to", "none", "--target-modules", ",".join(LORA["target_modules"])]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)  # ru_maxrss: the largest process of the launcher's tree
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"tunewise finetune --processes {processes} failed (exit {os.waitstatus_to_exitcode(status)})")
    run = work / "runs" / name
    m = read_run(run)["metrics"]
    steps = [r["tokens_per_s"] for r in read_metrics(run) if r.get("kind") == "train"][1:]  # step 1 warms up
    import statistics

    return {"processes": processes, "steps": m["steps"], "train_seconds": m["train_runtime_s"],
            # the main process counts its own tokens; every process trains on as many (the sampler splits evenly)
            "useful_tokens_per_s": m["train_tokens_seen"] * processes / m["train_runtime_s"],
            "median_step_tokens_per_s": statistics.median(steps) * processes if steps else None,
            "peak_memory_gb_main": m["peak_memory_gb"], "peak_rss_gb_largest": usage.ru_maxrss / 2**20,
            "memory_estimate_gb": m["memory_estimate_gb"], "process_seconds": time.perf_counter() - start}


def compare_processes(args: argparse.Namespace) -> dict:
    """Section 3: 1 process against 2 on the same work; printed and returned."""
    results = {}
    with tempfile.TemporaryDirectory(prefix="tunewise-bench-processes-") as tmp:
        for n in args.processes:
            results[n] = measure_processes(args, Path(tmp), n)
    print(f"\n3. Processes (accelerate launch, {'gloo on the CPU' if args.device == 'cpu' else 'GPU'}): "
          f"{args.steps} steps, global batch {args.batch_size}, {args.train} E2E examples, {os.cpu_count()} cores\n")
    print(f"{'processes':>9}{'useful tok/s':>14}{'median step':>13}{'train s':>9}{'peak GB/process':>17}"
          f"{'estimate GB':>13}{'est/peak':>10}")
    for n, r in results.items():
        ratio = r["memory_estimate_gb"] / r["peak_memory_gb_main"] if r["peak_memory_gb_main"] else float("nan")
        print(f"{n:>9}{r['useful_tokens_per_s']:>14.1f}{r['median_step_tokens_per_s'] or 0:>13.1f}{r['train_seconds']:>9.1f}"
              f"{r['peak_rss_gb_largest']:>17.2f}{r['memory_estimate_gb']:>13.2f}{ratio:>10.2f}")
    return results


def compare_gpu(args: argparse.Namespace, work: Path) -> dict:
    """Section 4: LoRA vs QLoRA on the GPU, each in its own process (its own peak)."""
    results = {}
    for quantize in ("none", "4bit"):
        results[quantize] = run_measurement(f"gpu_{quantize}", args, work)
    print(f"\n4. GPU ({results['none']['gpu']}): {args.model or 'SmolLM2-135M-Instruct'}, {args.steps} steps x batch "
          f"{args.batch_size}\n")
    print(f"{'base':<16}{'useful tok/s':>14}{'train s':>9}{'peak GPU MB':>13}{'estimate GB':>13}{'final loss':>12}")
    for label, r in (("LoRA (bf16/fp16)", results["none"]), ("QLoRA (4-bit)", results["4bit"])):
        print(f"{label:<16}{r['useful_tokens_per_s']:>14.1f}{r['train_seconds']:>9.1f}{r['peak_gpu_mb']:>13.0f}"
              f"{r['memory_estimate_gb']:>13.2f}{r['final_train_loss']:>12.3f}")
    return results


MEASUREMENTS = {
    "gpu_none": lambda args, work: measure_gpu(args, work, "none"),
    "gpu_4bit": lambda args, work: measure_gpu(args, work, "4bit"),
    "baseline": measure_baseline,
    "tunewise_fp32": lambda args, work: measure_tunewise(args, work, "fp32"),
    "tunewise": measure_tunewise,
    "quality": measure_quality,
}


def run_measurement(name: str, args: argparse.Namespace, work: Path) -> dict:
    """Run one measurement in a fresh subprocess; add its wall time and peak RSS (ru_maxrss)."""
    result_file = work / f"{name}.json"
    import shutil

    previous = {"tunewise": "tunewise", "tunewise_fp32": "tunewise-fp32"}.get(name)
    if previous:  # a repeat starts a fresh run
        shutil.rmtree(work / "runs" / previous, ignore_errors=True)
    cmd = [sys.executable, __file__, "--_measure", name, "--_work", str(work), "--train", str(args.train),
           "--heldout", str(args.heldout), "--steps", str(args.steps), "--batch-size", str(args.batch_size),
           "--lr", str(args.lr), "--max-new-tokens", str(args.max_new_tokens), "--device", args.device]
    cmd += ["--model", args.model] if args.model else []
    start = time.perf_counter()
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"measurement {name} failed (exit {os.waitstatus_to_exitcode(status)})")
    return {**json.loads(result_file.read_text()), "process_seconds": time.perf_counter() - start,
            "peak_rss_mb": usage.ru_maxrss / 1024}


# --- report --------------------------------------------------------------------------------------


def _summary(runs: list[dict]) -> dict:
    """One row from (possibly repeated) runs: medians of per-step speed, means of the rest."""
    import statistics

    out = dict(runs[0])
    out["median_step_tokens_per_s"] = statistics.median(s for r in runs for s in r["step_tokens_per_s"][1:])  # step 1 warms up
    out["cpu_tokens_per_s"] = sum(r["useful_tokens"] for r in runs) / sum(r["train_cpu_seconds"] for r in runs)
    for key in ("useful_tokens_per_s", "train_seconds", "peak_rss_mb", "final_train_loss", "padding_waste"):
        out[key] = sum(r[key] for r in runs) / len(runs)
    return out


def print_report(results: dict, args: argparse.Namespace) -> None:
    import torch

    base, fp32, ours = (_summary(results[k]) for k in ("baseline", "tunewise_fp32", "tunewise"))
    print(f"\nLoRA benchmark: E2E NLG, SmolLM2-135M-Instruct, r={LORA['rank']} alpha={LORA['alpha']} on q/k/v/o, "
          f"{args.train} train examples, {args.steps} steps x batch {args.batch_size}, lr {args.lr}, "
          f"{'GPU' if torch.cuda.is_available() else f'CPU ({os.cpu_count()} cores, torch threads {torch.get_num_threads()})'}, "
          f"{len(results['baseline'])} alternating run(s) per path")
    print("\n1. Throughput in useful (non-pad) tokens per second (same model, data, LoRA settings, steps)\n")
    print(f"{'path':<42}{'median step':>12}{'per CPU-s':>10}{'wall':>8}{'pad waste':>10}{'train s':>9}{'peak RSS MB':>12}")
    rows = (("baseline: peft+Trainer, pad collator, fp32", base), ("tunewise, forced fp32 (data path only)", fp32),
            (f"tunewise default (precision auto = {ours['precision']})", ours))
    for label, r in rows:
        print(f"{label:<42}{r['median_step_tokens_per_s']:>12.1f}{r['cpu_tokens_per_s']:>10.1f}{r['useful_tokens_per_s']:>8.1f}"
              f"{r['padding_waste']:>10.1%}{r['train_seconds']:>9.1f}{r['peak_rss_mb']:>12.0f}")
    print()
    for label, r in rows[1:]:
        ratios = {k: r[k] / base[k] for k in ("median_step_tokens_per_s", "cpu_tokens_per_s", "useful_tokens_per_s")}
        print(f"{label}: {ratios['median_step_tokens_per_s']:.2f}x median step, {ratios['cpu_tokens_per_s']:.2f}x per CPU-second, "
              f"{ratios['useful_tokens_per_s']:.2f}x wall")
    met = ours["median_step_tokens_per_s"] / base["median_step_tokens_per_s"] >= 1.3
    print(f"target >= 1.3x the baseline's useful tokens/s (tunewise default, median step): {'met' if met else 'NOT met'}")
    print(f"useful tokens per run: baseline {base['useful_tokens']}, tunewise {ours['useful_tokens']} (same examples)")
    print(f"tunewise trains on {ours['loss_tokens']} of {ours['all_tokens']} tokens (assistant replies + end-of-turn); "
          f"the baseline's labels hold {base['eos_labels_in_first_batch']} end-of-turn tokens in its first batch of "
          f"{base['examples_in_first_batch']} examples (pad == eos, so its collator masks them)")
    print(f"final train loss: baseline {base['final_train_loss']:.3f} (whole sequence), tunewise {fp32['final_train_loss']:.3f} fp32 / "
          f"{ours['final_train_loss']:.3f} {ours['precision']} (replies only)")
    if "quality" in results:
        q = results["quality"]
        print(f"\n2. Quality on {q['heldout']} held-out attribute sets (~{q['references_per_input']} references each), "
              f"greedy, max {args.max_new_tokens} new tokens\n")
        print(f"{'model':<22}{'ROUGE-L':>9}{'mean reply tokens':>19}{'hit max tokens':>16}{'gen s':>8}")
        for label in ("base zero-shot", "tunewise adapter"):
            r = q[label]
            print(f"{label:<22}{r['rouge_l']:>9.3f}{r['mean_reply_tokens']:>19.1f}{r['hit_max_new_tokens']:>16}{r['seconds']:>8.0f}")
        for label in ("base zero-shot", "tunewise adapter"):
            ex = q[label]["examples"][0]
            print(f"\n  {label}: {ex['input']}\n    -> {ex['output']}\n    reference: {ex['reference']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=int, default=256, help="training examples (E2E pairs)")
    parser.add_argument("--heldout", type=int, default=100, help="held-out attribute sets for ROUGE-L")
    parser.add_argument("--steps", type=int, default=32, help="optimizer steps for both paths")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=1, help="alternate baseline / tunewise runs this many times")
    parser.add_argument("--skip-quality", action="store_true", help="throughput only")
    parser.add_argument("--out", type=Path, help="also write every number as JSON")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                        help="cuda: train on the GPU (refuses clearly where none is usable); cpu: the default")
    parser.add_argument("--processes", type=int, nargs="+", choices=[1, 2, 4, 8],
                        help="compare `tunewise finetune --processes N` for these N (e.g. 1 2) instead of the default sections")
    parser.add_argument("--model", help="with --device cuda: a model folder or cached hub id (default: the packaged model)")
    parser.add_argument("--_measure", choices=list(MEASUREMENTS), help=argparse.SUPPRESS)
    parser.add_argument("--_work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            sys.exit("bench/lora.py --device cuda: no CUDA GPU is usable here (torch.cuda.is_available() is False). "
                     "Run it on a GPU machine with a CUDA build of torch, or drop --device.")
        import importlib.util

        if importlib.util.find_spec("bitsandbytes") is None:
            sys.exit("bench/lora.py --device cuda compares LoRA with QLoRA, which needs bitsandbytes: "
                     "pip install 'tunewise[gpu]'.")
    if args._measure:
        result = MEASUREMENTS[args._measure](args, args._work)
        (args._work / f"{args._measure}.json").write_text(json.dumps(result))
        return
    if args.processes:
        results = compare_processes(args)
        if args.out:
            args.out.write_text(json.dumps(results, indent=2))
        return
    if args.device == "cuda":
        with tempfile.TemporaryDirectory(prefix="tunewise-bench-gpu-") as tmp:
            results = compare_gpu(args, Path(tmp))
        if args.out:
            args.out.write_text(json.dumps(results, indent=2))
        return
    with tempfile.TemporaryDirectory(prefix="tunewise-bench-lora-") as tmp:
        work = Path(tmp)
        results: dict = {"baseline": [], "tunewise_fp32": [], "tunewise": []}
        for _ in range(args.repeats):  # alternate, so load from other processes hits every path alike
            for name in results:
                results[name].append(run_measurement(name, args, work))
        if not args.skip_quality:
            results["quality"] = run_measurement("quality", args, work)
    print_report(results, args)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
