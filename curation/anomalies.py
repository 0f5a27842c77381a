"""Cheap per-text signals that embeddings miss: the language a text is written in, and how un-prose-like it is."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

# Short, high-frequency function words; enough to tell these languages apart on a sentence or more.
STOPWORDS = {
    "en": "the and you your is are to of for it this that with have we not be on can will".split(),
    "fr": "le la les et vous votre est sont de des pour que qui avec nous pas une un sur".split(),
    "de": "der die das und sie ihr ist sind zu von für mit wir nicht ein eine auf ich".split(),
    "es": "el la los las y usted su es son de para que con nosotros no una un por".split(),
    "it": "il lo la gli le e voi vostro è sono di per che con noi non una un".split(),
    "nl": "de het een en je jouw is zijn van voor dat met wij niet op ik ook".split(),
    "pt": "o a os as e você seu é são de para que com nós não uma um".split(),
}
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_SYMBOL = re.compile(r"[^\w\s]|_")
_LOOKUP: dict[str, list[str]] = {}
for _lang, _words in STOPWORDS.items():
    for _w in _words:
        _LOOKUP.setdefault(_w, []).append(_lang)
MIN_HITS = 4  # fewer function words than this: too short to call


def language_of(text: str) -> str | None:
    """The language whose function words the text uses most, or None when the text is too short to tell."""
    votes: Counter[str] = Counter()
    hits = 0
    words = _WORD.findall(text.lower())
    for word in words:
        langs = _LOOKUP.get(word)
        if langs:
            hits += 1
            votes.update({lang: 1 / len(langs) for lang in langs})
    if hits < MIN_HITS or hits < 0.15 * len(words):  # code, logs, lists of names: not prose
        return None
    (best, top), *rest = votes.most_common(2) + [("", 0.0)]
    return best if top > 1.5 * rest[0][1] else None


def dominant_language(texts: Sequence[str]) -> tuple[list[str | None], str | None]:
    """Each text's language and the language most of them share."""
    langs = [language_of(t) for t in texts]
    counts = Counter(lang for lang in langs if lang)
    return langs, (counts.most_common(1)[0][0] if counts else None)


def symbol_ratio(texts: Sequence[str]) -> np.ndarray:
    """Share of characters that are neither letters, digits nor spaces: high for logs, stack traces, code."""
    return np.array([len(_SYMBOL.findall(t)) / len(t) if t else 0.0 for t in texts], dtype=np.float32)
