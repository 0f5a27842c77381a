"""Reciprocal rank fusion, hits, and retrieval edge cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from curation.errors import UsageError
from training.rag.index import build_rag_index, load_rag_index
from training.rag.retrieve import RetrieveConfig, rrf_fuse, search

DOCS = Path(__file__).parents[2] / "fixtures" / "docs"


def test_rrf_rewards_agreement_and_ignores_padding():
    dense = np.array([5, 7, 9, -1])
    bm25 = np.array([7, 3, -1, -1])
    fused = rrf_fuse([dense, bm25], [1.0, 1.0], rrf_k=60, top=10)
    assert fused[0][0] == 7  # second and first: 1/62 + 1/61 beats 1/61 alone
    assert fused[0][1] == pytest.approx(1 / 62 + 1 / 61)
    assert {i for i, _ in fused} == {3, 5, 7, 9}
    assert [i for i, _ in rrf_fuse([dense, bm25], [1.0, 0.0], 60, 10)] == [5, 7, 9]  # weight 0 ignores a list
    assert [i for i, _ in rrf_fuse([dense, bm25], [1.0, 3.0], 60, 2)] == [7, 3]  # a heavier list leads


def test_rrf_ties_go_to_the_hit_that_stands_out_in_its_own_method():
    dense, bm25 = np.array([1, 2, 3]), np.array([4, 5, 6])
    assert rrf_fuse([dense, bm25], [1.0, 1.0], 60, 2) == rrf_fuse([bm25, dense], [1.0, 1.0], 60, 2)  # id order only
    close_call = np.array([0.70, 0.69, 0.68])  # dense's 1st barely ahead of its 2nd
    clear_win = np.array([25.0, 6.0, 5.0])  # BM25's 1st far ahead
    fused = rrf_fuse([dense, bm25], [1.0, 1.0], 60, 2, scores=[close_call, clear_win])
    assert [i for i, _ in fused] == [4, 1] and fused[0][1] == fused[1][1]
    fused = rrf_fuse([dense, bm25], [1.0, 1.0], 60, 2, scores=[clear_win, close_call])
    assert [i for i, _ in fused] == [1, 4]


@pytest.fixture(scope="module")
def index(tmp_path_factory, embedder):
    out = tmp_path_factory.mktemp("retrieve") / "idx"
    build_rag_index([DOCS], out, embedder=embedder)
    return load_rag_index(out, embedder.name)


def test_hits_carry_source_heading_span_and_text(index, embedder):
    hit = search(index, ["descale the kettle with vinegar"], RetrieveConfig(k=2), embedder)[0][0]
    record = hit.to_dict()
    assert set(record) == {"source", "heading", "score", "text", "span", "chunk", "rank"}
    assert record["source"] == "kettle.html" and record["heading"].endswith("Descaling")
    chunk = index.chunks[hit.chunk]
    assert record["span"] == [chunk.start, chunk.end] and record["text"] == chunk.text


def test_bm25_with_no_known_word_returns_nothing(index):
    assert search(index, ["zzzqqq xxyyzz"], RetrieveConfig(k=3, mode="bm25")) == [[]]


def test_k_larger_than_the_index_returns_every_chunk_once(index, embedder):
    hits = search(index, ["bike"], RetrieveConfig(k=500, mode="hybrid"), embedder)[0]
    assert len(hits) == len({h.chunk for h in hits}) <= len(index.chunks)
    assert len(search(index, ["bike"], RetrieveConfig(k=500, mode="dense"), embedder)[0]) == len(index.chunks)


def test_dense_needs_an_embedder_and_bad_settings_name_the_field(index):
    with pytest.raises(UsageError, match="embedder"):
        search(index, ["q"], RetrieveConfig(mode="dense"))
    with pytest.raises(UsageError, match="mode"):
        RetrieveConfig(mode="sparse")
    with pytest.raises(UsageError, match="depth"):
        RetrieveConfig(depth=0)
