"""The Ray engine on a local 2-CPU Ray cluster vs the local engine, on N real chat examples (SQuAD dev questions
with the sentence holding their answer; past 10,565 each copy pairs two real questions, as bench/scale.py, so
every text is distinct).

Prints: same results? (removals, flags, split), wall time of each engine, the overhead ratio, per-stage seconds,
and an estimate of the Ray engine's time on more nodes from the measured per-stage costs (the stages that run
on the cluster divide by the number of workers; the driver stages do not).

With --cache DIR both engines share one embedding cache: the local engine runs first (cold if DIR is empty, which
fills it), then the Ray engine and the local engine again on the warm cache, so the comparison at large N costs
one cold embedding instead of two and the warm ratio isolates everything but the embedding.

Run:  .venv/bin/python bench/ray_curate.py [--n 10000] [--shards 8] [--cpus 2] [--partition-size 4000]
                                           [--cache DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

CLUSTER_STAGES = ("read", "embed", "near")  # run as Ray tasks/actors: scale with workers
DRIVER_STAGES = ("tokens", "exact", "near_exact", "conflicts", "cluster", "flags", "split")


def write_shards(n: int, shards: int, folder: Path) -> list[Path]:
    """n SQuAD chat examples (bench/scale.py's, ids squad-0…) as JSONL shards."""
    from scale import chat_examples  # bench/scale.py

    records = [e.to_record() for e in chat_examples(n)]
    paths = []
    size = -(-n // shards)
    for s in range(shards):
        path = folder / f"part-{s:03d}.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records[s * size : (s + 1) * size]), encoding="utf-8")
        paths.append(path)
    return paths


def decisions(result) -> tuple:
    return ([(r.index, r.reason, r.duplicate_of) for r in result.removals], [(f.index, f.kind) for f in result.flags],
            result.kept.tolist(), result.is_eval.tolist())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--partition-size", type=int, default=4000)
    parser.add_argument("--cache", type=Path, default=None,
                        help="one embedding cache for both engines (local first, then Ray and local again, warm)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import ray

    from curation.curate import CurateConfig
    from curation.curate_files import run_curation
    from curation.ray_engine import RaySettings, run_curation_ray

    with tempfile.TemporaryDirectory(prefix="ray-curate-bench-") as tmp:
        folder = Path(tmp)
        paths = write_shards(args.n, args.shards, folder)
        # fresh caches (both engines embed every text), or one shared cache (--cache)
        shared = str(args.cache) if args.cache else None
        start = time.perf_counter()
        local = run_curation(paths, folder / "local", CurateConfig(cache_dir=shared or str(folder / "cache-local")))
        local_s = time.perf_counter() - start
        local_cold = {"s": round(local_s, 1), "embedded": local.result.stats["embedded"]}
        if shared:  # the local engine again, now on the warm cache: the fair partner of a warm Ray run
            start = time.perf_counter()
            local = run_curation(paths, folder / "local-warm", CurateConfig(cache_dir=shared))
            local_s = time.perf_counter() - start

        start = time.perf_counter()
        from curation.ray_engine import local_temp_dir

        short = local_temp_dir()
        ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False, **({"_temp_dir": short} if short else {}))
        init_s = time.perf_counter() - start
        marks: dict[str, float] = {}
        clock = time.perf_counter()

        def progress(stage: str, done: int, total: int) -> None:
            if stage == "read shards" and done == total:
                marks["read"] = time.perf_counter() - clock

        start = time.perf_counter()
        job = run_curation_ray(paths, folder / "ray", CurateConfig(cache_dir=shared or str(folder / "cache-ray")),
                               settings=RaySettings(partition_size=args.partition_size), progress=progress)
        ray_s = time.perf_counter() - start
        ray.shutdown()

    stages = dict(job.result.stats["timings"], read=marks.get("read", 0.0))
    same = decisions(local.result) == decisions(job.result)
    cluster_s = sum(stages.get(s, 0.0) for s in CLUSTER_STAGES)
    driver_s = sum(stages.get(s, 0.0) for s in DRIVER_STAGES)
    workers = args.cpus
    estimate = {nodes: round(init_s + driver_s + cluster_s * workers / (nodes * 8), 1) for nodes in (1, 4, 16, 64)}
    out = {
        "n": args.n, "shards": args.shards, "cpus": args.cpus, "same_results": same,
        "cache": "shared (local cold first, then both warm)" if shared else "cold for each engine",
        "local_first_run": local_cold, "ray_embedded": job.result.stats["embedded"],
        "removed": len(job.result.removals), "flags": len(job.result.flags),
        "local_s": round(local_s, 1), "ray_s": round(ray_s, 1), "ray_init_s": round(init_s, 1),
        "overhead_ratio": round(ray_s / local_s, 2),
        "local_stages_s": local.result.stats["timings"], "ray_stages_s": stages,
        "ray_cluster_stages_s": round(cluster_s, 1), "ray_driver_stages_s": round(driver_s, 1),
        "estimate_s_on_nodes_of_8_cpus": estimate,
    }
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"N={args.n} in {args.shards} shards, local Ray cluster of {args.cpus} CPUs")
    print(f"same removals, flags and split: {same}  ({out['removed']} removed, {out['flags']} flags)")
    if shared:
        print(f"first local run (fills the shared cache): {local_cold['s']} s, {local_cold['embedded']} texts embedded; "
              f"below, both engines on the warm cache (Ray embedded {out['ray_embedded']})")
    print(f"local engine {local_s:.1f} s; Ray engine {ray_s:.1f} s (+ {init_s:.1f} s cluster start); overhead ratio {out['overhead_ratio']}")
    print("stage            local s    ray s")
    for stage in ("read", *DRIVER_STAGES[:3], "embed", "near", *DRIVER_STAGES[3:]):
        print(f"  {stage:<14}{local.result.stats['timings'].get(stage, float('nan')):>8.2f} {stages.get(stage, float('nan')):>8.2f}")
    print(f"cluster stages (read, embed, near) {cluster_s:.1f} s on {workers} workers; driver stages {driver_s:.1f} s")
    print("estimate on N nodes of 8 CPUs (cluster stages divide by workers, driver stages stay):",
          ", ".join(f"{k}: {v} s" for k, v in estimate.items()))


if __name__ == "__main__":
    main()
