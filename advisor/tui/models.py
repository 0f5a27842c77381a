"""The models the app's jobs share: one sentence embedder and one generator (plus at most one adapter on it).

The App owns one ``SharedModels`` and hands it down to the screens and panels that run jobs; the jobs call it from
their worker threads, so every model loads once per session, on first use, off the UI thread.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any


class SharedModels:
    """Loads the embedder and the generator once; another adapter replaces the previous one (the base stays)."""

    def __init__(self, embedder: Any = None) -> None:
        self._embedder = embedder
        self._embedder_lock = threading.Lock()
        self._generators: dict[str | None, Any] = {}  # the base model, and at most one adapter on top of it
        self._generator_lock = threading.Lock()

    def embedder(self) -> Any:
        """The sentence embedder, loaded once per session."""
        with self._embedder_lock:
            if self._embedder is None:
                from curation.embed import Embedder

                self._embedder = Embedder()
            return self._embedder

    def generator(self, adapter: Path | None = None) -> Any:
        """The local generative model, optionally with a run's LoRA adapter; loading another adapter frees the last."""
        key = str(adapter) if adapter is not None else None
        with self._generator_lock:
            if key not in self._generators:
                from training.generate import load_generator

                for old in [k for k in self._generators if k is not None]:
                    del self._generators[old]
                self._generators[key] = load_generator(adapter=adapter)
            return self._generators[key]
