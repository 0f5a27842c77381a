"""The Ray engine on a real local Ray cluster (2 CPUs, one for the module): same removals, flags and split as the
local engine; shards (JSONL, Parquet) read in parallel; partitioned search equal to the global one; errors."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ray")

from curation import dedupe  # noqa: E402
from curation.curate import CurateConfig  # noqa: E402
from curation.curate_files import InvalidData, run_curation  # noqa: E402
from curation.errors import CancelledError, UsageError  # noqa: E402
from curation.load import load_files  # noqa: E402
from curation.ray_engine import (  # noqa: E402
    RaySettings,
    import_ray,
    load_on_ray,
    local_temp_dir,
    partitioned_neighbour_pairs,
    run_curation_ray,
)

SAMPLE = Path(__file__).parents[2] / "samples" / "support" / "examples.jsonl"


@pytest.fixture(scope="module")
def cluster():
    """One real local Ray cluster for the module (starting one takes seconds)."""
    import ray

    short = local_temp_dir()  # a long TMPDIR (CI's) would make the cluster's socket paths too long
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, **({"_temp_dir": short} if short else {}))
    yield ray
    ray.shutdown()


def _decisions(result):
    """What both engines must agree on: removals (with the kept twin and rule), flags, kept and the split."""
    removals = [(r.index, r.reason, r.duplicate_of, r.rule.split(" 0.")[0]) for r in result.removals]
    flags = [(f.index, f.kind) for f in result.flags]
    return removals, flags, result.kept.tolist(), result.is_eval.tolist()


def _compare(local, ray_job):
    ours, theirs = _decisions(local.result), _decisions(ray_job.result)
    assert ours[0] == theirs[0], "removals differ"
    assert ours[1] == theirs[1], "flags differ"
    assert ours[2] == theirs[2] and ours[3] == theirs[3], "split differs"
    for name in ("train.jsonl", "eval.jsonl", "clean.jsonl"):
        assert (local.out_dir / name).read_bytes() == (ray_job.out_dir / name).read_bytes(), name


def test_sample_same_as_local_engine(cluster, embedder, tmp_path):
    local = run_curation([SAMPLE], tmp_path / "local", CurateConfig(), embedder=embedder)
    stages = []
    # a fresh cache: the actors really embed; small partitions: the partitioned search really runs (4 partitions)
    job = run_curation_ray([SAMPLE], tmp_path / "ray", CurateConfig(cache_dir=str(tmp_path / "cache")),
                           settings=RaySettings(partition_size=80), progress=lambda s, d, t: stages.append(s), shard_size=100)
    assert local.result.removals and any(f.kind == "conflict" for f in local.result.flags)  # the planted problems
    _compare(local, job)
    assert job.result.stats["engine"] == "ray" and job.result.stats["embedded"] > 0
    assert {"read shards", "embed", "dedupe", "cluster"} <= set(stages)
    assert json.loads((job.out_dir / "report.json").read_text())["counts"] == local.report["counts"]
    shards = sorted(p.name for p in (job.out_dir / "shards").iterdir())
    assert shards[:2] == ["clean-00000.jsonl", "clean-00001.jsonl"]
    clean = [json.loads(line) for p in sorted((job.out_dir / "shards").glob("clean-*.jsonl")) for line in p.read_text().splitlines()]
    assert [r["id"] for r in clean] == [json.loads(line)["id"] for line in (job.out_dir / "clean.jsonl").read_text().splitlines()]


def test_partitioned_search_equals_global_search(cluster):
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(30, 32))
    vectors = centres[rng.integers(0, 30, 3000)] + 0.35 * rng.normal(size=(3000, 32))
    vectors[1::97] = vectors[0::97][: len(vectors[1::97])] + 0.01 * rng.normal(size=(len(vectors[1::97]), 32))  # planted twins
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    whole = dedupe.neighbour_pairs(vectors, 0.9)
    parts = partitioned_neighbour_pairs(vectors, 0.9, partition_size=400)
    assert len(whole.left) >= 30
    assert set(zip(parts.left.tolist(), parts.right.tolist())) == set(zip(whole.left.tolist(), whole.right.tolist()))


def test_shards_read_in_parallel_like_one_load(cluster, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    folder = tmp_path / "shards"
    folder.mkdir()
    (folder / "a.jsonl").write_text("\n".join(lines[:100]) + "\n", encoding="utf-8")
    (folder / "b.jsonl").write_text("\n".join(lines[100:200]) + "\n", encoding="utf-8")
    pq.write_table(pa.Table.from_pylist([json.loads(line) for line in lines[200:]]), folder / "c.parquet")
    loaded = load_on_ray([folder])
    assert [e.id for e in loaded.examples] == [e.id for e in load_files([SAMPLE]).examples]
    assert loaded.examples[-1].source == str(folder / "c.parquet") and loaded.examples[-1].line == len(lines) - 200
    assert not loaded.problems
    urls = [f"simplecache::file://{folder / name}" for name in ("a.jsonl", "c.parquet")]  # read through fsspec
    remote = load_on_ray(urls)
    assert [e.id for e in remote.examples] == [e.id for e in loaded.examples[:100] + loaded.examples[200:]]
    assert remote.examples[0].source == urls[0] and remote.examples[-1].source == urls[1]


def test_bad_record_in_a_shard_names_the_shard_and_line(cluster, tmp_path):
    records = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()[:10]]
    lines = [json.dumps(dict(r, id=f"other-{i}")) for i, r in enumerate(records)]
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join([*lines[:5], '{"messages": "not a list"}', *lines[5:]]) + "\n", encoding="utf-8")
    with pytest.raises(InvalidData) as caught:
        run_curation_ray([SAMPLE, bad], tmp_path / "out")
    problems = caught.value.problems
    assert [(p.file, p.line) for p in problems] == [(str(bad), 6)]
    assert not (tmp_path / "out").exists()  # nothing written


def test_duplicate_ids_across_shards_are_problems(cluster, tmp_path):
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    (tmp_path / "one.jsonl").write_text("\n".join(lines[:3]) + "\n", encoding="utf-8")
    (tmp_path / "two.jsonl").write_text("\n".join(lines[2:4]) + "\n", encoding="utf-8")
    loaded = load_on_ray([tmp_path / "one.jsonl", tmp_path / "two.jsonl"])
    expected = load_files([tmp_path / "one.jsonl", tmp_path / "two.jsonl"])
    assert [e.id for e in loaded.examples] == [e.id for e in expected.examples]
    assert [(p.file, p.line, p.code) for p in loaded.problems] == [(p.file, p.line, p.code) for p in expected.problems]


def test_cancel_stops_the_run(cluster, tmp_path):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(CancelledError):
        run_curation_ray([SAMPLE], tmp_path / "out", cancel=cancel)


def test_without_ray_installed_the_error_says_how_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # as if it were not installed
    with pytest.raises(UsageError) as caught:
        import_ray()
    assert "pip install 'tunewise[ray]'" in caught.value.hint


def _five_thousand(path: Path) -> Path:
    """~5k examples from the sample: each reworded with a greeting and a customer number, plus planted twins."""
    records = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    greetings = ["Hi,", "Hello team,", "Good morning,", "Hey there,", "Quick question:"]
    out = []
    for j in range(16):
        for r in records:
            messages = [dict(m) for m in r["messages"]]
            user = next(m for m in messages if m["role"] == "user")
            user["content"] = f"{greetings[j % 5]} {user['content']} (customer {1000 + 37 * j + len(out) % 7})"
            out.append({"id": f"{r['id']}-v{j}", "messages": messages})
    out += [dict(out[i], id=f"twin-{i}") for i in range(0, len(out), 97)]  # exact duplicates
    path.write_text("".join(json.dumps(r) + "\n" for r in out), encoding="utf-8")
    return path


@pytest.mark.slow
def test_five_thousand_examples_same_as_local_engine(cluster, embedder, tmp_path):
    data = _five_thousand(tmp_path / "five_k.jsonl")
    config = CurateConfig(cache_dir=str(Path(embedder.cache.folder).parent))  # the same vectors: this checks the search
    local = run_curation([data], tmp_path / "local", config, embedder=embedder)
    job = run_curation_ray([data], tmp_path / "ray", config, settings=RaySettings(partition_size=1000))
    assert len(local.result.examples) >= 5000 and len(local.result.removals) >= 50
    _compare(local, job)
