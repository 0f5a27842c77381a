"""Exports people deploy: a run merged into its base model with a Hub model card, a GGUF file for llama.cpp,
and an Ollama Modelfile with the model's chat template and stop tokens.

GGUF is written here with the `gguf` package (no llama.cpp needed) for llama-family models whose BPE tokenizer
llama.cpp knows; for any other model the error says exactly which llama.cpp commands convert the merged export.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from hashlib import sha256
from pathlib import Path
from typing import Any

from curation.errors import CancelledError, ModelError, TunewiseError, UsageError
from curation.files import check_output_dir, output_error, staged_folder
from training.runs import ADAPTER_DIR, RUNS_DIR, has_adapter, merge_dtype, read_run

Progress = Callable[[str, int, int], None]
FORMATS = ("merged", "gguf", "ollama")
GGUF_TYPES = ("f16", "f32", "q8_0")
MODELFILE, ADAPTER_MODELFILE, CARD = "Modelfile", "Modelfile.adapter", "README.md"

# llama.cpp names a BPE pre-tokenizer by hashing the ids its probe text encodes to (convert_hf_to_gguf.py,
# get_vocab_base_pre); only the llama-family ones are listed: other tokenizers are refused, never guessed.
_PRE_PROBE = ("\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n🚀 (normal) 😶\u200d🌫️ (multiple emojis concatenated) ✅ "
              "🦙🦙 3 33 333 3333 33333 333333 3333333 33333333 3.3 3..3 3...3 កាន់តែពិសេសអាច😁 ?我想在apple工作1314151天～ "
              "------======= нещо на Български ''''''```````\"\"\"\"......!!!!!!?????? I've been 'told he's there, 'RE you "
              "sure? 'M not sure I'll make it, 'D you like some tea? We'Ve a'lL")
_KNOWN_PRE = {
    "855059429035d75a914d1eda9f10a876752e281a054a7a3d421ef0533e5b6249": "smollm",  # SmolLM / SmolLM2
    "0ef9807a4087ebef797fc749390439009c3b9eda9ad1a097abbe738f486c01e5": "llama-bpe",  # Llama 3
}


@dataclass
class DeployExport:
    """What an export wrote: the folder, its files, the GGUF and Modelfile if any, and what the user runs next."""

    run: str
    format: str
    out: str
    base_model: str
    files: list[str] = field(default_factory=list)
    gguf: str | None = None
    modelfile: str | None = None
    commands: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def llama_cpp_commands(merged_dir: str, outfile: str) -> list[str]:
    """The llama.cpp commands that turn a merged model folder into a GGUF file (and a 4-bit copy)."""
    return ["git clone https://github.com/ggml-org/llama.cpp", "pip install -r llama.cpp/requirements.txt",
            f"python llama.cpp/convert_hf_to_gguf.py {merged_dir} --outtype f16 --outfile {outfile}",
            "cmake -S llama.cpp -B llama.cpp/build && cmake --build llama.cpp/build --target llama-quantize",
            f"llama.cpp/build/bin/llama-quantize {outfile} {outfile.removesuffix('.gguf')}-Q4_K_M.gguf Q4_K_M"]


def gguf_problem(config: Any, tokenizer: Any) -> str | None:
    """Why this model cannot be written as GGUF here (None when it can): llama family, plain RoPE, known BPE."""
    if getattr(config, "model_type", None) != "llama":
        return f"its architecture is {getattr(config, 'model_type', '?')!r}; tunewise writes GGUF for llama-family models only"
    rope = getattr(config, "rope_parameters", None) or getattr(config, "rope_scaling", None) or {}
    if rope.get("rope_type", rope.get("type", "default")) != "default":
        return f"it uses {rope.get('rope_type', rope.get('type'))!r} RoPE scaling, which needs llama.cpp's converter"
    if getattr(config, "attention_bias", False) or getattr(config, "mlp_bias", False):
        return "its layers have bias terms, which needs llama.cpp's converter"
    if pre_tokenizer(tokenizer) is None:
        return "its tokenizer is not a BPE tokenizer llama.cpp names (SmolLM, Llama 3)"
    return None


def pre_tokenizer(tokenizer: Any) -> str | None:
    """llama.cpp's name for the tokenizer's BPE pre-tokenizer (tokenizer.ggml.pre), or None if not a known one."""
    try:
        ids = tokenizer.encode(_PRE_PROBE)
    except Exception:  # a tokenizer that cannot encode the probe is not one llama.cpp knows either
        return None
    return _KNOWN_PRE.get(sha256(str(ids).encode()).hexdigest())


def write_gguf(model: Any, tokenizer: Any, path: Path, gguf_type: str = "f16", name: str = "model",
               progress: Progress | None = None, cancel: threading.Event | None = None) -> Path:
    """Write a llama-family transformers model and its tokenizer as one GGUF file, one tensor at a time."""
    import gguf
    import numpy as np
    import torch

    config = model.config
    problem = gguf_problem(config, tokenizer)
    if problem:
        raise UsageError(f"Cannot write GGUF for this model: {problem}.", "Export --format merged and convert it with llama.cpp.")
    n_head, n_kv = config.num_attention_heads, config.num_key_value_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // n_head
    rope = getattr(config, "rope_parameters", None) or {}
    qtype = {"f16": gguf.GGMLQuantizationType.F16, "f32": gguf.GGMLQuantizationType.F32,
             "q8_0": gguf.GGMLQuantizationType.Q8_0}[gguf_type]
    file_type = {"f16": gguf.LlamaFileType.MOSTLY_F16, "f32": gguf.LlamaFileType.ALL_F32,
                 "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0}[gguf_type]
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_type("model")
    writer.add_name(name)
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_kv)
    writer.add_rope_freq_base(float(rope.get("rope_theta", getattr(config, "rope_theta", 10000.0))))
    writer.add_layer_norm_rms_eps(float(config.rms_norm_eps))
    writer.add_vocab_size(config.vocab_size)
    writer.add_rope_dimension_count(head_dim)
    writer.add_file_type(file_type)
    if gguf_type == "q8_0":
        writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    _add_vocab(writer, tokenizer, config.vocab_size)

    names = gguf.TensorNameMap(gguf.MODEL_ARCH.LLAMA, config.num_hidden_layers)
    state = {k: v for k, v in model.state_dict().items() if not k.endswith("rotary_emb.inv_freq")}
    if getattr(config, "tie_word_embeddings", False):
        state.pop("lm_head.weight", None)  # llama.cpp reads the embedding matrix when there is no output tensor
    plan = []  # (transformers name, GGUF name, type written)
    for hf_name, tensor in state.items():
        gguf_name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if gguf_name is None:
            raise ModelError(f"Cannot map the tensor {hf_name} to a GGUF name.", "Export --format merged and convert it with llama.cpp.")
        kind = gguf.GGMLQuantizationType.F32 if tensor.dim() == 1 else qtype
        if kind == gguf.GGMLQuantizationType.Q8_0 and tensor.shape[-1] % 32:  # rows must fill whole blocks
            kind = gguf.GGMLQuantizationType.F16
        plan.append((hf_name, gguf_name, kind))
        shape = tuple(tensor.shape)
        if kind == gguf.GGMLQuantizationType.Q8_0:
            shape = gguf.quants.quant_shape_to_byte_shape(shape, kind)
        dtype = {gguf.GGMLQuantizationType.F32: np.float32, gguf.GGMLQuantizationType.F16: np.float16}.get(kind, np.uint8)
        writer.add_tensor_info(gguf_name, shape, np.dtype(dtype), int(np.prod(shape)) * np.dtype(dtype).itemsize,
                               raw_dtype=kind if dtype is np.uint8 else None)

    def data(hf_name: str, kind: Any) -> Any:
        array = state[hf_name].detach().to(torch.float32).cpu().numpy()
        if hf_name.endswith("self_attn.q_proj.weight"):
            array = _permute(array, n_head)
        elif hf_name.endswith("self_attn.k_proj.weight"):
            array = _permute(array, n_kv)
        if kind == gguf.GGMLQuantizationType.F32:
            return array
        if kind == gguf.GGMLQuantizationType.F16:
            return array.astype(np.float16)
        return gguf.quants.quantize(array, kind)

    writer.write_header_to_file(path)
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for done, (hf_name, _, kind) in enumerate(plan, 1):
        if cancel is not None and cancel.is_set():
            writer.close()
            raise CancelledError("GGUF export cancelled; nothing was written.")
        writer.write_tensor_data(data(hf_name, kind))
        if progress:
            progress("Writing GGUF", done, len(plan))
    writer.close()
    return path


def _permute(weights: Any, heads: int) -> Any:
    """Reorder q/k rows from transformers' rotary layout (halves) to llama.cpp's (interleaved pairs)."""
    rows = weights.shape[0]
    return weights.reshape(heads, 2, rows // heads // 2, *weights.shape[1:]).swapaxes(1, 2).reshape(weights.shape)


def _add_vocab(writer: Any, tokenizer: Any, vocab_size: int) -> None:
    """The BPE vocabulary, token types, merges, special ids and chat template, as llama.cpp reads them."""
    import tempfile

    import gguf

    by_id = {i: t for t, i in tokenizer.get_vocab().items()}
    added = {i: t for i, t in tokenizer.added_tokens_decoder.items()}
    tokens, types = [], []
    for i in range(vocab_size):
        if i not in by_id:
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
        else:
            tokens.append(by_id[i])
            types.append(gguf.TokenType.CONTROL if i in added and added[i].special
                         else gguf.TokenType.USER_DEFINED if i in added else gguf.TokenType.NORMAL)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre_tokenizer(tokenizer))
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    with tempfile.TemporaryDirectory(prefix="tunewise-tok-") as folder:  # SpecialVocab reads the saved files
        tokenizer.save_pretrained(folder)
        special = gguf.SpecialVocab(folder, load_merges=True, n_vocab=len(tokens))
    if not special.merges:
        raise ModelError("The tokenizer has no BPE merges to write into the GGUF file.", "Export --format merged instead.")
    special.add_to_gguf(writer, quiet=True)


_SENTINELS = {"system": "SYSq7xZ", "u1": "USRq7xA", "a1": "ASTq7xB", "u2": "USRq7xC"}


def ollama_template(tokenizer: Any) -> str | None:
    """The chat template as an Ollama (Go) TEMPLATE, or None when it is not one wrapper per role.

    The wrappers are read off renderings of sentinel conversations, then the result is checked to render those
    conversations exactly as apply_chat_template does.
    """
    try:
        pieces = _template_pieces(tokenizer)
    except Exception:  # a template that refuses a plain conversation, or renders turns differently
        return None
    if pieces is None or any("{{" in p or '"""' in p for p in pieces.values()):
        return None
    p = pieces
    default = f"{p['pre_sys']}{p['default']}{p['suf_sys']}" if p["default"] is not None else ""
    return (f"{p['lead']}{{{{ if .System }}}}{p['pre_sys']}{{{{ .System }}}}{p['suf_sys']}{{{{ else }}}}{default}{{{{ end }}}}"
            f"{{{{ range .Messages }}}}{{{{ if eq .Role \"user\" }}}}{p['pre_user']}{{{{ .Content }}}}{p['suf_user']}"
            f"{{{{ else if eq .Role \"assistant\" }}}}{p['pre_asst']}{{{{ .Content }}}}{p['suf_asst']}{{{{ end }}}}{{{{ end }}}}"
            f"{p['gen']}")


def _template_pieces(tokenizer: Any) -> dict[str, Any] | None:
    s = _SENTINELS

    def render(messages: list[tuple[str, str]], gen: bool) -> str:
        return tokenizer.apply_chat_template([{"role": r, "content": c} for r, c in messages], tokenize=False,
                                             add_generation_prompt=gen)

    def between(text: str, a: str | None, b: str | None) -> str:
        start = text.index(a) + len(a) if a else 0
        return text[start:text.index(b, start)] if b else text[start:]

    convo = [("user", s["u1"]), ("assistant", s["a1"]), ("user", s["u2"])]
    plain, prompted = render(convo, False), render(convo, True)
    if not prompted.startswith(plain):
        return None
    suf_user = between(plain, s["u2"], None)
    suf_asst = between(render(convo[:2], False), s["a1"], None)
    m1, m2 = between(plain, s["u1"], s["a1"]), between(plain, s["a1"], s["u2"])
    if not (m1.startswith(suf_user) and m2.startswith(suf_asst)):
        return None
    pre_asst, pre_user = m1[len(suf_user):], m2[len(suf_asst):]
    head = between(plain, None, s["u1"])
    with_system = render([("system", s["system"]), *convo], False)
    head_sys, mid_sys = between(with_system, None, s["system"]), between(with_system, s["system"], s["u1"])
    if not (head.endswith(pre_user) and mid_sys.endswith(pre_user)):
        return None
    suf_sys, before_user = mid_sys[:len(mid_sys) - len(pre_user)], head[:len(head) - len(pre_user)]
    # no system message: nothing but a lead such as BOS, or the template's default system block
    if head_sys.startswith(before_user):
        lead, default = before_user, None
    elif before_user.startswith(head_sys) and before_user.endswith(suf_sys) and len(before_user) >= len(head_sys) + len(suf_sys):
        lead, default = "", before_user[len(head_sys):len(before_user) - len(suf_sys)]
    else:
        return None
    pieces = {"lead": lead, "pre_sys": head_sys[len(lead):], "suf_sys": suf_sys, "default": default,
              "pre_user": pre_user, "suf_user": suf_user, "pre_asst": pre_asst, "suf_asst": suf_asst,
              "gen": prompted[len(plain):]}
    return pieces if _pieces_match(pieces, render) else None


def _pieces_match(p: dict[str, Any], render: Callable) -> bool:
    """Whether the role wrappers rebuild apply_chat_template's text for conversations with and without a system."""
    turns = [("user", "Hi there"), ("assistant", "Hello."), ("user", "Price of the Haul?")]
    for system in (None, "Be brief."):
        if system is not None:
            text = f"{p['lead']}{p['pre_sys']}{system}{p['suf_sys']}"
        else:
            text = p["lead"] + (f"{p['pre_sys']}{p['default']}{p['suf_sys']}" if p["default"] is not None else "")
        for role, content in turns:
            key = "user" if role == "user" else "asst"
            text += f"{p['pre_' + key]}{content}{p['suf_' + key]}"
        expected = render(([("system", system)] if system else []) + turns, True)
        if text + p["gen"] != expected:
            return False
    return True


def stop_tokens(tokenizer: Any, model_config: Any = None, generation_config: Any = None) -> list[str]:
    """The strings that end a reply: the tokenizer's eos token and the model's configured eos ids."""
    ids = {tokenizer.eos_token_id}
    for source in (generation_config, model_config):
        configured = getattr(source, "eos_token_id", None)
        ids.update(configured if isinstance(configured, list) else [configured])
    stops = [tokenizer.convert_ids_to_tokens(i) for i in sorted(i for i in ids if i is not None)]
    return [s for s in dict.fromkeys(stops) if s]


def modelfile_text(source: str, template: str | None, stops: list[str], system: str | None = None,
                   adapter: str | None = None) -> str:
    """An Ollama Modelfile: FROM (a GGUF file or a safetensors folder), ADAPTER, TEMPLATE, stops and SYSTEM."""
    for label, text in (("system prompt", system), ("chat template", template)):
        if text and '"""' in text:
            raise UsageError(f'The {label} contains """, which an Ollama Modelfile cannot hold.', "Remove it and export again.")
    lines = [f"FROM {source}"]
    if adapter:
        lines.append(f"ADAPTER {adapter}")
    if template:
        lines.append(f'TEMPLATE """{template}"""')
    lines += [f'PARAMETER stop "{s}"' for s in stops if '"' not in s]
    if system:
        lines.append(f'SYSTEM """{system}"""')
    return "\n".join(lines) + "\n"


def ollama_name(run: str) -> str:
    """A model name Ollama accepts, from a run name."""
    return re.sub(r"[^a-z0-9._-]+", "-", run.lower()).strip("-._") or "tunewise-model"


def export_deploy(run_dir: str | Path, out_dir: str | Path, fmt: str = "merged", *, gguf_type: str = "f16",
                  system: str | None = None, progress: Progress | None = None,
                  cancel: threading.Event | None = None) -> DeployExport:
    """Export a finished LoRA run as a merged model (merged), a GGUF file (gguf) or an Ollama folder (ollama),
    each with a model card (README.md with the Hub's metadata) into a new folder, written atomically."""
    from training.generate import adapter_base_model
    from training.model import hub_id, load_model_tokenizer, model_label

    run_dir, out = Path(run_dir), Path(out_dir)
    report = progress or (lambda stage, done, total: None)
    # 1. inputs, before any heavy work
    if fmt not in FORMATS:
        raise UsageError(f"Unknown export format {fmt!r}.", f"Use one of: {', '.join(FORMATS)}.")
    if gguf_type not in GGUF_TYPES:
        raise UsageError(f"Unknown GGUF type {gguf_type!r}.", f"Use one of: {', '.join(GGUF_TYPES)}.")
    if not run_dir.is_dir():
        raise UsageError(f"No run folder at {run_dir}.", "`tunewise runs list` shows the runs of a project.")
    record = read_run(run_dir)
    if not has_adapter(run_dir):
        raise UsageError(f"Run {run_dir.name} has no final adapter to export (status: {record.get('status', 'unknown')}).",
                         f"Finish it with `tunewise finetune ... --name {run_dir.name} --resume`, or pick another run.")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{out} already exists and is not empty.", "Choose a new folder with --out.")
    check_output_dir(out, "export folder")
    base = adapter_base_model(run_dir / ADAPTER_DIR)
    tokenizer, source = load_model_tokenizer(base)
    result = DeployExport(run_dir.name, fmt, str(out), hub_id(base))
    problem = None
    if fmt in ("gguf", "ollama"):
        from transformers import AutoConfig

        try:
            config = AutoConfig.from_pretrained(source, trust_remote_code=False)
        except (OSError, ValueError, KeyError) as exc:
            raise ModelError(f"Could not read the config of {model_label(base)}: {exc}", "Check the base model folder.") from exc
        problem = gguf_problem(config, tokenizer)
        gguf_file = f"{run_dir.name}-{gguf_type}.gguf"
        if problem and fmt == "gguf":
            raise UsageError(f"tunewise cannot write GGUF for {model_label(base)}: {problem}.",
                             "Export the merged model and convert it with llama.cpp's converter:\n  "
                             + f"tunewise export {run_dir.name} --format merged --out merged-model\n  "
                             + "\n  ".join(llama_cpp_commands("merged-model", gguf_file)))
    template = ollama_template(tokenizer) if fmt == "ollama" else None
    if fmt == "ollama":
        modelfile_text("x", template, [], system)  # a system prompt Ollama cannot hold is refused now, not after merging
        if template is None:
            result.notes.append("The chat template is not one wrapper per role, so the Modelfile has no TEMPLATE: "
                                "Ollama falls back to the template it detects in the model.")
    # 2. the merged model, in memory
    model = merge_run(run_dir, base, report, cancel)
    # 3. the files, in a staged folder that replaces out only when complete
    try:
        _write_export(model, tokenizer, run_dir, out, record, result, problem, template, system, gguf_type, source,
                      report, cancel)
    except OSError as exc:  # disk full, no permission: nothing at out was changed
        raise output_error(exc, out, "export folder") from None
    result.commands = _next_commands(result, out)
    return result


def _write_export(model: Any, tokenizer: Any, run_dir: Path, out: Path, record: dict[str, Any], result: DeployExport,
                  problem: str | None, template: str | None, system: str | None, gguf_type: str, source: str,
                  report: Progress, cancel: threading.Event | None) -> None:
    fmt, gguf_file = result.format, f"{run_dir.name}-{gguf_type}.gguf"
    with staged_folder(out) as tmp:
        if fmt == "merged" or (fmt == "ollama" and problem):
            folder = tmp if fmt == "merged" else tmp / "merged"
            report("Writing safetensors", 0, 1)
            model.save_pretrained(folder, safe_serialization=True)
            tokenizer.save_pretrained(folder)
            dtype = merge_dtype(run_dir)
            (folder / "tunewise.json").write_text(json.dumps({"run": run_dir.name, "base_model": result.base_model, "merged": True,
                                                              "dtype": dtype, "dequantized": dtype != "float32"}))
            report("Writing safetensors", 1, 1)
        if fmt in ("gguf", "ollama") and not problem:
            write_gguf(model, tokenizer, tmp / gguf_file, gguf_type, run_dir.name, report, cancel)
            result.gguf = str(out / gguf_file)
        if fmt == "ollama":
            if problem:
                result.notes.append(f"No GGUF file: {problem}. The Modelfile imports the merged safetensors folder "
                                    "(Ollama converts llama, mistral, gemma and phi3 models itself).")
            generation = getattr(model, "generation_config", None)
            stops = stop_tokens(tokenizer, model.config, generation)
            (tmp / MODELFILE).write_text(modelfile_text("./merged" if problem else f"./{gguf_file}", template, stops, system))
            result.modelfile = str(out / MODELFILE)
            if Path(source).is_dir():  # the same model, as the base folder plus the adapter (Ollama applies it on load)
                shutil.copytree(run_dir / ADAPTER_DIR, tmp / ADAPTER_DIR)
                (tmp / ADAPTER_MODELFILE).write_text(
                    modelfile_text(str(Path(source).resolve()), template, stops, system, adapter=f"./{ADAPTER_DIR}"))
        (tmp / CARD).write_text(model_card(run_dir, record, result, _bakeoff_rows(run_dir, result)))
        result.files = sorted(p.name for p in tmp.iterdir())


def merge_run(run_dir: Path, base: str | None, progress: Progress, cancel: threading.Event | None = None) -> Any:
    """The run's base model with its LoRA adapter merged in, on the CPU, in runs.merge_dtype (float32; a QLoRA run's
    base unquantised in bf16: a 4-bit base would merge rounded weights into a model most servers cannot read)."""
    from peft import PeftModel

    from training.model import load_model, quiet_deprecations

    progress("Loading the base model", 0, 2)
    loaded = load_model(base, device="cpu", dtype=merge_dtype(run_dir))  # never quantized
    if cancel is not None and cancel.is_set():
        raise CancelledError("Export cancelled; nothing was written.")
    progress("Loading the base model", 1, 2)
    try:
        with quiet_deprecations():
            merged = PeftModel.from_pretrained(loaded.model, str(run_dir / ADAPTER_DIR)).merge_and_unload()
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ModelError(f"Could not merge the adapter of {run_dir.name}: {exc}", "Check that the run folder is complete.") from exc
    progress("Loading the base model", 2, 2)
    if cancel is not None and cancel.is_set():
        raise CancelledError("Export cancelled; nothing was written.")
    return merged


def _bakeoff_rows(run_dir: Path, result: DeployExport) -> list[dict[str, Any]]:
    """The run's scores in its project's latest bake-off (candidate lora:RUN), as model-index metrics."""
    from training.evaluation.results import latest_bakeoff, load_bakeoff

    if run_dir.parent.name != RUNS_DIR:
        return []
    folder = latest_bakeoff(run_dir.parent.parent)
    if folder is None:
        return []
    try:
        bakeoff = load_bakeoff(folder)
        candidate = bakeoff.candidate(f"lora:{run_dir.name}")
    except KeyError:
        return []
    except TunewiseError as exc:
        result.notes.append(f"The model card has no bake-off metrics: {exc.message}")
        return []
    dataset = Path(bakeoff.eval_source).name or "eval split"
    return [{"type": metric, "value": round(float(score.mean), 4), "name": f"{metric} (95% CI {score.low:.3f}-{score.high:.3f}, "
             f"n={bakeoff.examples}, bake-off {bakeoff.created})", "dataset": dataset}
            for metric, score in candidate.scores.items()]


def model_card(run_dir: Path, record: dict[str, Any], result: DeployExport, metrics: list[dict[str, Any]]) -> str:
    """README.md with the Hub's YAML metadata (base_model, library_name, tags, datasets, model-index) and usage."""
    import yaml

    data = record.get("data") or {}
    library = {"merged": "transformers", "gguf": "gguf", "ollama": "gguf" if result.gguf else "transformers"}[result.format]
    meta: dict[str, Any] = {"base_model": result.base_model, "library_name": library, "pipeline_tag": "text-generation",
                            "tags": ["tunewise", "lora", "peft", "merged", *(["gguf"] if result.gguf else []),
                                     *(["ollama"] if result.format == "ollama" else [])]}
    source = str(data.get("source") or "")
    if re.fullmatch(r"[A-Za-z0-9][\w.-]*/[\w.-]+", source) and not Path(source).exists() and "." not in Path(source).name:
        meta["datasets"] = [source]  # a hub dataset id; a local file is named in the text below instead
    if metrics:
        meta["model-index"] = [{"name": result.run, "results": [{
            "task": {"type": "text-generation"},
            "dataset": {"name": metrics[0]["dataset"], "type": "custom"},
            "metrics": [{k: m[k] for k in ("type", "value", "name")} for m in metrics]}]}]
    run_metrics = record.get("metrics") or {}
    lines = ["---", yaml.safe_dump(meta, sort_keys=False, allow_unicode=True).rstrip(), "---", "",
             f"# {result.run}: {result.base_model} fine-tuned with LoRA (merged)", "",
             f"Exported by tunewise as `{result.format}` from the run `{result.run}` "
             f"(trained {record.get('created', '?')}, status {record.get('status', '?')}).", "",
             f"- training data: `{source or '?'}` ({data.get('train_examples', '?')} train / {data.get('eval_examples', '?')} eval examples)",
             f"- eval loss: {_or_unknown(run_metrics.get('eval_loss'))} after {_or_unknown(run_metrics.get('steps'))} steps"]
    if metrics:
        lines += ["", "## Bake-off", "", "| metric | score |", "| --- | --- |", *(f"| {m['type']} | {m['name']}: {m['value']} |" for m in metrics)]
    lines += ["", "## How to use it", "", "```sh", *_usage(result), "```", ""]
    return "\n".join(lines)


def _or_unknown(value: Any) -> str:
    return "?" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)


def _usage(result: DeployExport) -> list[str]:
    if result.format == "merged":
        return ["python -c \"from transformers import pipeline; "
                f"print(pipeline('text-generation', model='{result.out}')([{{'role': 'user', 'content': 'Hi'}}]))\""]
    if result.format == "gguf":
        return [f"llama-cli -m {Path(result.gguf or '').name} -cnv"]
    return [f"ollama create {ollama_name(result.run)} -f Modelfile", f"ollama run {ollama_name(result.run)}"]


def _next_commands(result: DeployExport, out: Path) -> list[str]:
    """What the user runs next with the export."""
    if result.format == "ollama":
        name = ollama_name(result.run)
        adapter = [f"ollama create {name}-adapter -f {ADAPTER_MODELFILE}  # or: the base model plus the LoRA adapter"]
        return [f"cd {out}", f"ollama create {name} -f {MODELFILE}", f"ollama run {name}",
                *(adapter if ADAPTER_MODELFILE in result.files else [])]
    if result.format == "gguf":
        return [f"llama-cli -m {result.gguf} -cnv", f"llama-server -m {result.gguf}"]
    return [f"python -c \"from transformers import AutoModelForCausalLM; AutoModelForCausalLM.from_pretrained('{out}')\""]
