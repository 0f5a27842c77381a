"""Real benchmark data read out of PyPI archives (see /work/shared/DATASETS.md).

Nobody on the team wrote this data: it ships inside two PyPI packages, which are downloaded once with
``pip download --no-deps`` into ``~/.cache/tunewise-bench/`` (or ``$TUNEWISE_BENCH_CACHE``) and read with
``tarfile`` / ``zipfile`` without installing them.

* ``bigbench==1.0.0`` sdist (358 MB): ASSET, SNIPS intents, SQuAD v1.1 dev, E2E NLG.
* ``evals==3.0.1.post1`` wheel (46 MB): product-matching hard negatives.

Scanning the 358 MB ``.tar.gz`` takes ~8 s, so each member read from it is also kept, byte for byte, under
``CACHE/extracted/`` and read from there on later calls.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from functools import cache
from pathlib import Path

BIGBENCH = "bigbench==1.0.0"
BIGBENCH_ARCHIVE = "bigbench-1.0.0.tar.gz"
BIGBENCH_TASKS = "bigbench-1.0.0/bigbench/benchmark_tasks/"
EVALS = "evals==3.0.1.post1"
EVALS_ARCHIVE = "evals-3.0.1.post1-py3-none-any.whl"
EVALS_DATA = "evals/registry/data/"


def cache_dir() -> Path:
    """Where archives (and members read from them) are kept; outside the repository."""
    path = Path(os.environ.get("TUNEWISE_BENCH_CACHE", Path.home() / ".cache" / "tunewise-bench"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def archive(requirement: str, filename: str) -> Path:
    """Path of a downloaded PyPI archive, running ``pip download --no-deps`` only when it is missing."""
    path = cache_dir() / filename
    if not path.exists():
        print(f"downloading {requirement} into {path.parent} (once) ...", file=sys.stderr)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--quiet",
                "-d",
                str(path.parent),
                requirement,
            ],
            check=True,
        )
        if not path.exists():
            raise FileNotFoundError(f"pip download {requirement} did not produce {path}")
    return path


def _bigbench_bytes(relpath: str) -> bytes:
    """Bytes of ``bigbench/benchmark_tasks/<relpath>`` from the sdist (memoised on disk)."""
    member = BIGBENCH_TASKS + relpath
    copy = cache_dir() / "extracted" / member
    if copy.exists():
        return copy.read_bytes()
    with tarfile.open(archive(BIGBENCH, BIGBENCH_ARCHIVE), "r:gz") as tar:
        handle = tar.extractfile(member)
        if handle is None:
            raise FileNotFoundError(member)
        data = handle.read()
    copy.parent.mkdir(parents=True, exist_ok=True)
    tmp = copy.with_suffix(copy.suffix + ".part")
    tmp.write_bytes(data)
    tmp.replace(copy)
    return data


@cache
def bigbench_task(relpath: str) -> dict:
    """A BIG-bench JSON file, e.g. ``bigbench_task("gem/asset/task.json")["examples"]``."""
    return json.loads(_bigbench_bytes(relpath))


@cache
def _evals_samples(relpath: str) -> tuple[dict, ...]:
    with zipfile.ZipFile(archive(EVALS, EVALS_ARCHIVE)) as whl:
        text = whl.read(EVALS_DATA + relpath).decode("utf-8")
    return tuple(json.loads(line) for line in text.splitlines() if line.strip())


def evals_samples(relpath: str) -> list[dict]:
    """A JSONL file under ``evals/registry/data/``, e.g. ``product-matching/zeroshot/samples.jsonl``.

    ``relpath`` may also be given with the ``evals/registry/data/`` prefix.
    """
    if relpath.startswith(EVALS_DATA):
        relpath = relpath[len(EVALS_DATA) :]
    return [dict(row) for row in _evals_samples(relpath)]


# --- ready-made views of the datasets -------------------------------------------------------------


def asset_groups() -> list[list[str]]:
    """ASSET: 359 groups, each the original sentence followed by its 9 human rewrites (may repeat)."""
    return [[ex["input"], *ex["target"]] for ex in bigbench_task("gem/asset/task.json")["examples"]]


_PRODUCT_PAIR = re.compile(r"Product 1: '(.*)'\nProduct 2: '(.*)'\s*$", re.S)


def _product_title(text: str) -> str:
    return text[len("Title: ") :] if text.startswith("Title: ") else text


def product_pairs() -> list[tuple[str, str, bool]]:
    """Product matching (zero-shot split): 433 ``(title1, title2, same_product)``; 50 true, 383 hard negatives.

    Each sample is one user message asking whether ``Product 1: 'Title: ...'`` and ``Product 2: 'Title: ...'``
    are the same product, with ``ideal`` "Yes"/"No". The ``Title: `` prefix is removed.
    """
    pairs = []
    for row in evals_samples("product-matching/zeroshot/samples.jsonl"):
        match = _PRODUCT_PAIR.search(row["input"][-1]["content"])
        if match is None:
            raise ValueError(f"unexpected product-matching sample: {row['input'][-1]['content'][:200]!r}")
        a, b = match.groups()
        pairs.append((_product_title(a), _product_title(b), row["ideal"].strip().lower() == "yes"))
    return pairs


def snips_intents() -> list[tuple[str, str]]:
    """SNIPS (BIG-bench intent_recognition): 693 ``(utterance, intent)``, 7 intents; "Utterance: " stripped."""
    out = []
    for ex in bigbench_task("intent_recognition/task.json")["examples"]:
        text = ex["input"].strip()
        text = text[len("Utterance:") :].strip() if text.startswith("Utterance:") else text
        labels = [k for k, v in ex["target_scores"].items() if v == 1]
        if len(labels) != 1:
            raise ValueError(f"expected exactly one intent with score 1: {ex['target_scores']}")
        out.append((text, labels[0]))
    return out


def _squad_paragraphs() -> list[dict]:
    data = bigbench_task("squad_shifts/squaddev_v1.1.json")["data"]
    return [para for article in data for para in article["paragraphs"]]


def squad_dev() -> list[tuple[str, list[str]]]:
    """SQuAD v1.1 dev: 2,067 ``(paragraph, [questions])``; a question's relevant document is its paragraph."""
    return [(p["context"], [qa["question"] for qa in p["qas"]]) for p in _squad_paragraphs()]


def squad_dev_qa() -> list[tuple[str, str, str, int]]:
    """SQuAD v1.1 dev, one row per question (10,565): ``(paragraph, question, answer_text, answer_start)``.

    The answer is the first of the annotators' answers.
    """
    rows = []
    for p in _squad_paragraphs():
        for qa in p["qas"]:
            answer = qa["answers"][0]
            rows.append((p["context"], qa["question"], answer["text"], int(answer["answer_start"])))
    return rows


def e2e_examples() -> list[tuple[str, str]]:
    """E2E NLG (GEM test split in BIG-bench): 1,000 ``(attributes, description)``, e.g.
    ``("name: Blue Spice, eatType: coffee shop, area: city centre", "A coffee shop in ...")``."""
    return [(ex["input"], ex["target"]) for ex in bigbench_task("gem/e2e_nlg/task.json")["examples"]]


def e2e_records() -> list[tuple[str, dict[str, str]]]:
    """E2E NLG read the other way round, as text → JSON extraction: 1,000 ``(description, attributes)`` with the
    meaning representation ``"name: Blue Spice, eatType: coffee shop"`` as a dict in its own key order (211 distinct)."""
    out = []
    for mr, text in e2e_examples():
        fields = [part.split(": ", 1) for part in mr.split(", ")]
        if any(len(f) != 2 for f in fields):
            raise ValueError(f"unexpected E2E meaning representation: {mr!r}")
        out.append((text, dict(fields)))
    return out


if __name__ == "__main__":  # smoke test: python bench/_data.py
    print("asset groups", len(asset_groups()))
    pairs = product_pairs()
    print("product pairs", len(pairs), "positives", sum(p[2] for p in pairs))
    print("snips", len(snips_intents()), "intents", len({i for _, i in snips_intents()}))
    squad = squad_dev()
    print("squad paragraphs", len(squad), "questions", sum(len(q) for _, q in squad))
    print("e2e", len(e2e_examples()), "distinct attribute sets", len({str(r) for _, r in e2e_records()}))
