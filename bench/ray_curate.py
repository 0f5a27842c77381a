"""The Ray engine on a local 2-CPU Ray cluster vs the local engine, on N real chat examples (SQuAD dev questions
with the sentence holding their answer; past 10,565 the questions repeat with a numbered prefix).

Prints: same results? (removals, flags, split), wall time of each engine, the overhead ratio, per-stage seconds,
and an estimate of the Ray engine's time on more nodes from the measured per-stage costs (the stages that run
on the cluster divide by the number of workers; the driver stages do not).

Run:  .venv/bin/python bench/ray_curate.py [--n 10000] [--shards 8] [--cpus 2] [--partition-size 4000] [--json]
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
    """n SQuAD chat examples as JSONL shards."""
    from curate import squad_chat_examples  # bench/curate.py

    base = squad_chat_examples(min(n, 10_565))
    records = []
    for i in range(n):
        example = base[i % len(base)]
        record = example.to_record() | {"id": f"squad-{i}"}
        if i >= len(base):
            record["messages"][1] = {"role": "user", "content": f"Q{i // len(base)}: {record['messages'][1]['content']}"}
        records.append(record)
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
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import ray

    from curation.curate import CurateConfig
    from curation.curate_files import run_curation
    from curation.ray_engine import RaySettings, run_curation_ray

    with tempfile.TemporaryDirectory(prefix="ray-curate-bench-") as tmp:
        folder = Path(tmp)
        paths = write_shards(args.n, args.shards, folder)
        # fresh caches: both engines embed every text
        start = time.perf_counter()
        local = run_curation(paths, folder / "local", CurateConfig(cache_dir=str(folder / "cache-local")))
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
        job = run_curation_ray(paths, folder / "ray", CurateConfig(cache_dir=str(folder / "cache-ray")),
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
    print(f"local engine {local_s:.1f} s; Ray engine {ray_s:.1f} s (+ {init_s:.1f} s cluster start); overhead ratio {out['overhead_ratio']}")
    print("stage            local s    ray s")
    for stage in ("read", *DRIVER_STAGES[:3], "embed", "near", *DRIVER_STAGES[3:]):
        print(f"  {stage:<14}{local.result.stats['timings'].get(stage, float('nan')):>8.2f} {stages.get(stage, float('nan')):>8.2f}")
    print(f"cluster stages (read, embed, near) {cluster_s:.1f} s on {workers} workers; driver stages {driver_s:.1f} s")
    print("estimate on N nodes of 8 CPUs (cluster stages divide by workers, driver stages stay):",
          ", ".join(f"{k}: {v} s" for k, v in estimate.items()))


if __name__ == "__main__":
    main()
