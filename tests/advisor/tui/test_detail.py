"""The detail pop-up's text: the whole conflict group with the rule that decided it, user text verbatim."""

from __future__ import annotations

from advisor.tui.widgets.detail import conflict_detail, flag_detail

RECORDS = {
    "a": {"id": "a", "messages": [{"role": "user", "content": "How many [b]airlines[/b]?"},
                                  {"role": "assistant", "content": "select count(*) from airlines"}]},
    "b": {"id": "b", "messages": [{"role": "user", "content": "How many airlines?"},
                                  {"role": "assistant", "content": "select count(*) from flights"}]},
}


def test_conflict_detail_names_the_rule_and_keeps_user_text_verbatim():
    flags = [{"id": "a", "kind": "conflict", "with": ["b"], "input_similarity": [0.97], "output_similarity": [0.7],
              "rule": "same question, different SQL: airlines vs flights"}]
    text = conflict_detail(3, ["a", "b"], RECORDS, {}, flags).plain
    assert "conflict group 3" in text
    assert "vs b: question similarity 0.97, reply similarity 0.70" in text
    assert "rule: same question, different SQL: airlines vs flights" in text
    assert "How many [b]airlines[/b]?" in text  # markup-looking user text shown as typed


def test_flag_detail_lists_every_detail_including_the_rule():
    flag = {"id": "b", "kind": "possible_duplicate", "with": ["a"], "similarity": 0.86, "rule": "same SQL after normalising"}
    text = flag_detail(flag, "looks like a", RECORDS["b"]).plain
    assert "Flag: possible_duplicate" in text and "rule same SQL after normalising" in text
