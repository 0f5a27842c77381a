"""The interview: questions as data, answer validation, answers.yaml round trip and its errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from advisor.interview import Answers, dump_answers, load_answers, load_questions, question_map, save_answers
from curation.errors import DataError, UsageError

SAMPLE_ANSWERS = Path(__file__).parents[2] / "samples" / "support" / "answers.yaml"
# The topics the issue requires the interview to cover, by question id.
REQUIRED_TOPICS = ("task", "output_strictness", "private_facts", "facts_change", "jargon", "examples", "eval_set",
                   "prompting_tried", "prompt_score", "requests_per_day", "latency_cost", "data_location", "recurrence",
                   "budget")


@pytest.fixture(scope="module")
def questions():
    return load_questions()


def test_questions_cover_the_issue_and_explain_why(questions):
    ids = [q.id for q in questions]
    assert set(REQUIRED_TOPICS) <= set(ids)
    assert len(ids) == len(set(ids))
    for q in questions:
        assert q.text.strip() and len(q.help) > 40, f"{q.id} needs a real 'why we ask'"
        if q.kind == "choice":
            assert len(q.options) >= 2 and len(set(q.values)) == len(q.values)


def test_conditions_refer_to_earlier_questions_and_valid_values(questions):
    seen: dict[str, object] = {}
    for q in questions:
        for qid, allowed in q.when:
            assert qid in seen, f"{q.id} depends on {qid}, which is not asked before it"
            for value in allowed:
                assert seen[qid].parse(value) == value  # each allowed value is a real answer of that question
        seen[q.id] = q


def test_choice_accepts_value_label_number_and_case(questions):
    q = question_map(questions)["output_kind"]
    assert q.parse("structured") == "structured"
    assert q.parse("STYLE") == "style"
    assert q.parse(q.options[3].label) == "labels"
    assert q.parse("1") == "free_text"
    with pytest.raises(UsageError) as err:
        q.parse("stucturd")
    assert "structured" in err.value.hint  # did-you-mean and the allowed values


def test_yaml_booleans_map_to_yes_no_choices(questions):
    # YAML 1.1 reads a bare `yes` as True: a choice whose values are yes/no must still accept it
    assert question_map(questions)["examples_consistent"].parse(True) == "yes"
    assert question_map(questions)["examples_consistent"].parse(False) == "no"


def test_numbers_parse_and_range_is_checked(questions):
    qs = question_map(questions)
    assert qs["examples"].parse("1,200") == 1200
    assert qs["examples"].parse(" 300 ") == 300
    assert qs["requests_per_day"].parse(2.5e3) == 2500
    for bad in ("-3", "lots", True, [1]):
        with pytest.raises(UsageError):
            qs["examples"].parse(bad)
    with pytest.raises(UsageError) as err:
        qs["prompt_score"].parse(11)
    assert "between 0 and 10" in err.value.hint


def test_yesno_and_text(questions):
    qs = question_map(questions)
    assert qs["prompting_tried"].parse("Yes") is True and qs["prompting_tried"].parse("n") is False
    with pytest.raises(UsageError):
        qs["prompting_tried"].parse("maybe")
    assert qs["task"].parse("  answer   tickets \n politely ") == "answer tickets politely"
    assert qs["task"].parse("   ") is None


def test_set_validates_and_clears(questions):
    answers = Answers({}, questions)
    answers.set("examples", "250")
    assert answers.get("examples") == 250
    answers.set("examples", "")
    assert not answers.answered("examples") and answers.get("examples", 7) == 7
    with pytest.raises(UsageError) as err:
        answers.set("exampels", 3)
    assert "examples" in err.value.hint


def test_missing_follows_conditions(questions):
    answers = Answers({}, questions)
    assert "prompt_score" not in answers.missing()  # only asked once prompting was tried
    assert "facts_change" not in answers.missing()
    answers.set("prompting_tried", "yes")
    answers.set("private_facts", "most")
    missing = answers.missing()
    assert "prompt_score" in missing and "facts_change" in missing
    assert "stay_general" not in missing  # optional
    answers.set("prompting_tried", "no")
    assert "prompt_score" not in answers.missing()


def test_round_trip_keeps_values_and_question_order(tmp_path, questions):
    answers = Answers({}, questions)
    for qid, value in [("budget", "ample"), ("task", "Tag invoices: vendor, total # and date"), ("examples", 640),
                       ("prompting_tried", True), ("prompt_score", 7), ("examples_consistent", "yes")]:
        answers.set(qid, value)
    path = tmp_path / "sub" / "answers.yaml"
    save_answers(answers, path)
    loaded = load_answers(path, questions)
    assert loaded.values == answers.values
    keys = list(yaml.safe_load(path.read_text()))
    order = [q.id for q in questions]
    assert keys == sorted(keys, key=order.index)  # interview order, not insertion order
    text = path.read_text()
    assert "# How many labelled examples" in text  # the question travels with the answer
    assert [p.name for p in path.parent.iterdir()] == ["answers.yaml"]  # no temp file left


def test_dump_is_plain_yaml_a_person_can_edit(questions):
    answers = Answers({"task": "Summarise calls", "eval_set": "metric"}, questions)
    assert yaml.safe_load(dump_answers(answers)) == {"task": "Summarise calls", "eval_set": "metric"}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("examples: [1, 2\n", ["not valid YAML", "answers.yaml:2:1:"]),  # file:line:column
        ("- task: x\n", ["must be a mapping"]),
        ("examples: 300\nbudjet: ample\n", ["'budjet'", "Unknown question id", "answers.yaml:2:"]),
        ("examples: many\n", ["'examples'", "expected a number", "answers.yaml:1:"]),
        ("output_kind: poem\n", ["'output_kind'", "not one of the choices"]),
    ],
    ids=["bad-yaml", "not-a-mapping", "unknown-id", "bad-number", "bad-choice"],
)
def test_bad_answers_files_name_file_key_and_fix(tmp_path, content, expected):
    path = tmp_path / "answers.yaml"
    path.write_text(content)
    with pytest.raises(DataError) as err:
        load_answers(path)
    message = err.value.message
    for fragment in expected:
        assert fragment in message
    assert err.value.hint


def test_bad_key_hint_suggests_the_right_id(tmp_path):
    path = tmp_path / "answers.yaml"
    path.write_text("budjet: ample\n")
    with pytest.raises(DataError) as err:
        load_answers(path)
    assert "'budget'" in err.value.hint


def test_missing_file_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError):
        load_answers(tmp_path / "nope.yaml")


def test_empty_file_is_no_answers(tmp_path):
    path = tmp_path / "answers.yaml"
    path.write_text("# nothing yet\n")
    assert load_answers(path).values == {}


def test_sample_answers_are_complete():
    answers = load_answers(SAMPLE_ANSWERS)
    assert answers.missing() == []
    assert answers.get("examples") == 320 and answers.get("facts_change") == "monthly"
