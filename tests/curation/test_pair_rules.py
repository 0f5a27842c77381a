"""Pair rules: structured duplicates, the same-question guard, conflicts, and the rule each names (issue #14)."""

from __future__ import annotations

from curation.pair_rules import (
    Verdict,
    content_words,
    judge_conflict,
    judge_views,
    same_question,
    same_structure,
    specifics_gap,
    word_vectors,
)
from curation.structure import CODE, JSON, LABEL, SQL, TEXT


def test_issue_examples_are_not_sql_duplicates():
    v = same_structure("select count ( airlines.* )", "select count ( flights.* )", SQL)
    assert not v.same and v.rule == "different table: airlines vs flights"
    v = same_structure("select a from t where weight > value or fullname = value",
                       "select a from t where weight < value and fullname != value", SQL)
    assert not v.same and v.rule == "different operator: =, > vs !=, <"


def test_sql_difference_names_the_part_that_differs():
    # SParC dev: the same columns, but one asks for distinct codes, one sorts the other way, one counts
    cases = [
        ("select countrylanguage.countrycode", "select distinct countrylanguage.countrycode", "different clause: (none) vs distinct"),
        ("select name from singer order by age desc", "select name from singer order by age", "different order: desc vs asc"),
        ("select count ( distinct highschooler.grade )", "select distinct highschooler.grade", "different aggregate: count vs (none)"),
        ("select a from t where x > value and y = value", "select a from t where x > value or y = value", "different logic: and vs or"),
        ("select name from singer where age > 30", "select name from singer where age > 40", "different value: 30 vs 40"),
    ]
    for a, b, rule in cases:
        assert same_structure(a, b, SQL).rule == rule


def test_same_sql_after_normalising_is_a_duplicate_with_its_rule():
    v = same_structure("SELECT T1.name FROM singer AS T1", "select singer.name from singer", SQL)
    assert v.same and v.rule == "same SQL after normalising"


def test_different_column_named():
    v = same_structure("select name from singer", "select age from singer", SQL)
    assert not v.same and v.rule == "different column: name vs age"


def test_judge_views_text_by_similarity_structure_by_structure():
    texts = [("How many airlines do we have?", "How many flights do we have?"),
             ("select count ( airlines.* )", "select count ( flights.* )")]
    v = judge_views(texts, (TEXT, SQL), [0.94, 0.94], 0.9)
    assert not v.same and v.rule == "different table: airlines vs flights"
    v = judge_views([("How many do we have?", "How many do we have?"), texts[1]], (TEXT, SQL), [1.0, 1.0], 0.9)
    assert not v.same and v.rule == "different table: airlines vs flights"
    texts = [("What are all the airlines?", "Show me all the airlines."), ("select airlines.*", "SELECT airlines.*")]
    v = judge_views(texts, (TEXT, SQL), [0.93, 0.93], 0.9)
    assert v.same and v.rule == "the output keeps its values, so it names what was asked; text 0.93 similar; same SQL after normalising"
    v = judge_views([("a", "b"), ("PlayMusic", "GetWeather")], (TEXT, LABEL), [0.95, 0.95], 0.9)
    assert not v.same and v.rule == "different label: playmusic vs getweather"


def test_content_words_fold_plurals_and_keep_operators():
    assert content_words("How many countries are listed?") == {"how", "many", "countrie", "listed"}
    assert {"and", "both"} <= content_words("have both cat and dog")


def test_same_question_guards(embedder):
    pairs = [
        ("How many countries are listed?", "How many continents are there?"),
        ("Return the number of airports.", "Return the number of flights."),
        ("Find students who have both cat and dog", "Find students who have cat or dog"),
        ("Which singers are not French?", "Which singers are French?"),
        ("Show all movies released in 1999", "List all films released in 1999"),
        ("If I order a bike, will I pay customs fees?", "If I order a bike, do I pay customs fees?"),
    ]
    vectors = word_vectors(pairs, embedder.encode)
    verdicts = [same_question(a, b, vectors) for a, b in pairs]
    assert [v.same for v in verdicts] == [False, False, False, False, True, True]
    assert verdicts[2].rule.startswith("different operator or negation")
    assert verdicts[3].rule.startswith("different operator or negation")
    assert verdicts[4].rule.startswith("same question in other words")


def test_without_word_vectors_any_differing_word_means_another_question():
    assert not same_question("Show all movies", "Show all films").same
    assert same_question("Show all movies!", "show ALL movies").same
    # the Northwind sample's planted conflict: "under" is not a comparison here
    assert same_question("Is that covered under warranty?", "Is that covered by the warranty?").same


def test_conflict_needs_same_question_and_different_answer():
    kinds = (TEXT, SQL)
    other_table = judge_conflict(("How many airlines?", "How many airlines?"),
                                 ("select count ( airlines.* )", "select count ( flights.* )"), kinds, 0.9, True, 0.9)
    assert not other_table.same and other_table.rule.startswith("different questions: different table")
    real = judge_conflict(("How many singers are older than 20?", "How many singers are older than 20?"),
                          ("select count(*) from singer where age > 20", "select count(*) from singer where age >= 20"),
                          kinds, 0.99, True, 0.9)
    assert real.same and real.rule == "same question (same content words); different operator: > vs >="
    asked_else = judge_conflict(("How many countries are listed?", "How many continents are there?"),
                                ("select count(*) from countries", "select count(*) from continents"), kinds, 0.5, True, 0.9)
    assert not asked_else.same and asked_else.rule.startswith("different questions")
    text = judge_conflict(("Is it waterproof?", "Is it waterproof?"), ("Yes.", "No, it is not."), (TEXT, TEXT), 0.4, True, 0.9)
    assert text.same and "outputs 0.40 similar" in text.rule


def test_json_difference_names_the_key_and_values():
    # E2E read as text → JSON: two descriptions of the same coffee shop in other areas
    a = '{"name": "Blue Spice", "eatType": "coffee shop", "area": "city centre"}'
    b = '{"area": "riverside", "eatType": "coffee shop", "name": "Blue Spice"}'
    assert same_structure(a, b, JSON).rule == "different value of area: city centre vs riverside"
    assert same_structure(a, '{"name": "Blue Spice", "eatType": "coffee shop"}', JSON).rule == "different keys: area vs (none)"
    assert same_structure('{"a": [1, 2]}', '{"a": [1, 2, 3]}', JSON).rule == "different number of items of a: 2 vs 3"
    assert same_structure(a, '{"area": "city centre", "name": "Blue Spice", "eatType": "coffee shop"}', JSON).rule == "same JSON after normalising"


def test_code_difference_names_the_names():
    assert same_structure("def f(x):\n    return x + 1", "def g(x):\n    return x + 1", CODE).rule == "different name: f vs g"
    assert same_structure("def f(x):\n    return x + 1", "def f(x):\n    return x + 2", CODE).rule == "different value: 1 vs 2"


def test_output_with_its_values_decides_without_the_question_words():
    # SParC dev: same database, same SQL with no masked value: the SQL names what was asked, whatever the words
    texts = [("How many friends does each student each have?", "Show me the number of friends for each one."),
             ("select count ( * ) , friend.student_id group by friend.student_id",
              "SELECT COUNT(*), friend.student_id FROM friend GROUP BY friend.student_id")]
    v = judge_views([texts[0], (texts[1][0], texts[1][0])], (TEXT, SQL), [0.96, 0.96], 0.9)
    assert v.same and v.rule == "the output keeps its values, so it names what was asked; text 0.96 similar; same SQL after normalising"
    # a masked value (`value`) hides which entity was asked about: the question's words must agree
    masked = [("Which TV channels broadcast in Polish?", "Which TV channels broadcast in Italian?"),
              ("select tv_channel.id where tv_channel.language = value",) * 2]
    v = judge_views(masked, (TEXT, SQL), [0.95, 0.95], 0.9)
    assert not v.same and v.rule == "different questions: different words: polish vs italian"
    # and so do literals masked on request
    literal = [masked[0], ("select id from tv_channel where language = 'Polish'", "select id from tv_channel where language = 'Italian'")]
    assert judge_views(literal, (TEXT, SQL), [0.95, 0.95], 0.9, mask_literals=True).rule.startswith("different questions")
    assert judge_views(literal, (TEXT, SQL), [0.95, 0.95], 0.9).rule == "different value: 'Polish' vs 'Italian'"


def test_follow_ups_and_time_words_are_other_questions():
    # SParC dev: a follow-up carries the first question in its history; "they" and "before" are what it adds
    first = "How many distinct grades are there? | * | highschooler.grade"
    follow = "What are they? | How many distinct grades are there? | * | highschooler.grade"
    v = same_question(first, follow)
    assert not v.same and v.rule == "different question word or reference: (none) vs they"
    v = same_question("find the names of museums opened after 2010 | * | museum.name",
                      "how about after? | find the names of museums opened before 2010. | * | museum.name")
    assert not v.same and v.rule == "different operator or negation: (none) vs before, how"
    conflict = judge_conflict((first, follow), ("select count ( distinct highschooler.grade )", "select distinct highschooler.grade"),
                              (TEXT, SQL), 0.8, True, 0.9)
    assert not conflict.same and conflict.rule.startswith("different questions: different question word")


def test_specifics_gap_shows_a_left_out_number_and_keeps_contradictions_apart():
    # ASSET rewrites drop or add a date; product titles that state other sizes are other products
    assert specifics_gap("The population was 89,148.", "The population was 89, 148.") == Verdict(True, "")
    v = specifics_gap("At Kahn, he was chief architect for the Fisher Building.",
                      "While at Kahn, he was the head architect for the Fisher Building in 1928.")
    assert v.same and v.rule == "numbers only one states: (none) vs 1928"
    v = specifics_gap("Apple iPhone 12 64GB Black", "Apple iPhone 12 128GB Black")
    assert not v.same and v.rule == "different numbers: 64 vs 128"
    v = specifics_gap("Who founded the club?", "When was the club founded?")
    assert not v.same and v.rule == "different question kind: person vs time"
    v = specifics_gap("How many singers are there?", "Show the number of singers.")
    assert v.same and v.rule == "question kind only one states: quantity vs (none)"
