"""Curation at scale on one machine: the MinHash pre-pass, memory-mapped embeddings, recall of approximate search."""

from __future__ import annotations

import numpy as np
import pytest

from curation import structure
from curation.curate import CurateConfig, build_views, curate
from curation.dedupe import Recall, neighbour_pairs, search_recall
from curation.embed import text_key
from curation.errors import UsageError
from curation.example import Example
from curation.minhash import jaccard, near_exact_pairs
from curation.report import build_report, render_markdown

POLICY = ("Our return policy lets you send back an unused bike within thirty days of delivery for a full refund; "
          "the frame must be undamaged and the original packaging kept. Can I {} my bike if I changed my mind?")
ANSWER = "Yes: unused bikes can be returned within 30 days of delivery for a full refund, packaging included."
OTHER = [
    ("How do I reset my bike computer?", "Hold the mode button for five seconds until the screen blinks."),
    ("What tyre pressure should I use on a road bike?", "Between 80 and 100 psi, depending on your weight."),
    ("Do you ship to Norway?", "Yes, we ship to Norway; delivery takes 5 to 7 working days."),
    ("Is the helmet size adjustable?", "Yes, the dial at the back fits heads from 54 to 61 cm."),
    ("How long does the battery last on a full charge?", "About 80 km in eco mode and 40 km in turbo mode."),
    ("Can I pay in instalments?", "Yes, in three or six monthly instalments without interest."),
    ("Where is my order?", "Send us your order number and we will look it up for you."),
    ("Which lock do you recommend for city parking?", "A D-lock rated gold by Sold Secure, with a cable for the wheel."),
]


def _chat(user: str, assistant: str, i: int) -> Example:
    return Example(f"e{i}", [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}])


def _views(pairs):
    inputs, outputs = [p[0] for p in pairs], [p[1] for p in pairs]
    return inputs, outputs, (inputs, outputs)


def test_near_identical_text_is_found_but_numbers_negation_and_sql_keep_examples_apart():
    pairs = [
        (POLICY.format("return"), ANSWER),
        (POLICY.format("retrun"), ANSWER),  # a typo: the same example
        (POLICY.format("return").replace("thirty", "sixty"), ANSWER.replace("30", "60")),  # other numbers
        (POLICY.format("not return"), ANSWER),  # negation
    ]
    inputs, outputs, raw = _views(pairs)
    assert jaccard(inputs[0], inputs[3]) >= 0.9  # near-identical as text, yet they ask different things
    found = near_exact_pairs(inputs, outputs, raw, (structure.TEXT, structure.TEXT), 0.9)
    assert list(zip(found.left.tolist(), found.right.tolist())) == [(0, 1)]
    assert found.rules[0].startswith("near-identical text (MinHash Jaccard") and found.jaccard[0] >= 0.9

    question = "Show the names of all the airlines in the database together with their country, sorted by name please"
    sql = [(question, "select name from airlines order by name"), (question + " ", "select name from flights order by name"),
           (question + ".", "SELECT name FROM airlines ORDER BY name")]
    inputs, outputs, raw = _views(sql)
    found = near_exact_pairs(inputs, outputs, raw, (structure.TEXT, structure.SQL), 0.8)
    assert list(zip(found.left.tolist(), found.right.tolist())) == [(0, 2)]  # never the other table
    assert "same SQL after normalising" in found.rules[0]


def test_curate_removes_near_identical_text_before_embedding_it(embedder, tokenizer):
    typo = POLICY.format("retrun") + " Thanks a lot, Marta from Lyon"
    examples = [_chat(POLICY.format("return") + " Thanks a lot, Marta from Lyon", ANSWER, 0)]
    examples += [_chat(q, a, i + 1) for i, (q, a) in enumerate(OTHER)] + [_chat(typo, ANSWER, len(OTHER) + 1)]
    result = curate(examples, CurateConfig(clusters=1, near_exact_above=0), embedder=embedder, tokenizer=tokenizer)
    (removal,) = result.removals
    assert (removal.index, removal.duplicate_of, removal.reason) == (len(OTHER) + 1, 0, "near_duplicate")
    assert removal.rule.startswith("near-identical text (MinHash Jaccard")
    assert result.stats["near_exact"] == {"applied": True, "removed": 1}
    assert text_key(build_views(examples).inputs[-1]) not in embedder.cache  # the twin was never embedded
    assert "(MinHash pre-pass): 1 examples removed before embedding" in render_markdown(build_report(result), result)
    default = curate(examples, CurateConfig(clusters=1), embedder=embedder, tokenizer=tokenizer)
    assert default.stats["near_exact"]["applied"] is False  # below near_exact_above: the embeddings decide


def test_embeddings_past_the_memory_setting_go_to_a_memory_mapped_file(embedder, tokenizer, tmp_path, monkeypatch):
    import curation.curate as curate_module

    examples = [_chat(q, a, i) for i, (q, a) in enumerate(OTHER)] + [_chat(OTHER[0][0] + "?", OTHER[0][1], 99)]
    config = CurateConfig(clusters=1, cache_dir=str(tmp_path))
    in_memory = curate(examples, config, embedder=embedder, tokenizer=tokenizer)
    monkeypatch.setattr(curate_module, "EMBED_BYTES", 10**9)  # every run now needs more than memory_mb
    mapped = curate(examples, config, embedder=embedder, tokenizer=tokenizer)
    assert (in_memory.stats["embeddings_file"], mapped.stats["embeddings_file"]) == (False, True)
    assert [(r.index, r.duplicate_of) for r in mapped.removals] == [(r.index, r.duplicate_of) for r in in_memory.removals] == [(8, 0)]
    assert not list(tmp_path.glob("curate-*"))  # the scratch file is gone with the run


def test_encode_to_file_writes_chunks_and_maps_them_back(embedder, tmp_path):
    texts = [q for q, _ in OTHER] + ["a bike", "a bike"]
    vectors = embedder.encode_to_file(texts, tmp_path / "v.npy", rows=3)
    assert isinstance(vectors, np.memmap) and not vectors.flags.writeable
    assert np.allclose(vectors, embedder.encode_long(texts), atol=1e-5)
    assert [p.name for p in tmp_path.iterdir()] == ["v.npy"]  # no temporary file left behind


def test_search_recall_counts_what_the_approximate_search_missed():
    vectors = np.eye(4, dtype=np.float32)[[0, 0, 1, 1, 2, 3]]  # pairs (0, 1) and (2, 3) are identical
    approx_idx = np.array([[0, 1], [1, 0], [2, -1], [3, -1], [4, -1], [5, -1]])  # missed 2 <-> 3
    approx_sims = np.array([[1, 1], [1, 1], [1, 0], [1, 0], [1, 0], [1, 0]], dtype=np.float32)
    recall = search_recall(vectors, approx_idx, approx_sims, 0.9)
    assert recall == Recall(queries=6, exact_pairs=4, found=2) and recall.value == 0.5


def test_ivf_search_reports_its_recall_against_exact_search():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(600, 16)).astype(np.float32)
    vectors[300:320] = vectors[:20] + 0.01 * rng.normal(size=(20, 16))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    assert neighbour_pairs(vectors, 0.95).recall is None  # exact search: nothing to check
    pairs = neighbour_pairs(vectors, 0.95, ivf_above=100)
    assert pairs.recall.exact_pairs == 40 and 0 < pairs.recall.value <= 1  # each planted pair seen from both sides


@pytest.mark.parametrize("field,value", [("near_exact_jaccard", 0.3), ("near_exact_above", -1), ("memory_mb", 8)])
def test_bad_scale_settings_name_the_field(field, value):
    with pytest.raises(UsageError, match=field):
        CurateConfig(**{field: value})
