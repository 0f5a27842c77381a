"""Operation: build or update a project's RAG index from its documents folder, and search or answer from it.

The adapter that answers is the project's active fine-tune run (`tunewise runs use`), when it has one: that is
the RAG + fine-tuning path; otherwise the base model answers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from advisor.project.folder import Project, project_root
from advisor.project.layout import Layout
from curation.errors import UsageError

Progress = Callable[[str, int, int], None]


def build_index(project: Project, docs: str | Path | None = None, config=None, progress: Progress | None = None,
                cancel: threading.Event | None = None, embedder=None):
    """Build or update index/ from the documents folder (`docs` becomes the project's docs folder); returns the report.

    Only changed files are re-embedded; a cancelled build leaves the previous index as it was.
    """
    from training.rag.index import build_rag_index

    if docs is not None:
        if not str(docs).strip():
            raise UsageError("No documents folder given.", "Type the folder holding your documents (.md, .html, .txt, .pdf, .jsonl).")
        project.set_docs(docs)  # checks it is a folder, and remembers it
    if project.docs_path is None:
        raise UsageError("No documents folder given.", "Type the folder holding your documents (.md, .html, .txt, .pdf, .jsonl).")
    return build_rag_index([project.docs_path], project.layout.index, config, progress=progress, cancel=cancel, embedder=embedder)


def index_manifest(project: Project | str | Path) -> dict | None:
    """The manifest of the project's index (None when no index was built); DataError when it cannot be read."""
    from training.rag.index import MANIFEST, read_manifest

    index = Layout(project_root(project)).index
    return read_manifest(index) if (index / MANIFEST).is_file() else None


def answering_adapter(project: Project | str | Path) -> Path | None:
    """The run whose adapter answers RAG questions: the project's active run when it has an adapter, else None."""
    from training.runs import active_run, has_adapter, runs_root

    root = project_root(project)
    name = active_run(root)
    run = runs_root(root) / name if name else None
    return run if run is not None and has_adapter(run) else None


@dataclass
class QueryResult:
    """The hits for a question and, when asked, the answer from them and the model that gave it."""

    hits: list = field(default_factory=list)
    answer: Any = None
    model: str | None = None


def query_index(index, question: str, mode: str, k: int, embedder=None, generator=None, max_new_tokens: int = 96,
                cancel: threading.Event | None = None) -> QueryResult:
    """Search a loaded index (training.rag.index.load_rag_index) for the question; with a generator, answer from the hits."""
    from training.rag.retrieve import RetrieveConfig, search

    if generator is None:
        return QueryResult(search(index, [question], RetrieveConfig(k=k, mode=mode), embedder, cancel=cancel)[0])
    from training.rag.answer import AnswerConfig, answer_questions

    config = AnswerConfig(k=k, mode=mode, max_new_tokens=max_new_tokens)
    answer = answer_questions(index, [question], generator, embedder, config, cancel=cancel)[0]
    return QueryResult(answer.sources, answer, generator.name)
