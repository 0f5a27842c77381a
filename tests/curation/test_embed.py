"""Embedding cache: an unchanged re-run embeds nothing; a damaged shard is ignored, not fatal."""

import numpy as np

from curation.embed import Embedder


def test_rerun_embeds_nothing_and_returns_same_vectors(tmp_path):
    texts = ["a bike", "a helmet", "a bike"]
    first = Embedder(cache_dir=tmp_path)
    vectors = first.encode(texts)
    assert first.encoded == 2  # duplicates inside one call are embedded once
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    second = Embedder(cache_dir=tmp_path)
    again = second.encode(texts + ["a lock"])
    assert second.encoded == 1 and np.allclose(again[:3], vectors)


def test_truncated_shard_is_skipped(tmp_path):
    Embedder(cache_dir=tmp_path).encode(["one", "two"])
    (shard,) = list(tmp_path.rglob("*.npy"))
    shard.write_bytes(shard.read_bytes()[:40])
    model = Embedder(cache_dir=tmp_path)
    assert model.encode(["one"]).shape == (1, 384) and model.encoded == 1
