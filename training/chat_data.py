"""Training data from chat examples: the model's own template, loss on assistant turns only, little padding."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from curation.errors import CancelledError, DataError, ModelError
from curation.example import Example

IGNORE_INDEX = -100  # label value that takes no part in the loss
Progress = Callable[[str, int, int], None]


@dataclass
class TokenizedSet:
    """Tokenised examples ready for the collator, plus the examples that were left out and why."""

    items: list[dict] = field(default_factory=list)  # {"input_ids": [...], "labels": [...]}
    ids: list[str] = field(default_factory=list)
    too_long: list[str] = field(default_factory=list)  # over max_length: skipped, never truncated
    no_target: list[str] = field(default_factory=list)  # no assistant turn to learn from

    @property
    def lengths(self) -> list[int]:
        """Tokens of each kept example."""
        return [len(item["input_ids"]) for item in self.items]

    def summary(self) -> dict[str, int]:
        """Counts for reports: kept, skipped and tokens (all and trained)."""
        return {
            "examples": len(self.items), "skipped_too_long": len(self.too_long), "skipped_no_target": len(self.no_target),
            "tokens": sum(self.lengths), "trained_tokens": sum(sum(1 for x in i["labels"] if x != IGNORE_INDEX) for i in self.items),
        }


def assistant_spans(messages: Sequence[dict], tokenizer) -> tuple[str, list[tuple[int, int]]]:
    """The conversation rendered with the chat template, and the character span of each assistant reply.

    A span runs from the first character the model must write to the end of the end-of-turn token, so the model
    learns to stop; the template's whitespace after that token is left out.
    """
    messages = [dict(m) for m in messages]
    full = tokenizer.apply_chat_template(messages, tokenize=False)
    spans: list[tuple[int, int]] = []
    cursor = 0
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        prompt = tokenizer.apply_chat_template(messages[:i], tokenize=False, add_generation_prompt=True) if i else ""
        upto = tokenizer.apply_chat_template(messages[: i + 1], tokenize=False)
        if i and upto.startswith(prompt) and full.startswith(upto) and len(prompt) >= cursor:
            start, end = len(prompt), len(upto.rstrip())
        else:  # templates that rewrite earlier turns: find the reply and the end-of-turn token after it
            start, end = _find_reply(full, message["content"], tokenizer.eos_token, cursor)
        spans.append((start, end))
        cursor = end
    return full, spans


def _find_reply(full: str, content: str, end_token: str | None, cursor: int) -> tuple[int, int]:
    """Span of one reply located by its text, through the end-of-turn token that follows it."""
    text = content.strip()
    start = full.find(text, cursor)
    if start < 0 or not end_token or full.find(end_token, start + len(text)) < 0:
        raise ModelError(
            "The chat template renders assistant turns in a way tunewise cannot locate, so the loss mask would be wrong.",
            "Use a model whose chat template keeps each assistant message verbatim and ends it with the eos token.",
        )
    return start, full.find(end_token, start + len(text)) + len(end_token)


def tokenize_example(messages: Sequence[dict], tokenizer) -> dict[str, list[int]]:
    """input_ids of the templated conversation and labels that keep only assistant tokens (end-of-turn included)."""
    full, spans = assistant_spans(messages, tokenizer)
    if getattr(tokenizer, "is_fast", False):
        encoded = tokenizer(full, add_special_tokens=False, return_offsets_mapping=True)
        ids = list(encoded["input_ids"])
        labels = [IGNORE_INDEX] * len(ids)
        for pos, (a, b) in enumerate(encoded["offset_mapping"]):
            if b > a and any(a < end and b > start for start, end in spans):
                labels[pos] = ids[pos]
        return {"input_ids": ids, "labels": labels}
    ids, labels, cursor = [], [], 0  # slow tokenizers have no offsets: tokenise piece by piece
    for start, end in spans:
        for text, trained in ((full[cursor:start], False), (full[start:end], True)):
            piece = tokenizer(text, add_special_tokens=False)["input_ids"] if text else []
            ids += piece
            labels += piece if trained else [IGNORE_INDEX] * len(piece)
        cursor = end
    tail = tokenizer(full[cursor:], add_special_tokens=False)["input_ids"] if full[cursor:] else []
    return {"input_ids": ids + tail, "labels": labels + [IGNORE_INDEX] * len(tail)}


def tokenize_examples(
    examples: Sequence[Example],
    tokenizer,
    max_length: int,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> TokenizedSet:
    """Tokenise every example; skip (and count) those over max_length or without an assistant turn."""
    result = TokenizedSet()
    for n, example in enumerate(examples):
        if cancel is not None and cancel.is_set():
            raise CancelledError("Tokenising cancelled.")
        item = None
        if any(m["role"] == "assistant" for m in example.messages):
            try:
                item = tokenize_example(example.messages, tokenizer)
            except (TypeError, ValueError) as exc:  # jinja templates raise these on conversations they refuse
                raise DataError(f"Example {example.id}: the chat template refused it: {exc}", "Check the order of roles.") from exc
        if item is not None and len(item["input_ids"]) > max_length:
            result.too_long.append(example.id)
        elif item is None or not any(x != IGNORE_INDEX for x in item["labels"][1:]):
            result.no_target.append(example.id)
        else:
            result.items.append(item)
            result.ids.append(example.id)
        if progress and (n % 50 == 0 or n == len(examples) - 1):
            progress("tokenize", n + 1, len(examples))
    return result


class ChatCollator:
    """Batches tokenised examples for a causal LM, counting real and padded training tokens.

    packing=True concatenates the batch into one row with position ids restarting per example (no padding;
    transformers turns the restarts into a block-diagonal mask, so examples never attend to each other).
    packing=False right-pads to the longest example with an attention mask. Either way labels are never
    derived from the pad token (it equals the end-of-turn token for many models), and `logits_to_keep`
    marks the positions whose next token is trained, so the vocabulary projection skips prompt tokens.
    `use_cache=False` is part of the batch: with a KV cache transformers does not build the packed mask.
    Items carrying "_eval": True are not counted.
    """

    def __init__(self, pad_token_id: int, packing: bool = True) -> None:
        self.pad_token_id = pad_token_id
        self.packing = packing
        self.real_tokens = 0
        self.padded_tokens = 0

    def __call__(self, features: list[dict]) -> dict:
        import torch

        counted = not any(f.get("_eval") for f in features)
        if self.packing:
            ids = [t for f in features for t in f["input_ids"]]
            positions = [p for f in features for p in range(len(f["input_ids"]))]
            labels = [IGNORE_INDEX if p == 0 else x for f in features for p, x in enumerate(f["labels"])]
            batch = {"input_ids": torch.tensor([ids]), "position_ids": torch.tensor([positions]), "labels": torch.tensor([labels])}
            real = padded = len(ids)
        else:
            width = max(len(f["input_ids"]) for f in features)
            pad = [width - len(f["input_ids"]) for f in features]
            batch = {
                "input_ids": torch.tensor([f["input_ids"] + [self.pad_token_id] * n for f, n in zip(features, pad)]),
                "attention_mask": torch.tensor([[1] * len(f["input_ids"]) + [0] * n for f, n in zip(features, pad)]),
                "labels": torch.tensor([f["labels"] + [IGNORE_INDEX] * n for f, n in zip(features, pad)]),
            }
            real, padded = sum(len(f["input_ids"]) for f in features), width * len(features)
        keep = torch.zeros_like(batch["labels"], dtype=torch.bool)
        keep[:, :-1] = batch["labels"][:, 1:] != IGNORE_INDEX
        batch["logits_to_keep"] = keep
        batch["use_cache"] = False  # with a cache, transformers ignores the position restarts and examples see each other
        if counted:
            self.real_tokens += real
            self.padded_tokens += padded
        return batch


def kept_logits_loss(outputs, labels, num_items_in_batch=None):
    """Cross-entropy of logits computed only at `logits_to_keep` positions against the next assistant tokens.

    Summed and divided by num_items_in_batch when the Trainer gives it (exact under gradient accumulation),
    else averaged over this batch's trained tokens.
    """
    import torch.nn.functional as F

    targets = labels[:, 1:][labels[:, 1:] != IGNORE_INDEX].to(outputs.logits.device)
    logits = outputs.logits.reshape(-1, outputs.logits.shape[-1]).float()
    if logits.shape[0] != targets.shape[0]:
        raise RuntimeError(f"{logits.shape[0]} kept logits for {targets.shape[0]} targets: the model ignored logits_to_keep")
    loss = F.cross_entropy(logits, targets, reduction="sum")
    denominator = num_items_in_batch if num_items_in_batch is not None else max(targets.numel(), 1)
    return loss / denominator


def padding_waste(lengths: Sequence[int], batch_size: int, mode: str = "random", seed: int = 0) -> float:
    """Share of batch tokens that are padding when batching these lengths: 'random', 'grouped' (sorted) or 'packed'."""
    lengths = np.asarray(lengths, dtype=np.int64)
    if mode == "packed" or not len(lengths):
        return 0.0
    if mode == "grouped":
        order = np.argsort(lengths)
    elif mode == "random":
        order = np.random.default_rng(seed).permutation(len(lengths))
    else:
        raise ValueError(f"mode must be random, grouped or packed, got {mode!r}")
    batches = [lengths[order[i:i + batch_size]] for i in range(0, len(order), batch_size)]
    total = sum(int(b.max()) * len(b) for b in batches)
    return 1.0 - float(lengths.sum()) / total
