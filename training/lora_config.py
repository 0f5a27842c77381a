"""The settings of one LoRA fine-tune, and the attention projections LoRA targets for each architecture."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from curation.errors import UsageError

# Attention projections per `config.model_type`: the modules LoRA adapts by default.
TARGET_MODULES: dict[str, list[str]] = {
    **dict.fromkeys(
        ["llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "gemma", "gemma2", "gemma3",
         "gemma3_text", "olmo", "olmo2", "granite", "smollm3", "starcoder2", "stablelm", "cohere", "internlm2",
         "deepseek_v2", "exaone", "helium", "glm", "nemotron"],
        ["q_proj", "k_proj", "v_proj", "o_proj"],
    ),
    **dict.fromkeys(["opt", "gptj", "bart"], ["q_proj", "k_proj", "v_proj", "out_proj"]),
    "phi": ["q_proj", "k_proj", "v_proj", "dense"],
    "phi3": ["qkv_proj", "o_proj"],
    "codegen": ["qkv_proj", "out_proj"],
    "gpt2": ["c_attn", "c_proj"],
    "gpt_bigcode": ["c_attn", "c_proj"],
    "gpt_neox": ["query_key_value", "dense"],
    "falcon": ["query_key_value", "dense"],
    "bloom": ["query_key_value", "dense"],
    "mpt": ["Wqkv", "out_proj"],
}


ALL_LINEAR = "all-linear"  # peft's name for every linear layer except the output head
REPORT_TO = ("auto", "tensorboard", "wandb", "mlflow", "none")
PRECISIONS = ("auto", "bf16", "fp16", "fp32")
QUANTIZE = ("none", "4bit")


@dataclass
class LoraSettings:
    """Everything that decides a LoRA run; saved as settings.json in the run folder so it can be reproduced."""

    model: str | None = field(default=None, metadata={"help": "base model folder or hub id; None = packaged SmolLM2-135M-Instruct"})
    rank: int = field(default=8, metadata={"help": "LoRA rank r: size of the low-rank update"})
    alpha: int = field(default=16, metadata={"help": "LoRA alpha: the update is scaled by alpha / rank"})
    dropout: float = field(default=0.05, metadata={"help": "dropout on the LoRA input, 0 to 1"})
    target_modules: list[str] | None = field(default=None, metadata={"help": "module names to adapt; None = the attention projections "
                                                                          "of the architecture; [\"all-linear\"] = every linear layer but the output head"})
    learning_rate: float = field(default=2e-4, metadata={"help": "peak learning rate (linear decay after warmup)"})
    epochs: float = field(default=3.0, metadata={"help": "passes over the training set"})
    max_steps: int = field(default=0, metadata={"help": "stop after this many optimizer steps; 0 = run all epochs"})
    batch_size: int = field(default=8, metadata={"help": "examples per forward pass"})
    grad_accum: int = field(default=1, metadata={"help": "forward passes per optimizer step (effective batch = batch_size * grad_accum)"})
    eval_steps: int = field(default=20, metadata={"help": "evaluate (and checkpoint) every N optimizer steps"})
    save_steps: int = field(default=0, metadata={"help": "checkpoint every N steps when there is no eval set; 0 = same as eval_steps"})
    early_stopping_patience: int = field(default=3, metadata={"help": "stop after this many evaluations without a better eval loss; 0 = never"})
    max_length: int = field(default=2048, metadata={"help": "longest training sequence in tokens; longer examples are skipped and counted"})
    packing: bool = field(default=False, metadata={"help": "False: pad within length-grouped batches (fastest for short examples: "
                                                          "attention stays per example); True: one padding-free row per batch with "
                                                          "a block-diagonal mask (for very uneven lengths)"})
    precision: str = field(default="auto", metadata={"help": "auto: on a GPU bf16 where it computes bf16, else fp16; on a CPU "
                                                           "bf16 where it has AVX512-BF16/AMX, else fp32; or force bf16 / fp16 "
                                                           "(GPU only) / fp32. Trainable weights stay fp32"})
    warmup_ratio: float = field(default=0.05, metadata={"help": "share of steps spent warming up the learning rate"})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay on the LoRA weights"})
    save_total_limit: int = field(default=3, metadata={"help": "checkpoints kept (the best one is always kept)"})
    seed: int = field(default=0, metadata={"help": "seed for LoRA init, data order and dropout"})
    gradient_checkpointing: bool = field(default=True, metadata={"help": "keep only each layer's input during the forward pass and "
                                                                         "recompute the rest in backward: activations take a few "
                                                                         "times less memory for about a third more compute"})
    quantize: str = field(default="none", metadata={"help": "none, or 4bit: QLoRA, the frozen base loaded in 4-bit NF4 "
                                                             "(bitsandbytes, CUDA only); the LoRA weights train in full precision"})
    report_to: str = field(default="auto", metadata={"help": "tracking: tensorboard (logs in the run folder), wandb, mlflow or none; "
                                                             "auto = tensorboard when it is installed, else none"})

    def __post_init__(self) -> None:
        for f in fields(self):  # settings.json is read back into this: a "8" or a list where 8 belongs is a message
            value, (ok, expected) = getattr(self, f.name), _TYPES[f.type]
            if not ok(value):
                shown = repr(value) if not isinstance(value, int) or abs(value) < 10**60 else "a huge number"
                raise UsageError(f"LoRA setting {f.name}={shown[:80]} is invalid: it must be {expected}.")
        checks = [
            ("rank", self.rank >= 1, "at least 1"),
            ("alpha", self.alpha > 0, "positive"),
            ("dropout", 0 <= self.dropout < 1, "in [0, 1)"),
            ("learning_rate", 0 < self.learning_rate < 1, "in (0, 1)"),
            ("epochs", self.epochs > 0, "positive"),
            ("max_steps", self.max_steps >= 0, "0 or more"),
            ("batch_size", self.batch_size >= 1, "at least 1"),
            ("grad_accum", self.grad_accum >= 1, "at least 1"),
            ("eval_steps", self.eval_steps >= 1, "at least 1"),
            ("save_steps", self.save_steps >= 0, "0 or more"),
            ("early_stopping_patience", self.early_stopping_patience >= 0, "0 or more"),
            ("max_length", self.max_length >= 8, "at least 8 tokens"),
            ("warmup_ratio", 0 <= self.warmup_ratio < 1, "in [0, 1)"),
            ("weight_decay", self.weight_decay >= 0, "0 or more"),
            ("save_total_limit", self.save_total_limit >= 1, "at least 1"),
        ]
        for name, ok, expected in checks:
            if not ok:
                raise UsageError(f"LoRA setting {name}={getattr(self, name)!r} is invalid: it must be {expected}.")
        if self.precision not in PRECISIONS:
            raise UsageError(f"LoRA setting precision={self.precision!r} is invalid: it must be auto, bf16, fp16 or fp32.")
        if self.quantize not in QUANTIZE:
            raise UsageError(f"LoRA setting quantize={self.quantize!r} is invalid: it must be none or 4bit.")
        if self.report_to not in REPORT_TO:
            raise UsageError(f"LoRA setting report_to={self.report_to!r} is invalid: it must be one of {', '.join(REPORT_TO)}.")
        if self.target_modules is not None and (not self.target_modules or not all(isinstance(m, str) and m for m in self.target_modules)):
            raise UsageError(f"LoRA setting target_modules={self.target_modules!r} is invalid: give module names like q_proj,v_proj.")
        if self.target_modules and ALL_LINEAR in self.target_modules and len(self.target_modules) > 1:
            raise UsageError(f"LoRA setting target_modules={self.target_modules!r} is invalid: {ALL_LINEAR} stands alone.")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict of every field."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoraSettings:
        """Inverse of to_dict; unknown keys (from newer versions) are ignored; UsageError for a wrong type or value."""
        if not isinstance(data, dict):
            raise UsageError(f"LoRA settings must be a JSON object of setting: value, not {type(data).__name__}.")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def help(cls) -> dict[str, str]:
        """Field name -> help text (for CLI and TUI forms)."""
        return {f.name: f.metadata.get("help", "") for f in fields(cls)}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) <= 2**31 - 1  # they reach C ints


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


#: Field annotation -> (check, words for the message).
_TYPES = {
    "int": (_is_int, "a whole number (at most 2147483647)"),
    "float": (_is_number, "a number"),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "str": (lambda v: isinstance(v, str), "text"),
    "str | None": (lambda v: v is None or isinstance(v, str), "text or null"),
    "list[str] | None": (lambda v: v is None or isinstance(v, list), "a list of module names or null"),
}


def peft_targets(targets: list[str]) -> list[str] | str:
    """What LoraConfig takes for these targets: peft's "all-linear" string, or the list of module names."""
    return ALL_LINEAR if targets == [ALL_LINEAR] else targets


def detect_target_modules(model) -> list[str]:
    """The attention projections to adapt in this model: by architecture, checked against its real module names."""
    import torch.nn as nn

    leaves = {name.rsplit(".", 1)[-1] for name, module in model.named_modules() if _is_linear(module, nn)}
    model_type = getattr(getattr(model, "config", None), "model_type", "")
    wanted = TARGET_MODULES.get(model_type)
    if wanted:
        found = [m for m in wanted if m in leaves]
        if found:
            return found
    guesses = [n for n in ("q_proj", "k_proj", "v_proj", "o_proj", "query_key_value", "qkv_proj", "c_attn", "Wqkv") if n in leaves]
    if guesses:
        return guesses
    return sorted(n for n in leaves if n not in ("lm_head", "embed_out", "output"))


def _is_linear(module, nn) -> bool:
    """A linear layer LoRA can adapt (torch Linear, or GPT-2's Conv1D)."""
    return isinstance(module, nn.Linear) or type(module).__name__ == "Conv1D"
