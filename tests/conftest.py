"""Shared fixtures: real models loaded once per session, caches isolated from the user's."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory):
    """Point tunewise's caches at a per-session folder so tests neither read nor pollute ~/.cache."""
    root = tmp_path_factory.mktemp("tunewise-cache")
    os.environ["TUNEWISE_CACHE"] = str(root)
    return root


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
