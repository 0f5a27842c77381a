"""Pair rules: structured duplicates, the same-question guard, conflicts, and the rule each names (issue #14)."""

from __future__ import annotations

from curation.pair_rules import (
    content_words,
    judge_conflict,
    judge_views,
    same_question,
    same_structure,
    word_vectors,
)
from curation.structure import LABEL, SQL, TEXT


def test_issue_examples_are_not_sql_duplicates():
    v = same_structure("select count ( airlines.* )", "select count ( flights.* )", SQL)
    assert not v.same and v.rule == "different table: airlines vs flights"
    v = same_structure("select a from t where weight > value or fullname = value",
                       "select a from t where weight < value and fullname != value", SQL)
    assert not v.same and "different SQL" in v.rule


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
    assert not v.same and v.rule == "different questions: different words: airline vs flight"
    v = judge_views([("How many do we have?", "How many do we have?"), texts[1]], (TEXT, SQL), [1.0, 1.0], 0.9)
    assert not v.same and v.rule == "different table: airlines vs flights"
    texts = [("What are all the airlines?", "Show me all the airlines."), ("select airlines.*", "SELECT airlines.*")]
    v = judge_views(texts, (TEXT, SQL), [0.93, 0.93], 0.9)
    assert v.same and v.rule == "same content words; text 0.93 similar; same SQL after normalising"
    v = judge_views([("a", "b"), ("PlayMusic", "GetWeather")], (TEXT, LABEL), [0.95, 0.95], 0.9)
    assert not v.same and v.rule == "different label: playmusic vs getweather"


def test_content_words_fold_plurals_and_keep_operators():
    assert content_words("How many countries are listed?") == {"countrie", "listed"}
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


def test_conflict_needs_same_question_and_different_answer():
    kinds = (TEXT, SQL)
    other_table = judge_conflict(("How many airlines?", "How many airlines?"),
                                 ("select count ( airlines.* )", "select count ( flights.* )"), kinds, 0.9, True, 0.9)
    assert not other_table.same and other_table.rule.startswith("different questions: different table")
    real = judge_conflict(("How many singers are older than 20?", "How many singers are older than 20?"),
                          ("select count(*) from singer where age > 20", "select count(*) from singer where age >= 20"),
                          kinds, 0.99, True, 0.9)
    assert real.same and real.rule.startswith("same question (same content words); different SQL")
    asked_else = judge_conflict(("How many countries are listed?", "How many continents are there?"),
                                ("select count(*) from countries", "select count(*) from continents"), kinds, 0.5, True, 0.9)
    assert not asked_else.same and asked_else.rule.startswith("different questions")
    text = judge_conflict(("Is it waterproof?", "Is it waterproof?"), ("Yes.", "No, it is not."), (TEXT, TEXT), 0.4, True, 0.9)
    assert text.same and "outputs 0.40 similar" in text.rule
