"""Sentence embeddings with an on-disk cache keyed by content hash and model, so re-runs embed nothing."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from curation.errors import CancelledError, ModelError, TunewiseError
from curation.model_sources import cache_root, model_fingerprint, resolve_embedder
from curation.safe_read import check_regular_file, read_text_limited

Progress = Callable[[int, int], None]
LOAD_STAGE = "load embedder"  # the stage callers report around on_load: the model loads before the first batch
CHUNK = 2048  # texts per encode call: big enough for length-sorted batching, small enough to checkpoint often


def text_key(text: str) -> str:
    """Content hash of one text (the cache key within a model's cache)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


class EmbeddingCache:
    """Append-only shards of (keys.json, vectors.npy) in one folder per model; never pickled.

    The cache is only ever a shortcut: a shard that cannot be read or makes no sense (cut short, corrupt, not a
    regular file, wrong shape) is ignored and its texts are embedded again; a shard that cannot be written
    (no permission, disk full) is kept in memory for this run only. Neither ends the run.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._rows: dict[str, tuple[int, int]] = {}
        self._shards: list[np.ndarray] = []
        self.write_failed: OSError | None = None  # the last error writing a shard, if any (the run went on)
        try:
            keys_files = sorted(folder.glob("*.json")) if folder.is_dir() else []
        except OSError:
            keys_files = []
        shards = [shard for shard in map(_read_shard, keys_files) if shard is not None]
        rows_by_width: Counter[int] = Counter()
        for keys, vectors in shards:
            rows_by_width[int(vectors.shape[1])] += len(keys)
        dim = rows_by_width.most_common(1)[0][0] if rows_by_width else None
        for keys, vectors in shards:
            if int(vectors.shape[1]) != dim:
                continue  # a shard of another width cannot belong to this model: ignore it
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
        """Write one new shard atomically (vectors first, then the keys file that makes it visible).

        If it cannot be written the vectors are still remembered for this run (see ``write_failed``).
        """
        name = uuid.uuid4().hex
        tmp_vectors = self.folder / f".{name}.npy.tmp"
        tmp_keys = self.folder / f".{name}.json.tmp"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with open(tmp_vectors, "wb") as handle:
                np.save(handle, vectors.astype(np.float32), allow_pickle=False)
            os.replace(tmp_vectors, self.folder / f"{name}.npy")
            tmp_keys.write_text(json.dumps(keys))
            os.replace(tmp_keys, self.folder / f"{name}.json")
            # read back memory-mapped: the OS may drop its pages, so a cache of millions of vectors is not resident
            vectors = np.load(self.folder / f"{name}.npy", mmap_mode="r", allow_pickle=False)
        except OSError as exc:
            self.write_failed = exc
            for tmp in (tmp_vectors, tmp_keys):
                with contextlib.suppress(OSError):
                    tmp.unlink(missing_ok=True)
        shard = len(self._shards)
        self._shards.append(vectors)
        self._rows.update((k, (shard, i)) for i, k in enumerate(keys))


#: Largest keys file read from the cache (a shard holds at most CHUNK keys of 34 bytes: about 70 KB).
_KEYS_LIMIT = 64 * 1024 * 1024


def _read_shard(keys_file: Path) -> tuple[list[str], np.ndarray] | None:
    """The keys and vectors of one cache shard, or None if it is unreadable or does not make sense."""
    vectors_file = keys_file.with_suffix(".npy")
    try:
        keys = json.loads(read_text_limited(keys_file, _KEYS_LIMIT, "embedding cache file"))
        check_regular_file(vectors_file, "embedding cache file")  # never open a FIFO or a device
        vectors = np.load(vectors_file, mmap_mode="r", allow_pickle=False)
    except (TunewiseError, OSError, ValueError, EOFError, TypeError, RecursionError, MemoryError):
        return None  # a shard cut short by a crash, or damaged: ignore it, its texts are embedded again
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        return None
    if not isinstance(vectors, np.ndarray) or vectors.ndim != 2 or not np.issubdtype(vectors.dtype, np.floating):
        return None
    if len(keys) != vectors.shape[0] or vectors.shape[1] == 0:
        return None
    return keys, vectors


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

    def load(self, on_load: Progress | None = None) -> None:
        """Load the model now (if it is not yet), reporting (0, 1) before and (1, 1) after to on_load."""
        if self._model is not None:
            return
        if on_load:
            on_load(0, 1)
        self.model  # noqa: B018  (the property loads it)
        if on_load:
            on_load(1, 1)

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
        on_load: Progress | None = None,
    ) -> np.ndarray:
        """L2-normalised float32 embeddings of texts, one row each, reusing the cache.

        `progress` gets (done, total) texts; `on_load` gets (0, 1) and (1, 1) around loading the model, when it
        has to be loaded (seconds) before the first batch can start.
        """
        keys = [text_key(t) for t in texts]
        unique: dict[str, str] = {}
        for key, text in zip(keys, texts):
            if key not in unique and (self.cache is None or key not in self.cache):
                unique[key] = text
        self.cache_hits += len(set(keys)) - len(unique)
        computed: dict[str, np.ndarray] = {}
        todo = sorted(unique.items(), key=lambda kv: len(kv[1]))  # similar lengths share a batch: less padding
        total = len(todo)
        if total and self._model is None:
            self.load(on_load)
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
        if dim is not None and self.cache is not None:
            wrong = [k for k in dict.fromkeys(keys) if k not in computed and self.cache.get(k).shape[0] != dim]
            if wrong:  # cached vectors of another width (a damaged or foreign cache): embed those texts again
                text_of = dict(zip(keys, texts))
                again = self.model.encode([text_of[k] for k in wrong], batch_size=self.batch_size, normalize_embeddings=True,
                                          convert_to_numpy=True, show_progress_bar=False).astype(np.float32)
                computed.update(zip(wrong, again))
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
        on_load: Progress | None = None,
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
        vectors = self.encode(pieces, progress, cancel, on_load)
        if len(pieces) == len(texts):
            return vectors
        sums = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
        np.add.at(sums, np.array(owner), vectors)
        return sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)

    def encode_to_file(
        self,
        texts: Sequence[str],
        path: str | Path,
        memory_mb: int = 1024,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
        on_load: Progress | None = None,
        rows: int | None = None,
    ) -> np.ndarray:
        """encode_long of texts written chunk by chunk into a .npy file, returned memory-mapped read-only.

        At most about `memory_mb` of vectors and texts are in flight at once (chunk_rows), so the vectors of
        millions of texts are never all resident; pages of the file are read back as they are used. `rows`
        overrides the texts per chunk.
        """
        path = Path(path)
        total = len(texts)
        if not total:
            return self.encode_long([])
        rows = rows or chunk_rows(memory_mb)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        out = None
        try:
            for start in range(0, total, rows):
                chunk = texts[start : start + rows]

                def chunk_progress(done: int, todo: int, start: int = start, size: int = len(chunk)) -> None:
                    if progress:
                        progress(start + (size * done // todo if todo else size), total)

                vectors = self.encode_long(chunk, progress=chunk_progress, cancel=cancel, on_load=on_load)
                if out is None:
                    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(total, vectors.shape[1]))
                out[start : start + len(chunk)] = vectors
                del vectors
            out.flush()
            del out
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
        return np.load(path, mmap_mode="r", allow_pickle=False)


def chunk_rows(memory_mb: int, dim: int = 384) -> int:
    """Texts embedded per chunk so that about memory_mb is in flight (vector, key, text: ~4x the vector)."""
    return max(CHUNK, int(memory_mb) * 2**20 // (4 * dim * 4))
