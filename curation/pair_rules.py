"""Per-pair decisions after the embeddings found a candidate: is it a duplicate, is it a conflict, and which rule said so.

Structured views (SQL, code, JSON, labels, numbers) are equal only when their normalised structure is, and a rule
says what differs ("different table: airlines vs flights", "different value of area: city centre vs riverside"); free
text is decided by the embeddings. An output that keeps its values (SQL, JSON, code) names what was asked; otherwise
(labels, numbers, masked values) two inputs ask the same thing only when no content word differs between them
(entities, numbers, negation, operators, question words), unless the differing words are near-synonyms to the embedder.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from curation.dedupe import numbers_in, question_kinds
from curation.structure import CODE, JSON, LABEL, NUMBER, SQL, STRUCTURED, TEXT, Structure, structure_of

# Words sklearn lists as stop words but that change what a question asks: negation, logic, comparison, order, time.
MEANING_WORDS = frozenset("not no nor never none without neither and or either both more less most least fewer than above below "
                          "first last top bottom before after since until between except only".split())
# Question words and pronouns that sklearn also drops: "how many" asks for a count, not a list (SParC: "How many
# distinct grades are there?" vs "What are they?"), and "they"/"those" point at an earlier turn, not at the same thing.
ASKING_WORDS = frozenset("how many much when where why they them their those these".split())
# How a request is phrased, not what it asks for: "show"/"list"/"find"/"give me", "I need"/"I'd like" the same thing.
FRAMING_WORDS = frozenset("show list find return display give tell get please provide need want like".split())
NUMBERS_GAP = "numbers only one states"  # how a pair rule names numbers one text leaves out (review_groups reads it)
SYNONYM = 0.83  # word-vector cosine at which two differing words count as the same (movie/film 0.84; airline/flight 0.79, airlines/flights 0.81)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
WordVectors = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class Verdict:
    """A pair decision and the rule that made it, in words a curator can read."""

    same: bool
    rule: str


def _stop_words() -> frozenset[str]:
    """sklearn's English stop words without the words that carry meaning in a question."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS) - MEANING_WORDS - ASKING_WORDS | FRAMING_WORDS


_STOP: frozenset[str] | None = None


def _lemma(word: str) -> str:
    """A plural's final s dropped ("airlines" → "airline", "movies" → "movie"); other words as they are."""
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _content_list(text: str) -> list[str]:
    """Content words in order, with repeats."""
    global _STOP
    if _STOP is None:
        _STOP = _stop_words()
    return [_lemma(w) for w in _WORD.findall(text.casefold()) if w not in _STOP and len(w) > 1]


def content_words(text: str) -> frozenset[str]:
    """The words of a text that say what it is about: no stop words, plurals folded, meaning words kept."""
    return frozenset(_content_list(text))


def differing_words(a: str, b: str) -> tuple[frozenset[str], frozenset[str]]:
    """Content words used more often in a, and more often in b.

    Counted, not set-wise: an input that carries a schema or a history names every column once, so the word
    the question adds ("horsepower" vs "accelerate") shows only in the counts.
    """
    ca, cb = Counter(_content_list(a)), Counter(_content_list(b))
    return frozenset(ca - cb), frozenset(cb - ca)


def same_question(a: str, b: str, vectors: dict[str, np.ndarray] | None = None) -> Verdict:
    """Whether two inputs ask the same thing: every differing content word has a near-synonym on the other side."""
    only_a, only_b = differing_words(a, b)
    if not only_a and not only_b:
        return Verdict(True, "same content words")
    if (only_a | only_b) & MEANING_WORDS:
        return Verdict(False, f"different operator or negation: {_words(only_a)} vs {_words(only_b)}")
    if (only_a | only_b) & ASKING_WORDS:
        return Verdict(False, f"different question word or reference: {_words(only_a)} vs {_words(only_b)}")
    different = Verdict(False, f"different words: {_words(only_a)} vs {_words(only_b)}")
    if vectors is None:
        return different
    # each differing word needs a near-synonym among the other text's other content words (films~movies,
    # cancellation~cancel); the word itself does not count (a schema in both inputs names every column)
    for words, other in ((only_a, content_words(b)), (only_b, content_words(a))):
        for word in words:
            partners = [o for o in other if o != word and o in vectors]
            if word not in vectors or not any(float(vectors[word] @ vectors[o]) >= SYNONYM for o in partners):
                return different
    return Verdict(True, f"same question in other words: {_words(only_a)} ~ {_words(only_b)}")


def word_vectors(pairs: Iterable[tuple[str, str]], encode: WordVectors) -> dict[str, np.ndarray]:
    """Vectors of every content word that differs within the given text pairs (one encode call)."""
    words: set[str] = set()
    for a, b in pairs:
        only_a, only_b = differing_words(a, b)
        if (only_a or only_b) and not (only_a | only_b) & (MEANING_WORDS | ASKING_WORDS):
            words |= content_words(a) | content_words(b)
    ordered = sorted(words)
    return dict(zip(ordered, encode(ordered))) if ordered else {}


def _words(words: Iterable[str]) -> str:
    return ", ".join(sorted(words)) or "(none)"


def specifics_gap(a: str, b: str) -> Verdict:
    """Whether two texts that differ in numbers or question kind may still be one thing said twice.

    The same numbers and question kind: same, rule "". One text leaving out what the other states (a date, a size,
    "who"): same, and the rule names it; such a pair is never removed but is shown for review (on ASSET, 1,144
    rewrites that drop or add a number). Each stating what the other does not (1990 vs 1991, 64GB vs 128GB, "who"
    vs "when"): not the same; on product titles these are almost all different products.
    """
    gaps = []
    for what, fa, fb in (("numbers", numbers_in(a), numbers_in(b)), ("question kind", question_kinds(a), question_kinds(b))):
        if fa == fb:
            continue
        if fa - fb and fb - fa:
            return Verdict(False, f"different {what}: {_words(fa - fb)} vs {_words(fb - fa)}")
        gaps.append(f"{NUMBERS_GAP if what == 'numbers' else what + ' only one states'}: {_words(fa - fb)} vs {_words(fb - fa)}")
    return Verdict(True, "; ".join(gaps))


def _label(kind: str) -> str:
    return {SQL: "SQL", JSON: "JSON", LABEL: "label", NUMBER: "number"}.get(kind, kind)


SQL_ASPECTS = ("table", "column", "aggregate", "operator", "logic", "clause", "order", "value")


def _facts_difference(a: Structure, b: Structure, aspects: Sequence[str]) -> str | None:
    """The first aspect whose facts differ, in words ("different operator: > vs <"); None when all agree."""
    for aspect in aspects:
        fa = Counter(v for k, v in a.facts if k == aspect)
        fb = Counter(v for k, v in b.facts if k == aspect)
        if fa != fb:
            return f"different {aspect}: {_words(fa - fb)} vs {_words(fb - fa)}"
    return None


def _json_difference(a: str, b: str, path: str = "") -> str:
    """Where two normalised JSON values first differ ("different value of area: city centre vs riverside")."""
    va, vb = json.loads(a), json.loads(b)
    return _value_difference(va, vb, path)


def _value_difference(va, vb, path: str) -> str:
    where = f" of {path}" if path else ""
    if isinstance(va, dict) and isinstance(vb, dict):
        if va.keys() != vb.keys():
            return f"different keys{where}: {_words(va.keys() - vb.keys())} vs {_words(vb.keys() - va.keys())}"
        for k in sorted(va):
            if va[k] != vb[k]:
                return _value_difference(va[k], vb[k], f"{path}.{k}" if path else k)
    if isinstance(va, list) and isinstance(vb, list):
        if len(va) != len(vb):
            return f"different number of items{where}: {len(va)} vs {len(vb)}"
        for n, (x, y) in enumerate(zip(va, vb)):
            if x != y:
                return _value_difference(x, y, f"{path}[{n}]")
    return f"different value{where}: {_show(va)} vs {_show(vb)}"


def _show(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)[:60]


def structure_difference(a: Structure, b: Structure) -> str:
    """What differs between two structures, most telling first ("different table: airlines vs flights")."""
    if a.kind == SQL:
        if a.tables != b.tables:  # sets first: a table named in FROM and as a column's qualifier counts once
            return f"different table: {_words(a.tables - b.tables)} vs {_words(b.tables - a.tables)}"
        if a.columns != b.columns:
            return f"different column: {_words(a.columns - b.columns)} vs {_words(b.columns - a.columns)}"
        return _facts_difference(a, b, SQL_ASPECTS) or "different SQL after normalising (same parts, arranged differently)"
    if a.kind == JSON:
        return _json_difference(a.key, b.key)
    if a.kind == CODE:
        return _facts_difference(a, b, ("name", "value")) or "different code after normalising (same names and values, other statements)"
    if a.kind in (LABEL, NUMBER):
        return f"different {_label(a.kind)}: {a.key} vs {b.key}"
    return f"different {_label(a.kind)} after normalising"


def same_structure(a: str, b: str, kind: str, mask_literals: bool = False) -> Verdict:
    """Whether two texts of a structured kind are equal after normalising, with the rule that decided."""
    sa, sb = structure_of(a, kind, mask_literals), structure_of(b, kind, mask_literals)
    if sa is None or sb is None:  # one does not parse as the view's kind: only the exact text can match
        same = " ".join(a.split()) == " ".join(b.split())
        return Verdict(same, f"same text ({_label(kind)} view, unparsed)" if same else f"different text ({_label(kind)} view, unparsed)")
    if sa.key == sb.key:
        masked = " with literals masked" if mask_literals and kind in (SQL, JSON, CODE) else ""
        return Verdict(True, f"same {_label(kind)} after normalising{masked}")
    return Verdict(False, structure_difference(sa, sb))


def _output_fixes_question(texts: Sequence[tuple[str, str]], kinds: Sequence[str], mask_literals: bool) -> bool:
    """True when every output view is SQL, JSON or code that parses and keeps its literal values on both sides.

    Such an output names every entity and value the question asked about, so two inputs close in embedding with
    the same output ask the same thing whatever their words (BIG-bench SParC: "How many ..." vs "Count the ...").
    """
    structured = [(pair, kind) for pair, kind in zip(texts, kinds) if kind != TEXT]
    for (a, b), kind in structured:
        if kind not in (SQL, JSON, CODE):
            return False
        sa, sb = structure_of(a, kind, mask_literals), structure_of(b, kind, mask_literals)
        if sa is None or sb is None or sa.masked or sb.masked:
            return False
    return bool(structured)


def judge_views(
    texts: Sequence[tuple[str, str]], kinds: Sequence[str], sims: Sequence[float], threshold: float,
    mask_literals: bool = False, vectors: dict[str, np.ndarray] | None = None,
) -> Verdict:
    """A candidate pair judged view by view: structured views by structure, text views by similarity ≥ threshold."""
    reasons = []
    fixes = _output_fixes_question(texts[1:], kinds[1:], mask_literals)
    if kinds[0] == TEXT and any(k in STRUCTURED for k in kinds[1:]) and not fixes:
        # a label, a number or a structure with its values masked cannot tell which entity or value the input
        # asked about ("Polish" vs "Italian" → `where language = value`): the input's content words must agree too
        asked = same_question(*texts[0], vectors)
        if not asked.same:
            return Verdict(False, f"different questions: {asked.rule}")
        reasons.append(asked.rule)
    elif kinds[0] == TEXT and fixes:
        reasons.append("the output keeps its values, so it names what was asked")
    for (a, b), kind, sim in zip(texts, kinds, sims):
        if kind in STRUCTURED:
            verdict = same_structure(a, b, kind, mask_literals)
            if not verdict.same:
                return verdict
            reasons.append(verdict.rule)
        elif sim < threshold:
            return Verdict(False, f"text {sim:.2f} similar, below {threshold:.2f}")
        else:
            reasons.append(f"text {sim:.2f} similar")
    return Verdict(True, "; ".join(reasons))


def judge_conflict(
    inputs: tuple[str, str],
    outputs: tuple[str, str],
    kinds: Sequence[str],
    output_similarity: float,
    same_output_numbers: bool,
    threshold: float,
    vectors: dict[str, np.ndarray] | None = None,
    mask_literals: bool = False,
) -> Verdict:
    """Whether two examples are a conflict (same question, different answer); `same` is True for a conflict.

    Inputs must ask the same thing (same_question for text, same_structure otherwise). Text outputs differ when
    less than `threshold` similar or stating other numbers; structured outputs when their structure differs, except
    SQL over other tables or columns, which answers another question (the inputs differ where the words did not show it).
    """
    in_kind, out_kind = kinds
    asked = same_question(*inputs, vectors) if in_kind == TEXT else same_structure(*inputs, in_kind, mask_literals)
    if not asked.same:
        return Verdict(False, f"different questions: {asked.rule}")
    if out_kind == TEXT:
        if output_similarity >= threshold and same_output_numbers:
            return Verdict(False, f"same answer: outputs {output_similarity:.2f} similar")
        numbers = "" if same_output_numbers else ", other numbers"
        return Verdict(True, f"same question ({asked.rule}); outputs {output_similarity:.2f} similar{numbers}")
    answer = same_structure(*outputs, out_kind, mask_literals)
    if answer.same:
        return Verdict(False, f"same answer: {answer.rule}")
    if out_kind == SQL and answer.rule.startswith(("different table", "different column")):
        return Verdict(False, f"different questions: {answer.rule}")  # it asks about other things
    return Verdict(True, f"same question ({asked.rule}); {answer.rule}")
