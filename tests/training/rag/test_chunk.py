"""Chunk boundaries: token budget of the embedder's tokenizer, sentences, headings, overlap, character spans."""

from __future__ import annotations

import pytest

from curation.errors import UsageError
from training.rag.chunk import ChunkConfig, chunk_document, split_sections, split_units
from training.rag.ingest import Document

TOPICS = ["battery", "frame", "motor", "brakes", "tyres", "lights", "saddle", "chain", "gears", "pedals"]


def _doc(text: str, source: str = "doc.md") -> Document:
    return Document(source, text, "markdown", source)


def _long_markdown() -> str:
    body = lambda topic: " ".join(  # noqa: E731
        f"Sentence {i} explains how the {topic} part number {i * 7} is checked, e.g. at a hub." for i in range(14)
    )
    return "# Manual\n\nIntro line.\n\n" + "\n\n".join(f"## {t.title()}\n\n{body(t)}" for t in TOPICS[:3]) + "\n"


@pytest.fixture(scope="module")
def tok(embedder):
    return embedder.tokenizer()


def test_sections_follow_atx_and_setext_headings_not_code():
    text = "# A\n\nintro\n\n## B\n\nb text\n\n```\n# not a heading\n```\n\nTitle C\n-------\n\nc text\n\n### D\n\nd text\n"
    sections = split_sections(text)
    assert [s.headings for s in sections] == [("A",), ("A", "B"), ("A", "Title C"), ("A", "Title C", "D")]
    assert "# not a heading" in text[sections[1].start : sections[1].end]


def test_units_are_sentences_list_items_and_table_rows():
    text = "Dr. Smith met us. He said e.g. this works! Right?\n\n- item one\n  continues here\n- item two\n\n| a | b |\n| c | d |"
    units = [text[a:b] for a, b in split_units(text, 0, len(text))]
    assert units == ["Dr. Smith met us.", "He said e.g. this works!", "Right?", "- item one\n  continues here",
                     "- item two", "| a | b |", "| c | d |"]


def test_chunks_fit_the_budget_keep_spans_and_never_cross_headings(tok):
    doc = _doc(_long_markdown())
    config = ChunkConfig(chunk_tokens=64, overlap_tokens=32)  # a sentence is ~21 tokens
    chunks = chunk_document(doc, tok, config)
    assert len(chunks) > 6
    for chunk in chunks:
        assert doc.text[chunk.start : chunk.end] == chunk.text
        assert len(tok(chunk.embed_text, add_special_tokens=False)["input_ids"]) <= 64
        assert chunk.heading.startswith("Manual")
        assert "##" not in chunk.text  # a heading line never sits inside a chunk
        assert chunk.text.endswith((".", "line.")), chunk.text[-40:]  # sentence boundary
        assert chunk.text[0].isupper()  # starts at a sentence start
    by_heading = {}
    for chunk in chunks:
        by_heading.setdefault(chunk.heading, []).append(chunk)
    assert set(by_heading) == {"Manual", "Manual > Battery", "Manual > Frame", "Manual > Motor"}
    for group in by_heading.values():  # chunks of one section cover it in order, each overlapping the previous
        for before, after in zip(group, group[1:]):
            assert after.start < before.end < after.end
            shared = doc.text[after.start : before.end]
            assert 0 < len(tok(shared, add_special_tokens=False)["input_ids"]) <= 32
    covered = "".join(c.text for c in chunks)
    for i in range(14):
        assert f"Sentence {i} explains how the motor" in covered


def test_no_overlap_when_zero(tok):
    chunks = chunk_document(_doc(_long_markdown()), tok, ChunkConfig(chunk_tokens=64, overlap_tokens=0))
    same_section = [(a, b) for a, b in zip(chunks, chunks[1:]) if a.heading == b.heading]
    assert same_section and all(b.start >= a.end for a, b in same_section)


def test_a_sentence_longer_than_a_chunk_is_cut_at_token_boundaries(tok):
    words = " ".join(f"word{i}" for i in range(300))
    doc = _doc(words + ".")
    chunks = chunk_document(doc, tok, ChunkConfig(chunk_tokens=50, overlap_tokens=0))
    assert len(chunks) > 3
    for chunk in chunks:
        assert doc.text[chunk.start : chunk.end] == chunk.text
        assert len(tok(chunk.text, add_special_tokens=False)["input_ids"]) <= 50
    assert "".join(c.text for c in chunks).replace(" ", "") == words.replace(" ", "") + "."


def test_dotted_leaders_do_not_end_sentences_or_eat_the_budget(tok):
    text = "Loop Lock ................................................ EUR 79. Comes with two keys."
    units = [text[a:b] for a, b in split_units(text, 0, len(text))]
    assert units == ["Loop Lock ................................................ EUR 79.", "Comes with two keys."]
    chunk = chunk_document(_doc(text), tok, ChunkConfig(chunk_tokens=32, overlap_tokens=0))[0]
    assert "Loop Lock ... EUR 79." in chunk.embed_text and chunk.tokens <= 32


@pytest.mark.parametrize("kwargs, field", [({"chunk_tokens": 8}, "chunk_tokens"), ({"overlap_tokens": 150}, "overlap_tokens"),
                                           ({"overlap_tokens": -1}, "overlap_tokens")])
def test_bad_settings_name_the_field(kwargs, field):
    with pytest.raises(UsageError, match=field):
        ChunkConfig(**kwargs)
