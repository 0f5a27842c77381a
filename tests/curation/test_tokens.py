"""Token counts: counting distinct pieces between added tokens gives the same numbers as tokenizing whole renders."""

from pathlib import Path

import numpy as np
import pytest

from curation import tokens
from curation.example import Example
from curation.load import load_files
from curation.tokens import _added_token_splitter, count_tokens

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "support" / "examples.jsonl"


def reply_counts(examples, tokenizer) -> np.ndarray:
    """The reference for assistant tokens: each reply tokenized through the tokenizer's __call__, + 1 end token."""
    return np.array([sum(len(ids) + 1 for ids in tokenizer(e.texts("assistant"), add_special_tokens=False)["input_ids"])
                     for e in examples])


def whole_render_counts(examples, tokenizer) -> np.ndarray:
    """The reference: apply_chat_template of each conversation, tokenized whole."""
    rendered = tokenizer.apply_chat_template([e.messages for e in examples], tokenize=False)
    return np.array([len(ids) for ids in tokenizer(rendered, add_special_tokens=False)["input_ids"]])


def chat(i: int, *turns: tuple[str, str]) -> Example:
    return Example(f"e{i}", [{"role": r, "content": c} for r, c in turns])


TRICKY = [
    chat(0, ("user", "Hi"), ("assistant", "Hello!")),  # no system message: the template adds its default one
    chat(1, ("system", "Be brief."), ("user", "What is 12,345 + 0.5?"), ("assistant", "12,345.5")),
    chat(2, ("system", "Be brief."), ("user", "  two leading spaces"), ("assistant", "\n\nleading newlines  ")),
    chat(3, ("user", "a"), ("assistant", "b"), ("user", "c <|im_end|> inside"), ("assistant", "<|im_start|>d")),
    chat(4, ("user", ""), ("assistant", " ")),
    chat(5, ("system", "Sé breve 🙂"), ("user", "日本語のテキスト\tタブ"), ("assistant", "résumé\r\nCRLF")),
    chat(6, ("system", "one"), ("system", "two"), ("user", "x" * 3000), ("assistant", "y " * 500)),
]


def test_the_default_tokenizer_is_counted_piecewise(tokenizer):
    assert _added_token_splitter(tokenizer.tokenizer) is not None  # else the fast path is never taken


@pytest.mark.parametrize("piecewise", [True, False], ids=["piecewise", "whole"])
@pytest.mark.parametrize("examples", [TRICKY, TRICKY * 3], ids=["tricky", "repeated"])
def test_counts_equal_whole_renders_on_tricky_chats(tokenizer, examples, piecewise, monkeypatch):
    if not piecewise:  # the path taken for tokenizers whose pieces are not independent
        monkeypatch.setattr(tokens, "_added_token_splitter", lambda tokenizer: None)
    counts = count_tokens(examples, tokenizer)
    np.testing.assert_array_equal(counts.total, whole_render_counts(examples, tokenizer.tokenizer))
    np.testing.assert_array_equal(counts.assistant, reply_counts(examples, tokenizer.tokenizer))


def test_counts_equal_whole_renders_on_the_sample(tokenizer):
    examples = load_files(SAMPLE).examples
    counts = count_tokens(examples, tokenizer)
    np.testing.assert_array_equal(counts.total, whole_render_counts(examples, tokenizer.tokenizer))
    np.testing.assert_array_equal(counts.assistant, reply_counts(examples, tokenizer.tokenizer))


def test_chunks_count_like_one_batch(tokenizer, monkeypatch):
    examples = TRICKY * 3
    monkeypatch.setattr(tokens, "COUNT_CHUNK", 4)  # 21 examples in chunks of 4, the last one short
    counts = count_tokens(examples, tokenizer)
    np.testing.assert_array_equal(counts.total, whole_render_counts(examples, tokenizer.tokenizer))
    np.testing.assert_array_equal(counts.assistant, reply_counts(examples, tokenizer.tokenizer))
