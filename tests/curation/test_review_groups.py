"""Possible duplicates reviewed by the group: grouping, ranking, keeper, cautions; group marks saved, undone, exported."""

import json

import pytest

from curation.decisions import (
    change_marks,
    export_with_decisions,
    history_path,
    load_decisions,
    load_log,
    undo_change,
)
from curation.errors import DataError
from curation.review_groups import (
    CandidatePair,
    caution_of,
    decision_marks,
    group_candidates,
    groups_above,
    kept_numbers,
)

ORDER = ["a", "b", "c", "d", "e", "f", "g"]
TEXTS = {"a": "How long does shipping to Germany take?", "b": "How long is shipping to Germany?",
         "c": "How long does delivery to Germany take?", "d": "Can I cancel Ride+?", "e": "Can I cancel my Ride+ plan?",
         "f": "Which bikes cost more than 2000?", "g": "Which bikes cost less than 2000?"}


def _pairs():
    return [CandidatePair("b", "a", 0.86, "input and output 0.80+ similar"), CandidatePair("c", "b", 0.82, "rule bc"),
            CandidatePair("a", "b", 0.84, "seen twice"), CandidatePair("e", "d", 0.88, "rule de"),
            CandidatePair("g", "f", 0.95, "rule fg")]


def test_groups_are_components_ranked_by_their_weakest_link():
    groups = group_candidates(_pairs(), ORDER, TEXTS)
    assert [g.members for g in groups] == [["d", "e"], ["a", "b", "c"], ["f", "g"]]
    assert [g.id for g in groups] == [1, 2, 3]
    de, abc, fg = groups
    assert de.score == pytest.approx(0.88) and abc.score == pytest.approx(0.82)  # the chain holds at its weakest link
    assert [(p.a, p.b, p.similarity) for p in abc.pairs] == [("b", "a", 0.86), ("c", "b", 0.82)]  # a pair counts once, at its best
    assert abc.keeper == "b" and de.keeper == "d"  # most central; a tie goes to the first in input order
    # "more" vs "less": 0.95 similar but a caution, so ranked last and never accepted in bulk
    assert fg.caution and "more" in fg.pairs[0].caution and "less" in fg.pairs[0].caution
    assert not de.caution and not abc.caution
    assert [g.id for g in groups_above(groups, 0.80, {})] == [1, 2]
    assert [g.id for g in groups_above(groups, 0.85, {})] == [1]
    assert [g.id for g in groups_above(groups, 0.80, {"d": "keep", "e": "keep"})] == [2]  # decided groups stay as they are
    assert group_candidates([], ORDER) == []


def test_cautions_are_negations_and_swapped_meaning_words_not_dropped_ones():
    assert caution_of("Can I return a worn helmet?", "Can I not return a worn helmet?") == "differs in: (none) vs not"
    assert caution_of("I can go", "I can't go") == "differs in: (none) vs not"  # a contraction is a negation too
    assert caution_of("I did not go", "I didn't go") == ""
    assert caution_of("first in line", "last in line") == "differs in: first vs last"
    assert caution_of("cats and dogs sleep", "cats, dogs sleep") == ""  # rewording drops "and" all the time


def test_a_pair_kept_from_removal_for_a_number_only_one_states_is_a_caution():
    # accepting it in bulk would drop the date without a person seeing it
    rule = "input and output 0.97+ similar, but numbers only one states: (none) vs 1928, 7: not removed"
    assert kept_numbers(rule) == "numbers only one states: (none) vs 1928, 7"
    assert kept_numbers("input and output 0.95+ similar, but question kind only one states: person vs (none): not removed") == ""
    assert kept_numbers("input and output 0.85+ similar, same numbers and question kind; below the threshold 0.90") == ""
    pairs = [CandidatePair("b", "a", 0.97, rule), CandidatePair("d", "c", 0.85, "rule cd")]
    groups = group_candidates(pairs, ["a", "b", "c", "d"], TEXTS)
    assert [g.members for g in groups] == [["c", "d"], ["a", "b"]]  # ranked after the group without a caution
    assert groups[1].pairs[0].caution == "numbers only one states: (none) vs 1928, 7"
    assert [g.id for g in groups_above(groups, 0.80, {})] == [1]


def test_accept_keeps_the_keeper_and_gives_each_removal_its_reason():
    abc = group_candidates(_pairs(), ORDER, TEXTS)[1]
    marks, reasons = decision_marks(abc, "accept")
    assert marks == {"a": "remove", "b": "keep", "c": "remove"}
    assert reasons["a"]["duplicate_of"] == "b" and reasons["a"]["similarity"] == 0.86
    assert reasons["c"]["rule"] == "rule bc" and reasons["b"] is None
    marks, reasons = decision_marks(abc, "accept", keeper="a")  # another keeper: c reaches it through b
    assert marks == {"a": "keep", "b": "remove", "c": "remove"} and "via b" in reasons["c"]["reason"]
    assert decision_marks(abc, "reject")[0] == {"a": "keep", "b": "keep", "c": "keep"}
    assert abc.status({}) == "open"
    assert abc.status({"a": "remove", "c": "remove"}) == "accepted"
    assert abc.status({"a": "keep", "b": "keep", "c": "keep"}) == "rejected"
    assert abc.status({"a": "remove"}) == "mixed"
    with pytest.raises(ValueError):
        decision_marks(abc, "maybe")


def test_group_marks_are_undoable_and_decisions_json_keeps_its_format(tmp_path):
    path = tmp_path / "decisions.json"
    change_marks(path, {"x": "keep"}, action="keep x")
    abc = group_candidates(_pairs(), ORDER, TEXTS)[1]
    marks, reasons = decision_marks(abc, "accept")
    after = change_marks(path, marks, reasons, action="accept group 2")
    assert json.loads(path.read_text()) == after == {"a": "remove", "b": "keep", "c": "remove", "x": "keep"}  # flat, as ever
    assert load_log(path).reasons["a"]["duplicate_of"] == "b"
    assert change_marks(path, marks, reasons, action="again") == after  # no change, nothing recorded
    assert len(load_log(path).history) == 2

    change_marks(path, {"a": None}, action="clear a")  # a single mark replaces the group's reason for it
    assert "a" not in load_log(path).reasons and load_decisions(path) == {"b": "keep", "c": "remove", "x": "keep"}
    assert undo_change(path) == ("clear a", after)
    assert load_log(path).reasons["a"]["duplicate_of"] == "b"
    assert undo_change(path)[0] == "accept group 2"
    assert load_decisions(path) == {"x": "keep"} and load_log(path).reasons == {}
    assert undo_change(path) == ("keep x", {})
    assert undo_change(path) is None


def test_export_writes_the_reason_of_a_group_removal(tmp_path):
    rows = [{"id": i, "messages": [{"role": "user", "content": TEXTS[i]}, {"role": "assistant", "content": "ok"}]} for i in "abc"]
    for name, chosen in (("clean", rows), ("train", rows[:2]), ("eval", rows[2:]), ("removed", [])):
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in chosen))
    abc = group_candidates(_pairs()[:3], ORDER, TEXTS)[0]
    marks, reasons = decision_marks(abc, "accept")
    export_with_decisions(tmp_path, marks, tmp_path / "export", {k: v for k, v in reasons.items() if v})
    removed = {r["id"]: r for r in map(json.loads, (tmp_path / "export" / "removed.jsonl").read_text().splitlines())}
    assert removed["a"]["reason"] == "curator" and removed["a"]["duplicate_of"] == "b" and removed["a"]["similarity"] == 0.86
    assert "group 1" in removed["a"]["note"] and removed["c"]["rule"] == "rule bc"


@pytest.mark.parametrize("content, match", [
    ('{"reasons": {}, "history": [{"action": "x", "marks": {"a": "maybe"}, "reasons": {}}]}', "history entry 1"),
    ('{"reasons": [], "history": []}', "`reasons`"),
    ('{"reasons": {"a": 1}, "history": []}', "not a JSON object"),
    ("[1, 2", "not valid JSON"),
])
def test_a_malformed_history_file_is_named_and_left_alone(tmp_path, content, match):
    path = tmp_path / "decisions.json"
    history_path(path).write_text(content)
    with pytest.raises(DataError, match=match) as info:
        change_marks(path, {"a": "keep"})
    assert "decisions.history.json" in info.value.message and "Delete the file" in info.value.hint
    assert history_path(path).read_text() == content and not path.exists()
