"""Chat data: the label mask is exactly the assistant replies plus end-of-turn, packing keeps examples apart."""

from __future__ import annotations

import pytest

from curation.errors import ModelError
from curation.example import Example
from training.chat_data import (
    IGNORE_INDEX,
    ChatCollator,
    kept_logits_loss,
    padding_waste,
    tokenize_example,
    tokenize_examples,
)

TALK = [
    {"role": "system", "content": "You answer bike questions."},
    {"role": "user", "content": "Is the Aria 2 waterproof?"},
    {"role": "assistant", "content": "It is splash-proof (IPX4), not waterproof."},
    {"role": "user", "content": "And the battery?"},
    {"role": "assistant", "content": "The battery is sealed to IPX6."},
]


def _runs(ids: list[int], labels: list[int]) -> list[list[int]]:
    """Contiguous runs of labelled token ids."""
    runs, current = [], []
    for token, label in zip(ids, labels):
        if label != IGNORE_INDEX:
            assert label == token  # labels are the tokens themselves, never shifted or replaced
            current.append(token)
        elif current:
            runs.append(current)
            current = []
    return runs + ([current] if current else [])


def test_labels_are_exactly_each_reply_plus_end_of_turn(tokenizer):
    tok = tokenizer.tokenizer
    item = tokenize_example(TALK, tok)
    assert tok.decode(item["input_ids"]) == tok.apply_chat_template(TALK, tokenize=False)  # the serving template
    runs = _runs(item["input_ids"], item["labels"])
    assert [tok.decode(r) for r in runs] == [m["content"] + tok.eos_token for m in TALK if m["role"] == "assistant"]
    assert all(r[-1] == tok.eos_token_id for r in runs)
    unlabelled = tok.decode([t for t, lab in zip(item["input_ids"], item["labels"]) if lab == IGNORE_INDEX])
    assert "You answer bike questions." in unlabelled and "And the battery?" in unlabelled and "waterproof?" in unlabelled


def test_default_system_prompt_is_in_the_input_not_the_labels(tokenizer):
    tok = tokenizer.tokenizer
    item = tokenize_example(TALK[1:3], tok)
    assert "You are a helpful AI assistant" in tok.decode(item["input_ids"])  # SmolLM2's template adds it
    assert [tok.decode(r) for r in _runs(item["input_ids"], item["labels"])] == [TALK[2]["content"] + tok.eos_token]


@pytest.mark.parametrize("packing", [True, False])
def test_collator_keeps_end_of_turn_although_it_is_the_pad_token(tokenizer, packing):
    tok = tokenizer.tokenizer
    assert tok.pad_token_id == tok.eos_token_id  # the trap this guards against
    long, short = tokenize_example(TALK, tok), tokenize_example(TALK[1:3], tok)
    batch = ChatCollator(tok.pad_token_id, packing=packing)([long, short])
    labels = batch["labels"]
    assert int((labels == tok.eos_token_id).sum()) == 3  # one end-of-turn per assistant reply
    trained = [t for t in long["labels"] + short["labels"] if t != IGNORE_INDEX]
    assert labels[labels != IGNORE_INDEX].tolist() == trained
    keep = batch["logits_to_keep"]
    assert int(keep.sum()) == len(trained)
    assert (labels[:, 1:][keep[:, :-1]] != IGNORE_INDEX).all()  # kept positions are exactly those predicting a trained token
    if packing:
        assert batch["input_ids"].shape == (1, len(long["input_ids"]) + len(short["input_ids"]))
        assert "attention_mask" not in batch  # position restarts make transformers mask per example
        positions = batch["position_ids"][0].tolist()
        assert positions[len(long["input_ids"])] == 0 and positions[-1] == len(short["input_ids"]) - 1
    else:
        assert batch["input_ids"].shape == (2, len(long["input_ids"]))
        pad = batch["attention_mask"] == 0
        assert int(pad.sum()) == len(long["input_ids"]) - len(short["input_ids"])
        assert (labels[pad] == IGNORE_INDEX).all()


def test_collator_counts_tokens_and_padding(tokenizer):
    tok = tokenizer.tokenizer
    a, b = tokenize_example(TALK, tok), tokenize_example(TALK[1:3], tok)
    packed, padded = ChatCollator(tok.pad_token_id, True), ChatCollator(tok.pad_token_id, False)
    packed([a, b])
    padded([a, b])
    padded([a | {"_eval": True}, b | {"_eval": True}])  # eval batches are not counted as training tokens
    real = len(a["input_ids"]) + len(b["input_ids"])
    assert packed.real_tokens == packed.padded_tokens == real
    assert padded.real_tokens == real and padded.padded_tokens == 2 * len(a["input_ids"])


def test_over_length_and_reply_less_examples_are_skipped_and_counted(tokenizer):
    tok = tokenizer.tokenizer
    examples = [
        Example("ok", TALK[1:3]),
        Example("long", [{"role": "user", "content": "word " * 300}, {"role": "assistant", "content": "Yes."}]),
        Example("no-reply", [{"role": "user", "content": "Hello?"}]),
    ]
    seen = []
    result = tokenize_examples(examples, tok, max_length=128, progress=lambda *a: seen.append(a))
    assert result.ids == ["ok"] and result.too_long == ["long"] and result.no_target == ["no-reply"]
    summary = result.summary()
    assert summary["skipped_too_long"] == 1 and summary["examples"] == 1
    assert summary["trained_tokens"] == len(tok(TALK[2]["content"] + tok.eos_token, add_special_tokens=False)["input_ids"])
    assert seen[-1] == ("tokenize", 3, 3)


def test_padding_waste():
    assert padding_waste([1, 3], 2, "random") == pytest.approx(1 - 4 / 6)
    lengths = [10, 200, 12, 190, 11, 205, 9, 180]
    assert padding_waste(lengths, 2, "grouped") < padding_waste(lengths, 2, "random", seed=1)
    assert padding_waste(lengths, 2, "packed") == 0.0


def test_tokenizer_without_chat_template_is_refused(tokenizer, tmp_path):
    import copy

    from training.model import load_model_tokenizer

    tok = copy.deepcopy(tokenizer.tokenizer)
    tok.chat_template = None
    tok.save_pretrained(tmp_path)
    (tmp_path / "chat_template.jinja").unlink(missing_ok=True)
    with pytest.raises(ModelError, match="no chat template") as err:
        load_model_tokenizer(str(tmp_path))
    assert "chat template" in err.value.hint


def test_unknown_model_path_is_a_model_error(tmp_path):
    from training.model import load_model

    with pytest.raises(ModelError, match="No model folder"):
        load_model(str(tmp_path / "missing-model"))


@pytest.mark.slow
def test_loss_on_kept_logits_equals_full_loss_and_packing_keeps_examples_apart(tokenizer):
    """The vocabulary projection on assistant positions only gives the model's own loss; packed == padded."""
    import torch

    from training.model import load_model

    loaded = load_model(device="cpu")
    tok = loaded.tokenizer
    items = [tokenize_example(TALK, tok), tokenize_example(TALK[1:3], tok), tokenize_example(TALK[3:], tok)]
    losses = {}
    with torch.no_grad():
        for packing in (True, False):
            batch = ChatCollator(tok.pad_token_id, packing)(items)
            labels = batch.pop("labels")
            losses[packing] = float(kept_logits_loss(loaded.model(**batch), labels))
        padded = ChatCollator(tok.pad_token_id, False)(items)
        del padded["logits_to_keep"]
        reference = float(loaded.model(**padded).loss)  # transformers' own shifted cross-entropy over all positions
    assert losses[False] == pytest.approx(reference, rel=1e-4)
    assert losses[True] == pytest.approx(reference, rel=1e-3)  # packed: no attention across examples
