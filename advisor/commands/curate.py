"""`tunewise curate`: validate, dedupe, cluster and split a dataset."""

from __future__ import annotations

import json

import click

from advisor.cli_output import handle_errors, print_markdown, say
from advisor.project.layout import CURATED
from curation import split_files
from curation.errors import UsageError


@click.command()
@click.argument("data", nargs=-1, required=True, type=click.Path())
@click.option("--out", "out_dir", default=CURATED, show_default=True, type=click.Path(file_okay=False), help="Output folder (created; inputs are never modified).")
@click.option("--format", "fmt", type=click.Choice(["chat", "completion", "alpaca", "sharegpt", "csv"]), help="Input format (default: detected per file).")
@click.option("--input-column", help="CSV/TSV column holding the input.")
@click.option("--output-column", help="CSV/TSV column holding the expected output.")
@click.option("--system-column", help="CSV/TSV column holding a system prompt.")
@click.option("--skip-invalid", is_flag=True, help="Continue without invalid records; write them verbatim with reasons to rejected.jsonl.")
@click.option("--threshold", default=0.9, show_default=True, type=float, help="Near-duplicate cosine similarity, required of both input and output.")
@click.option("--review-threshold", default=0.8, show_default=True, type=float, help="Pairs between this and --threshold are flagged possible_duplicate, not removed.")
@click.option("--conflict-threshold", default=0.95, show_default=True, type=float, help="Input similarity at which differing outputs count as a conflict.")
@click.option("--policy", default="first", show_default=True, type=click.Choice(["first", "longest", "central"]), help="Which example of a duplicate group to keep.")
@click.option("--eval-fraction", default=0.1, show_default=True, type=float, help="Share of kept examples held out for evaluation.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed for the split and k-means.")
@click.option("--clusters", type=int, help="Number of clusters (default: chosen by silhouette).")
@click.option("--embedder", help="Sentence-transformers folder or hub id (default: packaged all-MiniLM-L6-v2).")
@click.option("--model", help="Model whose tokenizer and chat template count tokens (default: packaged SmolLM2-135M-Instruct).")
@click.option("--outlier-z", default=3.0, show_default=True, type=float, help="How unusual (robust z of distance to nearest examples) an outlier must be.")
@click.option("--max-tokens", default=2048, show_default=True, type=int, help="Training sequence length; longer examples are flagged.")
@click.option("--epochs", default=3, show_default=True, type=int, help="Epochs assumed by the cost estimate.")
@click.option("--cache-dir", type=click.Path(file_okay=False), help="Embedding cache folder (default: ~/.cache/tunewise/embeddings).")
@click.option("--near-exact-above", default=20_000, show_default=True, type=int, help="From this many examples on, near-identical text (MinHash-LSH) is grouped before embedding; 0 = always.")
@click.option("--near-exact-jaccard", default=0.9, show_default=True, type=float, help="Character 5-gram Jaccard, in input and output, at which two examples are near-identical text.")
@click.option("--memory-mb", default=1024, show_default=True, type=int, help="Memory for embeddings; past half of it, vectors go to a memory-mapped file in the cache folder.")
@click.option("--engine", default="local", show_default=True, type=click.Choice(["local", "ray"]), help="Where to curate: this machine, or a Ray cluster (needs: pip install 'tunewise[ray]').")
@click.option("--address", help="With --engine ray: address of a running Ray cluster (e.g. ray://head:10001); default: start a local one.")
@click.option("--partition-size", default=4000, show_default=True, type=int, help="With --engine ray: examples per k-means partition of the near-duplicate search.")
@click.option("--shard-size", default=0, show_default=True, type=int, help="With --engine ray: also write clean/train/eval as shards of this many examples in OUT/shards/ (0: none).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout (progress stays on stderr).")
@handle_errors
def curate(data, out_dir, fmt, input_column, output_column, system_column, skip_invalid, threshold, review_threshold, conflict_threshold,
           policy, eval_fraction, seed, clusters, embedder, model, outlier_z, max_tokens, epochs, cache_dir, near_exact_above,
           near_exact_jaccard, memory_mb, engine, address, partition_size, shard_size, as_json) -> None:
    """Validate, dedupe, cluster and split examples; write clean/train/eval files and a report.

    Exit codes: 0 ok, 1 data errors (nothing written unless --skip-invalid), 2 usage.
    """
    from advisor.progress import cli_progress
    from curation.curate import CurateConfig
    from curation.curate_files import run_curation

    config = CurateConfig(
        threshold=threshold, review_threshold=review_threshold, conflict_threshold=conflict_threshold, policy=policy, eval_fraction=eval_fraction, seed=seed,
        clusters=clusters, embedder=embedder, model=model, outlier_z=outlier_z, max_tokens=max_tokens, epochs=epochs, cache_dir=cache_dir,
        near_exact_above=near_exact_above, near_exact_jaccard=near_exact_jaccard, memory_mb=memory_mb,
    )
    columns = (input_column, output_column, system_column)
    if engine == "local" and (address or shard_size or partition_size != 4000):
        raise UsageError("--address, --partition-size and --shard-size apply only to the Ray engine.", "Add --engine ray, or leave them out.")
    if shard_size < 0:
        raise UsageError(f"Invalid --shard-size: {shard_size}.", "Use a whole number of examples ≥ 0 (0 writes no shards).")
    with cli_progress() as progress:
        if engine == "ray":
            from curation.ray_engine import RaySettings, run_curation_ray

            settings = RaySettings(address=address, partition_size=partition_size)
            job = run_curation_ray(data, out_dir, config, fmt, columns, skip_invalid, progress=progress, settings=settings,
                                   shard_size=shard_size)
        else:
            job = run_curation(data, out_dir, config, fmt, columns, skip_invalid, progress=progress)
    if as_json:
        click.echo(json.dumps(job.report, indent=2, ensure_ascii=False))
        return
    if job.loaded.problems:
        say(f"Skipped {len(job.loaded.rejected)} invalid record(s); see {job.out_dir / split_files.REJECTED}")
    print_markdown((job.out_dir / split_files.REPORT_MD).read_text(encoding="utf-8"))
    say(f"Wrote {', '.join(sorted(p.name for p in job.out_dir.iterdir() if p.is_file()))} to {job.out_dir}/", err=False)
