"""How much memory a LoRA run needs at its peak (the largest batch), and whether this machine has it, before it starts.

Calibrated on the packaged SmolLM2-135M on CPU (fp32, batch 8 padded to 663 tokens: measured peak 1.91 GiB, estimate
2.0): activations per token and layer are about 2 hidden-size float32 vectors with gradient checkpointing (each
layer's input, and one layer recomputed in backward) and about 24 without it (every projection, the MLP and
attention kept for backward, measured as the forward pass's growth per layer); the kept logits cost two
vocabulary-size vectors per trained token (the logits and their gradient). bench/lora.py reports the estimate
against the measured peak.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from curation.errors import ModelError

GB = 1024**3
PROCESS_OVERHEAD = int(0.35 * GB)  # Python, torch and transformers loaded, before any weight
# Each process of a multi-process CPU run also holds torch.distributed/gloo and DDP's buffers: bench/lora.py
# --processes 1 2 measured 1.15 GB peak for 1 process and 1.49 GB per process for 2 (the half batch needs less).
DISTRIBUTED_OVERHEAD = int(0.4 * GB)
VECTORS_PER_LAYER = {True: 2, False: 24}  # float32 hidden-size vectors kept per token and layer (checkpointing on/off)
LOGIT_COPIES = 2  # the logits and their gradient
NF4_BITS = 4.127  # bits per weight of a 4-bit NF4 base: the weights and their double-quantised block constants (QLoRA)


def weight_bytes(n_params: int, quantize: str = "none", bytes_per_weight: int = 4) -> int:
    """Bytes the frozen base takes: `bytes_per_weight` each, or about 4.1 bits each when quantised to 4-bit."""
    if quantize == "4bit":
        return int(n_params * NF4_BITS / 8)
    return n_params * bytes_per_weight


@dataclass
class MemoryEstimate:
    """The parts of a run's peak memory in bytes, and their sum."""

    weights: int
    lora: int  # LoRA weights, gradients and AdamW's two moments
    activations: int
    logits: int
    overhead: int
    batch_tokens: int  # padded tokens of the largest batch

    @property
    def total(self) -> int:
        """Peak bytes for the run."""
        return self.weights + self.lora + self.activations + self.logits + self.overhead

    def to_dict(self) -> dict[str, float | int]:
        """GiB per part (and the total) for run.json and reports."""
        parts = {k: round(v / GB, 3) for k, v in asdict(self).items() if k != "batch_tokens"}
        return parts | {"total": round(self.total / GB, 3), "batch_tokens": self.batch_tokens}


def estimate_memory(config, n_params: int, lora_params: int, lengths: list[int], trained: list[int], batch_size: int,
                    packing: bool, checkpointing: bool, bytes_per_weight: int = 4, device: str = "cpu",
                    weight_bytes: int | None = None, processes: int = 1) -> MemoryEstimate:
    """Peak memory of training `n_params` weights with `lora_params` trainable on rows of these token lengths.

    Args:
        config: the model's transformers config (hidden_size, num_hidden_layers, vocab_size).
        lengths: tokens per example; trained: assistant (trained) tokens per example, same order.
        batch_size: examples per forward pass; the largest batch is the `batch_size` longest examples, padded to the
            longest (packing: concatenated without padding).
        weight_bytes: the base's bytes as stored, when known (a loaded model: 4-bit weights packed two a byte);
            else n_params * bytes_per_weight.
        processes: how many processes train together (each one's peak is estimated; batch_size is per process).
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])[:batch_size]
    tokens = sum(lengths[i] for i in order) if packing else (lengths[order[0]] * len(order) if order else 0)
    kept = sum(trained[i] for i in order)
    hidden, layers = int(config.hidden_size), int(config.num_hidden_layers)
    vocab = int(config.vocab_size)
    activations = tokens * layers * hidden * 4 * VECTORS_PER_LAYER[checkpointing]
    weights = weight_bytes if weight_bytes is not None else n_params * bytes_per_weight
    return MemoryEstimate(weights=weights, lora=lora_params * 16, activations=activations,
                          logits=kept * vocab * 4 * LOGIT_COPIES,
                          overhead=(PROCESS_OVERHEAD + (DISTRIBUTED_OVERHEAD if processes > 1 else 0)) if device == "cpu"
                          else 0, batch_tokens=tokens)


def available_memory(device: str) -> int:
    """Bytes this run can still use: free GPU memory, or the host's available memory plus what this process holds."""
    if device == "cuda":
        import torch

        free, _total = torch.cuda.mem_get_info()
        return int(free + torch.cuda.memory_allocated())
    import psutil

    return int(psutil.virtual_memory().available + psutil.Process().memory_info().rss)


def check_fits(estimate: MemoryEstimate, available: int, batch_size: int, grad_accum: int, max_length: int,
               checkpointing: bool) -> None:
    """Raise ModelError naming the estimate, what is free and the settings to change when the run cannot fit."""
    if estimate.total <= available:
        return
    fixes = [f"--batch-size {max(1, batch_size // 2)} --grad-accum {grad_accum * 2} (same effective batch)"]
    if not checkpointing:
        fixes.append("gradient checkpointing (drop --no-gradient-checkpointing)")
    fixes.append(f"a smaller --max-length than {max_length}")
    raise ModelError(
        f"This run needs about {estimate.total / GB:.1f} GiB at its largest batch ({estimate.batch_tokens} tokens: "
        f"weights {estimate.weights / GB:.1f}, activations {estimate.activations / GB:.1f}, logits {estimate.logits / GB:.1f} GiB) "
        f"but only {available / GB:.1f} GiB is available.",
        "Try " + ", or ".join(fixes) + ", or a smaller model.")
