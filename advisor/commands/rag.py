"""`tunewise rag`: build a retrieval index over documents, search it, answer from it with citations."""

from __future__ import annotations

import json
from pathlib import Path

import click

from advisor.cli_output import handle_errors, say

MODES = ("dense", "bm25", "hybrid")


@click.group()
def rag() -> None:
    """Retrieval-augmented generation: index documents, retrieve chunks, answer with cited sources."""


@rag.command()
@click.argument("docs", nargs=-1, required=True, type=click.Path())
@click.option("--index", "index_dir", required=True, type=click.Path(file_okay=False), help="Index folder (created, or updated in place: only changed files are re-embedded).")
@click.option("--embedder", help="Sentence-transformers folder or hub id (default: packaged all-MiniLM-L6-v2).")
@click.option("--chunk-tokens", default=200, show_default=True, type=int, help="Most embedder tokens per chunk, heading path included.")
@click.option("--overlap", "overlap_tokens", default=40, show_default=True, type=int, help="Tokens of whole sentences repeated from the previous chunk.")
@click.option("--text-field", help="JSONL field holding the text (default: text, content, body, … whichever is present).")
@click.option("--exact-below", default=100_000, show_default=True, type=int, help="Exact (flat) FAISS search up to this many chunks, HNSW above.")
@click.option("--no-stem", is_flag=True, help="BM25 without Snowball stemming.")
@click.option("--cache-dir", type=click.Path(file_okay=False), help="Embedding cache folder (default: ~/.cache/tunewise/embeddings).")
@click.option("--json", "as_json", is_flag=True, help="Print the build report as JSON on stdout.")
@handle_errors
def build(docs, index_dir, embedder, chunk_tokens, overlap_tokens, text_field, exact_below, no_stem, cache_dir, as_json) -> None:
    """Index the Markdown, text, HTML, PDF and JSONL files in DOCS (folders or files).

    Unreadable files are skipped and listed with the reason. Exit codes: 0 ok, 1 nothing readable, 2 usage.
    """
    from advisor.progress import cli_progress
    from training.rag.index import IndexConfig, build_rag_index

    config = IndexConfig(embedder=embedder, chunk_tokens=chunk_tokens, overlap_tokens=overlap_tokens, text_field=text_field,
                         exact_below=exact_below, bm25_stemmer=None if no_stem else "english", cache_dir=cache_dir)
    with cli_progress() as progress:
        report = build_rag_index(docs, index_dir, config, progress=progress)
    for item in report.skipped:
        say(f"Skipped {item['path']}: {item['reason']}")
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        return
    click.echo(f"Indexed {report.chunks} chunks from {report.documents} file(s) into {report.index_dir}/ "
               f"({report.index_type} FAISS index + BM25) in {report.seconds['total']:.1f} s.")
    click.echo(f"Embedded {report.embedded_chunks} new chunk(s), reused {report.reused_chunks}.")
    if report.full_rebuild_reason:
        click.echo(f"Rebuilt from scratch: {report.full_rebuild_reason}.")
    for label, items in (("Added", report.added), ("Changed", report.changed), ("Removed", report.removed)):
        if items and (label != "Added" or len(items) <= 20):
            click.echo(f"{label}: {', '.join(items)}")


def _open(index_dir: str, embedder_name: str | None, mode: str):
    """Load the index and, unless mode is bm25, the embedder it was built with (no cache writes for queries)."""
    from curation.embed import Embedder
    from training.rag.index import load_rag_index, read_manifest

    manifest = read_manifest(Path(index_dir))
    embedder = None
    if mode != "bm25":
        embedder = Embedder(embedder_name or manifest["embedder"].get("model"), use_cache=False)
    index = load_rag_index(index_dir, embedder.name if embedder else None)
    return index, embedder


def _read_questions(path: str) -> list[str]:
    from curation.errors import UsageError

    try:
        questions = [line.strip() for line in Path(path).read_text(encoding="utf-8-sig").splitlines() if line.strip()]
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path} is not UTF-8 text.", "Write one question per line in a UTF-8 text file.") from exc
    if not questions:
        raise UsageError(f"{path} holds no questions.", "Write one question per line.")
    return questions


@rag.command()
@click.argument("index_dir", type=click.Path())
@click.argument("question", required=False)
@click.option("-k", "k", default=5, show_default=True, type=int, help="Chunks to return.")
@click.option("--mode", default="hybrid", show_default=True, type=click.Choice(MODES), help="dense (embeddings), bm25 (words) or hybrid (both, reciprocal rank fusion).")
@click.option("--questions", "questions_file", type=click.Path(exists=True, dir_okay=False), help="Answer a file of questions (one a line); prints JSON lines.")
@click.option("--depth", default=100, show_default=True, type=int, help="Hybrid: candidates taken from each method before fusing.")
@click.option("--rrf-k", default=10, show_default=True, type=int, help="Hybrid: reciprocal rank fusion constant.")
@click.option("--embedder", help="Embedder to query with (default: the one the index was built with).")
@click.option("--json", "as_json", is_flag=True, help="Print hits as JSON (source, heading, score, text, span).")
@handle_errors
def query(index_dir, question, k, mode, questions_file, depth, rrf_k, embedder, as_json) -> None:
    """Retrieve the chunks of INDEX_DIR that best answer QUESTION (or every line of --questions FILE)."""
    from advisor.progress import cli_progress
    from curation.errors import UsageError
    from training.rag.retrieve import RetrieveConfig, search

    if bool(question) == bool(questions_file):
        raise UsageError("Give either a QUESTION or --questions FILE.", 'tunewise rag query DIR "How long is the warranty?"')
    config = RetrieveConfig(k=k, mode=mode, depth=depth, rrf_k=rrf_k)
    index, model = _open(index_dir, embedder, mode)
    questions = _read_questions(questions_file) if questions_file else [question]
    if questions_file:
        with cli_progress() as progress:
            results = search(index, questions, config, model, progress=lambda d, t: progress("search", d, t))
        for q, hits in zip(questions, results):
            click.echo(json.dumps({"question": q, "mode": mode, "hits": [h.to_dict() for h in hits]}, ensure_ascii=False))
        return
    hits = search(index, questions, config, model)[0]
    if as_json:
        click.echo(json.dumps({"question": question, "mode": mode, "hits": [h.to_dict() for h in hits]}, indent=2, ensure_ascii=False))
        return
    if not hits:
        click.echo("No matching chunks.")
    for hit in hits:
        where = f"{hit.source} › {hit.heading}" if hit.heading else hit.source
        text = " ".join(hit.text.split())
        click.echo(f"{hit.rank}. [{hit.score:.4f}] {where} (chars {hit.span[0]}–{hit.span[1]})")
        click.echo(f"   {text[:300]}{'…' if len(text) > 300 else ''}")


@rag.command()
@click.argument("index_dir", type=click.Path())
@click.argument("question", required=False)
@click.option("--questions", "questions_file", type=click.Path(exists=True, dir_okay=False), help="Answer a file of questions (one a line); prints JSON lines.")
@click.option("-k", "k", default=4, show_default=True, type=int, help="Chunks retrieved and given to the model as numbered sources.")
@click.option("--mode", default="hybrid", show_default=True, type=click.Choice(MODES), help="Retrieval mode.")
@click.option("--model", help="Generative model folder (default: packaged SmolLM2-135M-Instruct).")
@click.option("--adapter", type=click.Path(exists=True, file_okay=False), help="A LoRA adapter folder trained by tunewise.")
@click.option("--max-new-tokens", default=256, show_default=True, type=int, help="Most tokens generated per answer.")
@click.option("--temperature", default=0.0, show_default=True, type=float, help="Sampling temperature (0: greedy).")
@click.option("--embedder", help="Embedder to query with (default: the one the index was built with).")
@click.option("--json", "as_json", is_flag=True, help="Print the answer, its citations and all sources as JSON.")
@handle_errors
def ask(index_dir, question, questions_file, k, mode, model, adapter, max_new_tokens, temperature, embedder, as_json) -> None:
    """Answer QUESTION from the chunks retrieved from INDEX_DIR with the local model, citing them as [1], [2]…"""
    from advisor.progress import cli_progress
    from curation.errors import UsageError
    from training.generate import load_generator
    from training.rag.answer import AnswerConfig, answer_questions

    if bool(question) == bool(questions_file):
        raise UsageError("Give either a QUESTION or --questions FILE.", 'tunewise rag ask DIR "How long is the warranty?"')
    config = AnswerConfig(k=k, mode=mode, max_new_tokens=max_new_tokens, temperature=temperature)
    index, query_embedder = _open(index_dir, embedder, mode)
    questions = _read_questions(questions_file) if questions_file else [question]
    with cli_progress() as progress:
        generator = load_generator(model, adapter)
        answers = answer_questions(index, questions, generator, query_embedder, config, progress=progress)
    if as_json or questions_file:
        for answer in answers:
            click.echo(json.dumps(answer.to_dict(), ensure_ascii=False, indent=None if questions_file else 2))
        return
    answer = answers[0]
    click.echo(answer.text)
    click.echo("\nSources:")
    cited = {c.number: c.inferred for c in answer.citations}
    for number, hit in enumerate(answer.sources, 1):
        where = f"{hit.source} › {hit.heading}" if hit.heading else hit.source
        note = "  (not cited)" if number not in cited else "  (attributed by word overlap)" if cited[number] else ""
        click.echo(f"[{number}] {where} (chars {hit.span[0]}–{hit.span[1]}){note}")
    if answer.invalid_citations:
        say(f"The answer cites source(s) that do not exist: {answer.invalid_citations}")
