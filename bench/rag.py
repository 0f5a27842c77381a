"""RAG retrieval benchmark on SQuAD v1.1 dev (see bench/README.md and /work/shared/DATASETS.md).

Corpus: the 2,067 dev paragraphs, written to one JSONL file and indexed by tunewise's own pipeline (ingest,
token chunking, embeddings, FAISS, BM25). Queries: the 10,565 dev questions; a question's relevant document
is its own paragraph. Hits are chunks; a paragraph's rank is the rank of its first chunk in the list.

Sections:
  1. build: cold (empty embedding cache) and warm time, incremental rebuild after editing one paragraph,
     load time, files on disk, peak memory (each in its own subprocess so ru_maxrss is its own)
  2. quality: recall@1/5/10 and MRR@10 for dense, BM25 and hybrid (default settings), all questions
  3. latency: one question at a time (embedding included), p50/p95 per mode; batch throughput
  4. tuning hybrid on a dev half of the questions (RRF constant, weights, candidate depth, BM25
     stemming / stop words), the best setting then scored on the other half

Run:  .venv/bin/python bench/rag.py [--quick] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import _data  # noqa: E402

CUTOFFS = (1, 5, 10)
CHUNK_HITS = 40  # chunks retrieved per question, enough for 10 distinct paragraphs


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def corpus(n: int | None = None) -> tuple[list[str], list[str], list[int]]:
    """(paragraphs, questions, the paragraph index of each question), optionally the first n paragraphs."""
    rows = _data.squad_dev()[:n] if n else _data.squad_dev()
    paragraphs = [p for p, _ in rows]
    questions = [q for _, qs in rows for q in qs]
    owner = [i for i, (_, qs) in enumerate(rows) for _ in qs]
    return paragraphs, questions, owner


def write_corpus(paragraphs: list[str], folder: Path) -> Path:
    """The paragraphs as squad.jsonl (one {"text"} per line: document i is squad.jsonl:i+1)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "squad.jsonl"
    path.write_text("".join(json.dumps({"text": p}, ensure_ascii=False) + "\n" for p in paragraphs))
    return path


# --- subprocess phases -----------------------------------------------------------------------------


def phase_build(args) -> dict:
    """Cold build, warm rebuild, incremental rebuild after one edit; times and peak memory."""
    from curation.embed import Embedder
    from training.rag.index import IndexConfig, build_rag_index, load_rag_index

    docs, index_dir, cache = Path(args.docs), Path(args.index), Path(args.cache)
    config = IndexConfig(cache_dir=str(cache))
    t = time.perf_counter()
    embedder = Embedder(cache_dir=cache)
    _ = embedder.dimension
    load_model = time.perf_counter() - t
    cold = build_rag_index([docs], index_dir, config, embedder=embedder)
    out = {"load_model_s": round(load_model, 2), "cold": cold.to_dict() | {"unchanged": len(cold.unchanged), "added": len(cold.added)},
           "peak_rss_mb_after_cold": round(peak_rss_mb(), 0)}
    # warm: same documents, fresh index folder, embeddings all from the cache
    warm = build_rag_index([docs], index_dir.with_name("warm"), config, embedder=embedder)
    out["warm"] = {"seconds": warm.seconds, "embedded": warm.embedded_chunks, "cache_hits": embedder.cache_hits}
    # unchanged re-run over the same index: nothing re-read, nothing embedded
    same = build_rag_index([docs], index_dir, config, embedder=embedder)
    out["rerun_unchanged"] = {"seconds": same.seconds, "embedded": same.embedded_chunks}
    # incremental: a second file with a few new paragraphs is added, then edited
    extra = docs / "extra.jsonl"
    extra.write_text("".join(json.dumps({"text": f"Paragraph {i} added later about tidal power station number {i}."}) + "\n" for i in range(20)))
    added = build_rag_index([docs], index_dir, config, embedder=Embedder(cache_dir=tempfile.mkdtemp()))
    out["incremental_add"] = {"seconds": added.seconds, "embedded": added.embedded_chunks, "reused": added.reused_chunks}
    extra.unlink()
    removed = build_rag_index([docs], index_dir, config, embedder=embedder)
    out["incremental_remove"] = {"seconds": removed.seconds, "embedded": removed.embedded_chunks, "removed": removed.removed}
    t = time.perf_counter()
    load_rag_index(index_dir)
    out["load_index_s"] = round(time.perf_counter() - t, 4)
    t = time.perf_counter()
    index = load_rag_index(index_dir, verify=False)
    out["load_index_no_checksum_s"] = round(time.perf_counter() - t, 4)
    # BM25: loading the persisted bm25/ folder vs rebuilding it from chunks.jsonl on every load
    import bm25s

    from training.rag.index import make_bm25

    t = time.perf_counter()
    bm25s.BM25.load(str(index_dir / "bm25"), allow_pickle=False, show_progress=False)
    out["bm25_load_s"] = round(time.perf_counter() - t, 4)
    t = time.perf_counter()
    make_bm25(index.chunks, config)
    out["bm25_rebuild_s"] = round(time.perf_counter() - t, 4)
    out["files_mb"] = {p.name: round(_size(p) / 2**20, 2) for p in sorted(index_dir.iterdir())}
    out["peak_rss_mb"] = round(peak_rss_mb(), 0)
    return out


def _size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def phase_query(args) -> dict:
    """Quality of each mode on every question, latency one at a time, batch throughput, peak memory."""
    from curation.embed import Embedder
    from training.rag.index import load_rag_index
    from training.rag.retrieve import RetrieveConfig, search

    paragraphs, questions, owner = corpus(args.n)
    index = load_rag_index(args.index)
    rss_loaded = peak_rss_mb()
    embedder = Embedder(cache_dir=_data.cache_dir() / "embeddings")  # question vectors cached across runs
    out: dict = {"questions": len(questions), "paragraphs": len(paragraphs), "chunks": len(index.chunks),
                 "peak_rss_mb_loaded": round(rss_loaded, 0), "latency_n": args.latency_n}
    t = time.perf_counter()
    embedder.encode(questions)
    out["embed_questions_s"] = round(time.perf_counter() - t, 1)
    for mode in ("dense", "bm25", "hybrid"):
        t = time.perf_counter()
        results = search(index, questions, RetrieveConfig(k=CHUNK_HITS, mode=mode), embedder)
        elapsed = time.perf_counter() - t
        ranks = [paragraph_rank(hits, want) for hits, want in zip(results, owner)]
        out[mode] = {**metrics(ranks), "batch_s": round(elapsed, 2), "questions_per_s": round(len(questions) / elapsed, 1)}
    # one question at a time, embedding included (no cache: a fresh query is never cached)
    fresh = Embedder(use_cache=False)
    _ = fresh.dimension
    rng = np.random.default_rng(0)
    sample = [questions[i] for i in rng.choice(len(questions), size=min(args.latency_n, len(questions)), replace=False)]
    for mode in ("dense", "bm25", "hybrid"):
        times = []
        for q in sample:
            t = time.perf_counter()
            search(index, [q], RetrieveConfig(k=10, mode=mode), fresh)
            times.append((time.perf_counter() - t) * 1000)
        out[mode]["latency_ms_p50"] = round(float(np.percentile(times, 50)), 1)
        out[mode]["latency_ms_p95"] = round(float(np.percentile(times, 95)), 1)
    out["peak_rss_mb"] = round(peak_rss_mb(), 0)
    return out


def paragraph_rank(hits, want: int) -> int | None:
    """1-based rank of paragraph `want` among the distinct paragraphs of the hits, or None."""
    seen: list[int] = []
    for hit in hits:
        paragraph = int(hit.source.rsplit(":", 1)[1]) - 1
        if paragraph not in seen:
            seen.append(paragraph)
            if paragraph == want:
                return len(seen)
    return None


def metrics(ranks: list[int | None]) -> dict:
    """recall@1/5/10 and MRR@10 from 1-based ranks (None = not found)."""
    r = np.array([x if x is not None else 10**9 for x in ranks])
    out = {f"recall@{k}": round(float((r <= k).mean()), 4) for k in CUTOFFS}
    out["mrr@10"] = round(float(np.where(r <= 10, 1.0 / r, 0.0).mean()), 4)
    return out


# --- tuning ------------------------------------------------------------------------------------------


def phase_tune(args) -> dict:
    """Hybrid settings tried on the dev half (questions of even paragraphs), the best scored on the test half.

    The grid is scored with a vectorised RRF (paragraph score = best fused score of its chunks); the default
    and the best setting are then scored on the test half with the library's own rrf_fuse.
    """
    from curation.embed import Embedder
    from training.rag.index import IndexConfig, load_rag_index, make_bm25
    from training.rag.retrieve import bm25_candidates, dense_candidates, rrf_fuse

    paragraphs, questions, owner = corpus(args.n)
    owner_arr = np.array(owner)
    index = load_rag_index(args.index)
    embedder = Embedder(cache_dir=_data.cache_dir() / "embeddings")
    dev = np.array([i for i, p in enumerate(owner) if p % 2 == 0])
    test = np.array([i for i, p in enumerate(owner) if p % 2 == 1])
    depth_max = 200
    dense_ids, dense_scores = dense_candidates(index, embedder.encode(questions), depth_max)
    source_para = np.array([int(c.source.rsplit(":", 1)[1]) - 1 for c in index.chunks])

    bm25_variants = {}
    original = index.bm25, dict(index.manifest["bm25"])
    for stem in ("english", None):
        for stop in ("en", None):
            index.bm25 = make_bm25(index.chunks, IndexConfig(bm25_stemmer=stem, bm25_stopwords=stop))
            index.manifest["bm25"].update({"stemmer": stem, "stopwords": stop})
            bm25_variants[(stem, stop)] = bm25_candidates(index, questions, depth_max)
    index.bm25, index.manifest["bm25"] = original

    starts = np.flatnonzero(np.r_[True, source_para[1:] != source_para[:-1]])  # chunks are in paragraph order
    assert (source_para[starts] == np.arange(len(paragraphs))).all()

    def fast(rows, dense_w, bm25_w, rrf_k, depth, variant) -> dict:
        chunk_scores = np.zeros((len(rows), len(index.chunks)))
        tie = np.zeros_like(chunk_scores)
        weights = 1.0 / (rrf_k + np.arange(1, depth + 1))
        bm25_ids, bm25_scores = bm25_variants[variant]
        for ids, raw, w in ((dense_ids[rows, :depth], dense_scores[rows, :depth], dense_w),
                            (bm25_ids[rows, :depth], bm25_scores[rows, :depth], bm25_w)):
            r, c = np.nonzero(ids >= 0)
            np.add.at(chunk_scores, (r, ids[r, c]), w * weights[c])
            valid = ids >= 0
            count = np.maximum(valid.sum(axis=1, keepdims=True), 1)
            mean = (raw * valid).sum(axis=1, keepdims=True) / count
            std = np.sqrt((((raw - mean) * valid) ** 2).sum(axis=1, keepdims=True) / count)
            z = np.where(std > 0, (raw - mean) / np.where(std > 0, std, 1), 0.0)
            np.add.at(tie, (r, ids[r, c]), w * z[r, c])
        chunk_scores += 1e-9 * tie  # the library's tie-break, folded into the score
        chunk_scores -= 1e-13 * np.arange(len(index.chunks))  # then the lower chunk id, as sorted() does
        scores = np.maximum.reduceat(chunk_scores, starts, axis=1)  # a paragraph scores as its best chunk
        want = scores[np.arange(len(rows)), owner_arr[rows]]
        rank = 1 + (scores > want[:, None]).sum(axis=1)
        return metrics([int(x) if w > 0 else None for x, w in zip(rank, want)])

    def single(rows, ids) -> dict:
        return metrics([_rank_of(source_para, [c for c in ids[q][:CHUNK_HITS] if c >= 0], owner[q]) for q in rows])

    def library(rows, dense_w, bm25_w, rrf_k, depth, variant) -> dict:
        ranks = []
        for q in rows:
            bm25_ids, bm25_scores = bm25_variants[variant]
            fused = rrf_fuse([dense_ids[q][:depth], bm25_ids[q][:depth]], [dense_w, bm25_w], rrf_k, CHUNK_HITS,
                             scores=[dense_scores[q][:depth], bm25_scores[q][:depth]])
            ranks.append(_rank_of(source_para, [c for c, _ in fused], owner[q]))
        return metrics(ranks)

    out: dict = {"dev_questions": len(dev), "test_questions": len(test), "bm25_tokenisation": {}, "grid": []}
    for (stem, stop), (ids, _) in bm25_variants.items():
        out["bm25_tokenisation"][f"stem={stem or 'off'},stop={stop or 'off'}"] = {
            "bm25": single(dev, ids), "hybrid": fast(dev, 1.0, 1.0, 60, 100, (stem, stop))}
    out["dense_dev"] = single(dev, dense_ids)
    out["check_default_dev"] = {"vectorised": fast(dev, 1.0, 1.0, 10, 100, ("english", "en")),
                                "library": library(dev, 1.0, 1.0, 10, 100, ("english", "en"))}
    best = None
    for variant in bm25_variants:
        for rrf_k in (1, 10, 30, 60, 100):
            for depth in (10, 20, 50, 100, 200):
                for dense_w, bm25_w in ((1.0, 1.0), (1.0, 0.5), (1.0, 0.75), (1.0, 1.5), (1.0, 2.0)):
                    m = fast(dev, dense_w, bm25_w, rrf_k, depth, variant)
                    row = {"stem": variant[0], "stop": variant[1], "rrf_k": rrf_k, "depth": depth,
                           "dense_w": dense_w, "bm25_w": bm25_w, **m}
                    out["grid"].append(row)
                    if best is None or (m["recall@5"], m["mrr@10"]) > (best["recall@5"], best["mrr@10"]):
                        best = row
    out["best_on_dev"] = best
    variant = (best["stem"], best["stop"])
    out["test"] = {
        "dense": single(test, dense_ids),
        "bm25 (default tokenisation)": single(test, bm25_variants[("english", "en")][0]),
        "bm25 (best-on-dev tokenisation)": single(test, bm25_variants[variant][0]),
        "hybrid, RRF k=60 as in Cormack et al. (depth 100, 1:1)": library(test, 1.0, 1.0, 60, 100, ("english", "en")),
        "hybrid, tunewise default (k=10, depth 100, 1:1)": library(test, 1.0, 1.0, 10, 100, ("english", "en")),
        "hybrid best-on-dev": library(test, best["dense_w"], best["bm25_w"], best["rrf_k"], best["depth"], variant),
    }
    return out


def _rank_of(source_para: np.ndarray, chunk_ids, want: int) -> int | None:
    seen: list[int] = []
    for chunk in chunk_ids:
        paragraph = int(source_para[chunk])
        if paragraph not in seen:
            seen.append(paragraph)
            if paragraph == want:
                return len(seen)
    return None


# --- orchestration -----------------------------------------------------------------------------------


def run_phase(name: str, **kwargs) -> dict:
    """Run one phase in a fresh interpreter (its own peak memory) and return its JSON."""
    argv = [sys.executable, __file__, "--phase", name] + [f"--{k.replace('_', '-')}={v}" for k, v in kwargs.items() if v is not None]
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"phase {name} failed")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["phase_wall_s"] = round(time.perf_counter() - started, 1)
    return result


def print_report(build: dict, query: dict, tune: dict | None) -> None:
    cold = build["cold"]
    print(f"\nSQuAD v1.1 dev: {query['paragraphs']:,} paragraphs → {query['chunks']:,} chunks, {query['questions']:,} questions\n")
    print("## Build")
    print(f"embedder load: {build['load_model_s']:.1f} s")
    print(f"cold build (empty embedding cache): {cold['seconds']['total']:.1f} s  "
          f"(read {cold['seconds']['read']:.1f}, chunk {cold['seconds'].get('chunk', 0):.1f}, "
          f"embed {cold['seconds'].get('embed', 0):.1f}, index {cold['seconds']['index']:.2f}, write {cold['seconds']['write']:.2f}); "
          f"{cold['embedded_chunks']:,} chunks embedded, {cold['index_type']} index")
    print(f"warm build (new folder, cached embeddings): {build['warm']['seconds']['total']:.1f} s")
    print(f"re-run, nothing changed: {build['rerun_unchanged']['seconds']['total']:.2f} s, {build['rerun_unchanged']['embedded']} embedded")
    print(f"add a 20-paragraph file: {build['incremental_add']['seconds']['total']:.2f} s, {build['incremental_add']['embedded']} embedded, "
          f"{build['incremental_add']['reused']:,} reused")
    print(f"delete it again: {build['incremental_remove']['seconds']['total']:.2f} s, {build['incremental_remove']['embedded']} embedded")
    print(f"load index: {build['load_index_s'] * 1000:.0f} ms with checksums, {build['load_index_no_checksum_s'] * 1000:.0f} ms without; "
          f"BM25 part: {build['bm25_load_s'] * 1000:.0f} ms to load its files vs {build['bm25_rebuild_s'] * 1000:.0f} ms to rebuild from chunks")
    print(f"on disk: {', '.join(f'{k} {v} MB' for k, v in build['files_mb'].items())}")
    print(f"peak RSS: build {build['peak_rss_mb']:.0f} MB; query process {query['peak_rss_mb']:.0f} MB "
          f"(index loaded: {query['peak_rss_mb_loaded']:.0f} MB)\n")
    print("## Retrieval quality (all questions, default settings; relevant = the question's own paragraph)")
    print("| mode | recall@1 | recall@5 | recall@10 | MRR@10 | batch search q/s | p50 ms | p95 ms |\n|---|---|---|---|---|---|---|---|")
    for mode in ("dense", "bm25", "hybrid"):
        m = query[mode]
        print(f"| {mode} | {m['recall@1']:.3f} | {m['recall@5']:.3f} | {m['recall@10']:.3f} | {m['mrr@10']:.3f} | "
              f"{m['questions_per_s']:.0f} | {m['latency_ms_p50']:.1f} | {m['latency_ms_p95']:.1f} |")
    print(f"(batch search: all questions at once, question vectors already computed; embedding them took "
          f"{query['embed_questions_s']} s in batches. p50/p95: one question at a time, embedding included, "
          f"{query['latency_n']} questions per mode)\n")
    if not tune:
        return
    print(f"## Tuning hybrid on the dev half ({tune['dev_questions']:,} questions), scored on the test half ({tune['test_questions']:,})")
    print("BM25 tokenisation (dev; hybrid at k=60):")
    for name, row in tune["bm25_tokenisation"].items():
        print(f"  {name:<28} bm25 R@1 {row['bm25']['recall@1']:.3f} R@5 {row['bm25']['recall@5']:.3f} MRR {row['bm25']['mrr@10']:.3f} | "
              f"hybrid R@5 {row['hybrid']['recall@5']:.3f} MRR {row['hybrid']['mrr@10']:.3f}")
    grid = tune["grid"]
    default = next(r for r in grid if (r["stem"], r["stop"], r["rrf_k"], r["depth"], r["dense_w"], r["bm25_w"]) == ("english", "en", 60, 100, 1.0, 1.0))
    check = tune["check_default_dev"]
    print(f"dense alone (dev): R@5 {tune['dense_dev']['recall@5']:.3f}; hybrid k=60 (dev): R@5 {default['recall@5']:.3f}; "
          f"k=10 vectorised R@1/R@5 {check['vectorised']['recall@1']:.3f}/{check['vectorised']['recall@5']:.3f}, "
          f"library rrf_fuse {check['library']['recall@1']:.3f}/{check['library']['recall@5']:.3f}")
    for key, values in (("rrf_k", (1, 10, 30, 60, 100)), ("depth", (10, 20, 50, 100, 200))):
        best = {v: max((r for r in grid if r[key] == v), key=lambda r: r["recall@5"])["recall@5"] for v in values}
        print(f"  best dev R@5 by {key}: " + ", ".join(f"{v}: {s:.3f}" for v, s in best.items()))
    weights = {}
    for r in grid:
        key = f"{r['dense_w']}:{r['bm25_w']}"
        weights[key] = max(weights.get(key, 0), r["recall@5"])
    print("  best dev R@5 by dense:bm25 weight: " + ", ".join(f"{k}: {v:.3f}" for k, v in weights.items()))
    b = tune["best_on_dev"]
    print(f"best on dev: stem={b['stem']}, stop={b['stop']}, rrf_k={b['rrf_k']}, depth={b['depth']}, "
          f"weights {b['dense_w']}:{b['bm25_w']} → dev R@5 {b['recall@5']:.3f}")
    print("Test half:\n| setting | recall@1 | recall@5 | recall@10 | MRR@10 |\n|---|---|---|---|---|")
    for name, m in tune["test"].items():
        print(f"| {name} | {m['recall@1']:.3f} | {m['recall@5']:.3f} | {m['recall@10']:.3f} | {m['mrr@10']:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="First 300 paragraphs only, no tuning grid (a smoke test).")
    parser.add_argument("--no-tune", action="store_true", help="Skip the hybrid tuning section.")
    parser.add_argument("--out", help="Also write every number as JSON here.")
    parser.add_argument("--phase", choices=["build", "query", "tune"], help=argparse.SUPPRESS)
    parser.add_argument("--docs", help=argparse.SUPPRESS)
    parser.add_argument("--index", help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--latency-n", type=int, default=300, help="Questions timed one at a time per mode.")
    args = parser.parse_args()
    if args.phase:
        result = {"build": phase_build, "query": phase_query, "tune": phase_tune}[args.phase](args)
        print(json.dumps(result))
        return
    n = 300 if args.quick else None
    with tempfile.TemporaryDirectory(prefix="tunewise-rag-bench-") as tmp:
        tmp_path = Path(tmp)
        paragraphs, _, _ = corpus(n)
        docs = tmp_path / "docs"
        write_corpus(paragraphs, docs)
        index = tmp_path / "index"
        print("building (cold, then warm, then incremental) ...", file=sys.stderr)
        build = run_phase("build", docs=docs, index=index, cache=tmp_path / "cache", n=n)
        print("querying ...", file=sys.stderr)
        query = run_phase("query", index=index, n=n, latency_n=50 if args.quick else args.latency_n)
        tune = None
        if not (args.quick or args.no_tune):
            print("tuning hybrid ...", file=sys.stderr)
            tune = run_phase("tune", index=index, n=n)
    print_report(build, query, tune)
    if args.out:
        Path(args.out).write_text(json.dumps({"build": build, "query": query, "tune": tune}, indent=2))


if __name__ == "__main__":
    main()
