"""Sentence embeddings with an on-disk cache keyed by content hash and model, so re-runs embed nothing."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from curation.errors import CancelledError, ModelError
from curation.models import cache_root, model_fingerprint, resolve_embedder

Progress = Callable[[int, int], None]
CHUNK = 2048  # texts per encode call: big enough for length-sorted batching, small enough to checkpoint often


def text_key(text: str) -> str:
    """Content hash of one text (the cache key within a model's cache)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


class EmbeddingCache:
    """Append-only shards of (keys.json, vectors.npy) in one folder per model; never pickled."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._rows: dict[str, tuple[int, int]] = {}
        self._shards: list[np.ndarray] = []
        if folder.is_dir():
            for keys_file in sorted(folder.glob("*.json")):
                vectors_file = keys_file.with_suffix(".npy")
                try:
                    keys = json.loads(keys_file.read_text())
                    vectors = np.load(vectors_file, mmap_mode="r", allow_pickle=False)
                except (OSError, ValueError):
                    continue  # a shard cut short by a crash: ignore it, its texts are embedded again
                if len(keys) != len(vectors):
                    continue
                shard = len(self._shards)
                self._shards.append(vectors)
                self._rows.update((k, (shard, i)) for i, k in enumerate(keys))

    def __contains__(self, key: str) -> bool:
        return key in self._rows

    def get(self, key: str) -> np.ndarray:
        """The cached vector of one key."""
        shard, row = self._rows[key]
        return self._shards[shard][row]

    def add(self, keys: list[str], vectors: np.ndarray) -> None:
        """Write one new shard atomically (vectors first, then the keys file that makes it visible)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        name = uuid.uuid4().hex
        tmp = self.folder / f".{name}.npy.tmp"
        with open(tmp, "wb") as handle:
            np.save(handle, vectors.astype(np.float32), allow_pickle=False)
        os.replace(tmp, self.folder / f"{name}.npy")
        tmp = self.folder / f".{name}.json.tmp"
        tmp.write_text(json.dumps(keys))
        os.replace(tmp, self.folder / f"{name}.json")
        shard = len(self._shards)
        self._shards.append(vectors)
        self._rows.update((k, (shard, i)) for i, k in enumerate(keys))


class Embedder:
    """A sentence-transformers model (default: packaged all-MiniLM-L6-v2) with a content-hash cache."""

    def __init__(
        self,
        model: str | None = None,
        cache_dir: str | Path | None = None,
        batch_size: int = 64,
        device: str | None = None,
        use_cache: bool = True,
    ) -> None:
        self.source = resolve_embedder(model)
        self.name = model_fingerprint(self.source)
        self.batch_size = batch_size
        self.device = device
        root = Path(cache_dir) if cache_dir else cache_root() / "embeddings"
        self.cache = EmbeddingCache(root / self.name) if use_cache else None
        self._model = None
        self.encoded = 0  # texts actually run through the model (cache misses), for reports and tests
        self.cache_hits = 0

    @property
    def model(self):
        """The loaded SentenceTransformer (loaded on first use)."""
        if self._model is None:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # our own progress bar reports embedding; weight loading is noise
            try:
                self._model = SentenceTransformer(self.source, device=self.device, trust_remote_code=False)
            except (OSError, ValueError) as exc:
                raise ModelError(
                    f"Could not load the embedding model {self.source}: {exc}",
                    "Pass --embedder with a local sentence-transformers folder (no model hub here).",
                ) from exc
        return self._model

    @property
    def dimension(self) -> int:
        """Length of each embedding vector."""
        return int(self.model.get_embedding_dimension())

    def tokenizer(self):
        """The embedder's own tokenizer (used to chunk documents by tokens)."""
        return self.model.tokenizer

    def encode(
        self,
        texts: Sequence[str],
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> np.ndarray:
        """L2-normalised float32 embeddings of texts, one row each, reusing the cache."""
        keys = [text_key(t) for t in texts]
        unique: dict[str, str] = {}
        for key, text in zip(keys, texts):
            if key not in unique and (self.cache is None or key not in self.cache):
                unique[key] = text
        self.cache_hits += len(set(keys)) - len(unique)
        computed: dict[str, np.ndarray] = {}
        todo = sorted(unique.items(), key=lambda kv: len(kv[1]))  # similar lengths share a batch: less padding
        total = len(todo)
        if progress:
            progress(0, total)
        for start in range(0, total, CHUNK):
            if cancel is not None and cancel.is_set():
                raise CancelledError("Embedding cancelled.", "Run again: finished chunks are cached and skipped.")
            chunk = todo[start : start + CHUNK]
            vectors = self.model.encode(
                [t for _, t in chunk],
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            ).astype(np.float32)
            chunk_keys = [k for k, _ in chunk]
            if self.cache is not None:
                self.cache.add(chunk_keys, vectors)
            computed.update(zip(chunk_keys, vectors))
            self.encoded += len(chunk)
            if progress:
                progress(min(start + CHUNK, total), total)
        dim = next(iter(computed.values())).shape[0] if computed else None
        if dim is None:
            if not keys:
                return np.zeros((0, self.dimension), dtype=np.float32)
            dim = self.cache.get(keys[0]).shape[0]
        out = np.empty((len(keys), dim), dtype=np.float32)
        for i, key in enumerate(keys):
            out[i] = computed[key] if key in computed else self.cache.get(key)
        return out

    def encode_long(
        self,
        texts: Sequence[str],
        window_words: int = 160,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> np.ndarray:
        """Like encode, but a text past the model's window (256 word pieces for MiniLM) is embedded in
        windows of words and averaged, so a difference at its end still counts."""
        pieces: list[str] = []
        owner: list[int] = []
        for i, text in enumerate(texts):
            words = text.split()
            if len(words) <= window_words:
                pieces.append(text)
                owner.append(i)
                continue
            for start in range(0, len(words), window_words):
                pieces.append(" ".join(words[start : start + window_words]))
                owner.append(i)
        vectors = self.encode(pieces, progress, cancel)
        if len(pieces) == len(texts):
            return vectors
        sums = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
        np.add.at(sums, np.array(owner), vectors)
        return sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
