"""Dedupe: the pure grouping logic, then real embeddings on planted duplicates and hard negatives."""

from __future__ import annotations

import numpy as np
import pytest

from curation.dedupe import (
    DuplicateGroup,
    Pairs,
    exact_duplicate_groups,
    group_pairs,
    near_duplicate_groups,
    normalise_text,
    numbers_in,
    question_kinds,
    same_specifics,
)


def test_normalise_ignores_case_width_and_spacing():
    assert normalise_text("  Hello\tWORLD\n") == normalise_text("hello world")
    assert normalise_text("ＡＢＣ") == "abc"


def test_numbers_in_reads_ids_prices_and_sizes():
    assert numbers_in("Order #1234 costs $1,299.50 for 64GB") == {"1234", "1299.50", "64"}
    assert numbers_in("no digits") == frozenset()


def test_exact_groups_keep_first_by_default_and_priority_when_given():
    groups = exact_duplicate_groups(["a", "b", "a", "a", "c"])
    assert groups == [DuplicateGroup(0, [2, 3], [1.0, 1.0], kind="exact")]
    assert exact_duplicate_groups(["a", "b", "a"], priority=[1, 0, 5])[0].keep == 2


def _pairs(edges):
    left, right, sims = zip(*edges)
    return Pairs(np.array(left), np.array(right), np.array(sims, dtype=np.float32))


def test_group_removes_only_direct_duplicates_of_the_kept_example():
    # a chain 0~1~2: 2 is not similar to 0, so keeping 0 removes 1 only; 2 stays (it is distinct from 0).
    groups = group_pairs(3, _pairs([(0, 1, 0.95), (1, 2, 0.95)]))
    removed = {m for g in groups for m in g.members}
    assert removed == {1} and groups[0].keep == 0


@pytest.mark.parametrize("policy,keep", [("first", 0), ("longest", 2), ("central", 1)])
def test_keep_policies(policy, keep):
    pairs = _pairs([(0, 1, 0.95), (1, 2, 0.96), (0, 2, 0.91)])
    lengths = [10, 20, 30]
    # make 1 the most central: strongest total similarity
    pairs = Pairs(pairs.left, pairs.right, np.array([0.95, 0.99, 0.91], dtype=np.float32))
    (group,) = group_pairs(3, pairs, policy, lengths)
    assert group.keep == keep and sorted(group.members + [group.keep]) == [0, 1, 2]


def test_all_views_must_agree():
    rng = np.random.default_rng(0)
    v_in = rng.normal(size=(4, 16)).astype(np.float32)
    v_in[1] = v_in[0]
    v_out = rng.normal(size=(4, 16)).astype(np.float32)
    v_in /= np.linalg.norm(v_in, axis=1, keepdims=True)
    v_out /= np.linalg.norm(v_out, axis=1, keepdims=True)
    assert near_duplicate_groups([v_in], 0.9) and not near_duplicate_groups([v_in, v_out], 0.9)


PARAPHRASES = [
    ("How long does shipping to Germany take?", "How many days does delivery to Germany usually take?"),
    (
        "My e-bike battery drains overnight, what can I do?",
        "The battery on my e-bike loses its charge overnight. Any fix?",
    ),
    (
        "Can I change the delivery address after ordering?",
        "Is it possible to update my shipping address once the order is placed?",
    ),
]
DISTINCT = [
    "How do I cancel my subscription?",
    "What tyre pressure should I use for city riding?",
    "Is the helmet machine washable?",
    "Where is my order 1234?",
    "Where is my order 5678?",
]


def test_real_embeddings_find_paraphrases_and_keep_distinct(embedder):
    texts = [t for pair in PARAPHRASES for t in pair] + DISTINCT
    vectors = embedder.encode(texts)
    groups = near_duplicate_groups([vectors], 0.8, texts=texts)
    found = {(g.keep, m) for g in groups for m in g.members}
    assert {(0, 1), (2, 3), (4, 5)} <= found
    removed = {m for g in groups for m in g.members}
    assert not removed & set(range(6, len(texts))), "a distinct example was removed"


def test_numbers_guard_keeps_different_products_apart(embedder):
    texts = ["Apple iPhone 12 64GB Black", "Apple iPhone 12 128GB Black"]
    vectors = embedder.encode(texts)
    assert float(vectors[0] @ vectors[1]) > 0.9  # the embedding alone would merge them
    assert near_duplicate_groups([vectors], 0.9, texts=texts) == []


def test_question_kinds():
    assert question_kinds("Who founded the Muslim Brotherhood?") == {"person"}
    assert question_kinds("When was the Muslim Brotherhood founded?") == {"time"}
    assert question_kinds("How many days does delivery take?") == question_kinds("How long does shipping take?")


def test_specifics_guard_blocks_different_questions_and_numbers():
    texts = ["Who founded the club?", "When was the club founded?", "The population was 89,148.",
             "The population was 89, 148.", "Order 12 shipped", "Order 13 shipped"]
    ok = same_specifics(texts, np.array([0, 2, 4]), np.array([1, 3, 5]))
    assert ok.tolist() == [False, True, False]


def test_ivf_index_past_the_size_limit_finds_the_same_duplicates(monkeypatch):
    import curation.vectors as vectors_module

    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(600, 32)).astype(np.float32)
    vectors[300] = vectors[10] + 0.01
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    exact = near_duplicate_groups([vectors], 0.95)
    monkeypatch.setattr(vectors_module, "IVF_ABOVE", 100)
    assert type(vectors_module.build_index(vectors)).__name__ == "IndexIVFFlat"
    assert near_duplicate_groups([vectors], 0.95) == exact == [DuplicateGroup(10, [300], exact[0].similarity)]


SQL_EXAMPLES = [
    ("How many airlines do we have?", "select count ( airlines.* )"),
    ("How many flights do we have?", "select count ( flights.* )"),
    ("What are all the airlines?", "select airlines.*"),
    ("What are all of the airlines?", "SELECT airlines.*"),
    ("List the weight of pets heavier than value or named value", "select pets.weight where pets.weight > value or pets.name = value"),
    ("List the weight of pets lighter than value and not named value", "select pets.weight where pets.weight < value and pets.name != value"),
]


def test_sql_outputs_are_duplicates_only_with_the_same_structure(embedder, tokenizer):
    from curation.curate import CurateConfig, curate
    from curation.example import Example

    examples = [Example(f"s{i}", [{"role": "user", "content": q}, {"role": "assistant", "content": a}])
                for i, (q, a) in enumerate(SQL_EXAMPLES)]
    result = curate(examples, CurateConfig(clusters=1), embedder=embedder, tokenizer=tokenizer)
    assert result.stats["view_kinds"] == {"input": "text", "output": "sql"}
    removed = {(r.index, r.duplicate_of): r.rule for r in result.removals}
    assert set(removed) <= {(3, 2)}, removed  # never airlines/flights, never the > or / < and pair
    if removed:
        assert removed[(3, 2)].endswith("same SQL after normalising")
    conflicts = [f for f in result.flags if f.kind == "conflict"]
    assert not conflicts, [f.details for f in conflicts]


def test_a_number_only_one_states_is_shown_for_review_never_removed():
    from curation import structure
    from curation.curate import CurateConfig, Views, near_candidates

    texts = ["He was chief architect of the Fisher Building.", "He was chief architect of the Fisher Building in 1928.",
             "Order 12 shipped", "Order 13 shipped", "The club was founded in 1901.", "The club was founded in 1901!"]
    vectors = np.repeat(np.eye(3, dtype=np.float32), 2, axis=0)  # each pair the same vector: cosine 1.0
    n = len(texts)
    views = Views(texts, [""] * n, [], texts, [""] * n, (structure.TEXT, structure.TEXT))
    found, rules, removable = near_candidates(np.arange(n), vectors, vectors, views, CurateConfig())
    got = {(int(a), int(b)): (rule, bool(ok)) for a, b, rule, ok in zip(found.left, found.right, rules, removable)}
    assert set(got) == {(0, 1), (4, 5)}  # 12 vs 13 contradict each other: no candidate at all
    assert got[(4, 5)] == ("input and output 1.00+ similar, same numbers and question kind", True)
    assert got[(0, 1)] == ("input and output 1.00+ similar, but numbers only one states: (none) vs 1928: not removed", False)


def test_curate_flags_a_pair_with_a_left_out_number_above_the_threshold(embedder, tokenizer):
    from curation.curate import CurateConfig, curate
    from curation.example import Example

    pairs = [("Where is the Fisher Building?", "The Fisher Building is in Detroit."),
             ("Where is the Fisher Building located?", "The Fisher Building is in Detroit (built 1928)."),
             ("Is the Apple iPhone 12 64GB Black in stock?", "Yes, it ships today."),
             ("Is the Apple iPhone 12 128GB Black in stock?", "Yes, it ships today.")]
    examples = [Example(f"x{i}", [{"role": "user", "content": q}, {"role": "assistant", "content": a}]) for i, (q, a) in enumerate(pairs)]
    result = curate(examples, CurateConfig(clusters=1), embedder=embedder, tokenizer=tokenizer)
    assert not result.removals
    flags = [f for f in result.flags if f.kind == "possible_duplicate"]
    assert [(f.index, f.details["with"]) for f in flags] == [(1, [0])]
    assert flags[0].details["similarity"] >= 0.9  # above the removal threshold, yet kept: the rule says why
    assert flags[0].details["rule"].endswith("numbers only one states: (none) vs 1928: not removed")
