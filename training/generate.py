"""Batched chat generation with a base model or a base model plus a LoRA adapter."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from curation.errors import CancelledError, DataError, ModelError, TunewiseError

Progress = Callable[[str, int, int], None]
ADAPTER_META = "tunewise.json"  # written next to adapter_config.json: which model the adapter was trained on


class Generator:
    """A loaded model (optionally with an adapter) that answers chat conversations."""

    def __init__(self, model, tokenizer, name: str, device: str, batch_size: int = 8) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        self.device = device
        self.batch_size = batch_size

    def chat(
        self,
        conversations: list[list[dict]],
        max_new_tokens: int = 128,
        temperature: float = 0.0,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> list[str]:
        """The model's reply to each conversation (greedy when temperature is 0), in input order."""
        import torch

        if max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be at least 1, got {max_new_tokens}")
        prompts = [
            self.tokenizer.apply_chat_template(list(c), tokenize=False, add_generation_prompt=True) for c in conversations
        ]
        lengths = [len(ids) for ids in self.tokenizer(prompts, add_special_tokens=False)["input_ids"]]
        order = sorted(range(len(prompts)), key=lambda i: -lengths[i])  # similar lengths share a batch: less padding
        replies: list[str] = [""] * len(prompts)
        stop = _stop_ids(self.model, self.tokenizer)
        sampling = {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}
        self.tokenizer.padding_side = "left"
        total = len(prompts)
        if progress:  # (0, total) first, then after each finished reply (a batch's replies end one by one)
            progress("generate", 0, total)
        self.model.eval()
        for start in range(0, len(order), self.batch_size):
            if cancel is not None and cancel.is_set():
                raise CancelledError("Generation cancelled.")
            batch = order[start:start + self.batch_size]
            encoded = self.tokenizer(
                [prompts[i] for i in batch], return_tensors="pt", padding=True, add_special_tokens=False
            ).to(self.device)
            report = (lambda finished, base=start: progress("generate", base + finished, total)) if progress else None
            watch = GenerationWatch(encoded["input_ids"].shape[1], stop, cancel, report)
            with torch.no_grad():
                output = self.model.generate(
                    **encoded, max_new_tokens=max_new_tokens, eos_token_id=stop,
                    pad_token_id=self.tokenizer.pad_token_id, top_p=None, top_k=None,
                    stopping_criteria=watch.criteria(), **sampling,
                )
            if cancel is not None and cancel.is_set():
                raise CancelledError("Generation cancelled.")
            new = output[:, encoded["input_ids"].shape[1]:]
            for i, text in zip(batch, self.tokenizer.batch_decode(new, skip_special_tokens=True)):
                replies[i] = text.strip()
            if progress:
                progress("generate", min(start + self.batch_size, len(order)), total)
        return replies


class GenerationWatch:
    """Watches a batch while model.generate runs: stops it within a token once `cancel` is set, and reports how
    many of its sequences have finished (a stop token generated) each time that number grows."""

    def __init__(self, prompt_length: int, stop_ids: list[int], cancel: threading.Event | None = None,
                 on_finished: Callable[[int], None] | None = None) -> None:
        self.prompt_length, self.stop_ids, self.cancel, self.on_finished = prompt_length, stop_ids, cancel, on_finished
        self.finished = 0

    def __call__(self, input_ids, scores=None, **kwargs):
        """The StoppingCriteria call: a bool per sequence, all True once cancelled."""
        import torch

        rows = input_ids.shape[0]
        if self.cancel is not None and self.cancel.is_set():
            return torch.ones(rows, dtype=torch.bool, device=input_ids.device)
        if self.on_finished is not None and self.stop_ids:
            generated = input_ids[:, self.prompt_length:]
            done = int(torch.isin(generated, torch.tensor(self.stop_ids, device=input_ids.device)).any(dim=1).sum())
            if done > self.finished:
                self.finished = done
                self.on_finished(done)
        return torch.zeros(rows, dtype=torch.bool, device=input_ids.device)

    def criteria(self):
        """A transformers StoppingCriteriaList holding this watch."""
        from transformers import StoppingCriteria, StoppingCriteriaList

        watch = self

        class _Criteria(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):
                return watch(input_ids, scores, **kwargs)

        return StoppingCriteriaList([_Criteria()])


def _stop_ids(model, tokenizer) -> list[int]:
    """Token ids that end a reply: the tokenizer's end-of-turn token plus the model's configured eos ids."""
    ids = {tokenizer.eos_token_id}
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    ids.update(configured if isinstance(configured, list) else [configured])
    return sorted(i for i in ids if i is not None)


def adapter_dir(path: str | Path) -> Path:
    """The folder holding adapter_config.json: the path itself, or a run folder's adapter/ subfolder."""
    path = Path(path).expanduser()
    for candidate in (path, path / "adapter"):
        if (candidate / "adapter_config.json").exists():
            return candidate
    raise ModelError(f"No LoRA adapter at {path}.", "Pass a run folder (runs/NAME) or a folder holding adapter_config.json.")


def adapter_base_model(path: str | Path) -> str | None:
    """The model an adapter was trained on, as tunewise names it (None for the packaged default)."""
    from training.model import DEFAULT_HUB_ID

    folder = adapter_dir(path)
    hint = ("Pass --model with the base model it was trained on, or train the run again "
            "(`tunewise finetune DATA --name NAME`) if the adapter folder is damaged.")
    meta = folder / ADAPTER_META
    if os.path.lexists(meta):
        base = _read_object(meta, "adapter record", hint).get("base_model")
        if base is not None and not isinstance(base, str):
            raise DataError(f"The adapter record {meta} is damaged: base_model is not text or null.", hint)
        return base
    base = _read_object(folder / "adapter_config.json", "adapter config", hint).get("base_model_name_or_path")
    if base is not None and not isinstance(base, str):
        raise DataError(f"The adapter config {folder / 'adapter_config.json'} is damaged: "
                        "base_model_name_or_path is not text or null.", hint)
    return None if not base or base == DEFAULT_HUB_ID else base


def _read_object(path: Path, what: str, hint: str) -> dict:
    """A JSON object from a small file of an adapter folder; DataError naming the file otherwise."""
    from curation.safe_read import read_json_file

    try:
        value = read_json_file(path, what, hint=hint)
    except TunewiseError as exc:
        raise DataError(exc.message, hint) from None
    if not isinstance(value, dict):
        raise DataError(f"The {what} {path} is damaged: it is not a JSON object.", hint)
    return value


def load_generator(model: str | None = None, adapter: str | Path | None = None) -> Generator:
    """A Generator for a base model (None = packaged SmolLM2-135M-Instruct), optionally with a LoRA adapter."""
    from training.model import load_model, model_label

    folder = adapter_dir(adapter) if adapter is not None else None
    if folder is not None and model is None:
        model = adapter_base_model(folder)
    loaded = load_model(model)
    name = model_label(model)
    net = loaded.model
    if folder is not None:
        from peft import PeftModel

        from training.model import quiet_deprecations

        try:
            with quiet_deprecations():
                net = PeftModel.from_pretrained(net, str(folder))
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise ModelError(
                f"Could not apply the adapter {folder} to {name}: {exc}",
                "Pass the --model the adapter was trained on (see the run's settings.json).",
            ) from exc
        net.to(loaded.device)
        name = f"{name} + {folder.parent.name if folder.name == 'adapter' else folder.name}"
    net.eval()
    return Generator(net, loaded.tokenizer, name, loaded.device)
