"""Kind detection per text and per view, and each normaliser (SQL, JSON, code, label, number)."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from curation import structure
from curation.structure import (
    CODE,
    JSON,
    LABEL,
    NUMBER,
    SQL,
    TEXT,
    detect_kind,
    normalise_code,
    normalise_json,
    normalise_label,
    normalise_number,
    normalise_sql,
    view_kind,
)


@pytest.mark.parametrize(
    "text,kind",
    [
        ("select count ( airlines.* )", SQL),
        ("SELECT name FROM singer WHERE age > 20", SQL),
        ('{"b": 1, "a": [1, 2]}', JSON),
        ("[1, 2, 3]", JSON),
        ("def add(a, b):\n    return a + b", CODE),
        ("x = 1\nprint(x)", CODE),
        ("PlayMusic", LABEL),
        ("book restaurant", LABEL),
        ("42", NUMBER),
        ("-1,299.50", NUMBER),
        ("How many airlines do we have?", TEXT),
        ("Select the best one, please, and tell me why it is better than the others.", TEXT),
        ("hello world", LABEL),  # two words read as SQL `hello AS world` by a lenient parser: not a query
        ("", TEXT),
    ],
)
def test_detect_kind(text, kind):
    assert detect_kind(text) == kind


def test_view_kind_needs_most_texts_of_one_kind():
    assert view_kind(["select a from t", "select b from t", "SELECT c FROM u"]) == SQL
    assert view_kind(["select a from t", "How are you?", "Tell me a joke about cats, please."]) == TEXT
    labels = ["PlayMusic", "GetWeather", "PlayMusic", "BookRestaurant", "GetWeather", "PlayMusic"]
    assert view_kind(labels) == LABEL
    assert view_kind(["Sure thing", "No problem", "Thanks a lot", "Got it", "Of course", "Right away"]) == TEXT


def whole_view_kind(texts):
    """view_kind as it was before it stopped early: every text's kind counted first."""
    kinds = Counter(detect_kind(t) for t in texts if t.strip())
    total = sum(kinds.values())
    if not total:
        return TEXT
    kind, count = kinds.most_common(1)[0]
    if kind == TEXT or count < structure.VIEW_SHARE * total:
        if kinds[NUMBER] + kinds[LABEL] >= structure.VIEW_SHARE * total and kinds[LABEL]:
            kind = LABEL
        else:
            return TEXT
    if kind == LABEL and len({normalise_label(t) for t in texts}) > max(2, total // 2):
        return TEXT
    return kind


def test_view_kind_stopping_early_decides_as_counting_every_text(monkeypatch):
    pool = {SQL: ["select a from t", "SELECT b FROM u WHERE c > 1"], JSON: ['{"a": 1}', "[1, 2]"],
            LABEL: ["PlayMusic", "GetWeather"], NUMBER: ["42", "7"], TEXT: ["How are you today, my friend?", "  ", ""]}
    rng = random.Random(0)
    calls = []
    monkeypatch.setattr(structure, "detect_kind", lambda t: calls.append(t) or detect_kind(t))
    stopped = 0
    for _ in range(300):  # mixes around the 75 % share, in random orders
        main, other = rng.sample([SQL, JSON, LABEL, NUMBER, TEXT], 2)
        n = rng.randint(1, 24)
        texts = [rng.choice(pool[main] if rng.random() < rng.choice([0.5, 0.7, 0.75, 0.8, 1.0]) else pool[other])
                 for _ in range(n)]
        calls.clear()
        assert view_kind(texts) == whole_view_kind(texts), texts
        stopped += len(calls) < sum(1 for t in texts if t.strip())
    assert stopped > 30  # it does stop early on text views


def test_sql_normaliser_ignores_case_spacing_and_table_aliases():
    a = normalise_sql("SELECT T1.name FROM singer AS T1 WHERE T1.age > 20")
    b = normalise_sql("select   singer.name\nfrom singer where singer.age > 20")
    assert a is not None and b is not None and a.key == b.key
    assert a.tables == {"singer"} and a.columns == {"name", "age"}


def test_sql_normaliser_keeps_what_changes_the_answer():
    key = lambda q: normalise_sql(q).key  # noqa: E731
    assert key("select count ( airlines.* )") != key("select count ( flights.* )")
    assert key("select a from t where weight > value or fullname = value") != key(
        "select a from t where weight < value and fullname != value")
    assert key("select a from t where x = 1") != key("select a from t where x = 2")


def test_sql_literals_masked_only_when_asked():
    assert normalise_sql("select a from t where x = 1", mask_literals=True).key == normalise_sql(
        "select a from t where x = 'b'", mask_literals=True).key


def test_sql_self_join_keeps_distinct_aliases():
    a = normalise_sql("select x.a from t as x join t as y on x.id = y.parent")
    b = normalise_sql("select p.a from t as p join t as q on p.id = q.parent")
    assert a.key == b.key


def test_json_normaliser_ignores_key_order_and_spacing():
    assert normalise_json('{"a": 1, "b": [1, 2]}').key == normalise_json('{"b":[1,2],"a":1}').key
    assert normalise_json('{"a": 1}').key != normalise_json('{"a": 2}').key
    assert normalise_json('{"a": 1}', mask_literals=True).key == normalise_json('{"a": 2}', mask_literals=True).key
    assert normalise_json("not json") is None


def test_code_normaliser_ignores_formatting_and_comments():
    a = normalise_code("def f(x):\n    return x+1  # add one\n")
    b = normalise_code("def f(x):\n\n    return (x + 1)\n")
    assert a.key == b.key
    assert normalise_code("def f(x):\n    return x - 1").key != a.key
    assert normalise_code("y = 1", mask_literals=True).key == normalise_code("y = 2", mask_literals=True).key


def test_code_fragment_that_does_not_parse_is_compared_by_tokens():
    a = normalise_code("for x in xs:  # loop")
    b = normalise_code("for x in   xs:")
    assert a is not None and a.key == b.key


def test_label_and_number_normalisers():
    assert normalise_label("  Play  Music ") == normalise_label("play music")
    assert normalise_number("1,000").key == normalise_number("1000.0").key
    assert normalise_number("ten") is None


def test_masked_values_are_known():
    # Spider/SParC mask literals as a bare `value`; a column that happens to be called value is not a mask
    assert normalise_sql("select name from singer where age > value").masked
    assert not normalise_sql("select value from settings").masked
    assert not normalise_sql("select name from singer where age > 30").masked
    assert normalise_sql("select name from singer where age > 30", mask_literals=True).masked
    assert normalise_json('{"a": 1}', mask_literals=True).masked and not normalise_json('{"a": 1}').masked
    assert normalise_code("x = 1\nprint(x)", mask_literals=True).masked


def test_sql_facts_list_what_a_query_is_made_of():
    facts = normalise_sql("SELECT count(*) FROM singer AS T1 WHERE T1.age > 20 ORDER BY T1.name DESC").facts
    assert {("table", "singer"), ("aggregate", "count"), ("operator", ">"), ("clause", "where"),
            ("clause", "order by"), ("order", "desc"), ("column", "age"), ("value", "20")} <= set(facts)
