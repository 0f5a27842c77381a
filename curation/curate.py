"""The curation pipeline: tokens → exact and near duplicates → conflicts → clusters → flags → split."""

from __future__ import annotations

import contextlib
import math
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from curation import cluster as clustering
from curation import dedupe, pair_rules, structure
from curation.anomalies import dominant_language, symbol_ratio
from curation.boilerplate import find_boilerplate
from curation.errors import CancelledError, UsageError
from curation.example import Example
from curation.split import group_split

Progress = Callable[[str, int, int], None]
EMBED_BYTES = 4 * 384  # bytes of one text's vector (all-MiniLM-L6-v2), to size the embeddings against memory_mb
# Texts (evenly spread) whose kinds decide a view's kind: detecting one parses it as SQL and Python (2-8 ms a text),
# which took 34 s of a 2,000-example run and would take hours at 1M.
VIEW_SAMPLE = 2000
NEAR_EXACT_RULE = "near-identical text (MinHash"  # how a MinHash pre-pass removal's rule begins


@dataclass
class CurateConfig:
    """Settings of one curation run (saved next to its outputs)."""

    threshold: float = field(default=0.9, metadata={"help": "cosine similarity (input and output) above which two examples are near duplicates"})
    review_threshold: float = field(default=0.8, metadata={"help": "pairs between this and threshold are flagged possible_duplicate for a curator to decide (never removed)"})
    conflict_threshold: float = field(default=0.95, metadata={"help": "input similarity above which two examples ask the same thing; differing outputs are then a conflict"})
    policy: str = field(default="first", metadata={"help": "which example of a duplicate group is kept: first, longest or central"})
    eval_fraction: float = field(default=0.1, metadata={"help": "share of kept examples held out for evaluation"})
    seed: int = field(default=0, metadata={"help": "seed of the split and of k-means"})
    clusters: int | None = field(default=None, metadata={"help": "number of clusters; None picks k by silhouette"})
    embedder: str | None = field(default=None, metadata={"help": "sentence-transformers folder or hub id; None = packaged all-MiniLM-L6-v2"})
    model: str | None = field(default=None, metadata={"help": "generator whose tokenizer and chat template count tokens; None = packaged SmolLM2-135M-Instruct"})
    max_tokens: int = field(default=2048, metadata={"help": "training sequence length: longer examples are flagged too_long"})
    epochs: int = field(default=3, metadata={"help": "epochs assumed by the cost estimate"})
    outlier_z: float = field(default=3.0, metadata={"help": "robust z-score of the distance to the 5 nearest examples (per view) above which an example is an outlier"})
    cache_dir: str | None = field(default=None, metadata={"help": "embedding cache folder; None = ~/.cache/tunewise/embeddings"})
    mask_literals: bool = field(default=False, metadata={"help": "SQL, JSON and code that differ only in literal values (strings, numbers) count as the same structure"})
    near_exact_above: int = field(default=20_000, metadata={"help": "from this many examples on, near-identical text (MinHash Jaccard ≥ near_exact_jaccard) is grouped before embedding, so it is embedded once; 0 = always"})
    near_exact_jaccard: float = field(default=0.9, metadata={"help": "Jaccard similarity of character 5-grams, in each of input and output, at which two examples are near-identical text"})
    memory_mb: int = field(default=1024, metadata={"help": "memory for embeddings in flight; when all vectors need more, they go to a memory-mapped file in the cache folder"})

    def __post_init__(self) -> None:
        checks = [
            ("threshold", 0 < self.threshold <= 1, "a number in (0, 1], e.g. 0.9"),
            ("conflict_threshold", 0 < self.conflict_threshold <= 1, "a number in (0, 1], e.g. 0.95"),
            ("review_threshold", 0 < self.review_threshold <= self.threshold, "a number in (0, threshold], e.g. 0.8"),
            ("policy", self.policy in dedupe.POLICIES, "one of " + ", ".join(dedupe.POLICIES)),
            ("eval_fraction", 0 <= self.eval_fraction < 1, "a number in [0, 1), e.g. 0.1"),
            ("clusters", self.clusters is None or self.clusters >= 1, "a whole number ≥ 1, or leave it out for automatic"),
            ("max_tokens", self.max_tokens > 0, "a positive number of tokens"),
            ("epochs", self.epochs > 0, "a positive number"),
            ("outlier_z", self.outlier_z > 0, "a positive number, e.g. 3.0"),
            ("near_exact_above", self.near_exact_above >= 0, "a whole number ≥ 0 (0 = always), e.g. 20000"),
            ("near_exact_jaccard", 0.5 <= self.near_exact_jaccard <= 1, "a number in [0.5, 1], e.g. 0.9"),
            ("memory_mb", self.memory_mb >= 64, "a number of megabytes ≥ 64, e.g. 1024"),
        ]
        for name, ok, expected in checks:
            if not ok:
                raise UsageError(f"Invalid {name}: {getattr(self, name)!r}.", f"Use {expected}.")

    def to_dict(self) -> dict[str, Any]:
        """Settings as plain JSON-able data."""
        return asdict(self)


@dataclass
class Removal:
    """An example taken out of the clean set, and why."""

    index: int
    reason: str  # exact_duplicate | near_duplicate
    duplicate_of: int
    similarity: float
    rule: str = ""  # which rule decided, in words ("same SQL after normalising; text 0.93 similar")


@dataclass
class Flag:
    """Something a curator should look at; flagged examples stay in the clean set."""

    index: int
    kind: str  # possible_duplicate | conflict | outlier | too_long | too_short | tiny_cluster | language | unusual_text
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class CurationResult:
    """Everything one run found, indexed by position in `examples`."""

    examples: list[Example]
    config: CurateConfig
    removals: list[Removal]
    flags: list[Flag]
    clustering: clustering.Clustering  # over kept examples (positions in `kept`)
    kept: np.ndarray  # indices of kept examples, in input order
    is_eval: np.ndarray  # over kept
    tokens: Any  # curation.tokens.TokenCounts over examples
    conflict_groups: list[list[int]]
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def train(self) -> list[Example]:
        """Kept examples in the training split."""
        return [self.examples[i] for i, e in zip(self.kept, self.is_eval) if not e]

    @property
    def eval(self) -> list[Example]:
        """Kept examples in the evaluation split."""
        return [self.examples[i] for i, e in zip(self.kept, self.is_eval) if e]


@dataclass
class Views:
    """What dedupe compares: each example's input and output with shared boilerplate removed."""

    inputs: list[str]
    outputs: list[str]
    exact_keys: list[str]
    raw_inputs: list[str] = field(default_factory=list)  # as written: structured views are parsed from these
    raw_outputs: list[str] = field(default_factory=list)
    kinds: tuple[str, str] = (structure.TEXT, structure.TEXT)  # kind of the input view and of the output view


def _spread(items: list[str], k: int) -> list[str]:
    """At most k items, evenly spread over the list (all of them when there are no more than k)."""
    return items if len(items) <= k else items[:: -(-len(items) // k)]


def build_views(examples: Sequence[Example]) -> Views:
    """Strip text repeated across many examples (system prompt, template, signature) from both sides."""
    systems = [e.system_text for e in examples]
    users = [e.input_text for e in examples]
    outputs = [e.output_text for e in examples]
    system_bp, user_bp, output_bp = find_boilerplate(systems), find_boilerplate(users), find_boilerplate(outputs)
    stripped_systems = _each_distinct(system_bp.remove, systems)  # one system prompt is often shared by all
    inputs = [" ".join(p for p in (s, user_bp.remove(u)) if p) for s, u in zip(stripped_systems, users)]
    exact = [dedupe.text_hash("\x1e".join(f"{m['role']}\x1f{m['content']}" for m in e.messages)) for e in examples]
    kinds = (structure.view_kind(_spread(users, VIEW_SAMPLE)), structure.view_kind(_spread(outputs, VIEW_SAMPLE)))
    return Views(inputs, _each_distinct(output_bp.remove, outputs), exact, users, outputs, kinds)


def _each_distinct(function: Callable[[str], str], texts: list[str]) -> list[str]:
    """function of each text, computed once per distinct text."""
    done: dict[str, str] = {}
    return [done[t] if t in done else done.setdefault(t, function(t)) for t in texts]


def curate(
    examples: Sequence[Example],
    config: CurateConfig | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    embedder=None,
    tokenizer=None,
    tokens=None,
) -> CurationResult:
    """Run the whole curation on validated examples; nothing here writes files.

    ``tokens``: the examples' TokenCounts when the caller already has them (run_curation's context check)."""
    from curation.embed import LOAD_STAGE, Embedder
    from curation.model_sources import load_tokenizer
    from curation.tokens import count_tokens

    config = config or CurateConfig()
    examples = list(examples)
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def step(name: str) -> None:
        nonlocal clock
        if cancel is not None and cancel.is_set():
            raise CancelledError("Curation cancelled.", "Run it again: embeddings computed so far are cached.")
        now = time.perf_counter()
        timings[name] = round(now - clock, 3)
        clock = now

    def report(stage: str, done: int, total: int) -> None:
        if progress:
            progress(stage, done, total)

    report("tokens", 0, 1)
    if tokens is None or len(tokens.total) != len(examples):
        tokens = count_tokens(examples, tokenizer or load_tokenizer(config.model))
    report("tokens", 1, 1)
    step("tokens")

    views = build_views(examples)
    exact_groups = dedupe.exact_duplicate_groups(views.exact_keys)
    removals = [Removal(m, "exact_duplicate", g.keep, 1.0, "same messages after normalising case and whitespace")
                for g in exact_groups for m in g.members]
    survivors = np.setdiff1d(np.arange(len(examples)), [r.index for r in removals])
    step("exact")

    near_exact = len(survivors) >= max(2, config.near_exact_above)
    if near_exact:
        found = near_exact_removals(survivors, views, tokens, config, lambda d, t: report("near-identical", d, t), cancel)
        removals += found
        survivors = np.setdiff1d(survivors, [r.index for r in found])
    step("near_exact")

    embedder = embedder or Embedder(config.embedder, cache_dir=config.cache_dir)
    alive = np.zeros(len(examples), dtype=bool)
    alive[survivors] = True  # removed examples are never compared again: embed one empty text in their place
    texts = [t if alive[i % len(examples)] else "" for i, t in enumerate(views.inputs + views.outputs)]
    vectors, in_file = embed_texts(embedder, texts, config, lambda d, t: report("embed", d, t), cancel,
                                   lambda d, t: report(LOAD_STAGE, d, t))
    v_in, v_out = vectors[: len(examples)], vectors[len(examples) :]
    step("embed")

    report("dedupe", 0, 1)
    candidates, rules, removable = near_candidates(survivors, v_in, v_out, views, config, embedder.encode)
    removals, flags, result_clusters, kept, is_eval, conflict_groups = finish_curation(
        examples, config, survivors, removals, candidates, rules, v_in, v_out, views, tokens, embedder.encode, report, step,
        removable)
    stats = {"view_kinds": {"input": views.kinds[0], "output": views.kinds[1]}, "timings": timings, "embedded": embedder.encoded, "embed_cache_hits": embedder.cache_hits, "embedder": embedder.name,
             "near_exact": {"applied": near_exact, "removed": sum(r.rule.startswith(NEAR_EXACT_RULE) for r in removals)},
             "embeddings_file": in_file,
             "search_recall": candidates.recall.to_dict() if candidates.recall is not None else None}
    return CurationResult(examples, config, removals, flags, result_clusters, kept, is_eval, tokens, conflict_groups, stats)


def embed_texts(embedder, texts: list[str], config: CurateConfig, progress=None, cancel: threading.Event | None = None,
                on_load=None) -> tuple[np.ndarray, bool]:
    """Embeddings of texts, in memory or, when they need more than half of config.memory_mb, memory-mapped from
    a scratch file in the cache folder; and whether they are in a file.

    The scratch file is unlinked as soon as it is mapped: the mapping lives on, and nothing is left on disk
    when the run ends or fails.
    """
    from curation.model_sources import cache_root

    if len(texts) * EMBED_BYTES <= config.memory_mb * 2**20 // 2:
        return embedder.encode_long(texts, progress=progress, cancel=cancel, on_load=on_load), False
    root = Path(config.cache_dir) if config.cache_dir else cache_root() / "embeddings"
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"curate-{uuid.uuid4().hex}.npy"
    try:
        vectors = embedder.encode_to_file(texts, path, config.memory_mb, progress=progress, cancel=cancel, on_load=on_load)
    finally:
        with contextlib.suppress(OSError):  # on Windows a mapped file cannot be removed: it stays in the cache folder
            path.unlink(missing_ok=True)
    return vectors, True



def finish_curation(examples: Sequence[Example], config: CurateConfig, survivors: np.ndarray, removals: list[Removal],
                    candidates, rules: list[str], v_in: np.ndarray, v_out: np.ndarray, views: Views, tokens, encode,
                    report: Progress, step: Callable[[str], None], removable: np.ndarray):
    """Both engines' stages after the near-duplicate candidates: groups, possible duplicates, conflicts, clusters,
    flags and the split; `removable` False marks a candidate shown for review only (judge_candidates).
    Returns (removals, flags, clustering, kept, is_eval, conflict_groups)."""
    lengths = [int(tokens.total[i]) for i in survivors]
    sure = (candidates.similarity >= config.threshold) & removable
    pairs = dedupe.Pairs(candidates.left[sure], candidates.right[sure], candidates.similarity[sure])
    rule_of = {(int(a), int(b)): r for a, b, r in zip(candidates.left, candidates.right, rules)}
    near_groups = dedupe.group_pairs(len(survivors), pairs, config.policy, lengths)
    for g in near_groups:
        removals += [Removal(int(survivors[m]), "near_duplicate", int(survivors[g.keep]), s,
                             rule_of.get((min(g.keep, m), max(g.keep, m)), ""))
                     for m, s in zip(g.members, g.similarity)]
    removed = {r.index for r in removals}
    kept = np.array([i for i in range(len(examples)) if i not in removed], dtype=np.int64)
    report("dedupe", 1, 1)
    step("near")

    flags = [
        Flag(int(survivors[b]), "possible_duplicate",
             {"with": [int(survivors[a])], "similarity": round(float(sim), 4),
              "rule": rule_of[(int(a), int(b))] + (f"; below the threshold {config.threshold:.2f}" if sim < config.threshold else "")})
        for a, b, sim in zip(candidates.left[~sure], candidates.right[~sure], candidates.similarity[~sure])
        if survivors[a] not in removed and survivors[b] not in removed
    ]
    conflict_groups, conflict_flags = find_conflicts(kept, v_in, v_out, views, config, encode)
    flags += conflict_flags
    step("conflicts")

    report("cluster", 0, 1)
    # Cluster on input and output together: what is asked and how it is answered make "a kind of task"
    # (on the sample, NMI with the true categories 0.43 vs 0.13 for the input alone).
    joint = v_in[kept] + v_out[kept]
    joint /= np.maximum(np.linalg.norm(joint, axis=1, keepdims=True), 1e-12)
    result_clusters = clustering.cluster_embeddings(
        joint, config.clusters, texts=[f"{views.inputs[i]} {views.outputs[i]}" for i in kept], seed=config.seed
    )
    report("cluster", 1, 1)
    step("cluster")

    flags += flag_examples(kept, v_in, v_out, tokens, result_clusters, config)
    flags += flag_text([examples[i] for i in kept], kept, config)
    step("flags")
    group_of = np.arange(len(kept))
    position = {int(idx): p for p, idx in enumerate(kept)}
    for g, members in enumerate(conflict_groups):
        group_of[[position[m] for m in members]] = len(kept) + g
    is_eval = group_split(result_clusters.labels, group_of, config.eval_fraction, config.seed)
    step("split")
    removals.sort(key=lambda r: r.index)
    flags.sort(key=lambda f: (f.index, f.kind))
    return removals, flags, result_clusters, kept, is_eval, conflict_groups

def _floor2(value: float) -> str:
    """A similarity rounded down to 2 decimals, for "0.98+ similar" (0.986 is not 0.99+)."""
    return f"{math.floor(value * 100 + 1e-9) / 100:.2f}"


def near_candidates(
    survivors: np.ndarray, v_in, v_out, views: Views, config: CurateConfig, encode=None
) -> tuple[dedupe.Pairs, list[str], np.ndarray]:
    """Duplicate candidates among survivors (positions in survivors) at the review threshold, the rule of each, and
    whether each may be removed (False: shown for review only).

    Text views are compared by embedding (≥ the review threshold); structured views (SQL, code, JSON, labels,
    numbers) only by their normalised structure (judge_candidates).
    """
    found = dedupe.duplicate_pairs(search_views(survivors, v_in, v_out, views), min(config.review_threshold, config.threshold))
    return judge_candidates(found, survivors, views, config, encode)


def search_views(survivors: np.ndarray, v_in, v_out, views: Views) -> list[np.ndarray]:
    """The survivors' vectors of each text view, searched for duplicates (the input view when none is text)."""
    is_text = [k == structure.TEXT for k in views.kinds]
    return [v[survivors] for v, t in zip((v_in, v_out), is_text) if t] or [v_in[survivors]]


def judge_candidates(
    found: dedupe.Pairs, survivors: np.ndarray, views: Views, config: CurateConfig, encode=None
) -> tuple[dedupe.Pairs, list[str], np.ndarray]:
    """Neighbour pairs (similar in every text view) judged by the pair rules: the candidates, the rule of each, and
    whether each may be removed. Both engines call it after their own search.

    A pair must state the same numbers and ask the same kind of question to be removed; when one text only leaves
    out what the other states, it is shown for review (pair_rules.specifics_gap), and when each states what the
    other does not, it is no candidate. Structured views must have the same structure (pair_rules.judge_views).
    """
    kinds = views.kinds
    is_text = [k == structure.TEXT for k in kinds]
    guard = [" ".join(t for t, ok in zip((views.inputs[i], views.outputs[i]), is_text) if ok) for i in survivors]
    low = min(config.review_threshold, config.threshold)
    found, gaps = _specific_pairs(found, guard)
    if all(is_text):
        rules = [f"input and output {_floor2(s)}+ similar, same numbers and question kind" if p not in gaps else
                 f"input and output {_floor2(s)}+ similar, but {gaps[p]}: not removed" for p, s in enumerate(found.similarity.tolist())]
        return found, rules, np.array([p not in gaps for p in range(len(found.left))], dtype=bool)
    ok = np.zeros(len(found.left), dtype=bool)
    rules = []
    vectors = {}
    if encode is not None and kinds[0] == structure.TEXT:
        vectors = pair_rules.word_vectors(
            [(views.raw_inputs[int(survivors[a])], views.raw_inputs[int(survivors[b])]) for a, b in zip(found.left, found.right)], encode)
    for p, (a, b, sim) in enumerate(zip(found.left.tolist(), found.right.tolist(), found.similarity.tolist())):
        ia, ib = int(survivors[a]), int(survivors[b])
        texts = [(views.raw_inputs[ia], views.raw_inputs[ib]), (views.raw_outputs[ia], views.raw_outputs[ib])]
        verdict = pair_rules.judge_views(texts, kinds, [sim, sim], low, config.mask_literals, vectors)
        if verdict.same:
            ok[p] = True
            rules.append(verdict.rule if p not in gaps else f"{verdict.rule}; but {gaps[p]}: not removed")
    score = found.similarity[ok] if any(is_text) else np.ones(int(ok.sum()), dtype=np.float32)
    removable = np.array([p not in gaps for p in np.flatnonzero(ok).tolist()], dtype=bool)
    return dedupe.Pairs(found.left[ok], found.right[ok], score, found.recall), rules, removable


def _specific_pairs(found: dedupe.Pairs, texts: Sequence[str]) -> tuple[dedupe.Pairs, dict[int, str]]:
    """The pairs whose texts agree on numbers and question kind, or where one only leaves out what the other states;
    and for those, by position in the returned pairs, what one leaves out."""
    if not len(found.left):
        return found, {}
    same = dedupe.same_specifics(texts, found.left, found.right)
    keep, gaps = same.copy(), {}
    for p in np.flatnonzero(~same).tolist():  # few: checked one by one
        verdict = pair_rules.specifics_gap(texts[int(found.left[p])], texts[int(found.right[p])])
        keep[p] = verdict.same
        if verdict.same:
            gaps[p] = verdict.rule
    position = np.cumsum(keep) - 1
    return (dedupe.Pairs(found.left[keep], found.right[keep], found.similarity[keep], found.recall),
            {int(position[p]): rule for p, rule in gaps.items()})


def near_exact_removals(
    survivors: np.ndarray, views: Views, tokens, config: CurateConfig, progress=None, cancel: threading.Event | None = None,
) -> list[Removal]:
    """Examples among survivors that are near-identical text to a kept one (MinHash-LSH, then the pair rules),
    found before embedding so that each is embedded and searched once."""
    from curation.minhash import near_exact_pairs

    pick = survivors.tolist()
    found = near_exact_pairs(
        [views.inputs[i] for i in pick], [views.outputs[i] for i in pick],
        ([views.raw_inputs[i] for i in pick], [views.raw_outputs[i] for i in pick]),
        views.kinds, config.near_exact_jaccard, config.mask_literals, progress, cancel,
    )
    if not len(found.left):
        return []
    rule_of = {(int(a), int(b)): r for a, b, r in zip(found.left, found.right, found.rules)}
    lengths = [int(tokens.total[i]) for i in pick]
    groups = dedupe.group_pairs(len(pick), dedupe.Pairs(found.left, found.right, found.jaccard), config.policy, lengths)
    return [Removal(pick[m], "near_duplicate", pick[g.keep], s, rule_of[(min(g.keep, m), max(g.keep, m))])
            for g in groups for m, s in zip(g.members, g.similarity)]


def find_conflicts(kept, v_in, v_out, views: Views, config: CurateConfig, encode=None) -> tuple[list[list[int]], list[Flag]]:
    """Groups of kept examples that ask the same thing but answer differently (flagged, never removed).

    Inputs close in embedding are the same question only when no content word differs (pair_rules.same_question;
    `encode` lets near-synonyms through); structured outputs differ by structure, and SQL on other tables
    answers another question.
    """
    pairs = dedupe.neighbour_pairs(v_in[kept], config.conflict_threshold)
    if not len(pairs.left):
        return [], []
    left, right = kept[pairs.left], kept[pairs.right]
    same_input = dedupe.same_specifics(views.inputs, left, right)
    out_sim = dedupe.pair_similarity(v_out, left, right)
    same_numbers = dedupe.same_numbers(views.outputs, left, right)
    asked = [(views.inputs[a], views.inputs[b]) for a, b, ok in zip(left.tolist(), right.tolist(), same_input) if ok]
    vectors = pair_rules.word_vectors(asked, encode) if encode is not None and views.kinds[0] == structure.TEXT else {}
    hit = np.zeros(len(left), dtype=bool)
    rule_of: dict[tuple[int, int], str] = {}
    for p, (a, b) in enumerate(zip(left.tolist(), right.tolist())):
        if not same_input[p]:
            continue
        verdict = pair_rules.judge_conflict(
            (views.inputs[a], views.inputs[b]) if views.kinds[0] == structure.TEXT else (views.raw_inputs[a], views.raw_inputs[b]),
            (views.raw_outputs[a], views.raw_outputs[b]), views.kinds, float(out_sim[p]), bool(same_numbers[p]),
            config.threshold, vectors, config.mask_literals,
        )
        if verdict.same:
            hit[p] = True
            rule_of[(a, b)] = rule_of[(b, a)] = verdict.rule
    conflict = dedupe.Pairs(pairs.left[hit], pairs.right[hit], pairs.similarity[hit])
    if not len(conflict.left):
        return [], []
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(kept)
    graph = coo_matrix((np.ones(len(conflict.left)), (conflict.left, conflict.right)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    involved = np.union1d(conflict.left, conflict.right)
    groups = [sorted(int(kept[p]) for p in involved if labels[p] == lab) for lab in np.unique(labels[involved])]
    flags = []
    for g, members in enumerate(groups):
        for m in members:
            others = [o for o in members if o != m]
            sims = [float(v_in[m] @ v_in[o]) for o in others]
            outs = [float(v_out[m] @ v_out[o]) for o in others]
            rules = list(dict.fromkeys(rule_of[(m, o)] for o in others if (m, o) in rule_of))
            flags.append(Flag(m, "conflict", {"group": g, "with": others, "input_similarity": sims, "output_similarity": outs,
                                              "rule": " | ".join(rules)}))
    return groups, flags


def flag_text(kept_examples: Sequence[Example], kept: np.ndarray, config: CurateConfig) -> list[Flag]:
    """A reply or input in another language than the rest, and inputs/outputs that read like logs or code."""
    flags: list[Flag] = []
    if len(kept) < 10:
        return flags
    for view, texts in (("input", [e.input_text for e in kept_examples]), ("output", [e.output_text for e in kept_examples])):
        langs, main = dominant_language(texts)
        for p, lang in enumerate(langs):
            if main and lang and lang != main:
                flags.append(Flag(int(kept[p]), "language", {"view": view, "language": lang, "expected": main}))
        ratio = symbol_ratio(texts)
        z = clustering.robust_z(ratio)
        for p in np.flatnonzero((z > config.outlier_z) & (ratio > 0.10)):
            flags.append(Flag(int(kept[p]), "unusual_text", {"view": view, "symbol_ratio": round(float(ratio[p]), 3), "z": round(float(z[p]), 1)}))
    return flags


OUTLIER_MIN_SPREAD = 0.01  # cosine distance: a neighbour 0.03 further than usual is not an outlier


def flag_examples(kept, v_in, v_out, tokens, result, config: CurateConfig) -> list[Flag]:
    """Outliers (far from their nearest neighbours in input or output), very short replies, tiny clusters, too long."""
    flags: list[Flag] = []
    labels = result.labels
    if len(kept) >= 10:
        for view, vectors in (("input", v_in[kept]), ("output", v_out[kept])):
            # rounded, with a spread of at least 0.01: where most replies have exact twins (distance ~0), float
            # noise from batching (the Ray engine's vectors differ in the 8th digit) would otherwise flag hundreds
            distance = np.round(clustering.neighbour_distance(vectors), 4)
            z = clustering.robust_z(distance, floor=OUTLIER_MIN_SPREAD)
            for p in np.flatnonzero(z > config.outlier_z):
                flags.append(Flag(int(kept[p]), "outlier", {"view": view, "neighbour_distance": round(float(distance[p]), 3), "z": round(float(z[p]), 1), "cluster": int(labels[p])}))
        reply = np.log1p(tokens.assistant[kept].astype(float))
        z = clustering.robust_z(reply)
        short = tokens.assistant[kept] < np.median(tokens.assistant[kept]) / 4  # unusual *and* much shorter
        for p in np.flatnonzero((z < -config.outlier_z) & short):
            flags.append(Flag(int(kept[p]), "too_short", {"assistant_tokens": int(tokens.assistant[kept[p]]), "z": round(float(z[p]), 1)}))
        tiny = max(2, int(0.01 * len(kept)))
        for c in result.clusters:
            if result.k > 1 and c.size <= tiny:
                flags += [Flag(int(kept[p]), "tiny_cluster", {"cluster": c.id, "size": c.size}) for p in c.members]
    for i in kept:
        if tokens.total[i] > config.max_tokens:
            flags.append(Flag(int(i), "too_long", {"tokens": int(tokens.total[i]), "max_tokens": config.max_tokens}))
    return flags
