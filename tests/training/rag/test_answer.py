"""Answering from retrieved chunks: the prompt numbers the sources, citations map back to them."""

from __future__ import annotations

import pytest

from curation.errors import UsageError
from training.rag.answer import AnswerConfig, build_messages, fit_sources, make_answer, parse_citations
from training.rag.retrieve import Hit


def _hit(n: int, text: str = "Some text.") -> Hit:
    return Hit(f"doc{n}.md", f"Head {n}", 1.0 / n, text, (n * 10, n * 10 + len(text)), n, n)


def test_citations_parsed_in_order_and_invalid_numbers_kept_apart():
    valid, invalid = parse_citations("Yes [2]. Also [1, 3] and [2][9]; see [0].", 3)
    assert valid == [2, 1, 3] and invalid == [9, 0]


def test_answer_maps_citations_to_their_hits():
    hits = [_hit(1), _hit(2), _hit(3)]
    answer = make_answer("q?", hits, " It lasts 3 years [3]. [5] ")
    assert answer.text == "It lasts 3 years [3]. [5]"
    assert [(c.number, c.source, c.heading, c.span) for c in answer.citations] == [(3, "doc3.md", "Head 3", (30, 40))]
    assert answer.invalid_citations == [5]
    record = answer.to_dict()
    assert record["sources"][2]["number"] == 3 and record["citations"][0]["span"] == [30, 40]


def test_prompt_numbers_sources_with_where_they_come_from():
    messages = build_messages("How long?", [_hit(1, "Alpha."), _hit(2, "Beta.")])
    assert messages[0]["role"] == "system" and "[1]" in messages[0]["content"]
    user = messages[1]["content"]
    assert "[1] doc1.md › Head 1\nAlpha." in user and "[2] doc2.md › Head 2\nBeta." in user
    assert "Question: How long?" in user and user.rstrip().endswith("like [1].")


def test_sources_trimmed_to_the_token_budget(tokenizer):
    hits = [_hit(i, "word " * 100) for i in range(1, 6)]
    kept = fit_sources(hits, tokenizer.tokenizer, 300)
    assert [h.rank for h in kept] == [1, 2]  # best-ranked first, each ~116 tokens
    assert len(fit_sources(hits, tokenizer.tokenizer, 64)) == 1  # always at least one


def test_bad_settings_name_the_field():
    with pytest.raises(UsageError, match="max_new_tokens"):
        AnswerConfig(max_new_tokens=0)
    with pytest.raises(UsageError, match="mode"):
        AnswerConfig(mode="nope")


def test_uncited_sentences_are_attributed_to_the_source_holding_their_words():
    hits = [_hit(1, "The battery is covered for 2 years against defects."),
            _hit(2, "With Care+ the warranty on the battery and motor is extended to 4 years.")]
    answer = make_answer("q?", hits, "The battery is covered for 2 years. Care+ extends the warranty to 4 years [2]. Bananas are yellow.")
    assert answer.text == ("The battery is covered for 2 years. [1] Care+ extends the warranty to 4 years [2]. "
                           "Bananas are yellow.")
    assert [(c.number, c.inferred) for c in answer.citations] == [(1, True), (2, False)]
    assert answer.raw.endswith("Bananas are yellow.")
    assert make_answer("q?", hits, "The battery is covered for 2 years.", threshold=1.0).citations == []
