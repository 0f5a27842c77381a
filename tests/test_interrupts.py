"""Interrupt every long job through the real CLI: Ctrl-C (SIGINT) and SIGKILL at the worst moments.

Each test runs `tunewise` in a subprocess (its own session and process group), waits for a stage by polling
the files the job writes or the progress bar it draws on a pseudo-terminal (every wait bounded), interrupts
it, then checks that the output is complete or absent, never half-written, and that the next run finishes
the job without redoing what was finished. Subprocesses run torch on one thread: on a shared 2-core box two
spinning threads per process make generation ~10x slower, and what is tested does not depend on it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and pseudo-terminals")]

FIXTURES = Path(__file__).resolve().parent / "fixtures"
DOCS = FIXTURES / "docs"
START_TIMEOUT = 300.0  # s to reach a stage: importing torch and loading a model on a busy machine
RUN_TIMEOUT = 420.0  # s for a whole (re-)run
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-B]|\x1b[=>78]")


def _cli() -> list[str]:
    """The installed `tunewise` console script of this interpreter, else the module it runs."""
    script = Path(sys.executable).with_name("tunewise")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "advisor.cli"]


@pytest.fixture
def env(isolated_cache) -> dict[str, str]:
    """The subprocesses' environment: offline, one torch thread, the session's model cache, a sane terminal."""
    drop = {"COLUMNS", "LINES", "TTY_INTERACTIVE", "TTY_COMPATIBLE", "FORCE_COLOR", "NO_COLOR", "FORCE_TERMINAL"}
    out = {k: v for k, v in os.environ.items() if k not in drop}
    out.update(HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONUNBUFFERED="1", TERM="xterm-256color", TUNEWISE_CACHE=str(isolated_cache))
    return out


def _default_ctrl_c() -> None:
    """In the child, before exec: SIGINT back to its default, whatever the parent ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Job:
    """One `tunewise` run in its own process group: stdout to a file, stderr to a file or a pseudo-terminal.

    Used as a context manager: whatever happens in the test, the process group is killed on exit.
    """

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str], log: Path, tty: bool = False) -> None:
        log.mkdir(parents=True, exist_ok=True)
        self.args = args
        self.code: int | None = None  # set by callers once the job has finished
        self.stdout_path, self.stderr_path = log / "stdout", log / "stderr"
        self._chunks: list[bytes] = []
        self._master: int | None = None
        self._reader: threading.Thread | None = None
        slave = None
        stdout = open(self.stdout_path, "wb")  # noqa: SIM115 - handed to the child, closed below
        if tty:
            import fcntl
            import pty
            import struct
            import termios

            self._master, slave = pty.openpty()
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
            stderr = slave
            env = env | {"COLUMNS": "160", "LINES": "50"}
        else:
            stderr = open(self.stderr_path, "wb")  # noqa: SIM115
        try:
            # A shell starts background jobs with Ctrl-C ignored, and children inherit that: a suite launched with `&`
            # would then test nothing. The job gets Ctrl-C's default action, as in a terminal.
            self.proc = subprocess.Popen([*_cli(), *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=stdout,
                                         stderr=stderr, start_new_session=True, preexec_fn=_default_ctrl_c)
        except BaseException:
            if self._master is not None:
                os.close(self._master)
            raise
        finally:
            stdout.close()
            if slave is not None:
                os.close(slave)
            else:
                stderr.close()
        if self._master is not None:
            self._reader = threading.Thread(target=self._drain, daemon=True)
            self._reader.start()

    def _drain(self) -> None:
        """Read the pseudo-terminal until the child closes it (so the child never blocks on a full buffer)."""
        while True:
            try:
                data = os.read(self._master, 65536)
            except OSError:  # EIO: every holder of the terminal's other end is gone
                return
            if not data:
                return
            self._chunks.append(data)

    def __enter__(self) -> Job:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.signal(signal.SIGKILL)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                pass
        if self._reader is not None:
            self._reader.join(10)
        if self._master is not None:
            os.close(self._master)
            self._master = None

    def signal(self, sig: int) -> None:
        """Send sig to the job's whole process group (as a terminal's Ctrl-C does)."""
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def stdout(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")

    def stderr(self) -> str:
        """stderr as text; from a pseudo-terminal without escape sequences, carriage returns as new lines."""
        if self._reader is not None:
            raw = b"".join(list(self._chunks))
        else:
            raw = self.stderr_path.read_bytes() if self.stderr_path.exists() else b""
        return _ANSI.sub("", raw.decode("utf-8", "replace")).replace("\r", "\n")

    def tail(self) -> str:
        lines = [line for line in self.stderr().splitlines() if line.strip() and "GGUF" not in line]
        return f"$ tunewise {' '.join(self.args)}\n" + "\n".join(lines[-25:]) + "\n--- stdout ---\n" + self.stdout()[-2000:]

    def wait_for(self, check: Callable[[], object], what: str, timeout: float = START_TIMEOUT,
                 interval: float = 0.02):
        """Poll check() until it is truthy (returned); fail if the job exits first or the time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            if self.proc.poll() is not None:
                result = check()
                if result:
                    return result
                pytest.fail(f"exited with {self.proc.returncode} before {what}:\n{self.tail()}")
            if time.monotonic() > deadline:
                pytest.fail(f"no {what} after {timeout:.0f} s:\n{self.tail()}")
            time.sleep(interval)

    def finish(self, timeout: float = RUN_TIMEOUT) -> int:
        """Wait for the job to end (killing it after timeout) and return its exit code."""
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.close()
            pytest.fail(f"still running after {timeout:.0f} s:\n{self.tail()}")
        if self._reader is not None:
            self._reader.join(10)
        return code


def run_cli(args: list[str], tmp_path: Path, env: dict[str, str], log: str) -> tuple[int, str, str]:
    """Run tunewise to the end: exit code, stdout, stderr (with the command and stderr tail on failure)."""
    with Job(args, tmp_path, env, tmp_path / "logs" / log) as job:
        code = job.finish()
        return code, job.stdout(), job.tail()


def flat(text: str) -> str:
    return " ".join(text.split())


def read_rows(path: Path) -> list[dict]:
    """The whole JSON lines of a file (a line cut by a kill is skipped)."""
    rows = []
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    for line in text.split("\n")[:-1]:  # the last piece has no newline yet: still being written
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue
    return rows


def snapshot(folder: Path) -> dict[str, str]:
    """Every entry under folder (hidden ones too) with the SHA-256 of each file."""
    out = {}
    for path in sorted(folder.rglob("*")):
        key = path.relative_to(folder).as_posix()
        out[key] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "<dir>"
    return out


# --- tunewise rag build ---------------------------------------------------------------------------

PARROT = "The keeper of lighthouse 417 owns a green parrot called Captain Biscuit."
QUESTIONS = ("What is the name of the office cat?",  # answered by the fixtures' guides/notes.jsonl:1
             "What is the parrot at lighthouse 417 called?")  # answered by PARROT, in the bulk file
BULK = 800  # short records: embedding them takes seconds, long enough to be interrupted


def make_docs(folder: Path, bulk: bool) -> Path:
    shutil.copytree(DOCS, folder)
    if bulk:
        add_bulk(folder)
    return folder


def add_bulk(folder: Path) -> None:
    lines = [PARROT if i == BULK // 2 else
             f"Depot {i} in town {i % 89} opens at {i % 12 + 1} am and ships crates of type {i * 7 % 1000}."
             for i in range(BULK)]
    (folder / "bulk.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in lines), encoding="utf-8")


def build_args(docs: Path, index: Path, cache: Path) -> list[str]:
    return ["rag", "build", str(docs), "--index", str(index), "--cache-dir", str(cache), "--json"]


def interrupt_build(docs: Path, index: Path, cache: Path, tmp_path: Path, env: dict[str, str]) -> Job:
    """Start a build with its progress on a terminal, Ctrl-C it once the embedding stage begins; the finished job.

    The signal goes as soon as the embedding model starts loading: embedding itself can be over in a few seconds on
    an idle machine, and a Ctrl-C that lands after the build is done proves nothing.
    """
    with Job(build_args(docs, index, cache), tmp_path, env, tmp_path / "logs" / "interrupted", tty=True) as job:
        job.wait_for(lambda: "Loading the embedding model" in job.stderr() or "Embedding" in job.stderr(),
                     "the embedding stage")
        job.signal(signal.SIGINT)
        job.code = job.finish()
    return job


def check_interrupted(job: Job) -> None:
    assert job.code == 130, job.tail()
    err = flat(job.stderr())
    assert "Interrupted." in err and "run the same command again" in err, job.tail()
    assert "Traceback" not in err and not job.stdout().strip(), job.tail()


def check_queries(index: Path, tmp_path: Path, env: dict[str, str]) -> None:
    """The index answers: hybrid retrieval (vectors and BM25) finds the planted facts."""
    questions = tmp_path / "questions.txt"
    questions.write_text("\n".join(QUESTIONS) + "\n", encoding="utf-8")
    code, out, err = run_cli(["rag", "query", str(index), "--questions", str(questions), "-k", "3"], tmp_path, env, "query")
    assert code == 0, err
    answers = {row["question"]: row["hits"] for row in map(json.loads, out.splitlines())}
    assert set(answers) == set(QUESTIONS)
    cat = answers["What is the name of the office cat?"]
    assert "guides/notes.jsonl:1" in [h["source"] for h in cat], cat
    parrot = answers["What is the parrot at lighthouse 417 called?"]
    assert any("Captain Biscuit" in h["text"] for h in parrot), parrot


def test_rag_build_ctrl_c_on_a_first_build_leaves_no_index_and_a_rerun_builds_it(tmp_path, env):
    docs, index, cache = make_docs(tmp_path / "docs", bulk=True), tmp_path / "idx", tmp_path / "emb-cache"

    job = interrupt_build(docs, index, cache, tmp_path, env)
    check_interrupted(job)
    assert not index.exists(), snapshot(index)  # nothing half-written that could pass for an index

    code, out, err = run_cli(build_args(docs, index, cache), tmp_path, env, "rerun")
    assert code == 0, err
    report = json.loads(out)
    assert "bulk.jsonl" in report["added"] and report["chunks"] >= BULK and report["full_rebuild_reason"] is None
    assert sorted(p.name for p in index.iterdir()) == ["bm25", "chunks.jsonl", "index.faiss", "manifest.json"]
    check_queries(index, tmp_path, env)


def test_rag_build_ctrl_c_during_an_update_keeps_the_old_index_and_a_rerun_adds_the_rest(tmp_path, env):
    docs, index, cache = make_docs(tmp_path / "docs", bulk=False), tmp_path / "idx", tmp_path / "emb-cache"
    code, out, err = run_cli(build_args(docs, index, cache), tmp_path, env, "first")
    assert code == 0, err
    first = json.loads(out)
    before = snapshot(index)

    add_bulk(docs)
    job = interrupt_build(docs, index, cache, tmp_path, env)
    check_interrupted(job)
    assert snapshot(index) == before  # the old, complete index, byte for byte, and no staging files beside it

    code, out, err = run_cli(build_args(docs, index, cache), tmp_path, env, "rerun")
    assert code == 0, err
    report = json.loads(out)
    assert report["added"] == ["bulk.jsonl"] and not report["changed"] and not report["removed"]
    assert report["reused_chunks"] == first["chunks"] and report["chunks"] == first["chunks"] + report["embedded_chunks"]
    assert sorted(p.name for p in index.iterdir()) == ["bm25", "chunks.jsonl", "index.faiss", "manifest.json"]
    check_queries(index, tmp_path, env)


# --- tunewise finetune ----------------------------------------------------------------------------

TINY = ["--batch-size", "1", "--max-length", "64", "--patience", "0", "--seed", "0", "--json"]


def write_chat(path: Path, n: int = 10) -> Path:
    rows = [{"id": f"q{i}", "messages": [{"role": "user", "content": f"Opening hours of shop {i}?"},
                                         {"role": "assistant", "content": f"Shop {i} opens at {8 + i % 3} am."}]}
            for i in range(n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def finetune_args(data: Path, project: Path, *extra: str) -> list[str]:
    return ["finetune", str(data), "--project", str(project), *extra]


def train_rows(run: Path) -> list[dict]:
    return [r for r in read_rows(run / "metrics.jsonl") if r.get("kind") == "train"]


def first_step_line(run: Path) -> str:
    """metrics.jsonl's line for training step 1, verbatim (a fresh start would log it again, differently)."""
    return next(line for line in (run / "metrics.jsonl").read_text().splitlines() if '"kind": "train"' in line
                and json.loads(line)["step"] == 1)


def check_completed(code: int, out: str, err: str, run: Path, steps: int) -> dict:
    assert code == 0, err
    report = json.loads(out)
    assert report["status"] == "completed" and report["metrics"]["steps"] == steps, report
    assert (run / "adapter" / "adapter_model.safetensors").is_file() and (run / "adapter" / "adapter_config.json").is_file()
    assert not list(run.glob(".adapter*")), "adapter staging folder left behind"
    assert [r["step"] for r in train_rows(run)] == list(range(1, steps + 1))  # every step logged once, none lost
    assert json.loads((run / "run.json").read_text())["status"] == "completed"
    return report


def test_finetune_ctrl_c_saves_a_checkpoint_and_resume_completes_from_it(tmp_path, env):
    data, project = write_chat(tmp_path / "data.jsonl"), tmp_path / "proj"
    run = project / "runs" / "r1"
    # eval only at the end: the only checkpoint is the one Ctrl-C asks for
    args = finetune_args(data, project, "--name", "r1", "--max-steps", "6", "--eval-steps", "100", *TINY)
    with Job(args, tmp_path, env, tmp_path / "logs" / "interrupted") as job:
        job.wait_for(lambda: train_rows(run), "the first training step")
        job.signal(signal.SIGINT)
        code = job.finish()
    assert code == 130, job.tail()
    report = json.loads(job.stdout())
    step = report["metrics"]["steps"]
    assert report["status"] == "interrupted" and 1 <= step < 6, report
    err = flat(job.stderr())
    assert f"Interrupted at step {step}; checkpoint saved" in err and "--name r1 --resume" in err and "Traceback" not in err
    checkpoint = run / "checkpoints" / f"checkpoint-{step}"
    assert json.loads((checkpoint / "trainer_state.json").read_text())["global_step"] == step
    assert (checkpoint / "adapter_model.safetensors").is_file() and (checkpoint / "optimizer.pt").is_file()
    assert not (run / "adapter").exists()  # no final adapter from an unfinished run
    assert json.loads((run / "run.json").read_text())["status"] == "interrupted"
    kept = first_step_line(run)

    resumed = run_cli(finetune_args(data, project, "--name", "r1", "--resume", "--json"), tmp_path, env, "resumed")
    check_completed(*resumed, run, steps=6)
    assert kept in (run / "metrics.jsonl").read_text().splitlines()  # continued from the checkpoint, not from zero


@pytest.mark.parametrize("victim", ["checkpoint-1", "checkpoint-2/adapter_model.safetensors", "checkpoint-2/optimizer.pt"])
def test_finetune_sigkill_while_a_checkpoint_is_written_then_resume_completes(tmp_path, env, victim):
    """SIGKILL the moment the victim appears: the checkpoint folder (still empty), its weights file (being
    written) or its optimizer state (weights done). Resume must never use the half-written checkpoint: with
    none complete it starts over; with checkpoint-2 half-written it continues from the complete checkpoint-1."""
    data, project = write_chat(tmp_path / "data.jsonl"), tmp_path / "proj"
    run = project / "runs" / "r1"
    args = finetune_args(data, project, "--name", "r1", "--max-steps", "4", "--eval-steps", "1", *TINY)
    with Job(args, tmp_path, env, tmp_path / "logs" / "killed") as job:
        job.wait_for(lambda: os.path.lexists(run / "checkpoints" / victim), f"{victim} being written", interval=0.001)
        job.signal(signal.SIGKILL)
        assert job.finish(60) == -signal.SIGKILL
    assert not (run / "adapter").exists()
    kept = first_step_line(run) if victim.startswith("checkpoint-2") else None

    # bare --resume: the killed run is still marked running, so it is the one continued
    resumed = run_cli(finetune_args(data, project, "--resume", "--json"), tmp_path, env, "resumed")
    report = check_completed(*resumed, run, steps=4)
    assert report["run"] == "r1"
    if kept is not None:
        assert kept in (run / "metrics.jsonl").read_text().splitlines()  # resumed from checkpoint-1


def test_finetune_resume_skips_a_checkpoint_killed_while_its_state_file_was_written(tmp_path, env):
    """transformers writes trainer_state.json last, with open('w') then write: a SIGKILL between the two leaves
    every other file of the checkpoint in place and that file empty. Reproduced exactly: kill the run once
    checkpoint-2 is complete, drop what came after it, and empty its trainer_state.json. Resume must fall back to
    checkpoint-1 (a version that trusted the file's mere existence crashed with JSONDecodeError on every resume)."""
    data, project = write_chat(tmp_path / "data.jsonl"), tmp_path / "proj"
    run = project / "runs" / "r1"
    state = run / "checkpoints" / "checkpoint-2" / "trainer_state.json"

    def state_written() -> bool:
        try:
            return json.loads(state.read_text())["global_step"] == 2
        except (OSError, ValueError, KeyError):
            return False

    args = finetune_args(data, project, "--name", "r1", "--max-steps", "4", "--eval-steps", "1", *TINY)
    with Job(args, tmp_path, env, tmp_path / "logs" / "killed") as job:
        job.wait_for(state_written, "checkpoint-2's trainer_state.json", interval=0.001)
        job.signal(signal.SIGKILL)
        assert job.finish(60) == -signal.SIGKILL
    for later in run.glob("checkpoints/checkpoint-*"):
        if int(later.name.split("-")[-1]) > 2:
            shutil.rmtree(later)
    shutil.rmtree(run / "adapter", ignore_errors=True)
    state.write_bytes(b"")

    kept = first_step_line(run)

    resumed = run_cli(finetune_args(data, project, "--name", "r1", "--resume", "--json"), tmp_path, env, "resumed")
    check_completed(*resumed, run, steps=4)
    assert kept in (run / "metrics.jsonl").read_text().splitlines()  # resumed from checkpoint-1


# --- tunewise eval --------------------------------------------------------------------------------

N_EVAL = 34  # 3 cache writes of 16, 16 and 2: Ctrl-C after the first leaves work for the re-run
EVAL = ["--candidates", "zero-shot", "--metrics", "exact_match,token_f1", "--max-new-tokens", "4",
        "--batch-size", "4", "--json"]


def eval_project(root: Path) -> Path:
    (root / "curated").mkdir(parents=True)

    def rows(ids) -> str:
        return "".join(json.dumps({"id": f"e{i}", "messages": [
            {"role": "user", "content": f"When does shop {i} open?"},
            {"role": "assistant", "content": f"Shop {i} opens at {8 + i % 3} am."}]}) + "\n" for i in ids)

    (root / "curated" / "train.jsonl").write_text(rows(range(4)), encoding="utf-8")
    (root / "curated" / "eval.jsonl").write_text(rows(range(100, 100 + N_EVAL)), encoding="utf-8")
    return root


def cached(project: Path) -> dict[str, str]:
    return {r["key"]: r["output"] for r in read_rows(project / "evals" / "cache" / "generations.jsonl")}


def interrupt_eval(project: Path, tmp_path: Path, env: dict[str, str]) -> Job:
    """Start a bake-off and Ctrl-C it as soon as its first generations are cached; returns the finished job."""
    with Job(["eval", str(project), *EVAL], tmp_path, env, tmp_path / "logs" / "interrupted") as job:
        job.wait_for(lambda: cached(project), "the first cached generations")
        job.signal(signal.SIGINT)
        job.code = job.finish()
    return job


def test_eval_ctrl_c_keeps_finished_generations_and_a_rerun_generates_only_the_rest(tmp_path, env):
    project = eval_project(tmp_path / "proj")
    job = interrupt_eval(project, tmp_path, env)
    assert job.code != 0, job.tail()  # 130 is documented: see the exit-code test below
    err = flat(job.stderr())
    assert "Traceback" not in err and "cancelled" in err.lower(), job.tail()
    assert not job.stdout().strip()
    assert sorted(p.name for p in (project / "evals").iterdir()) == ["cache"]  # no evals/<date>/, no staging folder
    done = cached(project)
    assert 0 < len(done) < N_EVAL

    code, out, err = run_cli(["eval", str(project), *EVAL], tmp_path, env, "rerun")
    assert code == 0, err
    summary = json.loads(out)
    (cand,) = summary["candidates"]
    assert (cand["generated"], cand["cached"]) == (N_EVAL - len(done), len(done)), cand
    assert summary["examples"] == N_EVAL
    after = cached(project)
    assert len(after) == N_EVAL and done.items() <= after.items()  # finished outputs kept, not generated again
    folder = Path(summary["folder"])
    assert folder.parent == project / "evals"
    assert sorted(p.name for p in (project / "evals").iterdir()) == sorted(["cache", folder.name])
    assert sorted(p.name for p in folder.iterdir()) == ["outputs.jsonl", "summary.json", "summary.md"]
    assert len(read_rows(folder / "outputs.jsonl")) == N_EVAL


def test_eval_ctrl_c_exits_130_as_documented(tmp_path, env):
    job = interrupt_eval(eval_project(tmp_path / "proj"), tmp_path, env)
    assert job.code == 130, job.tail()
