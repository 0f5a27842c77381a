"""Boilerplate repeated across examples is stripped before comparing them."""

from curation.boilerplate import find_boilerplate

SYSTEM = "You are Ava, Northwind's assistant. Be warm and concise. Sign off with your first name."


def test_repeated_system_sentences_and_signature_are_stripped():
    texts = [f"{SYSTEM}\nQuestion {i}: what about item {i}?\nThanks, Ava" for i in range(20)]
    bp = find_boilerplate(texts)
    assert bp.remove(texts[3]) == "Question 3: what about item 3?"


def test_template_prefix_is_stripped():
    reviews = ["awful", "great value", "broke after a week", "love it", "meh", "five stars", "too small"]
    texts = [f"Classify the sentiment of this product review: {r}" for r in reviews]
    bp = find_boilerplate(texts)
    assert bp.remove(texts[1]) == "great value"


def test_small_or_varied_sets_keep_everything():
    texts = ["one thing", "another thing", "a third"]
    assert find_boilerplate(texts).remove("one thing") == "one thing"
