"""Chunking by the embedder's tokens, with overlap, never across a heading and never inside a sentence.

A document is cut into sections at Markdown headings (ATX `#` and setext underlines; the HTML reader writes
`#` headings too), each section into units (sentences; list items and table rows stay whole), and units are
packed greedily into chunks of at most `chunk_tokens` tokens including the heading path that is embedded
with them. A chunk starts with the last units of the previous one, up to `overlap_tokens`. Only a single
sentence longer than a whole chunk is cut inside, at token boundaries.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from curation.errors import UsageError
from training.rag.ingest import Document

HEADING_SEPARATOR = " > "
_ATX = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_ITEM = re.compile(r"^[ \t]*(?:[-*+•]|\d{1,3}[.)]|\|)[ \t]")  # list item or table row: a unit of its own
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9À-ÖØ-Þ])")
_LEADER = re.compile(r"([.\-_=*~·])\1{3,}")  # dotted leaders and rules: "Loop Lock ........ EUR 79"
_ABBREVIATIONS = {"e.g", "i.e", "mr", "mrs", "ms", "dr", "prof", "vs", "no", "nr", "fig", "st", "approx", "incl",
                  "excl", "ca", "cf", "jr", "sr", "inc", "ltd", "co", "corp", "dept", "est", "vol", "art", "p", "pp",
                  "max", "min"}


@dataclass
class ChunkConfig:
    """How documents are cut into chunks (counted in the embedder's own tokens)."""

    chunk_tokens: int = field(default=200, metadata={"help": "Most tokens in a chunk, heading path included "
                                                              "(all-MiniLM-L6-v2 reads at most 256)."})
    overlap_tokens: int = field(default=40, metadata={"help": "Whole sentences repeated from the end of the "
                                                               "previous chunk, up to this many tokens."})

    def __post_init__(self) -> None:
        if not isinstance(self.chunk_tokens, int) or self.chunk_tokens < 16:
            raise UsageError(f"chunk_tokens must be an integer ≥ 16, not {self.chunk_tokens!r}.",
                             "Use 128–256 for sentence-transformers embedders.")
        if not isinstance(self.overlap_tokens, int) or not 0 <= self.overlap_tokens <= self.chunk_tokens // 2:
            raise UsageError(f"overlap_tokens must be between 0 and chunk_tokens/2 ({self.chunk_tokens // 2}), "
                             f"not {self.overlap_tokens!r}.", "A tenth to a fifth of chunk_tokens is usual.")


@dataclass(frozen=True)
class Chunk:
    """A piece of a document: its text is document.text[start:end]; heading is the path of headings above it."""

    source: str
    file: str
    heading: str
    start: int
    end: int
    text: str
    tokens: int

    @property
    def embed_text(self) -> str:
        """What is embedded and indexed: the heading path, then the text."""
        text = squeeze(self.text)
        return f"{self.heading}\n\n{text}" if self.heading else text

    def to_record(self) -> dict:
        """The JSON object written to chunks.jsonl."""
        return asdict(self)


@dataclass(frozen=True)
class Section:
    """Text between two headings: heading path and the character span of its body."""

    headings: tuple[str, ...]
    start: int
    end: int


def squeeze(text: str) -> str:
    """Runs of 4+ dots, dashes or underscores shortened to 3: each would be one token of the embedder's window."""
    return _LEADER.sub(r"\1\1\1", text)


def split_sections(text: str) -> list[Section]:
    """Sections of a document at Markdown headings (fenced code is never read as a heading)."""
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    body_start = 0
    in_fence = False
    i = 0
    while i < len(lines):
        line = lines[i].rstrip("\n")
        if _FENCE.match(line):
            in_fence = not in_fence
        heading = None
        if not in_fence:
            atx = _ATX.match(line)
            if atx:
                heading, level, consumed = atx.group(2).strip(), len(atx.group(1)), 1
            elif (
                i + 1 < len(lines) and line.strip() and len(line.strip()) <= 120 and not line.lstrip().startswith("|")
                and _SETEXT.match(lines[i + 1].rstrip("\n")) and (i == 0 or not lines[i - 1].strip())
            ):
                underline = lines[i + 1].strip()
                heading, level, consumed = line.strip(), 1 if underline[0] == "=" else 2, 2
        if heading is None:
            i += 1
            continue
        sections.append(Section(tuple(h for _, h in stack), body_start, offsets[i]))
        stack = [(lvl, h) for lvl, h in stack if lvl < level] + [(level, heading)]
        i += consumed
        body_start = offsets[i]
    sections.append(Section(tuple(h for _, h in stack), body_start, len(text)))
    return [s for s in sections if text[s.start : s.end].strip()]


def split_units(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Character spans of the sentences, list items and table rows in text[start:end], whitespace trimmed."""
    units: list[tuple[int, int]] = []
    for block in re.finditer(r"\S(?:.|\n(?![ \t]*\n))*", text[start:end]):  # blocks separated by blank lines
        block_start = start + block.start()
        lines = block.group().split("\n")
        if _FENCE.match(lines[0]):  # a code block is one unit (cut by tokens if too long)
            units.append((block_start, block_start + len(block.group())))
            continue
        pieces: list[tuple[int, int]] = []
        pos = block_start
        for line in lines:
            if not pieces or _ITEM.match(line):
                pieces.append((pos, pos + len(line)))
            else:  # a continuation line joins the item or paragraph above it
                pieces[-1] = (pieces[-1][0], pos + len(line))
            pos += len(line) + 1
        for a, b in pieces:
            units.extend(_sentences(text, a, b))
    return units


def _sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans in text[start:end] (a period after a known abbreviation or an initial does not end one)."""
    spans = []
    cursor = start
    for match in _SENTENCE_END.finditer(text, start, end):
        word = re.search(r"([\w.]+)$", text[cursor : match.start()])
        token = word.group(1).lower().rstrip(".") if word else ""
        if match.group().startswith(".."):  # an ellipsis or a dotted leader, not a sentence end
            continue
        if match.group().startswith(".") and (token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha())):
            continue
        spans.append((cursor, match.end()))
        cursor = match.end()
    spans.append((cursor, end))
    out = []
    for a, b in spans:
        piece = text[a:b]
        a += len(piece) - len(piece.lstrip())
        b -= len(piece) - len(piece.rstrip())
        if b > a:
            out.append((a, b))
    return out


def chunk_document(document: Document, tokenizer, config: ChunkConfig) -> list[Chunk]:
    """Cut one document into chunks (see the module docstring for the rule)."""
    text = document.text
    chunks: list[Chunk] = []
    for section in split_sections(text):
        heading = HEADING_SEPARATOR.join(section.headings)
        heading_tokens = _count(tokenizer, [heading])[0] + 1 if heading else 0
        budget = max(config.chunk_tokens - heading_tokens, config.chunk_tokens // 2)
        units = split_units(text, section.start, section.end)
        if not units:
            continue
        counts = _count(tokenizer, [text[a:b] for a, b in units])
        sized: list[tuple[int, int, int]] = []
        for (a, b), n in zip(units, counts):
            sized.extend(_cut_long(tokenizer, text, a, b, budget) if n > budget else [(a, b, n)])
        for group in _pack(sized, budget, config.overlap_tokens):
            start, end = group[0][0], group[-1][1]
            chunks.append(Chunk(document.source, document.file, heading, start, end, text[start:end],
                                sum(n for _, _, n in group) + heading_tokens))
    return chunks


def chunk_documents(documents: Sequence[Document], tokenizer, config: ChunkConfig) -> list[Chunk]:
    """Chunks of every document, in order."""
    return [c for d in documents for c in chunk_document(d, tokenizer, config)]


def _count(tokenizer, texts: list[str]) -> list[int]:
    """Tokens in each text (no special tokens)."""
    return [len(ids) for ids in tokenizer([squeeze(t) for t in texts], add_special_tokens=False)["input_ids"]]


def _cut_long(tokenizer, text: str, start: int, end: int, budget: int) -> list[tuple[int, int, int]]:
    """A unit longer than budget, cut every `budget` tokens at token boundaries (char spans from offsets)."""
    encoded = tokenizer(text[start:end], add_special_tokens=False, return_offsets_mapping=True)
    offsets = encoded["offset_mapping"]
    pieces = []
    for i in range(0, len(offsets), budget):
        window = offsets[i : i + budget]
        a = start + window[0][0]
        b = start + (offsets[i + budget][0] if i + budget < len(offsets) else end - start)
        piece = text[a:b].rstrip()
        pieces.append((a, a + len(piece), len(window)))
    return pieces


def _pack(units: list[tuple[int, int, int]], budget: int, overlap: int) -> list[list[tuple[int, int, int]]]:
    """Greedy packing of (start, end, tokens) units into groups ≤ budget; each group repeats the previous
    group's last units up to `overlap` tokens (never all of them, so every group adds something new)."""
    groups: list[list[tuple[int, int, int]]] = []
    current: list[tuple[int, int, int]] = []
    used = 0
    for unit in units:
        if current and used + unit[2] > budget:
            groups.append(current)
            carried: list[tuple[int, int, int]] = []
            carried_tokens = 0
            for prev in reversed(current[1:]):
                if carried_tokens + prev[2] > overlap:
                    break
                carried.insert(0, prev)
                carried_tokens += prev[2]
            while carried and carried_tokens + unit[2] > budget:
                carried_tokens -= carried.pop(0)[2]
            current, used = carried, carried_tokens
        current.append(unit)
        used += unit[2]
    if current and (not groups or current[-1] != groups[-1][-1]):
        groups.append(current)
    return groups
