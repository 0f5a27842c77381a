"""Generation with the packaged tiny model: a cancel stops a reply within a token, progress counts replies."""

from __future__ import annotations

import threading

import pytest

from curation.errors import CancelledError


class CancelAfter(threading.Event):
    """An event that reads as set from its n-th check on (the generation loop checks once per token)."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n, self.checks = n, 0

    def is_set(self) -> bool:
        self.checks += 1
        return self.checks >= self.n or super().is_set()


@pytest.fixture(scope="module")
def generator():
    from training.generate import load_generator

    return load_generator()


def _conversation(n: int) -> list[dict]:
    return [{"role": "user", "content": f"Write a long story about bicycle number {n}, with many details."}]


def test_a_cancel_stops_the_reply_being_generated_within_a_token(generator):
    import torch

    from training.generate import GenerationWatch, _stop_ids

    encoded = generator.tokenizer(generator.tokenizer.apply_chat_template(_conversation(1), tokenize=False,
                                  add_generation_prompt=True), return_tensors="pt", add_special_tokens=False)
    cancel = CancelAfter(3)
    watch = GenerationWatch(encoded["input_ids"].shape[1], _stop_ids(generator.model, generator.tokenizer), cancel)
    with torch.no_grad():
        output = generator.model.generate(**encoded, max_new_tokens=40, do_sample=False, top_p=None, top_k=None,
                                          pad_token_id=generator.tokenizer.pad_token_id, stopping_criteria=watch.criteria())
    assert output.shape[1] - encoded["input_ids"].shape[1] <= 3  # stopped at the third token, not the 40th


def test_chat_raises_cancelled_within_a_reply(generator):
    cancel = CancelAfter(3)  # the check before the batch, then per token
    with pytest.raises(CancelledError):
        generator.chat([_conversation(1)], max_new_tokens=40, cancel=cancel)
    assert cancel.checks <= 4


def test_progress_starts_at_zero_and_counts_every_reply(generator):
    seen = []
    generator.batch_size = 2
    replies = generator.chat([_conversation(n) for n in range(3)], max_new_tokens=4,
                             progress=lambda stage, done, total: seen.append((stage, done, total)))
    assert len(replies) == 3
    assert seen[0] == ("generate", 0, 3) and seen[-1] == ("generate", 3, 3)
    assert [d for _, d, _ in seen] == sorted(d for _, d, _ in seen)
