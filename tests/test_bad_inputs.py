"""The bad-input corpus: every case of tests/fixtures/bad/ (see its README.md) through the real CLI.

Each case copies its fixture into a temporary folder (or makes there what git cannot hold: a symlink loop, a link to
/dev/zero, a FIFO, a path with rich markup, an output folder whose parent is a file), runs one `tunewise` command on
it in-process and checks the contract of issue 10:

- the exit code is 1 or 2 (a few cases legitimately succeed, with a warning or a rebuild: their own codes);
- no traceback: the command ends in SystemExit, and "Traceback (most recent call last)" is nowhere in its output;
- the message names the offending file;
- nothing under the temporary folder changed: the inputs are byte-identical, no output folder appeared, no
  temporary or staging file was left behind (a succeeding case may change only the folder it repairs).

No case loads a generative model; the cases about a RAG index share one real index built once per module.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from advisor.cli import cli

FIXTURES = Path(__file__).parent / "fixtures"
BAD = FIXTURES / "bad"
DOCS = FIXTURES / "docs"
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
LEFTOVERS = (".tmp", ".partial", ".staging", ".part")


def _chat(question: str, answer: str, **extra) -> str:
    return json.dumps({**extra, "messages": [{"role": "user", "content": question},
                                             {"role": "assistant", "content": answer}]}) + "\n"


GOOD = _chat("Where is my order?", "It ships tomorrow.")


# ---- what a case is -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """What a set-up made: the command line, the text that names the offending file, what may change."""

    args: list[str]
    names: str
    may_change: tuple[Path, ...] = ()  # only for cases that succeed by repairing something
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    """One bad input: how to set it up in a temporary folder, the exit codes allowed, the words it must say."""

    id: str
    setup: Callable[[Path, Shared], Run]
    codes: tuple[int, ...] = (1, 2)
    says: tuple[str, ...] = ()
    xfail: str | None = None
    root_skip: str | None = None  # why root cannot see this case (permissions do not bind root)


class Shared:
    """What several cases need and is slow to make, made once per module on first use: a real RAG index."""

    def __init__(self, factory: pytest.TempPathFactory) -> None:
        self._factory = factory
        self._index: Path | None = None

    @property
    def index(self) -> Path:
        """A real index of tests/fixtures/docs, built once with the packaged embedder."""
        if self._index is None:
            out = self._factory.mktemp("corpus-index") / "index"
            result = CliRunner().invoke(cli, ["rag", "build", str(DOCS), "--index", str(out)])
            assert result.exit_code == 0, result.output
            self._index = out
        return self._index


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> Shared:
    return Shared(tmp_path_factory)


# ---- set-up helpers -------------------------------------------------------------------------------------------


def put(tmp: Path, fixture: str, target: str | Path) -> Path:
    """Copy BAD/fixture to tmp/target (folders made as needed), replacing what is there."""
    path = tmp / target
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    shutil.copyfile(BAD / fixture, path)
    return path


def good_input(tmp: Path) -> Path:
    path = tmp / "in" / "good.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(GOOD, encoding="utf-8")
    return path


def project(tmp: Path) -> Path:
    """A small hand-written project: curated/ (train, eval, settings, report) and two runs, 'good' active."""
    root = tmp / "project"
    curated = root / "curated"
    curated.mkdir(parents=True)
    train = [_chat(f"Question {n}: where is parcel {n}?", f"Parcel {n} ships on day {n}.", id=f"t{n}") for n in range(6)]
    (curated / "train.jsonl").write_text("".join(train), encoding="utf-8")
    (curated / "eval.jsonl").write_text(_chat("Where is parcel 9?", "Parcel 9 ships on day 9.", id="e1")
                                        + _chat("Where is parcel 8?", "Parcel 8 ships on day 8.", id="e2"), encoding="utf-8")
    (curated / "settings.json").write_text(json.dumps({"max_tokens": 512}))
    (curated / "report.json").write_text(json.dumps({
        "counts": {"valid": 8, "kept": 8},
        "tokens": {"per_example": {"median": 30, "p90": 40, "max": 60, "total": 240}, "assistant": {"median": 10}},
        "cost": {}}))
    for name, status in (("good", "completed"), ("bad", "interrupted")):
        run = root / "runs" / name
        (run / "adapter").mkdir(parents=True)
        (run / "run.json").write_text(json.dumps({
            "name": name, "created": "2025-01-02T00:00:00+00:00", "status": status, "model": "SmolLM2-135M-Instruct",
            "data": {"source": "train.jsonl", "train_examples": 6, "fingerprint": None},
            "metrics": {"eval_loss": 1.25, "steps": 2}}))
        (run / "settings.json").write_text(json.dumps({"rank": 8, "max_steps": 2}))
        (run / "adapter" / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "x"}))
    (root / "runs" / "active.json").write_text(json.dumps({"name": "good"}))
    (root / "prompt").mkdir()
    (root / "prompt" / "messages.json").write_text(json.dumps([{"role": "system", "content": "Be brief."}]))
    return root


def fifo(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
    os.mkfifo(path)
    return path


# ---- the cases ------------------------------------------------------------------------------------------------


def curate_file(name: str) -> Callable[[Path, Shared], Run]:
    def setup(tmp: Path, shared: Shared) -> Run:
        path = put(tmp, name, Path("in") / name)
        return Run(["curate", str(path), "--out", str(tmp / "out")], name)
    return setup


DATA_FILES = sorted(p.name for p in BAD.iterdir() if p.is_file() and p.suffix in (".jsonl", ".json", ".csv", ".tsv"))


def symlink_loop(tmp: Path, shared: Shared) -> Run:
    (tmp / "in").mkdir()
    (tmp / "in" / "loop.jsonl").symlink_to(tmp / "in" / "loop.jsonl")
    return Run(["curate", str(tmp / "in" / "loop.jsonl"), "--out", str(tmp / "out")], "loop.jsonl")


def dev_zero(tmp: Path, shared: Shared) -> Run:
    (tmp / "in").mkdir()
    (tmp / "in" / "zero.jsonl").symlink_to("/dev/zero")
    return Run(["curate", str(tmp / "in" / "zero.jsonl"), "--out", str(tmp / "out")], "zero.jsonl",
               env={"TUNEWISE_MAX_FILE_BYTES": str(1 << 20)})  # should it be read after all, it stops soon


def fifo_input(tmp: Path, shared: Shared) -> Run:
    path = fifo(tmp / "in" / "pipe.jsonl")
    return Run(["curate", str(path), "--out", str(tmp / "out")], "pipe.jsonl")


def fifo_in_folder(tmp: Path, shared: Shared) -> Run:
    good_input(tmp)
    fifo(tmp / "in" / "pipe.jsonl")
    return Run(["curate", str(tmp / "in"), "--out", str(tmp / "out")], "pipe.jsonl")


def over_size_limit(tmp: Path, shared: Shared) -> Run:
    return Run(["curate", str(good_input(tmp)), "--out", str(tmp / "out")], "good.jsonl",
               env={"TUNEWISE_MAX_FILE_BYTES": "10"})


def unreadable_folder(tmp: Path, shared: Shared) -> Run:
    folder = good_input(tmp).parent
    folder.rename(tmp / "private")
    (tmp / "private").chmod(0)
    return Run(["curate", str(tmp / "private"), "--out", str(tmp / "out")], "private")


def out_parent_is_file(tmp: Path, shared: Shared) -> Run:
    (tmp / "notes.txt").write_text("not a folder")
    return Run(["curate", str(good_input(tmp)), "--out", str(tmp / "notes.txt" / "out")], "notes.txt")


def out_in_read_only_folder(tmp: Path, shared: Shared) -> Run:
    good_input(tmp)
    (tmp / "locked").mkdir()
    (tmp / "locked").chmod(0o555)
    return Run(["curate", str(tmp / "in" / "good.jsonl"), "--out", str(tmp / "locked" / "out")], "locked")


def markup_input(tmp: Path, shared: Shared) -> Run:
    return Run(["curate", str(tmp / "missing[/x].jsonl"), "--out", str(tmp / "out")], "missing[/x].jsonl")


def markup_out(tmp: Path, shared: Shared) -> Run:
    (tmp / "[red]notes.txt").write_text("a file, not a folder")  # a file name cannot hold "/": no closing tag
    return Run(["curate", str(good_input(tmp)), "--out", str(tmp / "[red]notes.txt") + "/out[/x]"], "[red]notes.txt")


def answers(name: str) -> Callable[[Path, Shared], Run]:
    def setup(tmp: Path, shared: Shared) -> Run:
        path = put(tmp, f"answers/{name}", "in/answers.yaml")
        return Run(["advise", "--answers", str(path), "--no-ask", "--save-answers", str(tmp / "out" / "saved.yaml")],
                   "answers.yaml")
    return setup


def answers_fifo(tmp: Path, shared: Shared) -> Run:
    path = fifo(tmp / "in" / "answers.yaml")
    return Run(["advise", "--answers", str(path), "--no-ask"], "answers.yaml")


def index_copy(tmp: Path, shared: Shared, manifest: str | None) -> Path:
    index = tmp / "index"
    shutil.copytree(shared.index, index)
    if manifest:
        put(tmp, f"manifest/{manifest}", "index/manifest.json")
    return index


def rag_query(manifest: str) -> Callable[[Path, Shared], Run]:
    def setup(tmp: Path, shared: Shared) -> Run:
        index = index_copy(tmp, shared, manifest)
        return Run(["rag", "query", str(index), "How long does delivery take?"], "manifest.json")
    return setup


def rag_rebuild(manifest: str) -> Callable[[Path, Shared], Run]:
    """`rag build` over a damaged index rebuilds it (exit 0), saying so; only the index folder changes."""
    def setup(tmp: Path, shared: Shared) -> Run:
        index = index_copy(tmp, shared, manifest)
        docs = tmp / "docs"
        shutil.copytree(DOCS, docs)
        return Run(["rag", "build", str(docs), "--index", str(index)], "manifest.json", may_change=(index,))
    return setup


def eval_damaged_index(tmp: Path, shared: Shared) -> Run:
    root = project(tmp)
    put(tmp, "manifest/empty_object.json", "project/index/manifest.json")
    return Run(["eval", str(root), "--candidates", "rag"], "manifest.json")


def runs_use(fixture: str) -> Callable[[Path, Shared], Run]:
    def setup(tmp: Path, shared: Shared) -> Run:
        root = project(tmp)
        put(tmp, f"run/{fixture}", "project/runs/bad/run.json")
        return Run(["runs", "use", "bad", "--project", str(root)], "run.json")
    return setup


def runs_list_damaged(tmp: Path, shared: Shared) -> Run:
    root = project(tmp)
    put(tmp, "run/not_json.json", "project/runs/bad/run.json")
    return Run(["runs", "list", "--project", str(root)], "run.json")


def resume_damaged(fixture: str, target: str) -> Callable[[Path, Shared], Run]:
    """`finetune --resume` of a run whose record or settings are damaged: refused before any model loads."""
    def setup(tmp: Path, shared: Shared) -> Run:
        root = project(tmp)
        put(tmp, fixture, f"project/runs/bad/{target}")
        return Run(["finetune", str(root), "--name", "bad", "--resume", "--max-steps", "1"], target)
    return setup


def active(fixture: str) -> Callable[[Path, Shared], Run]:
    def setup(tmp: Path, shared: Shared) -> Run:
        root = project(tmp)
        put(tmp, f"active/{fixture}", "project/runs/active.json")
        return Run(["runs", "list", "--project", str(root)], "active.json")
    return setup


def curated_settings(fixture: str) -> Callable[[Path, Shared], Run]:
    def setup(tmp: Path, shared: Shared) -> Run:
        root = project(tmp)
        put(tmp, f"curated_settings/{fixture}", "project/curated/settings.json")
        return Run(["finetune", str(root), "--name", "new", "--max-steps", "1"], "settings.json")
    return setup


def report(fixture: str) -> Callable[[Path, Shared], Run]:
    def setup(tmp: Path, shared: Shared) -> Run:
        root = project(tmp)
        put(tmp, f"report/{fixture}", "project/curated/report.json")
        return Run(["advise", "--data", str(root / "curated"), "--no-ask", "--json"], "report.json")
    return setup


def prompt_run(fixture: str) -> Callable[[Path, Shared], Run]:
    def setup(tmp: Path, shared: Shared) -> Run:
        root = project(tmp)
        put(tmp, f"prompt/{fixture}", "project/prompt/messages.json")
        return Run(["prompt", "run", str(root / "prompt"), "Where is my parcel?"], "messages.json")
    return setup


def eval_few_shot_damaged_prompt(tmp: Path, shared: Shared) -> Run:
    root = project(tmp)
    put(tmp, "prompt/not_json.json", "project/prompt/messages.json")
    return Run(["eval", str(root), "--candidates", "few-shot"], "messages.json")


def summary(fixture: str) -> Callable[[Path, Shared], Run]:
    def setup(tmp: Path, shared: Shared) -> Run:
        folder = put(tmp, f"summary/{fixture}", "project/evals/2025-01-01T00-00-00/summary.json").parent
        return Run(["advise", "--eval", str(folder), "--no-ask"], "summary.json")
    return setup


def schema(fixture: str) -> Callable[[Path, Shared], Run]:
    def setup(tmp: Path, shared: Shared) -> Run:
        root = project(tmp)
        path = put(tmp, f"schema/{fixture}", "in/schema.json")
        return Run(["eval", str(root), "--schema", str(path), "--candidates", "zero-shot"], "schema.json")
    return setup


def eval_cache_not_a_file(kind: str) -> Callable[[Path, Shared], Run]:
    def setup(tmp: Path, shared: Shared) -> Run:
        root = project(tmp)
        cache = root / "evals" / "cache" / "generations.jsonl"
        if kind == "folder":
            cache.mkdir(parents=True)
        else:
            fifo(cache)
        return Run(["eval", str(root), "--candidates", "zero-shot"], "generations.jsonl")
    return setup


def _listing(stem: str) -> list[str]:
    return sorted(p.name for p in (BAD / stem).iterdir())


CASES: list[Case] = [
    *(Case(f"curate-{name}", curate_file(name), codes=(1,)) for name in DATA_FILES),
    Case("curate-symlink-loop", symlink_loop, codes=(2,), says=("symbolic link loop",)),
    Case("curate-link-to-dev-zero", dev_zero, codes=(2,), says=("a device",)),
    Case("curate-fifo", fifo_input, codes=(2,), says=("named pipe",)),
    Case("curate-fifo-in-folder", fifo_in_folder, codes=(2,), says=("named pipe",)),
    Case("curate-over-size-limit", over_size_limit, codes=(1,), says=("TUNEWISE_MAX_FILE_BYTES",)),
    Case("curate-unreadable-folder", unreadable_folder, root_skip="root reads any folder"),
    Case("curate-out-parent-is-file", out_parent_is_file, codes=(2,)),
    Case("curate-out-in-read-only-folder", out_in_read_only_folder, codes=(2,), root_skip="root writes any folder"),
    Case("curate-markup-in-input-path", markup_input, codes=(2,)),
    Case("curate-markup-in-out-path", markup_out, codes=(2,)),
    *(Case(f"advise-answers-{Path(n).stem}", answers(n), codes=(1,)) for n in _listing("answers")),
    Case("advise-answers-fifo", answers_fifo, codes=(2,), says=("named pipe",)),
    *(Case(f"rag-query-manifest-{Path(n).stem}", rag_query(n), codes=(1, 2)) for n in _listing("manifest")),
    *(Case(f"rag-build-over-manifest-{Path(n).stem}", rag_rebuild(n), codes=(0,), says=("Rebuilt from scratch",))
      for n in ("empty_object.json", "files_as_list.json", "not_json.json")),
    Case("eval-rag-manifest-empty_object", eval_damaged_index),
    *(Case(f"runs-use-run-json-{Path(n).stem}", runs_use(n)) for n in _listing("run")),
    Case("runs-list-run-json-damaged", runs_list_damaged, codes=(0,), says=("damaged", "Warning:")),
    *(Case(f"finetune-resume-run-json-{Path(n).stem}", resume_damaged(f"run/{n}", "run.json"))
      for n in ("not_json.json", "a_list.json")),
    *(Case(f"finetune-resume-settings-{Path(n).stem}", resume_damaged(f"run_settings/{n}", "settings.json"))
      for n in _listing("run_settings")),
    *(Case(f"runs-list-active-{Path(n).stem}", active(n), codes=(0,), says=("Warning:", "runs use")) for n in _listing("active")),
    *(Case(f"finetune-curated-settings-{Path(n).stem}", curated_settings(n)) for n in _listing("curated_settings")),
    *(Case(f"advise-report-{Path(n).stem}", report(n)) for n in _listing("report")),
    *(Case(f"prompt-run-messages-{Path(n).stem}", prompt_run(n)) for n in _listing("prompt")),
    Case("eval-few-shot-messages-not_json", eval_few_shot_damaged_prompt),
    *(Case(f"advise-eval-summary-{Path(n).stem}", summary(n)) for n in _listing("summary")),
    *(Case(f"eval-schema-{Path(n).stem}", schema(n), codes=(2,)) for n in _listing("schema")),
    Case("eval-cache-is-a-folder", eval_cache_not_a_file("folder")),
    Case("eval-cache-is-a-fifo", eval_cache_not_a_file("fifo")),
]


def _param(case: Case):
    marks = []
    if case.xfail:
        marks.append(pytest.mark.xfail(strict=True, reason=case.xfail))
    if case.root_skip and IS_ROOT:
        marks.append(pytest.mark.skip(reason=case.root_skip))
    return pytest.param(case, id=case.id, marks=marks)


# ---- checking -------------------------------------------------------------------------------------------------


def snapshot(root: Path) -> dict[str, str]:
    """Every path under root and what it is: a file's sha256, a link's target, a folder, another kind (never read)."""
    seen: dict[str, str] = {}
    for folder, dirs, files in os.walk(root, onerror=lambda exc: None):
        for name in dirs + files:
            path = Path(folder, name)
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                what = "link -> " + os.readlink(path)
            elif stat.S_ISREG(mode):
                what = hashlib.sha256(path.read_bytes()).hexdigest()
            elif stat.S_ISDIR(mode):
                what = f"folder {mode:o}"
            else:
                what = f"mode {mode:o}"
            seen[str(path.relative_to(root))] = what
    return seen


def _inside(path: str, folders: tuple[Path, ...], root: Path) -> bool:
    return any(Path(root, path) == f or f in Path(root, path).parents for f in folders)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_bad_input_is_a_message(case: Case, shared: Shared, tmp_path: Path, monkeypatch, deadline) -> None:
    """Exit 1 or 2 (or the case's own codes), no traceback, the file named, inputs unchanged, nothing half-written."""
    work = tmp_path / "work"
    work.mkdir()
    run = case.setup(work, shared)
    monkeypatch.chdir(work)  # anything written to a default relative path shows up in the snapshot
    for key, value in run.env.items():
        monkeypatch.setenv(key, value)
    before = snapshot(work)

    result = CliRunner().invoke(cli, run.args)
    output = result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        output += "".join(traceback.format_exception(*result.exc_info))  # what a real process would have printed

    assert "Traceback (most recent call last)" not in output, output
    assert result.exit_code in case.codes, f"exit {result.exit_code}, expected {case.codes}:\n{output}"
    assert run.names in output, f"the message does not name {run.names!r}:\n{output}"
    for words in case.says:
        assert words in output, output

    after = snapshot(work)
    changed = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
    assert {p for p in changed if not _inside(p, run.may_change, work)} == set(), \
        f"changed or written although the command failed: {sorted(changed)}\n{output}"
    assert not [p for p in after if p.endswith(LEFTOVERS) or "staging" in p], f"leftovers: {sorted(after)}"


# ---- files no command reads cheaply, so through their readers ---------------------------------------------------


@pytest.mark.parametrize("name", _listing("decisions"))
def test_damaged_decisions_file_is_a_message(tmp_path: Path, name: str) -> None:
    """No command reads decisions.json (the app does): its reader refuses each damaged copy, naming the file."""
    from curation.decisions import load_decisions
    from curation.errors import TunewiseError

    path = put(tmp_path, f"decisions/{name}", "decisions.json")
    before = path.read_bytes()
    with pytest.raises(TunewiseError) as info:
        load_decisions(path)
    assert "decisions.json" in info.value.message and info.value.exit_code in (1, 2)
    assert path.read_bytes() == before


@pytest.mark.parametrize("name", _listing("trainer_state"))
def test_damaged_checkpoint_state_is_passed_over(tmp_path: Path, name: str) -> None:
    """Only `finetune --resume` reads trainer_state.json (then it trains): a damaged one is not resumed from."""
    from training.runs import latest_checkpoint

    run = tmp_path / "run"
    (run / "checkpoints" / "checkpoint-2").mkdir(parents=True)
    (run / "checkpoints" / "checkpoint-2" / "trainer_state.json").write_text(json.dumps({"global_step": 2}))
    path = put(tmp_path, f"trainer_state/{name}", "run/checkpoints/checkpoint-4/trainer_state.json")
    before = path.read_bytes()
    assert latest_checkpoint(run) == run / "checkpoints" / "checkpoint-2"
    assert path.read_bytes() == before
