"""Reading documents for RAG: Markdown, plain text, HTML, PDF and JSONL; unreadable files are skipped with a reason."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from curation.errors import UsageError
from curation.files import sha256_file
from curation.safe_read import data_limit, format_bytes

MARKDOWN = {".md", ".markdown", ".mdx"}
TEXT = {".txt", ".text", ".rst"}
HTML = {".html", ".htm", ".xhtml"}
PDF = {".pdf"}
JSONL = {".jsonl", ".ndjson"}
SUPPORTED = MARKDOWN | TEXT | HTML | PDF | JSONL
TEXT_FIELDS = ("text", "content", "body", "page_content", "document", "passage")  # tried in order for JSONL
_DROP_TAGS = ("script", "style", "noscript", "template", "head", "nav", "header", "footer", "svg", "form", "button")
_BLOCK_TAGS = ("p", "div", "section", "article", "main", "aside", "blockquote", "pre", "ul", "ol", "dl", "dt", "dd",
               "table", "figure", "figcaption", "hr")


@dataclass(frozen=True)
class Document:
    """One document's text; `source` is what hits cite (a path, or path:line for a JSONL record)."""

    source: str
    text: str
    kind: str
    file: str  # the file it came from (manifest key; several JSONL documents share one)


@dataclass(frozen=True)
class Skipped:
    """A file that was not read, and why."""

    path: str
    reason: str


@dataclass
class SourceFile:
    """One input file: its manifest key, where it is and its content hash."""

    key: str
    path: Path
    sha256: str
    size: int


@dataclass
class IngestResult:
    """Documents read, files skipped with reasons, and the hashes of every readable file."""

    documents: list[Document] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    files: dict[str, SourceFile] = field(default_factory=dict)


def discover(paths: Sequence[str | Path], exclude: str | Path | None = None) -> tuple[list[tuple[str, Path]], list[Skipped]]:
    """Every file under the given folders/files as (key, path), keys relative to the inputs' common folder.

    Hidden files and folders are not entered, nor `exclude` (the index folder); files of an unsupported type
    are returned as skipped.
    """
    if not paths:
        raise UsageError("No documents given.", "Pass a folder of documents or one or more files.")
    roots = []
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            raise UsageError(f"{raw} does not exist.", "Pass an existing folder or file.")
        roots.append(path.resolve())
    excluded = Path(exclude).resolve() if exclude is not None else None
    base = Path(os.path.commonpath([str(r if r.is_dir() else r.parent) for r in roots]))
    found: list[tuple[str, Path]] = []
    skipped: list[Skipped] = []
    seen: set[Path] = set()
    for root in roots:
        if root.is_file():
            candidates = [root]
        elif root.is_dir():
            candidates = []
            for p in sorted(root.rglob("*")):
                if any(part.startswith(".") for part in p.relative_to(root).parts) or (
                        excluded is not None and p.is_relative_to(excluded)):
                    continue
                if p.is_file():
                    candidates.append(p)
                elif not p.is_dir():  # a FIFO, a device, a broken or looping link
                    skipped.append(Skipped(p.relative_to(base).as_posix(), _NOT_REGULAR))
        else:
            skipped.append(Skipped(root.name, _NOT_REGULAR))
            continue
        for path in candidates:
            if path in seen:
                continue
            seen.add(path)
            key = path.relative_to(base).as_posix()
            if path.suffix.lower() in SUPPORTED:
                found.append((key, path))
            else:
                skipped.append(Skipped(key, f"unsupported file type {path.suffix or '(none)'}; "
                                            "supported: .md .txt .html .pdf .jsonl"))
    return found, skipped


_NOT_REGULAR = "not a regular file (a named pipe, a device, or a broken or looping link)"


def scan(paths: Sequence[str | Path], exclude: str | Path | None = None) -> IngestResult:
    """Find and hash every supported file (nothing parsed yet); unsupported and unreadable files are skipped."""
    found, skipped = discover(paths, exclude)
    result = IngestResult(skipped=list(skipped))
    for key, path in found:
        try:
            result.files[key] = SourceFile(key, path, sha256_file(path), path.stat().st_size)
        except OSError as exc:
            result.skipped.append(Skipped(key, f"cannot read: {exc.strerror or exc}"))
    return result


def read_sources(
    files: Sequence[SourceFile], text_field: str | None = None, progress: Callable[[int, int], None] | None = None
) -> tuple[list[Document], list[Skipped]]:
    """Parse files into documents; a file that cannot be used is skipped with the reason, the rest go on."""
    documents: list[Document] = []
    skipped: list[Skipped] = []
    for done, source in enumerate(files, 1):
        try:
            documents.extend(read_file(source.key, source.path, text_field))
        except _PartlyRead as exc:
            skipped.append(Skipped(source.key, str(exc)))
            documents.extend(exc.documents)
        except _Unreadable as exc:
            skipped.append(Skipped(source.key, str(exc)))
        except OSError as exc:
            skipped.append(Skipped(source.key, f"cannot read: {exc.strerror or exc}"))
        except RecursionError:
            skipped.append(Skipped(source.key, "nested too deeply to read"))
        if progress:
            progress(done, len(files))
    return documents, skipped


def read_documents(
    paths: Sequence[str | Path],
    text_field: str | None = None,
    exclude: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> IngestResult:
    """Find, hash and read every supported file under paths."""
    result = scan(paths, exclude)
    documents, skipped = read_sources(list(result.files.values()), text_field, progress)
    result.documents = documents
    result.skipped.extend(skipped)
    return result


class _Unreadable(Exception):
    """Raised by a reader for a file that cannot be used; the message is the reason shown to the user."""


def read_file(key: str, path: Path, text_field: str | None = None) -> list[Document]:
    """The documents in one file (one, or one per JSONL record); raises _Unreadable with a reason."""
    suffix = path.suffix.lower()
    limit = data_limit()
    if path.stat().st_size > limit:
        raise _Unreadable(f"larger than the limit of {format_bytes(limit)}; split it, or raise TUNEWISE_MAX_FILE_BYTES")
    if suffix in PDF:
        text, kind = read_pdf(path), "pdf"
    elif suffix in JSONL:
        return read_jsonl(key, path, text_field)
    else:
        raw = _read_text(path)
        if suffix in HTML:
            text, kind = html_to_text(raw), "html"
        else:
            text, kind = normalise_newlines(raw), "markdown" if suffix in MARKDOWN else "text"
    if not text.strip():
        raise _Unreadable("no text in the file" + (" (a scanned PDF? run OCR on it first)" if kind == "pdf" else ""))
    return [Document(key, text, kind, key)]


def _read_text(path: Path) -> str:
    """A text file as UTF-8 (a BOM is dropped); binary or non-UTF-8 files raise _Unreadable."""
    data = path.read_bytes()
    if b"\x00" in data[:8192]:
        raise _Unreadable("binary file (contains NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _Unreadable(f"not UTF-8 text (invalid byte at offset {exc.start}); convert it to UTF-8") from exc


def normalise_newlines(text: str) -> str:
    """\\r\\n and \\r become \\n, so character spans mean the same on every platform."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_pdf(path: Path) -> str:
    """Text of every page (pypdf), pages separated by a blank line."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise _Unreadable("encrypted PDF; save an unencrypted copy")
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
    except _Unreadable:
        raise
    except (PdfReadError, OSError) as exc:
        raise _Unreadable(f"not a readable PDF ({type(exc).__name__}: {exc})") from exc
    except Exception as exc:  # noqa: BLE001 - pypdf raises anything (IndexError, AssertionError, …) on broken files
        raise _Unreadable(f"not a readable PDF ({type(exc).__name__}: {str(exc)[:200]})") from exc
    return normalise_newlines("\n\n".join(p for p in pages if p))


def read_jsonl(key: str, path: Path, text_field: str | None = None) -> list[Document]:
    """One document per JSONL record, its text from `text_field` (or the first of TEXT_FIELDS present)."""
    docs: list[Document] = []
    bad: list[int] = []
    field_used = text_field
    # records end at \n (and \r\n, \r): not at U+2028 or U+0085, which JSON strings may hold raw
    for number, line in enumerate(normalise_newlines(_read_text(path)).split("\n"), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            bad.append(number)
            continue
        if not isinstance(record, dict):
            bad.append(number)
            continue
        if field_used is None:
            field_used = next((f for f in TEXT_FIELDS if isinstance(record.get(f), str)), None)
            if field_used is None:
                raise _Unreadable(f"line {number} has no text field (looked for {', '.join(TEXT_FIELDS)}); "
                                  "pass --text-field NAME")
        text = record.get(field_used)
        if not isinstance(text, str):
            bad.append(number)
            continue
        if text.strip():
            docs.append(Document(f"{key}:{number}", normalise_newlines(text), "jsonl", key))
    if bad and not docs:
        raise _Unreadable(f"no usable records (invalid JSON or no '{field_used or 'text'}' string on lines "
                          f"{', '.join(map(str, bad[:5]))}{'…' if len(bad) > 5 else ''})")
    if bad:  # a few bad lines in a usable file: keep the rest, say which lines were left out
        raise _PartlyRead(docs, f"{len(bad)} record(s) skipped (invalid JSON or no '{field_used}' string): lines "
                                f"{', '.join(map(str, bad[:5]))}{'…' if len(bad) > 5 else ''}")
    if not docs:
        raise _Unreadable("no text in the file")
    return docs


class _PartlyRead(_Unreadable):
    """Some records of a JSONL file were unusable: carries the usable documents."""

    def __init__(self, documents: list[Document], reason: str) -> None:
        super().__init__(reason)
        self.documents = documents


_WHITESPACE = re.compile(r"[^\S\u2028\u2029]+")
_LINE, _PARA = "\u2028", "\u2029"  # explicit breaks; every other HTML whitespace is one space


def html_to_text(html: str) -> str:
    """Readable text of an HTML page with headings as Markdown `#` lines, list items as `- `, table rows as `a | b`.

    One pass over the parsed tree with an explicit stack: linear in the page's size however many elements it
    has or however deeply they nest (editing the tree in place took 96 s for 20,000 paragraphs).
    """
    from bs4 import BeautifulSoup, Tag

    # `<br>` without its slash costs bs4's html.parser a scan of every earlier one (50,000 took 49 s); `<br/>` does not
    soup = BeautifulSoup(_VOID_TAG.sub(r"<\1\2/>", html), "html.parser")
    title = " ".join(_strings(soup.title)) if soup.title and not soup.find("h1") else ""
    body = soup.find("main") or soup.body or soup
    parts: list[str] = []
    stack = [(iter(body.contents), "")]
    while stack:
        children, after = stack[-1]
        node = next(children, None)
        if node is None:
            stack.pop()
            parts.append(after)
        elif not isinstance(node, Tag):
            if type(node).__name__ in _TEXT_NODES:
                parts.append(str(node))
        elif node.name in _DROP_TAGS:
            continue
        elif node.name in _HEADINGS:
            parts.append(f"{_PARA}{'#' * int(node.name[1])} {' '.join(_strings(node))}{_PARA}")
        elif node.name == "tr":
            cells = node.find_all(["th", "td"])
            parts.append(_LINE + " | ".join(" ".join(_strings(c)) for c in cells) + _LINE)
        elif node.name == "br":
            parts.append(_LINE)
        elif node.name == "li":
            parts.append(f"{_LINE}- ")
            stack.append((iter(node.contents), _LINE))
        elif node.name in _BLOCK_TAGS:
            parts.append(_PARA)
            stack.append((iter(node.contents), _PARA))
        else:
            stack.append((iter(node.contents), ""))
    text = _WHITESPACE.sub(" ", "".join(parts))
    paragraphs = []
    for para in text.split(_PARA):
        lines = [line.strip() for line in para.split(_LINE)]
        if any(lines):
            paragraphs.append("\n".join(line for line in lines if line))
    text = "\n\n".join(paragraphs)
    return f"# {title}\n\n{text}" if title else text


_HEADINGS = {f"h{level}" for level in range(1, 7)}
_VOID_TAG = re.compile(r"<(area|base|br|col|embed|hr|img|input|link|meta|source|track|wbr)(\s[^<>]*?)?(?<!/)>", re.IGNORECASE)
_TEXT_NODES = {"NavigableString", "CData"}  # what bs4's get_text() reads: not comments, doctypes, scripts


def _strings(tag) -> list[str]:
    """The stripped, non-empty text pieces under tag, outside dropped elements (get_text(" ", strip=True))."""
    from bs4 import Tag

    pieces: list[str] = []
    stack = [iter(tag.contents)]
    while stack:
        node = next(stack[-1], None)
        if node is None:
            stack.pop()
        elif isinstance(node, Tag):
            if node.name not in _DROP_TAGS:
                stack.append(iter(node.contents))
        elif type(node).__name__ in _TEXT_NODES and node.strip():
            pieces.append(node.strip())
    return pieces
