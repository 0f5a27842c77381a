"""Reading documents: each format, and unreadable files skipped with a reason while the rest go on."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from curation.errors import UsageError
from training.rag.ingest import html_to_text, read_documents

DOCS = Path(__file__).parents[2] / "fixtures" / "docs"


def test_reads_every_format_with_keys_relative_to_the_folder():
    result = read_documents([DOCS])
    assert result.skipped == []
    by_source = {d.source: d for d in result.documents}
    assert set(by_source) == {"warranty.md", "shipping.txt", "kettle.html", "recall.pdf", "guides/notes.jsonl:1",
                              "guides/notes.jsonl:2"}
    assert by_source["warranty.md"].kind == "markdown" and "### Battery" in by_source["warranty.md"].text
    assert "0800 4477" in by_source["recall.pdf"].text and "twenty minutes" in by_source["recall.pdf"].text
    assert by_source["guides/notes.jsonl:2"].text.startswith("Team lunch") and by_source["guides/notes.jsonl:2"].file == "guides/notes.jsonl"
    assert set(result.files) == {"warranty.md", "shipping.txt", "kettle.html", "recall.pdf", "guides/notes.jsonl"}
    assert all(len(f.sha256) == 64 for f in result.files.values())


def test_html_keeps_headings_lists_and_tables_drops_scripts_and_navigation():
    text = html_to_text((DOCS / "kettle.html").read_text())
    assert text.startswith("# Aurora kettle care")
    assert "\n## Descaling\n" in text
    assert "Descale the kettle every four weeks with white vinegar. Fill it halfway" in text  # HTML line wrap is a space
    assert "- Never use bleach.\n- Never put the base in water." in text
    assert "Part | Price\nMesh filter | 4 euros" in text
    assert "console.log" not in text and "Shop" not in text and "color: red" not in text


def test_html_without_h1_gets_its_title_as_heading():
    assert html_to_text("<html><head><title>Hello</title></head><body><p>Body text.</p></body></html>") == "# Hello\n\nBody text."


def test_unreadable_files_are_skipped_with_reasons_and_the_rest_read(tmp_path):
    shutil.copy(DOCS / "warranty.md", tmp_path / "good.md")
    (tmp_path / "binary.md").write_bytes(b"\x00\x01\x02 not text")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (tmp_path / "empty.txt").write_text("  \n\n")
    (tmp_path / "no_text_field.jsonl").write_text('{"title": "x"}\n')
    (tmp_path / "partly.jsonl").write_text('{"text": "First record."}\nnot json\n{"text": "Third record."}\n')
    (tmp_path / "report.docx").write_bytes(b"PK\x03\x04")
    (tmp_path / ".hidden.md").write_text("# secret")
    result = read_documents([tmp_path])
    reasons = {s.path: s.reason for s in result.skipped}
    assert "binary" in reasons["binary.md"]
    assert "not UTF-8" in reasons["latin1.txt"] and "offset 3" in reasons["latin1.txt"]
    assert "PDF" in reasons["broken.pdf"]
    assert "no text" in reasons["empty.txt"]
    assert "--text-field" in reasons["no_text_field.jsonl"]
    assert "line" in reasons["partly.jsonl"] and "2" in reasons["partly.jsonl"]
    assert "unsupported file type .docx" in reasons["report.docx"]
    assert ".hidden.md" not in reasons
    sources = {d.source for d in result.documents}
    assert sources == {"good.md", "partly.jsonl:1", "partly.jsonl:3"}


def test_text_field_option_and_crlf_normalised(tmp_path):
    (tmp_path / "records.jsonl").write_text('{"body": "ignored", "summary": "Line one.\\r\\nLine two."}\n')
    (tmp_path / "dos.txt").write_bytes(b"Title\r\n=====\r\n\r\nSome text.\r\n")
    result = read_documents([tmp_path], text_field="summary")
    by_source = {d.source: d.text for d in result.documents}
    assert by_source["records.jsonl:1"] == "Line one.\nLine two."
    assert by_source["dos.txt"] == "Title\n=====\n\nSome text.\n"


def test_missing_path_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        read_documents([tmp_path / "nope"])
