"""Curation at scale on one machine: throughput against raw encode, warm re-run, peak memory, growth with size.

    nice -n 10 .venv/bin/python bench/scale.py                    # 10k and 100k examples
    nice -n 10 .venv/bin/python bench/scale.py --sizes 10000 --json --out /tmp/scale.json

Data: real chat examples built from SQuAD v1.1 dev (bench/_data.py; CC BY-SA 4.0): the same system prompt, a
question, and the sentence of its paragraph that holds the answer (as bench/curate.py). SQuAD dev has 10,565
questions, so past that size the set repeats with variation: copy r of question i asks it together with another
real question (i + 7919·r, mod 10,565) and answers with both answer sentences. Every text is distinct, so nothing
is served by the embedding cache or removed as a near-identical text on a cold run: a worst case for throughput.

Each measurement runs in a fresh subprocess; its peak memory is the child's ru_maxrss. "% raw" compares wall
times; "% CPU" compares the children's CPU seconds (raw's, including its model load, over the pipeline's), which
is the fairer figure on a shared machine. "raw encode" is
SentenceTransformer.encode (batch 64) of exactly the unique texts curate() embeds (its input and output views),
without the model load; both leave out importing torch, transformers and sentence-transformers (the pipeline's
import time is reported apart). The pipeline figures include everything curate() does (token counts with the SmolLM2
tokenizer, exact, MinHash pre-pass above CurateConfig.near_exact_above, embedding, FAISS search, pair rules,
conflicts, clustering, flags, split). 1M examples are extrapolated from the largest measured size, not run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _data  # noqa: E402

STRIDE = 7919  # a prime: copy r pairs question i with question i + STRIDE·r


def chat_examples(n: int):
    """n real chat examples from SQuAD dev; past 10,565 each copy pairs two real questions (see the docstring)."""
    from curate import SYSTEM_PROMPT, answer_sentence

    from curation.example import Example

    rows = _data.squad_dev_qa()
    answers = [answer_sentence(paragraph, start) for paragraph, _, _, start in rows]
    examples = []
    for i in range(n):
        r, base = divmod(i, len(rows))
        question, answer = rows[base][1], answers[base]
        if r:
            other = (base + STRIDE * r) % len(rows)
            question, answer = f"{question} Also: {rows[other][1]}", f"{answer} {answers[other]}"
        examples.append(Example(f"squad-{i}", [{"role": "system", "content": SYSTEM_PROMPT},
                                               {"role": "user", "content": question},
                                               {"role": "assistant", "content": answer}], "squad_dev_v1.1", i + 1))
    return examples


def measure_raw(n: int, cache: Path) -> dict:
    """SentenceTransformer.encode of the unique texts curate() embeds (model load timed apart)."""
    from sentence_transformers import SentenceTransformer

    from curation.curate import build_views
    from curation.model_sources import resolve_embedder

    views = build_views(chat_examples(n))
    texts = list(dict.fromkeys(views.inputs + views.outputs))
    start = time.perf_counter()
    model = SentenceTransformer(resolve_embedder(None))
    load = time.perf_counter() - start
    start = time.perf_counter()
    model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    seconds = time.perf_counter() - start
    return {"examples": n, "texts": len(texts), "seconds": seconds, "load_seconds": load, "examples_per_s": n / seconds}


def measure_pipeline(n: int, cache: Path) -> dict:
    """curate() with default settings (cold or warm, depending on what is already in `cache`)."""
    from curation.curate import CurateConfig, curate

    examples = chat_examples(n)
    start = time.perf_counter()
    # imported before the clock, as measure_raw does: torch, transformers and sentence-transformers take seconds
    # to import in any process that embeds, and raw encode's figure leaves that out (reported apart)
    import sentence_transformers  # noqa: F401
    imports = time.perf_counter() - start
    start = time.perf_counter()
    result = curate(examples, CurateConfig(cache_dir=str(cache)))
    seconds = time.perf_counter() - start
    reasons: dict[str, int] = {}
    for r in result.removals:
        key = "near_exact" if r.rule.startswith("near-identical text (MinHash") else r.reason
        reasons[key] = reasons.get(key, 0) + 1
    stats = result.stats
    return {"examples": n, "seconds": seconds, "import_seconds": imports, "examples_per_s": n / seconds, "kept": len(result.kept),
            "removed": reasons, "flags": len(result.flags), "stage_seconds": stats.get("timings"),
            "embedded": stats.get("embedded"), "cache_hits": stats.get("embed_cache_hits"),
            "near_exact": stats.get("near_exact"), "embeddings_file": stats.get("embeddings_file"),
            "search_recall": stats.get("search_recall")}


def measure_minhash(n: int, cache: Path) -> dict:
    """The MinHash pre-pass alone (curate's near_exact_removals) over the views of n examples."""
    import numpy as np

    from curation.curate import CurateConfig, build_views, near_exact_removals
    from curation.tokens import TokenCounts

    views = build_views(chat_examples(n))
    zeros = np.zeros(n, dtype=np.int64)
    start = time.perf_counter()
    removals = near_exact_removals(np.arange(n), views, TokenCounts(zeros, zeros, "none", 0), CurateConfig())
    seconds = time.perf_counter() - start
    return {"examples": n, "seconds": seconds, "examples_per_s": n / seconds, "removed": len(removals),
            "rules": [r.rule for r in removals[:3]]}


def measure_search(n: int, cache: Path) -> dict:
    """The duplicate search (dedupe.neighbour_pairs at the review threshold 0.8) on n synthetic 384-d vectors in
    groups of 4 at cosine ~0.85 (embedding 100k real texts here takes hours): time, and recall past IVF_ABOVE."""
    import numpy as np

    from curation.dedupe import neighbour_pairs

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(n // 4 + 1, 384)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    noise = rng.normal(size=(n, 384)).astype(np.float32)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    vectors = centres[np.arange(n) // 4] + 0.42 * noise
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    start = time.perf_counter()
    pairs = neighbour_pairs(vectors, 0.8)
    seconds = time.perf_counter() - start
    return {"vectors": n, "seconds": seconds, "pairs": len(pairs.left),
            "recall": pairs.recall.to_dict() if pairs.recall is not None else None}


MEASUREMENTS = {"raw": measure_raw, "pipeline": measure_pipeline, "minhash": measure_minhash, "search": measure_search}


def run_measurement(name: str, n: int, cache: Path) -> dict:
    """One measurement in a fresh subprocess, with its wall time and peak RSS (ru_maxrss)."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        result_file = Path(handle.name)
    cmd = [sys.executable, __file__, "--_measure", name, "--sizes", str(n), "--_cache", str(cache), "--_result", str(result_file)]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"measurement {name} at {n} failed with exit status {os.waitstatus_to_exitcode(status)}")
    result = json.loads(result_file.read_text())
    result_file.unlink()
    cpu = usage.ru_utime + usage.ru_stime  # CPU time of the child: fairer than wall time on a shared machine
    return {**result, "process_seconds": wall, "cpu_seconds": cpu, "peak_rss_mb": usage.ru_maxrss / 1024}


def bench_size(n: int, keep_cache: Path | None = None) -> dict:
    """Raw encode, cold curation and warm re-run of n examples, each in its own process, with a fresh cache (kept
    at keep_cache/<n> when given, e.g. for bench/ray_curate.py --cache)."""
    with tempfile.TemporaryDirectory(prefix="tunewise-scale-") as tmp:
        cache = Path(tmp) if keep_cache is None else keep_cache / str(n)
        if keep_cache is not None:
            if cache.exists() and any(cache.iterdir()):
                raise SystemExit(f"{cache} is not empty: a cold run needs an empty cache folder")
            cache.mkdir(parents=True, exist_ok=True)
        raw = run_measurement("raw", n, cache)
        cold = run_measurement("pipeline", n, cache)
        warm = run_measurement("pipeline", n, cache)
    return {"examples": n, "raw": raw, "cold": cold, "warm": warm,
            "cold_vs_raw_pct": 100 * cold["examples_per_s"] / raw["examples_per_s"],
            "cold_with_imports_vs_raw_pct": 100 * raw["seconds"] / (cold["seconds"] + cold["import_seconds"]),
            "cold_vs_raw_cpu_pct": 100 * raw["cpu_seconds"] / cold["cpu_seconds"]}


def print_report(results: list[dict]) -> None:
    """One table of the figures, then growth between sizes and the 1M extrapolation."""
    print(f"{'examples':>9} {'raw ex/s':>9} {'cold ex/s':>9} {'% raw':>6} {'% CPU':>6} {'cold s':>8} {'warm s':>7} "
          f"{'RSS raw':>8} {'RSS cold':>9} {'RSS warm':>9} {'recall':>7} {'near-exact':>10} {'mmap':>5}")
    for r in results:
        cold, warm, raw = r["cold"], r["warm"], r["raw"]
        recall = (cold["search_recall"] or {}).get("recall")
        print(f"{r['examples']:>9,} {raw['examples_per_s']:>9.1f} {cold['examples_per_s']:>9.1f} {r['cold_vs_raw_pct']:>5.1f}% {r['cold_vs_raw_cpu_pct']:>5.1f}% "
              f"{cold['seconds']:>8.1f} {warm['seconds']:>7.1f} {raw['peak_rss_mb']:>7.0f}M {cold['peak_rss_mb']:>8.0f}M "
              f"{warm['peak_rss_mb']:>8.0f}M {'exact' if recall is None else f'{recall:.3f}':>7} "
              f"{(cold['near_exact'] or {}).get('removed', 0):>10} {str(cold['embeddings_file']):>5}")
    for r in results:
        for run in ("cold", "warm"):
            stages = ", ".join(f"{k} {v:.1f}" for k, v in (r[run]["stage_seconds"] or {}).items())
            print(f"stage seconds at {r['examples']:,} ({run}): {stages}")
        print(f"library imports before the clock at {r['examples']:,}: {r['cold']['import_seconds']:.1f} s; with them cold "
              f"curation is {r['cold_with_imports_vs_raw_pct']:.1f}% of raw encode")
        print(f"removed at {r['examples']:,}: {r['cold']['removed']}; search recall: {r['cold']['search_recall']}")
    if len(results) >= 2:
        a, b = results[0], results[-1]
        size = b["examples"] / a["examples"]
        print(f"growth {a['examples']:,} -> {b['examples']:,} (x{size:.0f}): cold time x{b['cold']['seconds'] / a['cold']['seconds']:.1f}, "
              f"warm time x{b['warm']['seconds'] / a['warm']['seconds']:.1f}, peak RSS x{b['cold']['peak_rss_mb'] / a['cold']['peak_rss_mb']:.2f}")
    last = results[-1]
    factor = 1_000_000 / last["examples"]
    print(f"1M extrapolated linearly from {last['examples']:,} (not run): cold ~{last['cold']['seconds'] * factor / 3600:.1f} h, "
          f"warm ~{last['warm']['seconds'] * factor / 60:.0f} min (per-example costs; IVF search and pair rules grow a little faster)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated numbers of examples")
    parser.add_argument("--stages", type=int, default=None,
                        help="instead: time the MinHash pre-pass (real examples) and the neighbour search (synthetic vectors) at this size")
    parser.add_argument("--keep-cache", type=Path, default=None,
                        help="keep each size's embedding cache in this folder (<folder>/<size>), e.g. for bench/ray_curate.py --cache")
    parser.add_argument("--json", action="store_true", help="also write the numbers as JSON to --out")
    parser.add_argument("--out", type=Path, default=None, help="JSON results file (implies --json)")
    parser.add_argument("--_measure", choices=list(MEASUREMENTS), help=argparse.SUPPRESS)
    parser.add_argument("--_cache", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--_result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if args._measure:  # child process of run_measurement
        args._result.write_text(json.dumps(MEASUREMENTS[args._measure](sizes[0], args._cache)))
        return
    _data.squad_dev_qa()  # download/extract once, outside the timed children
    if args.stages:
        with tempfile.TemporaryDirectory(prefix="tunewise-scale-") as tmp:
            for name in ("minhash", "search"):
                print(name, json.dumps(run_measurement(name, args.stages, Path(tmp))))
        return
    results = []
    for n in sizes:
        results.append(bench_size(n, args.keep_cache))
        print(f"done {n:,}: {json.dumps(results[-1])}", file=sys.stderr, flush=True)  # kept if a later size is cut short
    print_report(results)
    if args.json or args.out:
        out = args.out or Path("scale.json")
        out.write_text(json.dumps(results, indent=2))
        print(f"wrote {out}")


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
