"""Answering from retrieved chunks: numbered sources in the prompt, citations like [1] in the answer mapped back."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

from curation.errors import UsageError
from training.rag.retrieve import Hit, RetrieveConfig, search

SYSTEM_PROMPT = (
    "You answer questions using only the numbered sources you are given. After each statement, cite the "
    "sources it comes from by their numbers in square brackets, like [1] or [2][3]. If the sources do not "
    "contain the answer, say that you do not know. Be concise."
)
ANSWER_INSTRUCTION = "Answer in one or two sentences using only the sources, and cite the source number in square brackets, like [1]."
_CITATION = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_ANSWER_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|$)")
_WORD = re.compile(r"[^\W_]+")


@dataclass
class AnswerConfig:
    """How questions are answered from an index."""

    k: int = field(default=4, metadata={"help": "Chunks retrieved and shown to the model as numbered sources."})
    mode: str = field(default="hybrid", metadata={"help": "Retrieval mode: dense, bm25 or hybrid."})
    max_new_tokens: int = field(default=256, metadata={"help": "Most tokens generated per answer."})
    temperature: float = field(default=0.0, metadata={"help": "Sampling temperature (0: greedy, reproducible)."})
    context_tokens: int = field(default=2048, metadata={"help": "Most generator tokens spent on sources; the "
                                                                "lowest-ranked sources are dropped to fit."})
    system_prompt: str = field(default=SYSTEM_PROMPT, metadata={"help": "Instructions given to the model."})
    attribute_threshold: float = field(default=0.6, metadata={"help": "A sentence the model did not cite is "
                                       "attributed to the source holding at least this share of its content words "
                                       "(1.0: never attribute)."})

    def __post_init__(self) -> None:
        RetrieveConfig(k=self.k, mode=self.mode)  # validates k and mode
        if not isinstance(self.max_new_tokens, int) or self.max_new_tokens < 1:
            raise UsageError(f"max_new_tokens must be a positive integer, not {self.max_new_tokens!r}.")
        if self.temperature < 0:
            raise UsageError(f"temperature must be ≥ 0, not {self.temperature!r}.")
        if not 0 < self.attribute_threshold <= 1:
            raise UsageError(f"attribute_threshold must be in (0, 1], not {self.attribute_threshold!r}.")
        if not isinstance(self.context_tokens, int) or self.context_tokens < 64:
            raise UsageError(f"context_tokens must be an integer ≥ 64, not {self.context_tokens!r}.")


@dataclass
class Citation:
    """A source number the answer cites, and the chunk it stands for."""

    number: int
    source: str
    heading: str
    span: tuple[int, int]
    inferred: bool = False  # added by word-overlap attribution, not written by the model


@dataclass
class Answer:
    """An answer with the sources shown to the model, the ones it cited, and numbers it cited that do not exist."""

    question: str
    text: str
    sources: list[Hit]
    citations: list[Citation]
    invalid_citations: list[int] = field(default_factory=list)
    raw: str = ""  # the model's own words, before inferred citations were added

    def to_dict(self) -> dict:
        """JSON-ready form (the CLI's --json)."""
        return {
            "question": self.question, "answer": self.text, "raw_answer": self.raw,
            "citations": [{**asdict(c), "span": list(c.span)} for c in self.citations],
            "invalid_citations": self.invalid_citations,
            "sources": [{"number": i, **h.to_dict()} for i, h in enumerate(self.sources, 1)],
        }


def format_sources(hits: Sequence[Hit]) -> str:
    """The numbered sources block: `[n] source › heading` then the chunk text."""
    blocks = []
    for number, hit in enumerate(hits, 1):
        where = f"{hit.source} › {hit.heading}" if hit.heading else hit.source
        blocks.append(f"[{number}] {where}\n{hit.text.strip()}")
    return "\n\n".join(blocks)


def build_messages(question: str, hits: Sequence[Hit], system_prompt: str = SYSTEM_PROMPT) -> list[dict[str, str]]:
    """Chat messages asking the model to answer question from the numbered hits."""
    user = f"Sources:\n\n{format_sources(hits)}\n\nQuestion: {question.strip()}\n\n{ANSWER_INSTRUCTION}"
    return [{"role": "system", "content": system_prompt}, {"role": "user", "content": user}]


def fit_sources(hits: Sequence[Hit], tokenizer, budget: int) -> list[Hit]:
    """The best-ranked hits whose text fits in budget tokens of the generator (at least one, cut if need be)."""
    kept: list[Hit] = []
    used = 0
    for hit in hits:
        n = len(tokenizer(hit.text, add_special_tokens=False)["input_ids"]) + 16  # + the "[n] source › heading" line
        if kept and used + n > budget:
            break
        kept.append(hit)
        used += n
    return kept


def parse_citations(text: str, n_sources: int) -> tuple[list[int], list[int]]:
    """Source numbers cited in text, in order of first mention: (valid ones, ones with no such source)."""
    valid: list[int] = []
    invalid: list[int] = []
    for match in _CITATION.finditer(text):
        for number in (int(x) for x in re.split(r"[,;]", match.group(1))):
            target = valid if 1 <= number <= n_sources else invalid
            if number not in target:
                target.append(number)
    return valid, invalid


def _content_words(text: str) -> set[str]:
    """Lower-cased words of 3+ characters that are not English stop words (numbers of any length count)."""
    from bm25s.stopwords import STOPWORDS_EN

    return {w for w in _WORD.findall(text.lower()) if (len(w) > 2 or w.isdigit()) and w not in STOPWORDS_EN}


def attribute(sentence: str, hits: Sequence[Hit], threshold: float) -> int | None:
    """The number of the source holding the largest share (≥ threshold) of the sentence's content words."""
    words = _content_words(sentence)
    if len(words) < 2:
        return None
    shares = [len(words & _content_words(f"{h.heading} {h.text}")) / len(words) for h in hits]
    best = max(range(len(hits)), key=lambda i: shares[i], default=None)
    return best + 1 if best is not None and shares[best] >= threshold else None


def make_answer(question: str, hits: Sequence[Hit], raw: str, threshold: float = 0.6) -> Answer:
    """An Answer with citations mapped to the hits they number; each sentence the model left uncited gets the
    source most of its content words come from, marked inferred (small models rarely cite on their own)."""
    raw = raw.strip()
    valid, invalid = parse_citations(raw, len(hits))
    inferred: list[int] = []
    pieces: list[str] = []
    cursor = 0
    for match in _ANSWER_SENTENCE.finditer(raw):
        sentence = match.group()
        pieces.append(raw[cursor : match.end()])
        cursor = match.end()
        tail = raw[cursor : cursor + 12]
        if _CITATION.search(sentence) or re.match(r"\s*\[\d", tail) or not hits or threshold >= 1:
            continue
        number = attribute(sentence, hits, threshold)
        if number is not None:
            pieces.append(f" [{number}]")
            if number not in valid and number not in inferred:
                inferred.append(number)
    pieces.append(raw[cursor:])
    text = "".join(pieces)
    order, _ = parse_citations(text, len(hits))
    citations = [Citation(n, hits[n - 1].source, hits[n - 1].heading, hits[n - 1].span, n in inferred and n not in valid)
                 for n in order]
    return Answer(question, text, list(hits), citations, invalid, raw)


def answer_questions(
    index,
    questions: Sequence[str],
    generator,
    embedder=None,
    config: AnswerConfig | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> list[Answer]:
    """Retrieve sources for each question and answer it with the generator (Generator.chat), citing them."""
    config = config or AnswerConfig()
    questions = [q for q in questions]
    if any(not q.strip() for q in questions):
        raise UsageError("A question is empty.", "Ask something, e.g. tunewise rag ask DIR \"How long is the warranty?\"")
    hit_lists = search(index, questions, RetrieveConfig(k=config.k, mode=config.mode), embedder,
                       progress=(lambda d, t: progress("search", d, t)) if progress else None, cancel=cancel)
    hit_lists = [fit_sources(hits, generator.tokenizer, config.context_tokens) for hits in hit_lists]
    conversations = [build_messages(q, hits, config.system_prompt) for q, hits in zip(questions, hit_lists)]
    texts = generator.chat(
        conversations, max_new_tokens=config.max_new_tokens, temperature=config.temperature,
        progress=progress, cancel=cancel,
    )
    return [make_answer(q, hits, text, config.attribute_threshold) for q, hits, text in zip(questions, hit_lists, texts)]
