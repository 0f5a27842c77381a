"""The bundled sample's planted truth (samples/support/truth.json) is found by curation with default settings."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from curation.curate import CurateConfig, curate
from curation.load import load_files

SAMPLE = Path(__file__).parents[2] / "samples" / "support"
TRUTH = json.loads((SAMPLE / "truth.json").read_text())


@pytest.fixture(scope="module")
def result(embedder, tokenizer):
    loaded = load_files([SAMPLE / "examples.jsonl"])
    assert not loaded.problems
    return curate(loaded.examples, CurateConfig(), embedder=embedder, tokenizer=tokenizer)


@pytest.fixture(scope="module")
def found(result):
    ids = [e.id for e in result.examples]
    removed = {ids[r.index]: (r.reason, ids[r.duplicate_of]) for r in result.removals}
    flags = defaultdict(dict)
    for f in result.flags:
        flags[ids[f.index]][f.kind] = {k: ([ids[i] for i in v] if k == "with" else v) for k, v in f.details.items()}
    return removed, flags


def test_every_exact_duplicate_removed_with_its_original(found):
    removed, _ = found
    for dup, original in TRUTH["exact_duplicates"]:
        assert removed.get(dup) == ("exact_duplicate", original)


def test_paraphrases_removed_or_flagged_for_review(found):
    removed, flags = found
    surfaced = 0
    for dup, original in TRUTH["paraphrase_duplicates"]:
        if dup in removed:
            assert removed[dup] == ("near_duplicate", original)
            surfaced += 1
        elif "possible_duplicate" in flags[dup]:
            assert flags[dup]["possible_duplicate"]["with"] == [original]
            surfaced += 1
    assert surfaced >= 7, f"only {surfaced} of 8 planted paraphrases surfaced"


def test_nothing_distinct_is_removed(found):
    removed, flags = found
    planted = {d for kind in ("exact_duplicates", "paraphrase_duplicates") for d, _ in TRUTH[kind]}
    assert set(removed) <= planted
    for a, b in TRUTH["hard_negatives"]:
        assert a not in removed and b not in removed
        assert "possible_duplicate" not in flags[a] and "possible_duplicate" not in flags[b]


def test_conflicts_flagged_as_pairs(found):
    removed, flags = found
    for a, b in TRUTH["conflicts"]:
        assert a not in removed and b not in removed
        assert b in flags[a]["conflict"]["with"] and a in flags[b]["conflict"]["with"]


def test_outliers_and_too_long_flagged(found):
    _, flags = found
    unusual = {"outlier", "language", "unusual_text", "too_short"}
    for example_id in TRUTH["outliers"]:
        assert unusual & set(flags[example_id]), f"{example_id} not flagged"
    for example_id in TRUTH["too_long"]:
        assert flags[example_id]["too_long"]["tokens"] > 2048


def test_few_false_flags(found):
    _, flags = found
    planted = set(TRUTH["outliers"]) | set(TRUTH["too_long"])
    unusual = {"outlier", "language", "unusual_text", "too_short"}
    extra = [i for i, kinds in flags.items() if unusual & set(kinds) and i not in planted]
    assert len(extra) <= 3, extra


def test_malformed_sample_reports_every_line():
    loaded = load_files([SAMPLE / "malformed.jsonl"])
    codes = {p.code for p in loaded.problems}
    assert {"invalid_json", "not_object", "missing_messages", "empty_messages", "unknown_role", "unknown_key",
            "missing_content", "empty_content", "no_assistant", "assistant_not_last"} <= codes
    assert len(loaded.examples) == 2
    bom = load_files([SAMPLE / "malformed_bom.jsonl"])
    assert [p.code for p in bom.problems] == ["bom"] and len(bom.examples) == 2
