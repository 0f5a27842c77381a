"""The bundled Northwind Bikes sample (support chats, product docs, interview answers) and a project made on it.

The sample ships as package data (the top-level samples/ folder installed as the package `tunewise_samples`), so
`tunewise app --sample` works from an installed wheel as well as from a checkout.
"""

from __future__ import annotations

from pathlib import Path

from advisor.project.folder import Project, create_project
from advisor.project.layout import ANSWERS
from curation.errors import UsageError
from curation.files import write_text_atomic
from curation.safe_read import CONFIG_LIMIT, read_text_limited

SAMPLE_PACKAGE = "tunewise_samples"
SAMPLE_NAME = "support"
SAMPLE_EXAMPLES = "examples.jsonl"
SAMPLE_DOCS = "docs"


def samples_root() -> Path:
    """The folder of bundled samples: the installed `tunewise_samples` package, else the checkout's samples/."""
    from importlib import resources

    try:
        return Path(str(resources.files(SAMPLE_PACKAGE)))
    except ModuleNotFoundError:  # an editable install made before samples became package data
        return Path(__file__).resolve().parents[2] / "samples"


SAMPLE_DIR = samples_root() / SAMPLE_NAME


def create_sample_project(path: str | Path, sample: Path = SAMPLE_DIR) -> Project:
    """A new project on the bundled Northwind Bikes sample; the sample folder itself is only read."""
    examples = sample / SAMPLE_EXAMPLES
    if not examples.is_file():
        raise UsageError(f"The bundled sample is not at {sample}.",
                         f"Reinstall tunewise: its package ships the sample as {SAMPLE_PACKAGE}/{SAMPLE_NAME}/.")
    docs = sample / SAMPLE_DOCS
    project = create_project(path, [examples.resolve()], docs.resolve() if docs.is_dir() else None)
    answers = sample / ANSWERS
    if answers.is_file():
        write_text_atomic(project.answers_path, read_text_limited(answers, CONFIG_LIMIT, "sample answers file"))
    return project
