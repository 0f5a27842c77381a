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


def test_long_texts_differing_at_the_end_are_told_apart(embedder):
    shared = " ".join(f"Clause {i} of the contract says the rider keeps the bike in good order." for i in range(40))
    a, b = shared + " Question: can I cancel?", shared + " Question: who pays for shipping of a replacement battery?"
    plain = embedder.encode([a, b])
    long = embedder.encode_long([a, b])
    assert float(plain[0] @ plain[1]) > 0.999  # truncated at 256 word pieces: the ends are never seen
    assert float(long[0] @ long[1]) < float(plain[0] @ plain[1]) - 0.005
    short = embedder.encode_long(["a short text"])
    assert np.allclose(short, embedder.encode(["a short text"]))
