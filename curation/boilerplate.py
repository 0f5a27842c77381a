"""Find text that repeats across many examples (system prompts, templates, signatures) and strip it.

Two examples are duplicates only when they say the same thing *where they differ*: a long shared system
prompt or template must not make distinct examples look alike, so dedupe compares what is left after this.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

_SENTENCE = re.compile(r"(?<=[.!?:;])\s+|\n+")
_SPACE = re.compile(r"\s+")
_MAX_PREFIX_WORDS = 12


def _segments(text: str) -> list[str]:
    """Lines, then sentences within lines."""
    return [s for s in (part.strip() for part in _SENTENCE.split(text)) if s]


def _norm(segment: str) -> str:
    return _SPACE.sub(" ", segment.lower()).strip()


@dataclass(frozen=True)
class Boilerplate:
    """Segments and a leading phrase that occur in a large share of one field's texts."""

    segments: frozenset[str]
    prefix: tuple[str, ...] = ()

    def remove(self, text: str) -> str:
        """The text without its boilerplate segments and template prefix."""
        kept = [s for s in _segments(text) if _norm(s) not in self.segments]
        if self.prefix and kept:
            words = kept[0].split()
            if tuple(w.lower() for w in words[: len(self.prefix)]) == self.prefix:
                kept[0] = " ".join(words[len(self.prefix) :])
        return " ".join(s for s in kept if s)


def find_boilerplate(texts: Sequence[str], min_fraction: float = 0.3, min_count: int = 5) -> Boilerplate:
    """Segments (and a first-sentence word prefix) present in at least max(min_count, fraction·n) texts."""
    needed = max(min_count, int(min_fraction * len(texts) + 0.999))
    if len(texts) < needed:
        return Boilerplate(frozenset())
    frequency: Counter[str] = Counter()
    prefixes: Counter[tuple[str, ...]] = Counter()
    for text in texts:
        segments = _segments(text)
        frequency.update({_norm(s) for s in segments})
        if segments:
            words = tuple(w.lower() for w in segments[0].split()[:_MAX_PREFIX_WORDS])
            prefixes.update(words[:n] for n in range(3, len(words)))  # never the whole segment
    common = frozenset(s for s, count in frequency.items() if count >= needed)
    shared = [p for p, count in prefixes.items() if count >= needed]
    return Boilerplate(common, max(shared, key=len) if shared else ())
