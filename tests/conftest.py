"""Shared fixtures: real models loaded once per session, caches isolated from the user's."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
_workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _workers > 1:  # each worker (and what it starts) gets its share of the cores: oversubscribed torch runs 2-4x slower
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // _workers)))


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory):
    """Point tunewise's caches at a per-session folder so tests neither read nor pollute ~/.cache."""
    root = tmp_path_factory.mktemp("tunewise-cache")
    if os.environ.get("PYTEST_XDIST_WORKER"):  # workers share one converted model (conversion is locked)
        shared = tmp_path_factory.getbasetemp().parent / "tunewise-models"
        shared.mkdir(exist_ok=True)
        (root / "models").symlink_to(shared, target_is_directory=True)
    os.environ["TUNEWISE_CACHE"] = str(root)
    return root


@pytest.fixture(scope="session")
def tiny_run(isolated_cache, tmp_path_factory):
    """One finished LoRA run (2 real steps on 4 tiny conversations, a strong learning rate so the adapter visibly
    changes the logits), trained once per worker; modules copy it into their own projects."""
    from curation.example import Example
    from training.finetune import TrainingData, finetune
    from training.lora_config import LoraSettings

    examples = [Example(f"t{i}", [{"role": "user", "content": f"Code for item {i}?"},
                                  {"role": "assistant", "content": f"Item {i} uses code Z{i * 7}."}]) for i in range(4)]
    settings = LoraSettings(max_steps=2, batch_size=4, learning_rate=1e-2, max_length=96, warmup_ratio=0.0)
    run = tmp_path_factory.mktemp("tiny-run") / "runs" / "tiny"
    result = finetune(TrainingData(examples, [], "tiny.jsonl"), settings, run)
    assert result.status == "completed"
    return run


def copy_run(run, runs_folder, name: str):
    """A copy of a finished run folder under runs_folder/name (the run's files name no absolute path)."""
    import shutil

    target = runs_folder / name
    shutil.copytree(run, target)
    return target


@pytest.fixture(scope="session")
def embedder(isolated_cache):
    """The packaged all-MiniLM-L6-v2, loaded once (real model)."""
    from curation.embed import Embedder

    model = Embedder(cache_dir=isolated_cache / "session-embeddings")
    assert model.dimension == 384  # loads the model now, once
    return model


@pytest.fixture(scope="session")
def tokenizer(isolated_cache):
    """The packaged SmolLM2 tokenizer with its chat template (real)."""
    from curation.model_sources import load_tokenizer

    return load_tokenizer()



@pytest.fixture
def deadline():
    """Fail (not hang) if a test blocks for 120 s, e.g. on opening a FIFO."""
    import signal

    def expired(signum, frame):
        raise AssertionError("blocked for 120 s (opened a FIFO?)")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(120)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


# Real OpenAI-compatible servers (transformers serve, and a socket server for the statuses it never sends)
from tests.servers import served, served_model_dir, status_server  # noqa: E402,F401
