"""Deploy exports of a real LoRA run: merged + model card, GGUF read back by transformers, Ollama Modelfile."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from curation.errors import UsageError
from training import deploy_export as dx
from training import runs
from training.evaluation.metrics import Interval
from training.evaluation.results import Bakeoff, CandidateResult

CONVO = [{"role": "user", "content": "Code for item 2?"}, {"role": "assistant", "content": "Item 2 uses code Z14."},
         {"role": "user", "content": "And item 3?"}]


@pytest.fixture(scope="module")
def project(tmp_path_factory, tiny_run):
    """A project with one finished run (a copy of the session's tiny run: a strong learning rate, so the adapter
    visibly changes the logits) and a bake-off summary that scored it."""
    from tests.conftest import copy_run

    root = tmp_path_factory.mktemp("deploy")
    copy_run(tiny_run, runs.runs_root(root), "r1")
    scores = {"exact": Interval(0.5, 0.25, 0.75)}
    bakeoff = Bakeoff("2026-12-01T10:00:00", str(root / "evals" / "20261201"), "export/eval.jsonl", "f" * 16, 4, "exact",
                      ["exact"], ["short answers"], [CandidateResult("lora:r1", "lora", "base model + LoRA adapter r1", scores)])
    (root / "evals" / "20261201").mkdir(parents=True)
    (root / "evals" / "20261201" / "summary.json").write_text(json.dumps(bakeoff.to_dict()))
    return root


def _front_matter(card: str) -> dict:
    assert card.startswith("---\n")
    return yaml.safe_load(card.split("---\n")[1])


def _go(template: str, system: str, messages: list[dict]) -> str:
    """A tiny Go text/template interpreter for what Modelfile templates use (if / else if / else / range / eq)."""
    tokens, pos = re.split(r"(\{\{.*?\}\})", template, flags=re.S), 0

    def parse():
        nonlocal pos
        nodes = []
        while pos < len(tokens):
            token = tokens[pos]
            pos += 1
            if not token.startswith("{{"):
                nodes.append(("text", token))
                continue
            action = token[2:-2].strip()
            if action == "end" or action.startswith("else"):
                return nodes, action
            if action.startswith("if "):
                branches, cond = [], action[3:]
                while True:
                    body, stop = parse()
                    branches.append((cond, body))
                    if stop == "end":
                        break
                    cond = stop[len("else if "):] if stop.startswith("else if ") else "true"
                nodes.append(("if", branches))
            elif action == "range .Messages":
                nodes.append(("range", parse()[0]))
            else:
                nodes.append(("var", action))
        return nodes, None

    def truth(cond, scope):
        if cond.startswith("eq "):
            _, var, literal = cond.split(" ", 2)
            return scope[var] == json.loads(literal)
        return cond == "true" or bool(scope[cond])

    def run(nodes, scope):
        out = ""
        for kind, value in nodes:
            if kind == "text":
                out += value
            elif kind == "var":
                out += scope[value]
            elif kind == "range":
                out += "".join(run(value, {**scope, ".Role": m["role"], ".Content": m["content"]}) for m in messages)
            else:
                out += next((run(body, scope) for cond, body in value if truth(cond, scope)), "")
        return out

    return run(parse()[0], {".System": system})


def test_ollama_template_renders_like_the_chat_template(tokenizer):
    import copy

    tokenizer = copy.deepcopy(tokenizer.tokenizer)  # the session's tokenizer; its template is changed below
    template = dx.ollama_template(tokenizer)
    assert template is not None
    for system in ("", "Be brief."):
        messages = ([{"role": "system", "content": system}] if system else []) + CONVO  # Ollama keeps system in .Messages
        assert _go(template, system, messages) == tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert dx.stop_tokens(tokenizer) == ["<|im_end|>"]
    text = dx.modelfile_text("./m.gguf", template, ["<|im_end|>"], "Be brief.")
    assert text.startswith("FROM ./m.gguf\n") and 'PARAMETER stop "<|im_end|>"' in text and 'SYSTEM """Be brief."""' in text
    with pytest.raises(UsageError, match="cannot hold"):
        dx.modelfile_text("./m.gguf", template, [], 'say """hi"""')
    # a template whose turns are not one wrapper per role (the first user turn differs) gets no TEMPLATE
    tokenizer.chat_template = ("{% for m in messages %}{% if loop.first %}<s>{% endif %}[{{ m['role'] }}] {{ m['content'] }}"
                               "{% if loop.first %} (first){% endif %}\n{% endfor %}")
    assert dx.ollama_template(tokenizer) is None


def test_gguf_support_is_checked_from_config_and_tokenizer(tokenizer):
    from transformers import GPT2Config, LlamaConfig

    tokenizer = tokenizer.tokenizer
    assert dx.pre_tokenizer(tokenizer) == "smollm"
    assert dx.gguf_problem(LlamaConfig(), tokenizer) is None
    assert "architecture is 'gpt2'" in dx.gguf_problem(GPT2Config(), tokenizer)
    scaled = LlamaConfig(rope_parameters={"rope_type": "linear", "factor": 2.0, "rope_theta": 10000.0})
    assert "RoPE scaling" in dx.gguf_problem(scaled, tokenizer)
    assert "convert_hf_to_gguf.py merged --outtype f16 --outfile m.gguf" in "\n".join(dx.llama_cpp_commands("merged", "m.gguf"))


@pytest.mark.slow
def test_export_errors_before_heavy_work(project, tmp_path):
    run = runs.find_run(project, "r1")
    with pytest.raises(UsageError, match="Unknown export format"):
        dx.export_deploy(run, tmp_path / "x", "onnx")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(UsageError, match="not empty"):
        dx.export_deploy(run, tmp_path / "full", "gguf")
    half = runs.runs_root(project) / "half"
    half.mkdir()
    runs.write_json(half / runs.RUN_FILE, {"status": "interrupted", "created": "2000-01-01"})
    with pytest.raises(UsageError, match="no final adapter"):
        dx.export_deploy(half, tmp_path / "y", "merged")
    with pytest.raises(UsageError, match="cannot hold"):
        dx.export_deploy(run, tmp_path / "z", "ollama", system='"""')
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists() and not (tmp_path / "z").exists()
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"


@pytest.mark.slow
def test_merged_card_and_ollama_gguf_match_the_merged_model(project, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    run = runs.find_run(project, "r1")
    stages = []
    merged = dx.export_deploy(run, tmp_path / "merged", "merged", progress=lambda s, d, t: stages.append(s))
    assert {"model.safetensors", "tokenizer.json", "README.md"} <= set(merged.files) and "Loading the base model" in stages
    card = _front_matter((tmp_path / "merged" / "README.md").read_text())
    assert card["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct" and card["library_name"] == "transformers"
    assert "lora" in card["tags"] and "datasets" not in card  # the data was a local file, not a hub dataset
    metric = card["model-index"][0]["results"][0]["metrics"][0]
    assert metric["type"] == "exact" and metric["value"] == 0.5 and "0.250-0.750" in metric["name"]

    out = dx.export_deploy(run, tmp_path / "ollama", "ollama", gguf_type="f32", system="Answer with the item code.")
    assert out.gguf and out.modelfile and sorted(out.files) == ["Modelfile", "Modelfile.adapter", "README.md", "adapter", "r1-f32.gguf"]
    with_adapter = (tmp_path / "ollama" / "Modelfile.adapter").read_text().splitlines()
    assert with_adapter[0].startswith("FROM /") and with_adapter[1] == "ADAPTER ./adapter"  # the base folder + the LoRA
    assert (tmp_path / "ollama" / "adapter" / "adapter_model.safetensors").is_file()
    modelfile = (tmp_path / "ollama" / "Modelfile").read_text()
    assert modelfile.startswith("FROM ./r1-f32.gguf\n") and 'PARAMETER stop "<|im_end|>"' in modelfile
    assert 'SYSTEM """Answer with the item code."""' in modelfile and "{{ range .Messages }}" in modelfile
    assert _front_matter((tmp_path / "ollama" / "README.md").read_text())["library_name"] == "gguf"
    assert "ollama create r1 -f Modelfile" in out.commands

    reference = AutoModelForCausalLM.from_pretrained(tmp_path / "merged")
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "merged")
    from_gguf = AutoModelForCausalLM.from_pretrained(tmp_path / "ollama", gguf_file="r1-f32.gguf", dtype=torch.float32)
    text = tokenizer.apply_chat_template(CONVO, tokenize=False, add_generation_prompt=True)
    ids = tokenizer(text, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        expected, got = reference(**ids).logits, from_gguf(**ids).logits
    assert torch.allclose(got, expected, atol=1e-4)  # same weights, q/k rows permuted there and back
    gguf_tokenizer = AutoTokenizer.from_pretrained(tmp_path / "ollama", gguf_file="r1-f32.gguf")
    assert gguf_tokenizer(text, add_special_tokens=False)["input_ids"] == ids["input_ids"][0].tolist()
    assert gguf_tokenizer.chat_template == tokenizer.chat_template
