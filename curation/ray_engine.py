"""Curation on a Ray cluster: shards read and validated in parallel tasks, texts embedded by an actor pool (Ray
Data), near duplicates searched inside k-means partitions of the embeddings (one task each, every example also
searched in its next-nearest partitions); the pair rules, conflicts, clusters, flags, split, outputs and report
are the local engine's (curation/curate.py, curate_files.py), so both engines decide alike.
"""

from __future__ import annotations

import json
import math
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from curation import dedupe
from curation.curate import (
    CurateConfig,
    CurationResult,
    Progress,
    Removal,
    Views,
    build_views,
    finish_curation,
    judge_candidates,
    search_views,
)
from curation.errors import CancelledError, DataError, TunewiseError, UsageError
from curation.load import LoadResult, Rejected, expand_paths, load_files
from curation.validate import Problem

INSTALL_HINT = "Install it with: pip install 'tunewise[ray]' (or leave out --engine ray to curate on this machine)."


@dataclass
class RaySettings:
    """How a curation runs on Ray (saved with the run's settings)."""

    address: str | None = field(default=None, metadata={"help": "address of a running Ray cluster (ray://host:10001 or host:6379); None starts a local one"})
    partition_size: int = field(default=4000, metadata={"help": "examples per k-means partition of the near-duplicate search"})
    actors: int | None = field(default=None, metadata={"help": "embedding actors; None = one per GPU when the cluster has GPUs, else one per CPU"})
    batch_size: int = field(default=256, metadata={"help": "texts per embedding batch sent to an actor"})
    k: int = field(default=20, metadata={"help": "neighbours searched per example (as the local engine)"})

    def __post_init__(self) -> None:
        checks = [
            ("partition_size", self.partition_size >= 2, "a whole number ≥ 2, e.g. 4000"),
            ("actors", self.actors is None or self.actors >= 1, "a whole number ≥ 1, or leave it out"),
            ("batch_size", self.batch_size >= 1, "a whole number ≥ 1, e.g. 256"),
            ("k", self.k >= 1, "a whole number ≥ 1, e.g. 20"),
        ]
        for name, ok, expected in checks:
            if not ok:
                raise UsageError(f"Invalid Ray setting {name}: {getattr(self, name)!r}.", f"Use {expected}.")


def import_ray():
    """The ray module, or a UsageError saying how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as exc:
        raise UsageError(f"The Ray engine needs Ray Data, which is not installed ({exc}).", INSTALL_HINT) from exc
    return ray


def local_temp_dir() -> str | None:
    """A temp folder short enough for a local cluster's Unix sockets (the kernel caps their paths at 107 bytes), or
    None for Ray's default. Ray puts them under $TMPDIR/ray/session_<date>_<pid>/sockets/, about 70 bytes past $TMPDIR,
    so a long $TMPDIR (a CI job's, a user's nested one) makes `ray.init` fail; then /tmp/ray-<uid> is used instead."""
    import os
    import tempfile

    base = os.environ.get("RAY_TMPDIR") or os.environ.get("TMPDIR") or tempfile.gettempdir()
    if len(os.path.join(base, "ray")) <= 32:
        return None
    return os.path.join("/tmp", f"ray-{os.getuid()}") if os.name == "posix" else None


@contextmanager
def ray_cluster(address: str | None = None) -> Iterator[Any]:
    """Connect to the cluster at address (or start a local one); one already connected in this process is reused."""
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    import logging

    if address:
        _probe(address)
    try:
        short = None if address else local_temp_dir()
        ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING,
                 configure_logging=True, **({"_temp_dir": short} if short else {}))
    except (ConnectionError, ValueError, RuntimeError, TimeoutError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray cluster"
        raise UsageError(f"Could not connect to {where}: {exc}",
                         "Check the address (`ray status` on the head node shows it), or leave --address out to start a local cluster.") from exc
    try:
        yield ray
    finally:
        ray.shutdown()


def _probe(address: str, timeout: float = 5.0) -> None:
    """Fail fast (UsageError) when nothing listens at a host:port address: ray.init would retry for minutes."""
    import socket

    where = address.removeprefix("ray://")
    host, _, port = where.rpartition(":")
    if where == "auto" or not host or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise UsageError(f"No Ray cluster answers at {address} ({exc}).",
                         "Check the address (`ray status` on the head node shows it), or leave --address out to start a local cluster.") from exc


# 1. Shards: read and validated in parallel, one task per file

def shard_paths(paths: Sequence[str | Path]) -> list[str]:
    """The shards to read: URLs (s3://, gs://, ...) as given, local files and folders as the local loader sees them, plus Parquet."""
    found: list[str] = []
    for given in paths:
        text = str(given)
        if "://" in text and not text.startswith("file://"):
            found.append(text)
            continue
        local = Path(text.removeprefix("file://"))
        parquet = sorted(str(p) for p in local.glob("*.parquet") if p.is_file()) if local.is_dir() else []
        if local.suffix.lower() == ".parquet" and local.is_file():
            found.append(str(local))
            continue
        try:
            found += expand_paths([local])
        except UsageError:
            if not parquet:  # a folder of Parquet shards only has no other data files
                raise
        found += parquet
    return list(dict.fromkeys(found))


def load_shard(path: str, fmt: str | None, columns: tuple[str | None, str | None, str | None]) -> LoadResult:
    """One shard read and validated by the local loader (Parquet rows become JSON records, numbered from 1)."""
    is_parquet = path.lower().endswith(".parquet")
    if "://" not in path and not is_parquet:
        return load_files([path], fmt, *columns)
    from curation.safe_read import data_limit

    with tempfile.TemporaryDirectory(prefix="tunewise-shard-") as tmp:
        name = Path(path.split("?")[0].rstrip("/")).name or "shard.jsonl"
        local = Path(tmp) / (Path(name).stem + ".jsonl" if is_parquet else name)
        try:
            if is_parquet:
                import pyarrow.parquet as pq

                rows = pq.read_table(path).to_pylist() if "://" not in path else _remote_parquet(path)
                local.write_text("".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows), encoding="utf-8")
            else:
                import fsspec

                with fsspec.open(path, "rb") as handle:
                    data = handle.read(data_limit() + 1)
                if len(data) > data_limit():
                    raise DataError(f"{path} is larger than the data-file limit ({data_limit()} bytes).",
                                    "Split it into smaller shards, or raise TUNEWISE_MAX_FILE_BYTES.")
                local.write_bytes(data)
        except (OSError, ValueError, ImportError) as exc:
            raise UsageError(f"Could not read the shard {path}: {exc}", "Check the path and that the cluster can reach it.") from exc
        loaded = load_files([str(local)], fmt, *columns)
    return _renamed(loaded, str(local), path)


def _remote_parquet(path: str) -> list[dict[str, Any]]:
    """Rows of a Parquet file behind an fsspec URL."""
    import fsspec
    import pyarrow.parquet as pq

    with fsspec.open(path, "rb") as handle:
        return pq.read_table(handle).to_pylist()


def _renamed(loaded: LoadResult, old: str, new: str) -> LoadResult:
    """The load result with every mention of the temporary copy renamed to the shard's own path."""
    for example in loaded.examples:
        example.source = new
    loaded.problems = [replace(p, file=new) if p.file == old else p for p in loaded.problems]
    loaded.rejected = [Rejected(new, r.line, r.raw, [replace(p, file=new) for p in r.problems]) for r in loaded.rejected]
    loaded.formats = {new if f == old else f: v for f, v in loaded.formats.items()}
    return loaded


def merge_loads(parts: Sequence[LoadResult]) -> LoadResult:
    """Shard results joined in shard order, with the checks that span files: ids unique, line-number ids prefixed."""
    from curation.load import _make_auto_ids_unique

    merged = LoadResult()
    seen: dict[str, tuple[str, int]] = {}
    auto = []
    for part in parts:
        merged.formats.update(part.formats)
        merged.n_records += part.n_records
        problems, rejected = list(part.problems), list(part.rejected)
        for example in part.examples:
            if example.id in (f"L{example.line}", f"{Path(example.source).stem}:L{example.line}"):
                auto.append(example)
            elif example.id in seen:
                first_file, first_line = seen[example.id]
                problem = Problem(example.source, example.line, "duplicate_id",
                                  f"id '{example.id}' was already used at {first_file}:{first_line}",
                                  "make ids unique or drop the id field", "id")
                problems.append(problem)
                rejected.append(Rejected(example.source, example.line, json.dumps(example.to_record(), ensure_ascii=False), [problem]))
                continue
            else:
                seen[example.id] = (example.source, example.line)
            merged.examples.append(example)
        merged.problems += sorted(problems, key=lambda p: p.line)
        merged.rejected += sorted(rejected, key=lambda r: r.line)
    for example in auto:
        example.id = f"L{example.line}"
    _make_auto_ids_unique(merged.examples, auto)
    return merged


def load_on_ray(paths: Sequence[str | Path], fmt: str | None = None, columns=(None, None, None),
                progress: Progress | None = None, cancel: threading.Event | None = None) -> LoadResult:
    """Read and validate every shard in parallel Ray tasks; the joined result as load_files would give it."""
    ray = import_ray()
    files = shard_paths(paths)
    task = ray.remote(num_cpus=1)(load_shard)
    refs = [task.remote(f, fmt, tuple(columns)) for f in files]
    return load_shard_results(ray, refs, progress, cancel)


def load_shard_results(ray, refs, progress: Progress | None, cancel: threading.Event | None) -> LoadResult:
    """Wait for the shard tasks (reporting progress, honouring cancel); our own errors come back as themselves."""
    pending, total = list(refs), len(refs)
    while pending:
        _check(cancel, refs, ray)
        _, pending = ray.wait(pending, num_returns=len(pending), timeout=0.2)
        if progress:
            progress("read shards", total - len(pending), total)
    try:
        return merge_loads(ray.get(refs))
    except ray.exceptions.RayTaskError as exc:
        if isinstance(getattr(exc, "cause", None), TunewiseError):
            raise exc.cause from None  # a bad shard is reported as the local loader would
        raise


def _check(cancel: threading.Event | None, refs=(), ray=None) -> None:
    if cancel is not None and cancel.is_set():
        for ref in refs:
            ray.cancel(ref, force=True)
        raise CancelledError("Curation cancelled.", "Run it again: embeddings computed so far are cached.")


# 2. Embeddings: an actor pool holding the embedder (GPUs when the cluster has them)

class EmbedActor:
    """One embedding model in a Ray actor; a batch of texts in, their vectors out (cached like the local engine)."""

    def __init__(self, model: str | None, cache_dir: str, device: str | None) -> None:
        from curation.embed import Embedder

        self.embedder = Embedder(model, cache_dir=cache_dir, device=device)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        before = self.embedder.encoded
        vectors = self.embedder.encode_long([str(t) for t in batch["text"]])
        encoded = np.zeros(len(vectors), dtype=np.int64)
        encoded[:1] = self.embedder.encoded - before
        return {"i": batch["i"], "vector": vectors, "encoded": encoded}


@contextmanager
def _quiet_data(ray) -> Iterator[None]:
    """Ray Data without its progress bars and progress log lines (our progress callback reports instead)."""
    import logging

    context, logger = ray.data.DataContext.get_current(), logging.getLogger("ray.data")
    bars, level = context.enable_progress_bars, logger.level
    context.enable_progress_bars = False
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        context.enable_progress_bars = bars
        logger.setLevel(level)


def embed_on_ray(texts: Sequence[str], config: CurateConfig, settings: RaySettings,
                 progress: Progress | None = None, cancel: threading.Event | None = None) -> tuple[np.ndarray, int]:
    """Embeddings of texts (each distinct text once) from an actor pool; returns (vectors, texts run through a model)."""
    import pyarrow as pa

    from curation.model_sources import cache_root

    ray = import_ray()
    unique = list(dict.fromkeys(texts))
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0))
    actors = settings.actors or max(1, gpus or int(resources.get("CPU", 1)))
    cache_dir = str(Path(config.cache_dir) if config.cache_dir else cache_root() / "embeddings")
    rows = settings.batch_size
    blocks = [pa.table({"i": np.arange(s, min(s + rows, len(unique))), "text": unique[s : s + rows]})
              for s in range(0, len(unique), rows)]
    if progress:
        progress("embed", 0, len(unique))
    if not blocks:
        return np.zeros((len(texts), 384), dtype=np.float32), 0
    model, device = config.embedder, "cuda" if gpus else None

    class Bound(EmbedActor):  # settings bound here, not passed as constructor arguments through the object store
        def __init__(self) -> None:
            super().__init__(model, cache_dir, device)

    ds = ray.data.from_arrow(blocks).map_batches(
        Bound, batch_size=rows, batch_format="numpy", compute=ray.data.ActorPoolStrategy(size=min(actors, len(blocks))),
        num_gpus=1 if gpus else 0, num_cpus=0 if gpus else 1,
    )
    out: np.ndarray | None = None
    done = encoded = 0
    with _quiet_data(ray):
        for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
            _check(cancel)
            vectors = np.asarray(batch["vector"], dtype=np.float32)
            if out is None:
                out = np.empty((len(unique), vectors.shape[1]), dtype=np.float32)
            out[batch["i"]] = vectors
            done += len(vectors)
            encoded += int(batch["encoded"].sum())
            if progress:
                progress("embed", done, len(unique))
    position = {t: p for p, t in enumerate(unique)}
    return out[[position[t] for t in texts]], encoded


# 3. Near duplicates inside k-means partitions, one search task per partition

def _search_partition(vectors: np.ndarray, base: np.ndarray, queries: np.ndarray, k: int):
    """Each query's k nearest among base (exact inner product); rows and columns are positions in vectors."""
    import faiss

    faiss.omp_set_num_threads(1)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors[base]))
    sims, idx = index.search(np.ascontiguousarray(vectors[queries]), min(k, len(base)))
    ok = idx >= 0
    rows = np.repeat(queries, idx.shape[1]).reshape(idx.shape)
    return rows[ok], base[idx[ok]], sims[ok]


PROBES = 3  # partitions each vector searches: with 2, 4 of 1,071 removals were missed at 100k (bench/README)


def partitions(vectors: np.ndarray, count: int, seed: int = 0, probes: int = PROBES) -> np.ndarray:
    """Each vector's `probes` nearest of `count` spherical k-means centroids, nearest first, shape (n, probes)."""
    import faiss

    n, dim = vectors.shape
    rng = np.random.default_rng(seed)
    sample = vectors[rng.choice(n, size=min(n, 256 * count), replace=False)]
    km = faiss.Kmeans(dim, count, niter=20, seed=seed, spherical=True, verbose=False, min_points_per_centroid=1)
    km.train(np.ascontiguousarray(sample, dtype=np.float32))
    _, nearest = km.index.search(np.ascontiguousarray(vectors, dtype=np.float32), min(probes, count))
    return nearest


def partitioned_neighbour_pairs(vectors: np.ndarray, threshold: float, k: int = 20, partition_size: int = 4000,
                                seed: int = 0, cancel: threading.Event | None = None) -> dedupe.Pairs:
    """dedupe.neighbour_pairs computed inside k-means partitions on Ray: each vector searches the members of its
    PROBES nearest partitions (a partition's members are the vectors nearest to it); per vector the best k of them
    all are kept, as one global search would."""
    n = len(vectors)
    count = math.ceil(n / partition_size)
    if count < 2 or n < 4:
        return dedupe.neighbour_pairs(vectors, threshold, k)
    ray = import_ray()
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    nearest = partitions(vectors, count)
    ref = ray.put(vectors)
    task = ray.remote(num_cpus=1)(_search_partition)
    refs = []
    for p in range(count):
        base = np.flatnonzero(nearest[:, 0] == p)
        queries = np.flatnonzero((nearest == p).any(axis=1))
        if len(base):
            refs.append(task.remote(ref, base, queries, k + 1))
    pending = list(refs)
    while pending:
        _check(cancel, refs, ray)
        _, pending = ray.wait(pending, num_returns=len(pending), timeout=0.2)
    parts = ray.get(refs)
    rows = np.concatenate([p[0] for p in parts])
    cols = np.concatenate([p[1] for p in parts])
    sims = np.concatenate([p[2] for p in parts])
    order = np.lexsort((-sims, rows))  # per row, most similar first: the top k + 1 of both partitions
    rows, cols, sims = rows[order], cols[order], sims[order]
    starts = np.searchsorted(rows, rows, side="left")
    top = (np.arange(len(rows)) - starts) < min(k + 1, n)
    rows, cols, sims = rows[top], cols[top], sims[top]
    keep = (cols != rows) & (sims >= threshold)
    left, right = np.minimum(rows[keep], cols[keep]), np.maximum(rows[keep], cols[keep])
    _, first = np.unique(left * n + right, return_index=True)
    return dedupe.Pairs(left[first], right[first], sims[keep][first])


def near_candidates_ray(survivors: np.ndarray, v_in, v_out, views: Views, config: CurateConfig, settings: RaySettings,
                        encode=None, cancel: threading.Event | None = None) -> tuple[dedupe.Pairs, list[str], np.ndarray]:
    """curate.near_candidates with the neighbour search run in partitions on Ray; the same pair rules decide."""
    search = search_views(survivors, v_in, v_out, views)
    low = min(config.review_threshold, config.threshold)
    pairs = partitioned_neighbour_pairs(search[0], low, settings.k, settings.partition_size, config.seed, cancel)
    found = dedupe.similar_in_every_view(pairs, search[1:], low)  # as dedupe.duplicate_pairs
    return judge_candidates(found, survivors, views, config, encode)  # the same pair rules as the local engine


# 4. The whole run: the local engine's stages, with the heavy ones on the cluster

def curate_ray(
    examples: Sequence,
    config: CurateConfig | None = None,
    settings: RaySettings | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    tokenizer=None,
    tokens=None,
) -> CurationResult:
    """curate.curate with embedding and the near-duplicate search on the connected Ray cluster (same decisions)."""
    from curation.embed import Embedder
    from curation.model_sources import load_tokenizer
    from curation.tokens import count_tokens

    config, settings = config or CurateConfig(), settings or RaySettings()
    examples = list(examples)
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def step(name: str) -> None:
        nonlocal clock
        _check(cancel)
        now = time.perf_counter()
        timings[name] = round(now - clock, 3)
        clock = now

    def report(stage: str, done: int, total: int) -> None:
        if progress:
            progress(stage, done, total)

    report("tokens", 0, 1)
    if tokens is None or len(tokens.total) != len(examples):
        tokens = count_tokens(examples, tokenizer or load_tokenizer(config.model))
    report("tokens", 1, 1)
    step("tokens")

    views = build_views(examples)
    exact_groups = dedupe.exact_duplicate_groups(views.exact_keys)
    removals = [Removal(m, "exact_duplicate", g.keep, 1.0, "same messages after normalising case and whitespace")
                for g in exact_groups for m in g.members]
    survivors = np.setdiff1d(np.arange(len(examples)), [r.index for r in removals])
    step("exact")

    above = getattr(config, "near_exact_above", None)  # the local engine's MinHash pre-pass (#14 item 3), as it decides
    if above is not None and len(survivors) >= max(2, above):
        from curation.curate import near_exact_removals

        found = near_exact_removals(survivors, views, tokens, config, lambda d, t: report("near-identical", d, t), cancel)
        removals += found
        survivors = np.setdiff1d(survivors, [r.index for r in found])
    step("near_exact")

    alive = np.zeros(len(examples), dtype=bool)
    alive[survivors] = True  # removed examples are never compared again: an empty text in their place
    texts = [t if alive[i % len(examples)] else "" for i, t in enumerate(views.inputs + views.outputs)]
    vectors, encoded = embed_on_ray(texts, config, settings, report, cancel)
    v_in, v_out = vectors[: len(examples)], vectors[len(examples) :]
    step("embed")

    report("dedupe", 0, 1)
    words = Embedder(config.embedder, cache_dir=config.cache_dir)  # differing words only, loaded if any
    candidates, rules, removable = near_candidates_ray(survivors, v_in, v_out, views, config, settings, words.encode, cancel)
    removals, flags, result_clusters, kept, is_eval, conflict_groups = finish_curation(
        examples, config, survivors, removals, candidates, rules, v_in, v_out, views, tokens, words.encode, report, step,
        removable)
    stats = {"view_kinds": {"input": views.kinds[0], "output": views.kinds[1]}, "timings": timings,
             "embedded": encoded, "embed_cache_hits": max(0, len(set(texts)) - encoded),  # a text in two actors' batches is encoded twice
             "embedder": words.name, "engine": "ray", "ray": asdict(settings)}
    return CurationResult(examples, config, removals, flags, result_clusters, kept, is_eval, tokens, conflict_groups, stats)


def run_curation_ray(
    paths: Sequence[str | Path],
    out_dir: str | Path,
    config: CurateConfig | None = None,
    fmt: str | None = None,
    columns: tuple[str | None, str | None, str | None] = (None, None, None),
    skip_invalid: bool = False,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    settings: RaySettings | None = None,
    shard_size: int = 0,
):
    """curate_files.run_curation on Ray: shards loaded in parallel, curated by curate_ray, outputs written alike.

    With shard_size > 0, clean/train/eval are also written as shards of that many examples (clean-00000.jsonl ...).
    """
    from curation.curate_files import InvalidData, JobResult, _real, check_context, write_outputs
    from curation.files import check_output_dir
    from curation.model_sources import load_tokenizer
    from curation.report import build_report
    from curation.split_files import OUTPUT_FILES, REJECTED

    config, settings = config or CurateConfig(), settings or RaySettings()
    out = Path(out_dir)
    local_inputs = {_real(p) for p in paths if "://" not in str(p)}
    clash = [n for n in (*OUTPUT_FILES, REJECTED) if _real(out / n) in local_inputs]
    if _real(out) in local_inputs or clash:
        raise UsageError(f"Writing to {out} would overwrite an input ({', '.join(clash) or out}).", "Choose another --out folder.")
    check_output_dir(out)
    import_ray()
    with ray_cluster(settings.address):
        loaded = load_on_ray(paths, fmt, columns, progress, cancel)
        tokenizer = load_tokenizer(config.model)
        tokens = check_context(loaded, tokenizer)
        if loaded.problems and not skip_invalid:
            raise InvalidData(loaded.problems, loaded.n_records)
        if not loaded.examples:
            raise DataError("No valid examples to curate.", "Check the input files (see the problems above).")
        result = curate_ray(loaded.examples, config, settings, progress, cancel, tokenizer, tokens)
    inputs = [{"file": f, "format": fmt_, "examples": sum(1 for e in loaded.examples if e.source == f)}
              for f, fmt_ in loaded.formats.items()]
    report = build_report(result, inputs, loaded.problems, len(loaded.rejected))
    write_outputs(out, result, report, loaded.rejected if skip_invalid else [])
    if shard_size > 0:
        write_shards(out, result, shard_size)
    return JobResult(out, report, result, loaded)


def write_shards(out: Path, result: CurationResult, size: int) -> list[str]:
    """clean, train and eval also as numbered JSONL shards of `size` examples in out/shards/ (written atomically)."""
    from curation.files import write_files_atomic
    from curation.jsonl import dumps_lines

    files = {}
    for name, items in (("clean", [result.examples[i] for i in result.kept]), ("train", result.train), ("eval", result.eval)):
        for n, start in enumerate(range(0, len(items), size)):
            files[f"{name}-{n:05d}.jsonl"] = dumps_lines(e.to_record() for e in items[start : start + size])
    folder = out / "shards"
    stale = [p.name for p in folder.glob("*.jsonl") if p.name not in files] if folder.is_dir() else []
    write_files_atomic(folder, files, stale=stale)
    return sorted(files)
